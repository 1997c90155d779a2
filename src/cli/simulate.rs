//! `systole simulate`: a quantized program on an accelerator description, cycle by cycle (exact)
//! or fold by fold (fast), checked against the integer reference.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_compiler::files::write as write_file;
use systole_compiler::npy::{read_data, write_npy};
use systole_compiler::reference::int as reference;
use systole_compiler::schedule::{self, Schedule};
use systole_compiler::sysq::SysqFile;
use systole_sim::model::{self, Engine, SimReport};

use super::io::print_json;
use super::Failure;

/// Simulate a quantized program (.sysq from `systole quantize`) on an accelerator: per-layer
/// cycles, stalls, utilization, SRAM and DRAM traffic, energy, and the output checked against
/// the integer reference.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  systole simulate digits_cnn.sysq --hw edge-8x8 --input models/data/digits_test_x_img.npy\n  systole simulate w8a8-s128.sysq --hw transformer-128x128 --tokenizer .cache/minilm/tokenizer.json --text \"A man is playing a guitar.\" --fast\n  systole simulate digits_mlp.sysq --hw hw/presets/gemmini-16x16.ron --input models/data/digits_test_x.npy --fast --json\n  systole simulate digits_mlp.sysq --hw edge-8x8 --input x.npy --batch 1 --vcd mlp.vcd --vcd-pes corners"
)]
pub struct Args {
    /// Quantized program (.sysq), or a build directory from `systole compile` (its program,
    /// description and schedule are used).
    pub program: PathBuf,
    /// Accelerator description (.ron) or a preset name (edge-8x8, edge-16x16, gemmini-16x16,
    /// tpu-v1-256x256, transformer-128x128); not with a build directory.
    #[arg(long)]
    pub hw: Option<PathBuf>,
    /// Input batch (.npy, float32 `[N, ...]`); the first axis is the batch. Not for an encoder
    /// program (token ids): give --sentences or --text with --tokenizer.
    #[arg(long, required_unless_present_any = ["sentences", "text"])]
    pub input: Option<PathBuf>,
    /// Encoder programs (`quantize --calib-sentences`): sentences to tokenize, a TSV set (id,
    /// split, pair, text) or one per line; each is padded to the program's sequence length.
    #[arg(long, conflicts_with_all = ["input", "text"], requires = "tokenizer")]
    pub sentences: Option<PathBuf>,
    /// Which split of a TSV set: calib, eval or all.
    #[arg(long, default_value = "all", value_parser = ["calib", "eval", "all"])]
    pub split: String,
    /// Encoder programs: one sentence (repeatable).
    #[arg(long, conflicts_with = "input", requires = "tokenizer")]
    pub text: Vec<String>,
    /// Hugging Face tokenizer.json of the encoder's vocabulary (with --sentences or --text).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Per-PE, per-cycle engine (the default): numerics checked against the reference.
    #[arg(long, conflicts_with = "fast")]
    pub exact: bool,
    /// Closed-form engine: the same cycles, numerics from the reference.
    #[arg(long)]
    pub fast: bool,
    /// Simulate only the first B samples of the input (the array's M is B × pixels); the input
    /// must hold at least B.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub batch: Option<u64>,
    /// Write the output codes, dequantized, as .npy.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Write the per-layer table as CSV.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write cycles.svg (compute and stall cycles per layer) and utilization.svg here; for an
    /// encoder also categories.svg (cycles per encoder layer: attention, FFN, other).
    #[arg(long)]
    pub plot_dir: Option<PathBuf>,
    /// Write the schedule (instruction stream) as text.
    #[arg(long)]
    pub schedule: Option<PathBuf>,
    /// Write a VCD waveform of the chosen PEs and the controller (exact engine).
    #[arg(long)]
    pub vcd: Option<PathBuf>,
    /// PEs in the waveform: `corners` (default), `all`, or `ROW,COL;ROW,COL...`.
    #[arg(long, default_value = "corners", requires = "vcd")]
    pub vcd_pes: String,
    /// Print JSON: program, hw, engine, batch, rows, cols, dataflow, clock_mhz, layers[] (name,
    /// stage, unit, category, start_cycle, cycles, compute_cycles, stall_cycles, sram_stall_cycles, folds,
    /// macs, utilization,
    /// mapping_efficiency, sram {ifmap, filter, ofmap: {reads, writes}} in bytes,
    /// dram_read_bytes, dram_write_bytes, energy_pj, equal), total_cycles, compute_cycles,
    /// stall_cycles, macs, utilization, dram_read_bytes, dram_write_bytes, energy_pj, latency_s,
    /// inferences_per_s, equal, mismatch {layer, tensor, index, expected, got, cycle},
    /// categories[] (category, layers, cycles, compute_cycles, stall_cycles, macs, share,
    /// utilization), energy_table, files, seconds.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Out<'a> {
    #[serde(flatten)]
    report: &'a SimReport,
    files: Vec<String>,
    seconds: f64,
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let t0 = Instant::now();
    super::io::refuse_output_over_input(
        &[
            ("--output", a.output.as_deref()),
            ("--csv", a.csv.as_deref()),
            ("--schedule", a.schedule.as_deref()),
            ("--vcd", a.vcd.as_deref()),
            ("--plot-dir", a.plot_dir.as_deref()),
        ],
        &[
            ("PROGRAM", Some(&a.program)),
            ("--hw", a.hw.as_deref()),
            ("--input", a.input.as_deref()),
            ("--sentences", a.sentences.as_deref()),
            ("--tokenizer", a.tokenizer.as_deref()),
        ],
    )?;
    super::io::check_output_folders(&[
        ("--output", a.output.as_deref()),
        ("--csv", a.csv.as_deref()),
        ("--schedule", a.schedule.as_deref()),
        ("--vcd", a.vcd.as_deref()),
    ])?;
    let (prog, hw, sched) = if a.program.is_dir() {
        from_build(&a)?
    } else {
        let Some(hw_arg) = &a.hw else {
            return Err(Failure::usage("--hw is required with a .sysq program"));
        };
        let prog = SysqFile::read(&a.program)?.program;
        let hw = systole_hw::presets::load(hw_arg)?;
        (prog, hw, None)
    };
    let want = a
        .batch
        .map(|b| b as usize)
        .or(sched.as_ref().map(|s| s.batch));
    let input = read_inputs(&a, &prog, want)?;
    let batch = match &input {
        Input::Real(x) => reference::check_input(&prog, x)?,
        Input::Int { batch, .. } => *batch,
    };
    let sched: Schedule = match sched {
        Some(s) if s.batch == batch => s,
        Some(s) => {
            return Err(Failure::usage(format!(
                "{batch} samples, the build is scheduled for a batch of {}",
                s.batch
            )))
        }
        None => schedule::schedule(&prog, &hw, batch)?,
    };
    let engine = if a.fast { Engine::Fast } else { Engine::Exact };
    let tty = std::io::stderr().is_terminal() && !a.json;
    if tty {
        let folds: usize = sched
            .layers
            .iter()
            .map(|l| match &l.work {
                schedule::Work::Array(w) => w.steps.len(),
                _ => 0,
            })
            .sum();
        eprintln!(
            "simulate: {} on {} ({} engine): {} layers, {folds} folds, batch {batch}",
            prog.name,
            hw.name,
            engine.name(),
            sched.layers.len()
        );
    }
    let mut files = Vec::new();
    let sim = match &a.vcd {
        None => model::simulate_inputs(&prog, &sched, &hw, input.as_inputs(), engine, None)?,
        Some(path) => {
            if engine == Engine::Fast {
                return Err(Failure::usage(
                    "--vcd needs the exact engine (drop --fast)".to_string(),
                ));
            }
            let pes = systole_sim::vcd::parse_pes(&a.vcd_pes, hw.rows, hw.cols)?;
            let sim = write_vcd(path, &prog, &sched, &hw, input.as_inputs(), &pes)?;
            files.push(path.display().to_string());
            sim
        }
    };
    let r = &sim.report;
    if let Some(p) = &a.output {
        write_npy(p, &reference::output_tensor(&prog, &sim.output))?;
        files.push(p.display().to_string());
    }
    if let Some(p) = &a.csv {
        write_file(p, r.csv().as_bytes())?;
        files.push(p.display().to_string());
    }
    if let Some(p) = &a.schedule {
        write_file(p, schedule::dump(&sched).as_bytes())?;
        files.push(p.display().to_string());
    }
    if let Some(dir) = &a.plot_dir {
        let svgs = systole_flow::simplots::simulation_plots(&prog, r)?;
        let svgs: Vec<(String, &[u8])> = svgs
            .iter()
            .map(|(n, s)| (n.to_string(), s.as_bytes()))
            .collect();
        let written = systole_hw::fsio::write_into_dir(dir, &svgs)
            .map_err(|(p, e)| Failure::usage(format!("--plot-dir {}: {e}", p.display())))?;
        files.extend(written.iter().map(|p| p.display().to_string()));
    }
    let seconds = t0.elapsed().as_secs_f64();
    if a.json {
        print_json(&Out {
            report: r,
            files,
            seconds,
        })?;
    } else {
        print!("{}", r.table());
        match (&r.equal, &r.mismatch) {
            (Some(true), _) => println!("output equals the integer reference bit for bit"),
            (_, Some(m)) => println!("MISMATCH: {m}"),
            _ => println!("numerics from the integer reference (fast engine)"),
        }
        for f in &files {
            println!("wrote {f}");
        }
    }
    Ok(if r.equal == Some(false) { 1 } else { 0 })
}

