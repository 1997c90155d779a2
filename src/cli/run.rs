//! `systole run`: the float reference on `.npy` inputs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_compiler::frontend::load_model;
use systole_compiler::npy::{read_data, read_npy, write_npy};
use systole_compiler::passes::{self, bind_dims, PipelineOptions};
use systole_compiler::reference::{int, interp};
use systole_compiler::tensor::DType;
use systole_compiler::Tensor;

use clap::builder::TypedValueParser;

use super::io::{binding_os, print_json, Binding};
use super::Failure;

/// Run a model on the float reference kernels, or a .sysq program on the integer reference.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  systole run models/digits_mlp.onnx --input models/data/digits_test_x.npy --output probs.npy\n  systole run models/digits_cnn.onnx --input input=models/data/digits_test_x_img.npy --labels models/data/digits_test_y.npy --json\n  systole run w8a8-s128.sysq --input input_ids=tok_ids.npy --input attention_mask=tok_mask.npy --repeat 5 --json"
)]
pub struct Args {
    /// ONNX model, or a .sysq program (from `systole quantize`).
    pub model: PathBuf,
    /// Input as FILE.npy (the first graph input) or NAME=FILE.npy; repeat for several inputs.
    /// The first axis is the batch. An encoder .sysq takes its integer inputs by name
    /// (input_ids=IDS.npy attention_mask=MASK.npy, integer arrays [batch, seq]; `systole embed
    /// --tokens-out` writes them).
    #[arg(long, value_parser = clap::builder::OsStringValueParser::new().map(binding_os), required = true)]
    pub input: Vec<Binding>,
    /// Output as FILE.npy (graph outputs in order) or NAME=FILE.npy; repeatable.
    #[arg(long, value_parser = clap::builder::OsStringValueParser::new().map(binding_os))]
    pub output: Vec<Binding>,
    /// Integer class labels (.npy); prints top-1 accuracy of the first output.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Run the graph as imported, without the pass pipeline.
    #[arg(long)]
    pub no_passes: bool,
    /// Print the time of every op (or of every stage of a .sysq program), averaged over the
    /// --repeat runs, to stderr.
    #[arg(long)]
    pub profile: bool,
    /// Run the model this many times and report the median and minimum time (benchmarking).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub repeat: u32,
    /// Print JSON: outputs[] (name, shape, file), accuracy and correct/total (when --labels),
    /// seconds (median over --repeat runs), min_seconds, runs.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct OutInfo {
    name: String,
    shape: Vec<usize>,
    file: Option<String>,
}

#[derive(Serialize)]
struct Report {
    outputs: Vec<OutInfo>,
    accuracy: Option<f64>,
    correct: Option<usize>,
    total: Option<usize>,
    seconds: f64,
    min_seconds: f64,
    runs: u32,
}

/// Top-1 of the first output against `--labels`, named in errors.
fn top1(
    probs: &Tensor,
    labels: &Tensor,
    path: &std::path::Path,
) -> Result<(usize, usize), Failure> {
    systole_flow::eval::top1(probs, labels)
        .map_err(|e| Failure::at(format_args!("--labels {}", path.display()), e))
}

fn stage_kind(k: &systole_compiler::fxir::StageKind) -> String {
    use systole_compiler::fxir::StageKind;
    // The variant's name: the first word of its debug form.
    let name = |unit: &str, d: String| {
        let word = d
            .split([' ', '{', '('])
            .next()
            .unwrap_or_default()
            .to_string();
        format!("{unit} {word}")
    };
    match k {
        StageKind::Quantize { .. } => "quantize".into(),
        StageKind::Gemm(g) if g.conv.is_some() => "conv".into(),
        StageKind::Gemm(_) => "gemm".into(),
        StageKind::MatMul(_) => "matmul".into(),
        StageKind::Embed(_) => "embed".into(),
        StageKind::Vector(v) => name("vector", format!("{v:?}")),
        StageKind::Layout(l) => name("layout", format!("{l:?}")),
    }
}

