//! `systole sweep`: size an accelerator for a model over a design space (library:
//! `systole_flow::sweep`; cost models: `systole_hw::cost`), and `systole sweep merge` for shards.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use systole_compiler::npy::{read_data, read_npy};
use systole_flow::sweep::{self, alloc, Objective, Run, Shard, Space, Summary};
use systole_hw::cost::Target;

use super::io::print_json;
use super::Failure;
use systole_flow::eval::is_sysq;

/// Sweep a design space for a model: Pareto front of latency vs FPGA resources or ASIC area,
/// the best design per part, plots, and the chosen design's description.
#[derive(clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  systole sweep models/digits_cnn.onnx --space hw/sweeps/digits-cnn-1k.ron --calib models/data/digits_calib_x_img.npy --data models/data/digits_test_x_img.npy --labels models/data/digits_test_y.npy --part artix7-100t --best --out sweep-cnn\n  systole sweep cnn.sysq --space hw/sweeps/digits-cnn-small.ron --part asic:28nm --objective energy --json\n  systole sweep cnn.sysq --space S.ron --shard 0/4 --out shard0   # then: systole sweep merge shard0 shard1 shard2 shard3 --out all"
)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
    /// ONNX model (quantized once per `bits` entry of the space) or a .sysq program.
    #[arg(required = true)]
    pub model: Option<PathBuf>,
    /// The design space (RON, see hw/sweeps/ and docs/cli.md).
    #[arg(long, required = true)]
    pub space: Option<PathBuf>,
    /// Where designs are costed: an FPGA part (ice40-up5k, artix7-100t, zu3eg, zu9eg,
    /// alveo-u250) or asic:NNnm; repeat for several (the first one drives the Pareto front).
    #[arg(long, default_value = "artix7-100t")]
    pub part: Vec<String>,
    /// What the best design minimises: latency, throughput (maximised), energy or area.
    #[arg(long, default_value = "latency")]
    pub objective: String,
    /// Output directory (points.jsonl, points.csv, summary.json, pareto.csv, plots, best.ron).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Run only shard i of N (points whose index % N == i; shards are numbered from 0).
    #[arg(long)]
    pub shard: Option<String>,
    /// Continue an interrupted run in --out: finished points are kept and skipped.
    #[arg(long)]
    pub resume: bool,
    /// Write the best design's description (best.ron, best-PART.ron) and program (best.sysq).
    #[arg(long)]
    pub best: bool,
    /// Calibration data (.npy) to quantize an ONNX model.
    #[arg(long)]
    pub calib: Option<PathBuf>,
    /// Evaluation inputs (.npy): the simulated batch, and with --labels the accuracy.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Integer labels (.npy) of --data, for top-1 accuracy per bit-width allocation.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Print the summary as JSON: points, feasible, seconds, pareto[] and the rest of
    /// summary.json (docs/cli.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Combine shard directories into the result a single run gives.
    Merge(MergeArgs),
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Shard directories (from `systole sweep --shard i/N --out DIR`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Output directory for the merged result.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Write best.ron and best-PART.ron for the merged best designs.
    #[arg(long)]
    pub best: bool,
    /// Print the merged summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, Failure> {
    systole_hw::fsio::read_input(path)
        .map_err(|e| Failure::usage(format!("{flag} {}: {e}", path.display())))
}

