//! `systole quantize`: calibrate, allocate bits and lower a model to a `.sysq` program.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_compiler::files::write as write_file;
use systole_compiler::fxir::{dump, Program};
use systole_compiler::lower::hls4ml::{lower_hls4ml, Hls4mlPrecision};
use systole_compiler::lower::{Prune, QuantConfig};
use systole_compiler::npy::read_data;
use systole_compiler::quant::bitalloc::AllocFile;
use systole_compiler::quant::budget::Budget;
use systole_compiler::quant::spec::{ActSpec, WeightSpec};
use systole_compiler::quant::threshold::Method;
use systole_compiler::quant::Rounding;
use systole_compiler::sysq::SysqFile;
use systole_flow::ladder::ParetoPoint;
use systole_flow::load::{load_for_quantize, load_optimized};
use systole_flow::quantize::{
    alloc_file, dynamic_inputs, encoder_provenance, hls4ml_provenance, layer_summaries, provenance,
    quantize_model, BudgetSearch, LayerSummary, Options,
};
use systole_flow::FlowError;

use super::io::print_json;
use super::Failure;

/// Quantize a model: calibrate on data, choose per-layer formats, write a .sysq program.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  systole quantize models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy -o cnn.sysq\n  systole quantize models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy --budget avg-bits=4 --write-alloc alloc.ron -o cnn4.sysq --json\n  systole quantize models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy --budget dsp=100,reuse=16 --act-candidates int4,int8 -o cnn-dsp.sysq   # weights and input widths under a DSP budget\n  systole quantize models/digits_mlp.onnx --calib models/data/digits_calib_x.npy --weights kmeans:4 --method kl -o mlp.sysq\n  systole quantize .cache/minilm/model.onnx --calib-sentences models/text/sentences.tsv --tokenizer .cache/minilm/tokenizer.json --smooth-alpha 0.5 -o w8a8-sq.sysq\n  systole quantize models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy --dynamic -o cnn-dyn.sysq   # per-sample scales at run time"
)]
pub struct Args {
    /// ONNX model.
    pub model: PathBuf,
    /// Calibration inputs (.npy, float32, batch first). Required unless --hls4ml-config or
    /// --calib-sentences.
    #[arg(long, conflicts_with = "calib_sentences")]
    pub calib: Option<PathBuf>,
    /// A sentence encoder (MiniLM): calibrate on these sentences (a TSV set, docs/transformers.md,
    /// or one per line); the program takes token ids and the attention mask as integer inputs.
    #[arg(long, value_name = "FILE")]
    pub calib_sentences: Option<PathBuf>,
    /// With --calib-sentences: the split of a TSV set to calibrate on (calib, eval or all;
    /// default calib).
    #[arg(long, value_parser = ["calib", "eval", "all"], requires = "calib_sentences")]
    pub calib_split: Option<String>,
    /// With --calib-sentences: the Hugging Face tokenizer.json matching the model.
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,
    /// With --calib-sentences: the sequence length the program is built for (sentences are
    /// padded to it; a longer one is an error; default 32).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000), requires = "calib_sentences")]
    pub seq: Option<u32>,
    /// With --calib-sentences: use at most N sentences of the split (in file order).
    #[arg(long, value_name = "N", requires = "calib_sentences")]
    pub calib_limit: Option<usize>,
    /// hls4ml-compatible mode: per-layer ap_fixed types from a precision JSON
    /// (`{"input": "ap_fixed<10,2,AP_RND,AP_SAT>", "layers": [{"op": "dense", "weight": …,
    /// "bias": …, "accum": …, "result": …, "relu_result": …}]}`, as scripts/hls4ml-oracle.py
    /// writes it); the program then computes what hls4ml's C emulation computes, up to the logits.
    #[arg(long)]
    pub hls4ml_config: Option<PathBuf>,
    /// Output .sysq file.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Threshold method: minmax, percentile:P, mse, kl (default minmax; mse with
    /// --calib-sentences, for the encoder's 8-bit operands).
    #[arg(long)]
    pub method: Option<String>,
    /// Default weight format (see the list in docs/quantization.md).
    #[arg(long, default_value = "int8")]
    pub weights: String,
    /// Activation format: intB or ap_fixed<W,I,Q,O>.
    #[arg(long, default_value = "int8")]
    pub acts: String,
    /// One weight step per tensor instead of per output channel (the default).
    #[arg(long, conflicts_with = "per_channel")]
    pub per_tensor: bool,
    /// One weight step per output channel: the default, accepted so scripts can say so.
    #[arg(long)]
    pub per_channel: bool,
    /// Rounding of requantizers: RND, RND_ZERO, RND_MIN_INF, RND_INF, RND_CONV, TRN, TRN_ZERO.
    #[arg(long, default_value = "RND")]
    pub rounding: String,
    /// GPTQ: compensate each layer's rounding error column by column, using XᵀX of its
    /// calibration inputs (beats round-to-nearest at 3–4 bits). Works with every weight format:
    /// round-to-nearest fixes the grid (steps, codebooks, exponents), GPTQ picks the codes.
    #[arg(long)]
    pub gptq: bool,
    /// AdaRound: learn each integer weight's rounding direction (down or up) to minimise the
    /// layer's reconstruction error over the calibration inputs (intB weights only; not with
    /// --gptq).
    #[arg(long, conflicts_with = "gptq")]
    pub adaround: bool,
    /// Bias correction: fold each layer's expected quantization error E[x]·(W − Ŵ) over the
    /// calibration inputs into its bias.
    #[arg(long)]
    pub bias_correction: bool,
    /// SmoothQuant with migration strength ALPHA in [0, 1] (encoders, with --calib-sentences):
    /// divide each LayerNorm output channel that feeds linear layers by s_j =
    /// max|x_j|^ALPHA / max|W_j|^(1-ALPHA) and multiply the weight rows by s_j.
    #[arg(long, value_name = "ALPHA", requires = "calib_sentences")]
    pub smooth_alpha: Option<f64>,
    /// Magnitude pruning before quantization: a fraction (0.5) or N:M (2:4).
    #[arg(long)]
    pub prune: Option<String>,
    /// Choose per-layer weight formats under a budget: avg-bits=X, weight-bytes=N, bitops=N
    /// (bit-operations per sample, Σ MACs × weight bits × input bits; K/M/G suffixes) or
    /// dsp=N[,part=NAME][,reuse=R] (DSPs of a layer-parallel FPGA design, hls4ml-style: each
    /// layer owns weights/R multipliers; ≤4-bit products go to LUTs; default part zu9eg).
    #[arg(long)]
    pub budget: Option<String>,
    /// Candidate weight formats for --budget, comma-separated.
    #[arg(long, default_value = "int2,int3,int4,int5,int6,int8")]
    pub candidates: String,
    /// Candidate activation formats for --budget, comma-separated (e.g. int4,int8): each layer
    /// whose input is another array layer's output (through ReLU, pooling or reshapes, read by
    /// it alone) also chooses that input's width, so bit-operation and DSP budgets can trade
    /// activation bits too. The first layer keeps --acts. Default: none (activations at --acts).
    #[arg(long, requires = "budget")]
    pub act_candidates: Option<String>,
    /// With --budget: fail (exit 1) if the allocation's top-1 agreement with the float model on
    /// the calibration set drops by more than this many points.
    #[arg(long)]
    pub max_drop: Option<f64>,
    /// Per-layer weight formats from a RON allocation file (as --write-alloc writes).
    #[arg(long)]
    pub alloc: Option<PathBuf>,
    /// Write the chosen per-layer formats as an editable RON allocation file.
    #[arg(long)]
    pub write_alloc: Option<PathBuf>,
    /// Dynamic activation quantization: every array stage reads its input through a scale chosen
    /// at run time, a power-of-two exponent per row from the row's largest magnitude (per sample
    /// for Conv/Gemm, per token for an encoder's linear layers; Q·Kᵀ and P·V stay static). The
    /// producers write those inputs in 16 bits; --acts sets the width the array reads. The
    /// integer reference runs it (eval, run, embed --sysq), and simulate and sweep (the exponent's max-reduction is the vector unit's RowMax); compile refuses it.
    #[arg(long, conflicts_with = "hls4ml_config")]
    pub dynamic: bool,
    /// Print the fixed-point program's text dump.
    #[arg(long)]
    pub dump: bool,
    /// Print JSON: output, weights, weight_bits, avg_bits, float_bytes, quantized_bytes,
    /// calibration_agreement, layers[] (name, format, operand_bits, input_bits, acc_bits, rom_bits, zeros),
    /// pareto[] (avg_bits, budget_used, predicted_error, agreement; one per distinct allocation on a ladder of budgets in the budget's units) and budget_used (text) when --budget, dynamic (the number of
    /// inputs quantized at run time: 0 without --dynamic), seconds.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    output: String,
    weights: u64,
    weight_bits: u64,
    avg_bits: f64,
    float_bytes: u64,
    quantized_bytes: u64,
    calibration_agreement: f64,
    layers: Vec<LayerSummary>,
    pareto: Vec<ParetoPoint>,
    /// Tensors quantized at run time (`--dynamic`): the number of dynamic-exponent stages.
    dynamic: usize,
    /// With --budget: what the allocation uses of it, in the budget's units.
    #[serde(skip_serializing_if = "Option::is_none")]
    budget_used: Option<String>,
    seconds: f64,
}

