//! The programs a sweep runs: a `.sysq` as it is, or an ONNX model quantized once per
//! bit-width allocation of the space (calibrated once), each with its top-1 accuracy on the
//! evaluation data through the integer reference (as `systole eval` measures it).

use std::path::Path;

use crate::eval::{run_float, run_quantized, top1};
use crate::load::load_for_quantize;
use crate::sensitivity::analyze;
use systole_compiler::fxir::Program;
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::quant::bitalloc::solve;
use systole_compiler::quant::calibrate::calibrate;
use systole_compiler::quant::spec::WeightSpec;
use systole_compiler::sysq::{Provenance, SysqFile};
use systole_compiler::Tensor;

use super::eval::Alloc;
use super::space::{Bits, DEFAULT_CANDIDATES};
use crate::error::{FlowError, Result};

/// Labelled evaluation data.
pub struct EvalData<'a> {
    pub x: &'a Tensor,
    pub labels: &'a Tensor,
    /// The labels' file, named when they do not fit the program's output.
    pub labels_file: &'a Path,
}

fn accuracy(p: &Program, data: Option<&EvalData>) -> Result<Option<f64>> {
    let Some(d) = data else { return Ok(None) };
    if !p.int_inputs.is_empty() {
        return Err(FlowError::Sweep {
            msg: format!(
                "--data/--labels: the program '{}' is an encoder reading integer inputs; its sweep \
                 times shapes only and has no top-1 accuracy (drop --data and --labels)",
                p.name
            ),
        });
    }
    let out = run_quantized(p, d.x)?;
    let (correct, total) = top1(&out, d.labels).map_err(|e| FlowError::Sweep {
        msg: format!("--labels {}: {e}", d.labels_file.display()),
    })?;
    Ok(Some(correct as f64 / total.max(1) as f64))
}

/// A `.sysq` program: one allocation, its own widths.
pub fn from_sysq(path: &Path, data: Option<&EvalData>) -> Result<Vec<Alloc>> {
    let bytes = systole_hw::fsio::read_input(path).map_err(|source| FlowError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let f = SysqFile::from_bytes(path, &bytes)?;
    let acc = accuracy(&f.program, data)?;
    let label = format!("w{}/a{}", f.provenance.weights, f.provenance.acts);
    let mut a = Alloc::new(label, f.program, acc);
    a.sysq = bytes;
    Ok(vec![a])
}

/// An ONNX model quantized once per allocation in `bits` (MinMax calibration on `calib`,
/// per-channel weights, as `systole quantize` does by default; a budget allocation runs the
/// quantizer's sensitivity analysis and knapsack, as `--budget avg-bits=X` does).
pub fn from_onnx(
    path: &Path,
    calib: &Tensor,
    calib_name: &str,
    bits: &[Bits],
    data: Option<&EvalData>,
) -> Result<Vec<Alloc>> {
    let g = load_for_quantize(path)?;
    let cal = calibrate(&g, calib, 64, &mut |_, _| {})?;
    let mut out = Vec::with_capacity(bits.len());
    for b in bits {
        let bad = |what: &str, e: String| FlowError::Sweep {
            msg: format!("axis 'bits': {} {what}: {e}", b.label()),
        };
        let mut cfg = QuantConfig {
            weights: b
                .weights
                .parse()
                .map_err(|e| bad("weights", format!("{e}")))?,
            acts: b.acts.parse().map_err(|e| bad("acts", format!("{e}")))?,
            ..QuantConfig::default()
        };
        if let Some(avg) = b.avg_bits {
            let list = b.candidates.as_deref().unwrap_or(DEFAULT_CANDIDATES);
            let cands: Vec<WeightSpec> = list
                .split(',')
                .map(|s| s.trim().parse())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad("candidates", format!("{e}")))?;
            if !(avg > 0.0 && avg.is_finite()) {
                return Err(bad("avg_bits", format!("{avg} is not a positive number")));
            }
            let total = lower(&g, &cal, &cfg)?.weight_count();
            let fv = run_float(&g, calib)?.to_f32_vec();
            let layers = analyze(&g, &cal, &cfg, &cands, &[], calib, &fv)?;
            let budget = (avg * total as f64).floor() as u64;
            let pick = solve(&layers, budget).map_err(|min| {
                bad(
                    "avg_bits",
                    format!(
                        "infeasible; the smallest achievable with candidates {list} is {:.3} bits/weight",
                        min as f64 / total.max(1) as f64
                    ),
                )
            })?;
            for (l, &i) in layers.iter().zip(&pick) {
                let w: WeightSpec = l.choices[i]
                    .format
                    .parse()
                    .map_err(|e| bad("candidates", format!("{e}")))?;
                cfg.layers.entry(l.name.clone()).or_default().weights = Some(w);
            }
        }
        let p = lower(&g, &cal, &cfg)?;
        let prov = Provenance {
            tool: format!("systole {} sweep", env!("CARGO_PKG_VERSION")),
            model: path.display().to_string(),
            calibration: calib_name.to_string(),
            calibration_samples: cal.samples,
            method: "minmax".into(),
            acts: b.acts.clone(),
            weights: b.weights.clone(),
            per_channel: cfg.per_channel,
            layers: p
                .gemms()
                .map(|(s, gs)| (s.name.clone(), gs.weights.coding.label()))
                .collect(),
        };
        let acc = accuracy(&p, data)?;
        let sysq = SysqFile::new(prov, p.clone()).to_bytes();
        let mut a = Alloc::new(b.label(), p, acc);
        a.sysq = sysq;
        out.push(a);
    }
    Ok(out)
}
