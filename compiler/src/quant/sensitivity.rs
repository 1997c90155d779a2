//! Sensitivity analysis: the output error each (layer, weight format) causes when it alone is
//! changed from the reference configuration, measured through the integer reference on the
//! calibration set against the float model's outputs. Pairs run in parallel (rayon).

use rayon::prelude::*;

use super::bitalloc::{Choice, Layer};
use super::spec::WeightSpec;
use crate::fxir::{Program, StageKind};
use crate::ir::Graph;
use crate::lower::{lower, QuantConfig};
use crate::quant::calibrate::Calibration;
use crate::reference::int;
use crate::tensor::Tensor;
use crate::Result;

/// Error of one configuration against the float outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Mean squared error of the dequantized outputs.
    pub mse: f64,
    /// Fraction of samples whose top-1 class equals the float model's.
    pub agreement: f64,
}

/// Runs `p` on `x` and scores it against `float_out` (same shape).
pub fn score(p: &Program, x: &Tensor, float_out: &[f32]) -> Result<Score> {
    let codes = int::run(p, x)?;
    let q = int::output_tensor(p, &codes);
    let qv = q.as_f32().unwrap_or(&[]);
    let mse = qv
        .iter()
        .zip(float_out)
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        / qv.len().max(1) as f64;
    let classes = q.shape.last().copied().unwrap_or(1);
    let a = crate::flow::argmax_rows(qv, classes);
    let b = crate::flow::argmax_rows(float_out, classes);
    let agree = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    Ok(Score {
        mse,
        agreement: agree as f64 / a.len().max(1) as f64,
    })
}

/// For every array layer of `base` and every candidate format: storage cost and the error
/// (MSE plus a top-1 disagreement term) with that layer alone in that format.
pub fn analyze(
    g: &Graph,
    cal: &Calibration,
    base: &QuantConfig,
    candidates: &[WeightSpec],
    x: &Tensor,
    float_out: &[f32],
) -> Result<Vec<Layer>> {
    let reference = lower(g, cal, base)?;
    // (name, weights, MACs per sample)
    let names: Vec<(String, u64, u64)> = reference
        .gemms()
        .map(|(s, gs)| {
            let w = (gs.n * gs.k) as u64;
            let rows = gs.conv.as_ref().map_or(1, |c| c.output_area()) as u64;
            (s.name.clone(), w, w * rows)
        })
        .collect();
    let jobs: Vec<(usize, usize)> = (0..names.len())
        .flat_map(|l| (0..candidates.len()).map(move |c| (l, c)))
        .collect();
    let results: Vec<Result<(usize, Choice)>> = jobs
        .par_iter()
        .map(|&(l, c)| {
            let mut cfg = base.clone();
            let entry = cfg.layers.entry(names[l].0.clone()).or_default();
            entry.weights = Some(candidates[c]);
            let p = lower(g, cal, &cfg)?;
            let (rom_bits, operand_bits, input_bits) = p
                .stages
                .iter()
                .find(|s| s.name == names[l].0)
                .and_then(|s| match &s.kind {
                    StageKind::Gemm(gs) => Some((
                        gs.weights.storage_bits(),
                        gs.weights.operand_bits(),
                        p.tensor(s.inputs[0]).format.bits,
                    )),
                    _ => None,
                })
                .unwrap_or((0, 0, 0));
            let s = score(&p, x, float_out)?;
            // Top-1 disagreement dominates; MSE breaks ties between formats that keep every class.
            let error = (1.0 - s.agreement) + s.mse;
            Ok((
                l,
                Choice {
                    format: candidates[c].to_string(),
                    cost: rom_bits,
                    rom_bits,
                    operand_bits,
                    input_bits,
                    error,
                },
            ))
        })
        .collect();
    let mut layers: Vec<Layer> = names
        .iter()
        .map(|(n, w, macs)| Layer {
            name: n.clone(),
            weights: *w,
            macs: *macs,
            choices: Vec::new(),
        })
        .collect();
    for r in results {
        let (l, ch) = r?;
        layers[l].choices.push(ch);
    }
    Ok(layers)
}