/// The program, description and schedule of a build directory (`systole compile`).
fn from_build(
    a: &Args,
) -> Result<
    (
        systole_compiler::fxir::Program,
        systole_hw::Accelerator,
        Option<Schedule>,
    ),
    Failure,
> {
    if a.hw.is_some() {
        return Err(Failure::usage(format!(
            "{}: a build directory carries its description (hw.ron); drop --hw",
            a.program.display()
        )));
    }
    let b = systole_compiler::backend::read::open(&a.program)?;
    Ok((b.program, b.hw, Some(b.schedule)))
}

/// Runs the exact engine with a VCD writer into `fsio::AtomicFile` (a temporary renamed into
/// place, or straight into a device or pipe); a failed run leaves no file.
fn write_vcd(
    path: &std::path::Path,
    prog: &systole_compiler::fxir::Program,
    sched: &Schedule,
    hw: &systole_hw::Accelerator,
    x: model::Inputs<'_>,
    pes: &[(usize, usize)],
) -> Result<model::Simulation, Failure> {
    let io_err = |e: std::io::Error| Failure::usage(format!("{}: {e}", path.display()));
    let file = systole_hw::fsio::AtomicFile::create(path).map_err(io_err)?;
    let mut w = systole_sim::vcd::VcdWriter::new(
        std::io::BufWriter::new(file),
        hw.rows,
        hw.cols,
        pes,
        hw.clock_mhz,
        hw.input_bits.max(hw.weight_bits),
        hw.acc_bits,
    )?;
    // A write error (disk full, /dev/full, a closed pipe) names the file.
    let named = |e: systole_sim::SimError| match e {
        systole_sim::SimError::VcdWrite { source } => io_err(source),
        e => Failure::from(e),
    };
    let sim =
        model::simulate_inputs(prog, sched, hw, x, Engine::Exact, Some(&mut w)).map_err(named)?;
    let file = w
        .finish()
        .map_err(named)?
        .into_inner()
        .map_err(|e| io_err(e.into_error()))?;
    file.commit().map_err(io_err)?;
    Ok(sim)
}