/// The integer inputs of an encoder program (`NAME=FILE.npy` for each of
/// `Program::int_inputs`, integer arrays `[batch, len]`): their codes and the batch.
fn int_inputs(
    p: &systole_compiler::fxir::Program,
    given: &[super::io::Binding],
) -> Result<(Vec<Vec<i32>>, usize), Failure> {
    let names: Vec<&str> = p.int_inputs.iter().map(|i| i.name.as_str()).collect();
    let mut codes = Vec::new();
    let mut batch = None;
    for inp in &p.int_inputs {
        let b = given
            .iter()
            .find(|b| b.name.as_deref() == Some(inp.name.as_str()))
            .ok_or_else(|| {
                Failure::usage(format!(
                    "this program takes integer inputs {names:?}: give each as --input NAME=FILE.npy (missing '{}')",
                    inp.name
                ))
            })?;
        let t = read_data(&b.path)?;
        let bad = |msg: String| {
            Failure::usage(format!("--input {}={}: {msg}", inp.name, b.path.display()))
        };
        if t.dtype().is_float() {
            return Err(bad(format!("expected integer codes, got {}", t.dtype())));
        }
        let n = *t
            .shape
            .first()
            .ok_or_else(|| bad("a scalar; expected [batch, ...]".into()))?;
        if *batch.get_or_insert(n) != n {
            return Err(bad(format!(
                "{n} samples, the other inputs have {}",
                batch.unwrap_or(0)
            )));
        }
        let v: Vec<i32> = t
            .to_i64_vec()
            .into_iter()
            .map(|x| i32::try_from(x).map_err(|_| bad(format!("code {x} does not fit 32 bits"))))
            .collect::<Result<_, _>>()?;
        codes.push(v);
    }
    if let Some(b) = given
        .iter()
        .find(|b| !b.name.as_deref().is_some_and(|n| names.contains(&n)))
    {
        return Err(Failure::usage(format!(
            "--input {}: this program's inputs are {names:?}",
            b.path.display()
        )));
    }
    Ok((codes, batch.unwrap_or(0)))
}