pub fn main(a: Args) -> Result<i32, Failure> {
    if let Some(Cmd::Merge(m)) = a.cmd {
        let s = sweep::merge(&m.dirs, &m.out, m.best)?;
        return finish(&s, m.json);
    }
    let (Some(model), Some(space_path)) = (&a.model, &a.space) else {
        return Err(Failure::usage(
            "usage: systole sweep MODEL --space SPACE.ron",
        ));
    };
    let t0 = Instant::now();
    let objective = Objective::parse(&a.objective).ok_or_else(|| {
        Failure::usage(format!(
            "--objective {}: expected latency, throughput, energy or area",
            a.objective
        ))
    })?;
    let targets: Vec<Target> = a
        .part
        .iter()
        .map(|p| Target::parse(p).map_err(|e| Failure::usage(format!("--part: {e}"))))
        .collect::<Result<_, _>>()?;
    let shard = match &a.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::ALL,
    };
    let space_bytes = read(space_path, "--space")?;
    let space_text = String::from_utf8(space_bytes)
        .map_err(|_| Failure::usage(format!("--space {}: not UTF-8 text", space_path.display())))?;
    let space = Space::from_ron(&space_text, &space_path.display().to_string())?;
    let model_bytes = read(model, "model")?;
    let data = a.data.as_deref().map(read_data).transpose()?;
    let labels = a.labels.as_deref().map(read_npy).transpose()?;
    if labels.is_some() && data.is_none() {
        return Err(Failure::usage("--labels needs --data"));
    }
    let eval = match (&data, &labels) {
        (Some(x), Some(labels)) => Some(alloc::EvalData {
            x,
            labels,
            labels_file: a.labels.as_deref().unwrap_or(Path::new("")),
        }),
        _ => None,
    };
    let mut hashed: Vec<Vec<u8>> = vec![
        // The parsed space, re-serialized: comments and layout do not change the hash.
        ron::to_string(&space).unwrap_or_default().into_bytes(),
        model_bytes,
        a.part.join(",").into_bytes(),
        objective.name().as_bytes().to_vec(),
    ];
    let allocs = if is_sysq(model) {
        if !space.bits.is_empty() {
            return Err(Failure::usage(format!(
                "{}: the space varies 'bits' but {} is already quantized: give the ONNX model (with --calib) or drop 'bits'",
                space_path.display(),
                model.display()
            )));
        }
        alloc::from_sysq(model, eval.as_ref())?
    } else {
        let Some(calib_path) = &a.calib else {
            return Err(Failure::usage(
                "an ONNX model is quantized per bit-width allocation: --calib FILE.npy is required",
            ));
        };
        if space.bits.is_empty() {
            return Err(Failure::usage(format!(
                "{}: an ONNX model needs at least one 'bits' entry in the space, e.g. bits: [(weights: \"int8\", acts: \"int8\")]",
                space_path.display()
            )));
        }
        let calib = read_data(calib_path)?;
        hashed.push(read(calib_path, "--calib")?);
        let name = calib_path.display().to_string();
        alloc::from_onnx(model, &calib, &name, &space.bits, eval.as_ref())?
    };
    for p in [&a.data, &a.labels].into_iter().flatten() {
        hashed.push(read(p, "--data/--labels")?);
    }
    let refs: Vec<&[u8]> = hashed.iter().map(Vec::as_slice).collect();
    let hash = sweep::space::fnv1a(&refs);
    let x = sweep::input_batch(&allocs[0].program, data.as_ref(), space.batch)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("sweep-{}", space.name)));
    let run = Run {
        space: &space,
        space_text: &space_text,
        allocs: &allocs,
        x: &x,
        targets: &targets,
        objective,
        shard,
        hash,
        out: &out,
        resume: a.resume,
        write_best: a.best,
    };
    let tty = std::io::stderr().is_terminal() && !a.json;
    let started = Instant::now();
    let mut last = Instant::now();
    let mut progress = |done: u64, total: u64| {
        if !tty || (done < total && last.elapsed().as_millis() < 100) {
            return;
        }
        last = Instant::now();
        let frac = done as f64 / total.max(1) as f64;
        let secs = started.elapsed().as_secs_f64();
        let eta = if done > 0 { secs / frac - secs } else { 0.0 };
        let bar = 30;
        let fill = (frac * bar as f64) as usize;
        eprint!(
            "\rsweep [{}{}] {done}/{total} {:.0}% ETA {eta:.0} s   ",
            "#".repeat(fill),
            " ".repeat(bar - fill),
            100.0 * frac
        );
        if done == total {
            eprintln!();
        }
    };
    let mut s = sweep::run(&run, &mut progress)?;
    s.seconds = t0.elapsed().as_secs_f64();
    finish(&s, a.json)
}

/// Prints the summary; exit 1 when no point is feasible on the first target.
fn finish(s: &Summary, json: bool) -> Result<i32, Failure> {
    if json {
        print_json(s)?;
    } else {
        print!("{}", sweep::report::text(s));
    }
    if s.feasible == 0 && s.points > 0 {
        eprintln!(
            "error: no feasible design on {} (binding: {})",
            s.targets.first().map_or("", String::as_str),
            s.infeasible
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(1);
    }
    Ok(0)
}
