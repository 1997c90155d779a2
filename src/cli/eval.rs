//! `systole eval`: top-1 accuracy of a float model or of a quantized `.sysq` program.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use systole_compiler::flow::{load_optimized, run_float, run_quantized, top1};
use systole_compiler::npy::read_npy;
use systole_compiler::sysq::SysqFile;
use systole_compiler::Tensor;

use super::io::print_json;
use super::Failure;

/// Measure top-1 accuracy: an ONNX model on the float reference, a .sysq on the integer reference.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  systole eval models/digits_cnn.onnx --data models/data/digits_test_x_img.npy --labels models/data/digits_test_y.npy\n  systole eval cnn.sysq --data models/data/digits_test_x_img.npy --labels models/data/digits_test_y.npy --json"
)]
pub struct Args {
    /// ONNX model or .sysq program.
    pub model: PathBuf,
    /// Inputs (.npy, float32, batch first).
    #[arg(long)]
    pub data: PathBuf,
    /// Integer class labels (.npy), one per sample.
    #[arg(long)]
    pub labels: PathBuf,
    /// Print JSON: kind ("float" or "quantized"), top1 (a fraction), correct, total, seconds.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    kind: &'static str,
    top1: f64,
    correct: usize,
    total: usize,
    seconds: f64,
}

pub fn is_sysq(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "sysq")
}

/// Runs an ONNX model (float reference) or a .sysq (integer reference) on `x`.
pub fn run_any(model: &Path, x: &Tensor) -> Result<(&'static str, Tensor), Failure> {
    if is_sysq(model) {
        let f = SysqFile::read(model)?;
        Ok(("quantized", run_quantized(&f.program, x)?))
    } else {
        let g = load_optimized(model)?;
        Ok(("float", run_float(&g, x)?))
    }
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let x = read_npy(&a.data)?;
    let labels = read_npy(&a.labels)?;
    let t0 = Instant::now();
    let (kind, out) = run_any(&a.model, &x)?;
    let seconds = t0.elapsed().as_secs_f64();
    let (correct, total) = top1(&out, &labels)
        .map_err(|e| Failure::usage(format!("--labels {}: {e}", a.labels.display())))?;
    let r = Report {
        kind,
        top1: correct as f64 / total.max(1) as f64,
        correct,
        total,
        seconds,
    };
    if a.json {
        print_json(&r)?;
    } else {
        println!(
            "{} ({kind}): top-1 {:.2}% ({correct}/{total})",
            a.model.display(),
            100.0 * r.top1
        );
    }
    Ok(0)
}
