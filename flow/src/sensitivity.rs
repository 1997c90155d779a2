//! Sensitivity analysis: the output error each (layer, weight format) causes when it alone is
//! changed from the reference configuration, measured through the integer reference on the
//! calibration set against the float model's outputs. Pairs run in parallel (rayon).

use rayon::prelude::*;

use crate::Result;
use systole_compiler::fxir::{Program, StageKind, VectorOp};
use systole_compiler::ir::Graph;
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::quant::bitalloc::{Choice, Layer};
use systole_compiler::quant::calibrate::Calibration;
use systole_compiler::quant::spec::{ActSpec, WeightSpec};
use systole_compiler::reference::int;
use systole_compiler::tensor::Tensor;

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
    let a = crate::eval::argmax_rows(qv, classes);
    let b = crate::eval::argmax_rows(float_out, classes);
    let agree = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    Ok(Score {
        mse,
        agreement: agree as f64 / a.len().max(1) as f64,
    })
}

/// The array stage whose output layer `i` (a stage index) reads as its input 0, through stages
/// that keep the format (ReLU, max pool, layout), when that chain is the producer's only reader:
/// then the producer's output format is the layer's input width and choosing it is a choice for
/// this layer alone. `None` for the first layer (it reads the input quantizer) and for branches.
pub fn input_producer(p: &Program, i: usize) -> Option<String> {
    let readers = |t| p.stages.iter().filter(|s| s.inputs.contains(&t)).count();
    let mut t = *p.stages.get(i)?.inputs.first()?;
    loop {
        if readers(t) != 1 {
            return None;
        }
        let st = p.stages.iter().find(|s| s.output == t)?;
        match &st.kind {
            StageKind::Gemm(_) => return Some(st.name.clone()),
            StageKind::Layout(_)
            | StageKind::Vector(VectorOp::Relu)
            | StageKind::Vector(VectorOp::MaxPool { .. }) => t = *st.inputs.first()?,
            _ => return None,
        }
    }
}

/// For every array layer of `base` and every candidate weight format — and, when
/// `act_candidates` is not empty and the layer's input comes from one other array layer
/// ([`input_producer`]), every candidate width of that input — the costs and the error (MSE plus
/// a top-1 disagreement term) with that layer alone changed.
pub fn analyze(
    g: &Graph,
    cal: &Calibration,
    base: &QuantConfig,
    candidates: &[WeightSpec],
    act_candidates: &[ActSpec],
    x: &Tensor,
    float_out: &[f32],
) -> Result<Vec<Layer>> {
    let reference = lower(g, cal, base)?;
    let mut layers: Vec<Layer> = Vec::new();
    for (i, st) in reference.stages.iter().enumerate() {
        if let StageKind::Gemm(gs) = &st.kind {
            let w = (gs.n * gs.k) as u64;
            let rows = gs.conv.as_ref().map_or(1, |c| c.output_area()) as u64;
            layers.push(Layer {
                name: st.name.clone(),
                weights: w,
                macs: w * rows,
                producer: input_producer(&reference, i).filter(|_| !act_candidates.is_empty()),
                choices: Vec::new(),
            });
        }
    }
    let acts: Vec<Option<ActSpec>> = if act_candidates.is_empty() {
        vec![None]
    } else {
        act_candidates.iter().copied().map(Some).collect()
    };
    let jobs: Vec<(usize, usize, Option<ActSpec>)> = layers
        .iter()
        .enumerate()
        .flat_map(|(l, layer)| {
            let acts = if layer.producer.is_some() {
                acts.clone()
            } else {
                vec![None]
            };
            (0..candidates.len())
                .flat_map(move |c| acts.clone().into_iter().map(move |a| (l, c, a)))
        })
        .collect();
    let results: Vec<Result<(usize, Choice)>> = jobs
        .par_iter()
        .map(|&(l, c, a)| {
            let mut cfg = base.clone();
            cfg.layers
                .entry(layers[l].name.clone())
                .or_default()
                .weights = Some(candidates[c]);
            if let (Some(a), Some(prod)) = (a, &layers[l].producer) {
                cfg.layers.entry(prod.clone()).or_default().acts = Some(a);
            }
            let p = lower(g, cal, &cfg)?;
            let (rom_bits, operand_bits, input_bits) = p
                .stages
                .iter()
                .find(|s| s.name == layers[l].name)
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
                    acts: a,
                    cost: rom_bits,
                    rom_bits,
                    operand_bits,
                    input_bits,
                    error,
                },
            ))
        })
        .collect();
    for r in results {
        let (l, ch) = r?;
        layers[l].choices.push(ch);
    }
    Ok(layers)
}