impl Report {
    fn of(
        output: &std::path::Path,
        p: &Program,
        calibration_agreement: f64,
        pareto: Vec<ParetoPoint>,
        t0: Instant,
    ) -> Report {
        let wc = p.weight_count();
        Report {
            output: output.display().to_string(),
            weights: wc,
            weight_bits: p.weight_bits(),
            avg_bits: p.weight_bits() as f64 / wc.max(1) as f64,
            float_bytes: wc * 4,
            quantized_bytes: p.weight_bits().div_ceil(8),
            calibration_agreement,
            layers: layer_summaries(p),
            pareto,
            dynamic: dynamic_inputs(p),
            budget_used: None,
            seconds: t0.elapsed().as_secs_f64(),
        }
    }
}

fn usage<E: std::fmt::Display>(flag: &str) -> impl Fn(E) -> Failure + '_ {
    move |e| Failure::usage(format!("{flag}: {e}"))
}

fn progress(label: &'static str) -> impl FnMut(usize, usize) {
    let tty = std::io::stderr().is_terminal();
    move |done, total| {
        if tty {
            eprint!("\r{label}: {done}/{total}");
            if done == total {
                eprintln!();
            }
        }
    }
}

/// The budget search of `--budget`, `--candidates` and `--act-candidates`.
fn budget_search(a: &Args, b: &str) -> Result<BudgetSearch, Failure> {
    let candidates: Vec<WeightSpec> = a
        .candidates
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(usage("--candidates"))?;
    if let Some(c) = candidates
        .iter()
        .find(|c| a.adaround && !matches!(c, WeightSpec::Int { .. }))
    {
        return Err(Failure::usage(format!(
            "--adaround rounds intB weight formats only, not --candidates entry {c}; use --gptq (every format) or drop --adaround"
        )));
    }
    let budget = Budget::parse(b).map_err(|e| Failure::usage(format!("--budget {e}")))?;
    let act_candidates: Vec<ActSpec> = match &a.act_candidates {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().parse())
            .collect::<Result<_, _>>()
            .map_err(usage("--act-candidates"))?,
        None => Vec::new(),
    };
    Ok(BudgetSearch {
        budget,
        candidates,
        act_candidates,
    })
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let t0 = Instant::now();
    // Checked here, not with clap's `requires`: clap skipped those when --calib (which
    // conflicts with --calib-sentences) was given, and a flag read by nothing passed silently.
    if a.calib_sentences.is_none() {
        for (flag, given) in [
            ("--tokenizer", a.tokenizer.is_some()),
            ("--calib-split", a.calib_split.is_some()),
            ("--seq", a.seq.is_some()),
            ("--calib-limit", a.calib_limit.is_some()),
            ("--smooth-alpha", a.smooth_alpha.is_some()),
        ] {
            if given {
                return Err(Failure::usage(format!(
                    "{flag} is read only with --calib-sentences (an encoder calibrated on \
                     sentences)"
                )));
            }
        }
    }
    super::io::refuse_output_over_input(
        &[
            ("-o", Some(&a.output)),
            ("--write-alloc", a.write_alloc.as_deref()),
        ],
        &[
            ("MODEL", Some(&a.model)),
            ("--calib", a.calib.as_deref()),
            ("--calib-sentences", a.calib_sentences.as_deref()),
            ("--tokenizer", a.tokenizer.as_deref()),
            ("--hls4ml-config", a.hls4ml_config.as_deref()),
            ("--alloc", a.alloc.as_deref()),
        ],
    )?;
    super::io::check_output_folders(&[
        ("-o", Some(&a.output)),
        ("--write-alloc", a.write_alloc.as_deref()),
    ])?;
    let method: Method = a
        .method
        .as_deref()
        .unwrap_or(if a.calib_sentences.is_some() {
            "mse"
        } else {
            "minmax"
        })
        .parse()
        .map_err(usage("--method"))?;
    let weights: WeightSpec = a.weights.parse().map_err(usage("--weights"))?;
    // AdaRound chooses floor or ceiling on a uniform integer grid; refused up front for other
    // formats rather than after calibration (lowering refuses per layer, e.g. from --alloc).
    if a.adaround && !matches!(weights, WeightSpec::Int { .. }) {
        return Err(Failure::usage(format!(
            "--adaround rounds intB weight formats only, not --weights {weights}; use --gptq (every format) or drop --adaround"
        )));
    }
    let acts: ActSpec = a.acts.parse().map_err(usage("--acts"))?;
    let rounding: Rounding = a.rounding.parse().map_err(usage("--rounding"))?;
    if let Some(m) = a.max_drop {
        // NaN compared false with every drop, so `--max-drop NaN` turned the guard off.
        if !(0.0..=100.0).contains(&m) {
            return Err(Failure::usage(format!(
                "--max-drop {m}: expected points of top-1 agreement in [0, 100]"
            )));
        }
    }
    let prune: Option<Prune> = a
        .prune
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(usage("--prune"))?;
    let cfg = QuantConfig {
        acts,
        weights,
        per_channel: !a.per_tensor,
        method,
        rounding,
        prune,
        gptq: a.gptq,
        adaround: a.adaround,
        bias_correction: a.bias_correction,
        smooth_alpha: a.smooth_alpha,
        dynamic: a.dynamic,
        ..QuantConfig::default()
    };
    if let Some(alpha) = a.smooth_alpha {
        if !(0.0..=1.0).contains(&alpha) {
            return Err(Failure::usage(format!(
                "--smooth-alpha {alpha}: expected a number in [0, 1]"
            )));
        }
    }
    if let Some(path) = &a.hls4ml_config {
        return hls4ml_main(&a, path, t0);
    }
    if let Some(path) = &a.calib_sentences {
        return encoder_main(&a, path, &cfg, t0);
    }
    let calib_path = a
        .calib
        .clone()
        .ok_or_else(|| Failure::usage("--calib FILE.npy is required (unless --hls4ml-config)"))?;
    let alloc = match &a.alloc {
        Some(path) => {
            let text = systole_hw::fsio::read_input_string(path)
                .map_err(|e| Failure::usage(format!("--alloc {}: {e}", path.display())))?;
            Some(
                AllocFile::from_ron(&text)
                    .map_err(|e| Failure::usage(format!("--alloc {}: {e}", path.display())))?,
            )
        }
        None => None,
    };
    let budget = a
        .budget
        .as_deref()
        .map(|b| budget_search(&a, b))
        .transpose()?;
    let g = load_for_quantize(&a.model)?;
    let calib = read_data(&calib_path)?;
    let opts = Options { cfg, alloc, budget };
    let q =
        quantize_model(&g, &calib, &opts, &mut progress("calibrating")).map_err(|e| match e {
            FlowError::Calibration { source } => {
                Failure::usage(format!("--calib {}: {source}", calib_path.display()))
            }
            e @ (FlowError::AllocLayer { .. } | FlowError::AllocFormat { .. }) => {
                let path = a.alloc.as_deref().map(|p| p.display().to_string());
                Failure::usage(format!("--alloc {}: {e}", path.unwrap_or_default()))
            }
            FlowError::Infeasible { smallest } => Failure::usage(format!(
                "--budget {}: infeasible; the smallest achievable with candidates {} is {smallest}",
                a.budget.as_deref().unwrap_or_default(),
                a.candidates
            )),
            e => e.into(),
        })?;
    if let Some(path) = &a.write_alloc {
        write_file(path, alloc_file(&q.program, &q.cfg).to_ron().as_bytes())?;
    }
    let prov = provenance(&a.model, calib_path.display().to_string(), &q);
    let (p, agreement) = (&q.program, q.agreement);
    SysqFile::new(prov, p.clone()).write(&a.output)?;
    let mut report = Report::of(&a.output, p, agreement, q.pareto.clone(), t0);
    report.budget_used = q.budget_used.clone();
    if a.json {
        print_json(&report)?;
    } else {
        if a.dump {
            print!("{}", dump(p));
        }
        for l in &report.layers {
            println!(
                "  {:<40} {:<12} operand i{:<2} input {:<2} bits  acc i{:<2} rom {:>7} bits  zeros {}",
                l.name, l.format, l.operand_bits, l.input_bits, l.acc_bits, l.rom_bits, l.zeros
            );
        }
        if report.dynamic > 0 {
            println!(
                "  {} array inputs quantized at run time (per-sample exponents)",
                report.dynamic
            );
        }
        if let Some(u) = &report.budget_used {
            println!("  budget {}: uses {u}", a.budget.as_deref().unwrap_or(""));
        }
        for pt in &report.pareto {
            println!(
                "  pareto: {:.3} bits/weight  uses {}  predicted error {:.4}  agreement {:.2}%",
                pt.avg_bits,
                pt.budget_used,
                pt.predicted_error,
                100.0 * pt.agreement
            );
        }
        println!(
            "{}: {} weights, {:.3} bits/weight, {} bytes (float32 {} bytes, {:.1}x smaller); top-1 agreement with float on the calibration set {:.2}%",
            report.output, report.weights, report.avg_bits, report.quantized_bytes, report.float_bytes,
            report.float_bytes as f64 / report.quantized_bytes.max(1) as f64, 100.0 * agreement
        );
    }
    if let Some(max) = a.max_drop {
        let drop = 100.0 * (1.0 - agreement);
        if drop > max {
            eprintln!("error: the allocation loses {drop:.2} points of top-1 agreement with the float model on the calibration set; --max-drop is {max}");
            return Ok(1);
        }
    }
    Ok(0)
}

