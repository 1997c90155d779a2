//! `systole eval`: top-1 accuracy of a float model or of a quantized `.sysq` program.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use systole_compiler::flow::{argmax_rows, load_optimized, run_float, run_quantized, top1};
use systole_compiler::npy::{read_data, read_npy};
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
    /// ONNX model run on the float reference over the same data: reports how often the evaluated
    /// model's top-1 agrees with it and the output error. On a small test set these say more than
    /// top-1, which moves in steps of one sample.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Print JSON: kind ("float" or "quantized"), top1 (a fraction), top1_ci95 ([low, high], Wilson
    /// score interval), correct, total, seconds; with --reference also agreement (fraction of
    /// samples whose top-1 equals the reference's), output_mse and output_max_abs (first output
    /// against the reference's).
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    kind: &'static str,
    top1: f64,
    top1_ci95: [f64; 2],
    correct: usize,
    total: usize,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    agreement: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_mse: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_max_abs: Option<f64>,
}

/// Wilson score interval (95 %) of a proportion: the honest error bar of a top-1 measured on a
/// few hundred samples, which keeps its width near 0 and 1 where the normal approximation
/// collapses.
pub fn wilson95(k: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let (z, n, p) = (1.959_964, n as f64, k as f64 / n as f64);
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    [(c - h).max(0.0), (c + h).min(1.0)]
}

/// Top-1 agreement, mean squared and largest absolute difference of `out` against `reference`.
fn compare(out: &Tensor, reference: &Tensor) -> Result<(f64, f64, f64), String> {
    if out.shape != reference.shape {
        return Err(format!(
            "output shape {:?} but the reference's is {:?}",
            out.shape, reference.shape
        ));
    }
    let (a, b) = (out.to_f32_vec(), reference.to_f32_vec());
    let classes = out.shape.last().copied().unwrap_or(1).max(1);
    let (pa, pb) = (argmax_rows(&a, classes), argmax_rows(&b, classes));
    let agree = pa.iter().zip(&pb).filter(|(x, y)| x == y).count() as f64 / pa.len().max(1) as f64;
    let (mut se, mut max) = (0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(&b) {
        let d = (*x as f64 - *y as f64).abs();
        se += d * d;
        max = max.max(d);
    }
    Ok((agree, se / a.len().max(1) as f64, max))
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
    let x = read_data(&a.data)?;
    let labels = read_npy(&a.labels)?;
    let t0 = Instant::now();
    let (kind, out) = run_any(&a.model, &x)?;
    let seconds = t0.elapsed().as_secs_f64();
    let (correct, total) = top1(&out, &labels)
        .map_err(|e| Failure::at(format_args!("--labels {}", a.labels.display()), e))?;
    let mut r = Report {
        kind,
        top1: correct as f64 / total.max(1) as f64,
        top1_ci95: wilson95(correct, total),
        correct,
        total,
        seconds,
        agreement: None,
        output_mse: None,
        output_max_abs: None,
    };
    if let Some(rp) = &a.reference {
        if is_sysq(rp) {
            return Err(Failure::usage(format!(
                "--reference {}: expected an ONNX model (the float reference), not a .sysq",
                rp.display()
            )));
        }
        let (_, want) = run_any(rp, &x)?;
        let (agree, mse, max) = compare(&out, &want)
            .map_err(|e| Failure::usage(format!("--reference {}: {e}", rp.display())))?;
        r.agreement = Some(agree);
        r.output_mse = Some(mse);
        r.output_max_abs = Some(max);
    }
    if a.json {
        print_json(&r)?;
    } else {
        println!(
            "{} ({kind}): top-1 {:.2}% ({correct}/{total}; 95% interval {:.2}-{:.2}%)",
            a.model.display(),
            100.0 * r.top1,
            100.0 * r.top1_ci95[0],
            100.0 * r.top1_ci95[1]
        );
        if let (Some(agree), Some(mse), Some(max)) = (r.agreement, r.output_mse, r.output_max_abs) {
            println!(
                "  against the reference: top-1 agreement {:.2}%, output MSE {mse:.3e}, max |diff| {max:.3e}",
                100.0 * agree
            );
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::wilson95;

    #[test]
    fn wilson_interval_matches_closed_forms() {
        // No successes: the upper bound is z²/(n+z²) and the lower is 0.
        let [lo, hi] = wilson95(0, 10);
        assert_eq!(lo, 0.0);
        assert!((hi - 3.841_459 / 13.841_459).abs() < 1e-6, "{hi}");
        // Symmetric under k -> n-k, and it contains the point estimate.
        for (k, n) in [(350, 360), (1, 3), (180, 360)] {
            let [a, b] = wilson95(k, n);
            let [c, d] = wilson95(n - k, n);
            assert!((a - (1.0 - d)).abs() < 1e-12 && (b - (1.0 - c)).abs() < 1e-12);
            let p = k as f64 / n as f64;
            assert!(a < p && p < b);
        }
        // 350/360: about ±1.7 points, the resolution of the digits test split.
        let [lo, hi] = wilson95(350, 360);
        assert!(
            (0.948..0.951).contains(&lo) && (0.984..0.987).contains(&hi),
            "{lo} {hi}"
        );
    }
}
