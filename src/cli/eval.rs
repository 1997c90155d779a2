//! `systole eval`: top-1 accuracy of a float model or of a quantized `.sysq` program.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_compiler::npy::{read_data, read_npy};
use systole_flow::eval::{compare, is_sysq, run_any, top1, wilson95};

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

pub fn main(a: Args) -> Result<i32, Failure> {
    let x = read_data(&a.data)?;
    let labels = read_npy(&a.labels)?;
    let t0 = Instant::now();
    let (kind, out) = run_any(&a.model, &x)?;
    let seconds = t0.elapsed().as_secs_f64();
    // Top-1 of NaN scores is an arbitrary class: an accuracy computed from them is not one.
    if let Some(i) = (0..out.len()).find(|&i| !out.data.get_f64(i).is_finite()) {
        return Err(Failure {
            code: 1,
            msg: format!(
                "{}: output element {i} is {}: the float arithmetic overflowed or divided by \
                 zero, so no accuracy is reported",
                a.model.display(),
                out.data.get_f64(i)
            ),
        });
    }
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
        let c = compare(&out, &want)
            .map_err(|e| Failure::usage(format!("--reference {}: {e}", rp.display())))?;
        r.agreement = Some(c.top1);
        r.output_mse = Some(c.mse);
        r.output_max_abs = Some(c.max_abs);
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