fn hls4ml_main(a: &Args, path: &std::path::Path, t0: Instant) -> Result<i32, Failure> {
    let text = systole_hw::fsio::read_input_string(path)
        .map_err(|e| Failure::usage(format!("--hls4ml-config {}: {e}", path.display())))?;
    let prec = Hls4mlPrecision::from_json(&text)
        .map_err(|e| Failure::usage(format!("--hls4ml-config {}: {e}", path.display())))?;
    let g = load_optimized(&a.model)?;
    let p = lower_hls4ml(&g, &prec)
        .map_err(|e| Failure::usage(format!("--hls4ml-config {}: {e}", path.display())))?;
    let prov = hls4ml_provenance(&a.model, path, &p);
    SysqFile::new(prov, p.clone()).write(&a.output)?;
    let report = Report::of(&a.output, &p, f64::NAN, Vec::new(), t0);
    if a.json {
        print_json(&report)?;
    } else {
        if a.dump {
            print!("{}", dump(&p));
        }
        println!(
            "{}: hls4ml-compatible program, {} weights in {} bits",
            report.output, report.weights, report.weight_bits
        );
    }
    Ok(0)
}

/// `--calib-sentences`: calibrate a sentence encoder on tokenized sentences and lower it with
/// integer id and mask inputs.
fn encoder_main(
    a: &Args,
    path: &std::path::Path,
    cfg: &QuantConfig,
    t0: Instant,
) -> Result<i32, Failure> {
    use systole_compiler::frontend::load_model;
    use systole_flow::text::dataset::SentenceSet;
    use systole_flow::text::embed::Encoder;
    use systole_flow::text::quantize::quantize_encoder;
    use systole_flow::text::tokenize::Tokenizer;
    if a.budget.is_some() || a.alloc.is_some() || a.write_alloc.is_some() || a.max_drop.is_some() {
        return Err(Failure::usage(
            "--budget, --alloc, --write-alloc and --max-drop are not available with --calib-sentences yet",
        ));
    }
    let tok_path = a
        .tokenizer
        .as_ref()
        .ok_or_else(|| Failure::usage("--calib-sentences needs --tokenizer FILE"))?;
    let split = a.calib_split.as_deref().unwrap_or("calib");
    let set = SentenceSet::read(path)?.split(split);
    let mut texts = set.texts();
    if let Some(n) = a.calib_limit {
        texts.truncate(n);
    }
    if texts.is_empty() {
        return Err(Failure::usage(format!(
            "--calib-sentences {}: no sentences in split '{}'",
            path.display(),
            split
        )));
    }
    let tok = Tokenizer::from_file(tok_path)?;
    let mut enc = Encoder::new(load_model(&a.model)?)?;
    let seq = a.seq.unwrap_or(32) as usize;
    let (p, cal) = quantize_encoder(
        &mut enc,
        &tok,
        &texts,
        seq,
        cfg,
        &mut progress("calibrating"),
    )
    .map_err(|e| match e {
        FlowError::Input { name, msg } => Failure::usage(format!(
            "--calib-sentences {}: {name}: {msg}",
            path.display()
        )),
        e => e.into(),
    })?;
    let calibration = format!("{} (split {}, sequence {seq})", path.display(), split);
    let prov = encoder_provenance(&a.model, calibration, cal.samples, cfg, &p);
    SysqFile::new(prov, p.clone()).write(&a.output)?;
    let report = Report::of(&a.output, &p, f64::NAN, Vec::new(), t0);
    if a.json {
        print_json(&report)?;
    } else {
        if a.dump {
            print!("{}", dump(&p));
        }
        for l in &report.layers {
            println!(
                "  {:<40} {:<12} operand i{:<2} acc i{:<2} rom {:>7} bits",
                l.name, l.format, l.operand_bits, l.acc_bits, l.rom_bits
            );
        }
        if report.dynamic > 0 {
            println!(
                "  {} linear-layer inputs quantized at run time (per-token exponents)",
                report.dynamic
            );
        }
        println!(
            "{}: encoder for sequence {seq}, {} stages, {} linear weights in {:.3} bits/weight; calibrated on {} sentences in {:.1} s",
            report.output,
            p.stages.len(),
            report.weights,
            report.avg_bits,
            cal.samples,
            report.seconds
        );
    }
    Ok(0)
}
