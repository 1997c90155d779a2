//! `systole profile`: sensitivity table and SVG plots (per-layer sensitivity, activation
//! histograms with each method's threshold, weight histograms).

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_compiler::npy::read_data;
use systole_compiler::quant::spec::WeightSpec;
use systole_flow::load::load_for_quantize;
use systole_flow::profile::{profile_model, ActProfile};
use systole_flow::FlowError;

use super::io::print_json;
use super::Failure;

/// Profile a model for quantization: per-layer sensitivity and the calibration histograms.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  systole profile models/digits_cnn.onnx --calib models/data/digits_calib_x_img.npy -o target/profile --json"
)]
pub struct Args {
    /// ONNX model.
    pub model: PathBuf,
    /// Calibration inputs (.npy, float32, batch first).
    #[arg(long)]
    pub calib: PathBuf,
    /// Output folder for sensitivity.csv and the SVG plots (created if missing).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Candidate weight formats, comma-separated.
    #[arg(long, default_value = "int2,int3,int4,int6,int8,pow2:4,kmeans:4")]
    pub candidates: String,
    /// Activation bits the thresholds are computed for.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=16))]
    pub bits: u32,
    /// Print JSON: layers[] (name, weights, macs per sample, candidates[] of format, rom_bits,
    /// operand_bits, input_bits, error),
    /// activations[] (name, min, max, thresholds[] of [method, value]), files[], seconds.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Cand {
    format: String,
    rom_bits: u64,
    operand_bits: u32,
    input_bits: u32,
    error: f64,
}

#[derive(Serialize)]
struct LayerOut {
    name: String,
    weights: u64,
    macs: u64,
    candidates: Vec<Cand>,
}

#[derive(Serialize)]
struct Report {
    layers: Vec<LayerOut>,
    activations: Vec<ActProfile>,
    files: Vec<String>,
    seconds: f64,
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let t0 = Instant::now();
    let candidates: Vec<WeightSpec> = a
        .candidates
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::usage(format!("--candidates: {e}")))?;
    let g = load_for_quantize(&a.model)?;
    let calib = read_data(&a.calib)?;
    let prof = profile_model(&g, &calib, &candidates, a.bits).map_err(|e| match e {
        FlowError::Calibration { source } => {
            Failure::usage(format!("--calib {}: {source}", a.calib.display()))
        }
        e => e.into(),
    })?;
    // All files or none: a failure on one (a name too long for the file system) removes the
    // others and the directory if this run created it.
    let outs: Vec<(String, &[u8])> = prof
        .files
        .iter()
        .map(|(n, t)| (n.clone(), t.as_bytes()))
        .collect();
    let paths: Vec<_> = outs.iter().map(|(n, _)| a.output.join(n)).collect();
    super::io::refuse_output_over_input(
        &paths
            .iter()
            .map(|p| ("-o", Some(p.as_path())))
            .collect::<Vec<_>>(),
        &[("MODEL", Some(&a.model)), ("--calib", Some(&a.calib))],
    )?;
    let files: Vec<String> = systole_hw::fsio::write_into_dir(&a.output, &outs)
        .map_err(|(p, e)| Failure::usage(format!("-o {}: {e}", p.display())))?
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let report = Report {
        layers: prof
            .layers
            .iter()
            .map(|l| LayerOut {
                name: l.name.clone(),
                weights: l.weights,
                macs: l.macs,
                candidates: l
                    .choices
                    .iter()
                    .map(|c| Cand {
                        format: c.format.clone(),
                        rom_bits: c.rom_bits,
                        operand_bits: c.operand_bits,
                        input_bits: c.input_bits,
                        error: c.error,
                    })
                    .collect(),
            })
            .collect(),
        activations: prof.acts,
        files,
        seconds: t0.elapsed().as_secs_f64(),
    };
    if a.json {
        print_json(&report)?;
    } else {
        println!(
            "{:<40} {}",
            "layer",
            candidates
                .iter()
                .map(|c| format!("{:>12}", c.to_string()))
                .collect::<String>()
        );
        for l in &report.layers {
            println!(
                "{:<40} {}",
                l.name,
                l.candidates
                    .iter()
                    .map(|c| format!("{:>12.3e}", c.error))
                    .collect::<String>()
            );
        }
        for act in &report.activations {
            let t: Vec<String> = act
                .thresholds
                .iter()
                .map(|(m, v)| format!("{m}={v:.4}"))
                .collect();
            println!(
                "{}: range [{:.4}, {:.4}]; thresholds at {} bits: {}",
                act.name,
                act.min,
                act.max,
                a.bits,
                t.join(" ")
            );
        }
        println!(
            "wrote {} files to {}",
            report.files.len(),
            a.output.display()
        );
    }
    Ok(0)
}