/// The first `b` samples of a batch (all of it when it has fewer).
pub(super) fn first_samples(x: systole_compiler::Tensor, b: usize) -> systole_compiler::Tensor {
    if x.shape.is_empty() || b >= x.shape[0] {
        return x;
    }
    systole_compiler::quant::calibrate::batch_slice(&x, 0, b)
}

/// The program's input for one run: a real-valued batch, or an encoder's integer codes.
enum Input {
    Real(systole_compiler::Tensor),
    Int { codes: Vec<Vec<i32>>, batch: usize },
}

impl Input {
    fn as_inputs(&self) -> model::Inputs<'_> {
        match self {
            Input::Real(x) => model::Inputs::Real(x),
            Input::Int { codes, batch } => model::Inputs::Int {
                codes,
                batch: *batch,
            },
        }
    }
}

/// Reads `--input` (a real-valued batch) or tokenizes `--sentences`/`--text` for an encoder
/// program (padded to its sequence length), keeping the first `batch` samples.
fn read_inputs(
    a: &Args,
    prog: &systole_compiler::fxir::Program,
    batch: Option<usize>,
) -> Result<Input, Failure> {
    use systole_flow::text::{dataset::SentenceSet, quantize, tokenize::Tokenizer};
    let encoder = !prog.int_inputs.is_empty();
    match (&a.input, encoder) {
        (Some(path), false) => {
            let mut x = read_data(path)?;
            if let Some(b) = batch {
                let n = x.shape.first().copied().unwrap_or(1);
                if b > n {
                    // The batch comes from --batch or, for a build directory, its schedule.
                    let from = match a.batch {
                        Some(_) => format!("--batch {b}"),
                        None => format!("the build is scheduled for a batch of {b}"),
                    };
                    return Err(Failure::usage(format!(
                        "{from}: {} holds {n} sample(s); expected at least {b}",
                        path.display()
                    )));
                }
                x = first_samples(x, b);
            }
            Ok(Input::Real(x))
        }
        (Some(path), true) => Err(Failure::usage(format!(
            "--input {}: the program '{}' is an encoder reading token ids ({}); give --sentences \
             FILE or --text TEXT with --tokenizer",
            path.display(),
            prog.name,
            prog.int_inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        (None, false) => Err(Failure::usage(format!(
            "the program '{}' reads a real-valued input: give --input FILE.npy (--sentences and \
             --text are for encoder programs)",
            prog.name
        ))),
        (None, true) => {
            let Some(tok_path) = &a.tokenizer else {
                return Err(Failure::usage(
                    "--tokenizer is required with --sentences or --text",
                ));
            };
            let mut texts = match &a.sentences {
                Some(p) => {
                    let set = SentenceSet::read(p)?.split(&a.split);
                    if set.sentences.is_empty() {
                        return Err(Failure::usage(format!(
                            "{}: no sentences in split '{}'",
                            p.display(),
                            a.split
                        )));
                    }
                    set.texts()
                }
                None => a.text.clone(),
            };
            if texts.iter().any(|t| t.trim().is_empty()) {
                return Err(Failure::usage("--text: a sentence is empty"));
            }
            if let Some(b) = batch {
                texts.truncate(b);
            }
            let seq = quantize::program_seq(prog)?;
            let tok = Tokenizer::from_file(tok_path)?;
            let b = tok.encode(&texts, Some(seq))?;
            let codes = quantize::encoder_inputs(prog, &b)?;
            Ok(Input::Int {
                codes,
                batch: b.len(),
            })
        }
    }
}