/// A `.sysq` on the integer reference: one real input (or the integer inputs of an encoder),
/// one output.
fn main_sysq(a: &Args) -> Result<i32, Failure> {
    let f = systole_compiler::sysq::SysqFile::read(&a.model)?;
    let p = &f.program;
    let ints = if p.int_inputs.is_empty() {
        None
    } else {
        Some(int_inputs(p, &a.input)?)
    };
    let x = match (&ints, a.input.as_slice()) {
        (Some(_), _) => systole_compiler::Tensor::f32(vec![0], vec![]),
        (None, [b]) => read_data(&b.path)?,
        (None, _) => return Err(Failure::usage("a .sysq program takes exactly one --input")),
    };
    let mut times = Vec::new();
    let mut out = None;
    // Per stage: the time between one stage's output and the next (the reference runs the
    // stages in order, each over the whole batch). Without --profile the batch-split `run`.
    let mut per_stage = vec![0f64; p.stages.len()];
    for _ in 0..a.repeat {
        let t0 = Instant::now();
        let mut last = t0;
        let mut observe = |i: usize, _: &[i32]| {
            if a.profile {
                let now = Instant::now();
                per_stage[i] += (now - last).as_secs_f64();
                last = now;
            }
        };
        let codes = match &ints {
            Some((codes, batch)) => int::run_int(p, codes, *batch, &mut observe)?,
            None if a.profile => int::run_observed(p, &x, &mut observe)?,
            None => int::run(p, &x)?,
        };
        out = Some(int::output_tensor(p, &codes));
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    if a.profile {
        eprintln!("per-stage time (mean over {} runs):", a.repeat);
        for (st, s) in p.stages.iter().zip(&per_stage) {
            eprintln!(
                "  {:>10.3} ms  {} ({})",
                s * 1e3 / f64::from(a.repeat),
                st.name,
                stage_kind(&st.kind)
            );
        }
    }
    let out = out.expect("repeat >= 1");
    let name = f.program.output_name.clone();
    let file = a.output.first().map(|o| o.path.clone());
    if let Some(path) = &file {
        write_npy(path, &out)?;
    }
    let (correct, total) = match &a.labels {
        Some(l) => {
            let (c, t) = top1(&out, &read_npy(l)?, l)?;
            (Some(c), Some(t))
        }
        None => (None, None),
    };
    let report = Report {
        outputs: vec![OutInfo {
            name: name.clone(),
            shape: out.shape.clone(),
            file: file.map(|p| p.display().to_string()),
        }],
        accuracy: correct.zip(total).map(|(c, t)| c as f64 / t.max(1) as f64),
        correct,
        total,
        seconds: times[times.len() / 2],
        min_seconds: times[0],
        runs: a.repeat,
    };
    if a.json {
        print_json(&report)?;
    } else {
        println!("output {name}: {:?} (integer reference)", out.shape);
        if let (Some(c), Some(t)) = (correct, total) {
            println!(
                "top-1 accuracy: {:.2}% ({c}/{t})",
                100.0 * c as f64 / t.max(1) as f64
            );
        }
    }
    Ok(0)
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let outs: Vec<_> = a
        .output
        .iter()
        .map(|b| ("--output", Some(b.path.as_path())))
        .collect();
    let mut ins: Vec<_> = a
        .input
        .iter()
        .map(|b| ("--input", Some(b.path.as_path())))
        .collect();
    ins.extend([
        ("MODEL", Some(a.model.as_path())),
        ("--labels", a.labels.as_deref()),
    ]);
    super::io::refuse_output_over_input(&outs, &ins)?;
    if systole_flow::eval::is_sysq(&a.model) {
        return main_sysq(&a);
    }
    let mut g = load_model(&a.model)?;
    let in_names: Vec<String> = g.inputs.iter().map(|&i| g.value(i).name.clone()).collect();
    let out_names: Vec<String> = g.outputs.iter().map(|&o| g.value(o).name.clone()).collect();
    let mut inputs = BTreeMap::new();
    for (k, b) in a.input.iter().enumerate() {
        let name = match &b.name {
            Some(n) => n.clone(),
            None => in_names.get(k).cloned().ok_or_else(|| {
                Failure::usage(format!(
                    "--input {}: the model has only {} inputs {:?}",
                    b.path.display(),
                    in_names.len(),
                    in_names
                ))
            })?,
        };
        // A graph input declared double keeps float64 data as saved; any other input gets
        // float32, as every verb reads data.
        let double = g
            .inputs
            .iter()
            .any(|&i| g.value(i).name == name && g.value(i).ty.dtype == DType::F64);
        let t = if double {
            systole_compiler::npy::read_data_as_saved(&b.path)?
        } else {
            read_data(&b.path)?
        };
        if inputs.contains_key(&name) {
            return Err(Failure::usage(format!(
                "--input {}: input '{name}' is given twice; expected one file per model input",
                b.path.display()
            )));
        }
        inputs.insert(name, t);
    }
    if !a.no_passes {
        // Symbolic dimensions bind from the inputs' shapes before the pipeline, so Shape chains
        // (transformer masks, position ids) fold to constants.
        let binds = interp::bind_inputs(&g, &inputs)?;
        bind_dims::bind(&mut g, &binds)?;
        passes::run_pipeline(&mut g, &PipelineOptions::default(), |_, _| {})?;
    }
    let labels = a.labels.as_ref().map(|p| read_npy(p)).transpose()?;
    let mut times = Vec::with_capacity(a.repeat as usize);
    let mut profile: BTreeMap<String, f64> = BTreeMap::new();
    if a.repeat > 1 {
        // One untimed warm-up run: thread pool start-up and first-touch page faults are not
        // what a benchmark of the kernels should measure.
        interp::run(&g, &inputs)?;
    }
    let mut outs = BTreeMap::new();
    for _ in 0..a.repeat {
        let t0 = Instant::now();
        outs = interp::run_profiled(&g, &inputs, &mut |name, s| {
            if a.profile {
                *profile.entry(name.to_string()).or_insert(0.0) += s;
            }
        })?;
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    if a.profile {
        let mut rows: Vec<(&String, &f64)> = profile.iter().collect();
        rows.sort_by(|x, y| y.1.total_cmp(x.1));
        eprintln!("per-op time (mean over {} runs):", a.repeat);
        for (name, s) in rows {
            eprintln!("  {:>10.3} ms  {name}", s * 1e3 / a.repeat as f64);
        }
    }
    let seconds = times[times.len() / 2];
    let min_seconds = times[0];
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (k, b) in a.output.iter().enumerate() {
        let name = match &b.name {
            Some(n) if out_names.contains(n) => n.clone(),
            Some(n) => {
                return Err(Failure::usage(format!(
                    "--output {n}=…: the model has no output '{n}'; its outputs are {out_names:?}"
                )))
            }
            None => out_names.get(k).cloned().ok_or_else(|| {
                Failure::usage(format!(
                    "--output {}: the model has only {} outputs",
                    b.path.display(),
                    out_names.len()
                ))
            })?,
        };
        files.insert(name, b.path.clone());
    }
    for (name, path) in &files {
        write_npy(path, &outs[name])?;
    }
    let (correct, total) = match (&labels, &a.labels) {
        (Some(l), Some(lp)) => {
            let (c, t) = top1(&outs[&out_names[0]], l, lp)?;
            (Some(c), Some(t))
        }
        _ => (None, None),
    };
    let report = Report {
        outputs: out_names
            .iter()
            .map(|n| OutInfo {
                name: n.clone(),
                shape: outs[n].shape.clone(),
                file: files.get(n).map(|p| p.display().to_string()),
            })
            .collect(),
        accuracy: correct.zip(total).map(|(c, t)| c as f64 / t.max(1) as f64),
        correct,
        total,
        seconds,
        min_seconds,
        runs: a.repeat,
    };
    if a.json {
        print_json(&report)?;
    } else {
        for o in &report.outputs {
            let to = o
                .file
                .as_ref()
                .map(|f| format!(" → {f}"))
                .unwrap_or_default();
            println!("output {}: {:?}{}", o.name, o.shape, to);
        }
        if let (Some(c), Some(t)) = (correct, total) {
            println!(
                "top-1 accuracy: {:.2} % ({c}/{t})",
                100.0 * c as f64 / t.max(1) as f64
            );
        }
        if a.repeat > 1 {
            println!(
                "float reference: median {:.3} ms, min {:.3} ms over {} runs",
                seconds * 1e3,
                min_seconds * 1e3,
                a.repeat
            );
        } else {
            println!("float reference: {:.3} ms", seconds * 1e3);
        }
    }
    // A NaN or infinite output is a result no one should use as if it were fine: the float
    // arithmetic overflowed or divided by zero (huge inputs or weights, a negative variance).
    // The outputs are written as computed (onnxruntime gives the same), and the run fails its
    // check: exit 1, naming the first such element.
    for n in &out_names {
        let t = &outs[n];
        if let Some(i) =
            (0..t.len()).find(|&i| t.dtype().is_float() && !t.data.get_f64(i).is_finite())
        {
            eprintln!(
                "error: output '{n}' element {i} is {}: the float arithmetic overflowed or \
                 divided by zero (inputs or weights beyond float32's range, a zero or negative \
                 variance, an empty reduction)",
                t.data.get_f64(i)
            );
            return Ok(1);
        }
    }
    Ok(0)
}
