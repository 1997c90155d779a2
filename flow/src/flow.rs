//! The compile flow as library calls, shared by the CLI verbs and the tests: load and optimize a
//! model, evaluate float or quantized accuracy, and quantize with a configuration.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{FlowError, Result};
use systole_compiler::frontend::load_model;
use systole_compiler::fxir::Program;
use systole_compiler::ir::Graph;
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::passes::{run_pipeline, PipelineOptions};
use systole_compiler::quant::calibrate::{calibrate, check_data, Calibration};
use systole_compiler::reference::{int, interp};
use systole_compiler::tensor::Tensor;

/// Loads an ONNX model and runs the whole pass pipeline on it.
pub fn load_optimized(path: &Path) -> Result<Graph> {
    let mut g = load_model(path)?;
    run_pipeline(&mut g, &PipelineOptions::default(), |_, _| {})?;
    Ok(g)
}

/// Loads a model for quantization: the [`QUANTIZE_PREP`](systole_compiler::passes::QUANTIZE_PREP) passes
/// (QDQ pairs become annotations), then the pipeline.
pub fn load_for_quantize(path: &Path) -> Result<Graph> {
    let mut g = load_model(path)?;
    check_biases(&g)?;
    for p in systole_compiler::passes::QUANTIZE_PREP {
        (p.run)(&mut g)?;
    }
    run_pipeline(&mut g, &PipelineOptions::default(), |_, _| {})?;
    Ok(g)
}

/// Refuses a NaN or infinite bias before the passes rename it (`matmul-to-gemm` makes
/// `Add(MatMul(x, W), b)` a Gemm whose bias is a new constant `<matmul>.bias`), so the error
/// names the model's own initializer: a Conv's or Gemm's input C, or the constant operand of an
/// Add that follows a MatMul, Gemm or Conv. Lowering checks again (`lower::gemm`) for graphs
/// that come in already optimized.
fn check_biases(g: &Graph) -> Result<()> {
    use systole_compiler::ir::op::BinaryOp;
    use systole_compiler::ir::Op;
    let is_layer = |v: systole_compiler::ir::ValueId| {
        g.value(v)
            .producer
            .is_some_and(|p| matches!(g.node(p).op, Op::MatMul { .. } | Op::Gemm(_) | Op::Conv(_)))
    };
    for id in g.node_ids() {
        let n = g.node(id);
        let bias = match &n.op {
            Op::Conv(_) | Op::Gemm(_) => n.inputs.get(2).copied().flatten(),
            Op::Binary(BinaryOp::Add) => match (
                n.inputs.first().copied().flatten(),
                n.inputs.get(1).copied().flatten(),
            ) {
                (Some(a), Some(b)) if is_layer(a) => Some(b),
                (Some(a), Some(b)) if is_layer(b) => Some(a),
                _ => None,
            },
            _ => None,
        };
        if let Some((v, t)) = bias.and_then(|v| g.const_of(v).map(|t| (v, t))) {
            if t.dtype() == systole_compiler::DType::F32
                || t.dtype() == systole_compiler::DType::F64
            {
                systole_compiler::lower::check_finite_bias(
                    &n.name,
                    n.op.name(),
                    &g.value(v).name,
                    &t.to_f32_vec(),
                )?;
            }
        }
    }
    Ok(())
}

/// Index of the largest value of each row of `[N, C]` scores (first index on ties).
pub fn argmax_rows(scores: &[f32], classes: usize) -> Vec<usize> {
    scores
        .chunks(classes.max(1))
        .map(|row| (0..row.len()).fold(0, |b, j| if row[j] > row[b] { j } else { b }))
        .collect()
}

/// Correct and total of top-1 predictions against integer labels.
pub fn top1(scores: &Tensor, labels: &Tensor) -> Result<(usize, usize)> {
    let classes = scores.shape.last().copied().unwrap_or(1);
    let l = class_labels(labels, classes)?;
    let rows = scores.len() / classes.max(1);
    if l.len() != rows {
        return Err(FlowError::Input {
            name: "labels".into(),
            msg: format!(
                "{} labels for {} predictions (output shape {:?}); expected one per row",
                l.len(),
                rows,
                scores.shape
            ),
        });
    }
    let pred = argmax_rows(&scores.to_f32_vec(), classes);
    Ok((
        pred.iter()
            .zip(&l)
            .filter(|(p, y)| **p as i64 == **y)
            .count(),
        rows,
    ))
}

/// Labels as class indices, refusing what would score silently wrong: a float label that is not
/// a whole number (truncating 3.7 to 3 scored a shifted label set 100 %), NaN, and a class
/// outside the output's `0..classes`.
fn class_labels(labels: &Tensor, classes: usize) -> Result<Vec<i64>> {
    let bad = |msg: String| FlowError::Input {
        name: "labels".into(),
        msg,
    };
    let n = labels.len();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // Checked as f64, exact for every class index, so a u64 label of 2^64 − 1 or a float
        // label of 1e30 is named as it is (not as -1 or i64::MAX after a cast).
        let v = labels.data.get_f64(i);
        if labels.dtype().is_float() && (!v.is_finite() || v.fract() != 0.0) {
            return Err(bad(format!(
                "label {i} is {v}; expected a whole-number class index (labels are integers)"
            )));
        }
        if v < 0.0 || v >= classes as f64 {
            return Err(bad(format!(
                "label {i} is {v}, outside the model's classes 0..{classes}"
            )));
        }
        out.push(v as i64);
    }
    Ok(out)
}

/// Runs the float reference on `x` (one input) and returns the single output.
pub fn run_float(g: &Graph, x: &Tensor) -> Result<Tensor> {
    check_data(g, x, "input")?;
    let name = g.value(g.inputs[0]).name.clone();
    let out = interp::run(g, &BTreeMap::from([(name, x.clone())]))?;
    out.into_values().next().ok_or_else(|| FlowError::Model {
        msg: "the model has no output".into(),
    })
}

/// Runs the quantized program on `x` and returns its output as reals.
pub fn run_quantized(p: &Program, x: &Tensor) -> Result<Tensor> {
    let codes = int::run(p, x)?;
    Ok(int::output_tensor(p, &codes))
}

/// Calibrates `g` on `calib` (batches of 64) and lowers it with `cfg`.
pub fn quantize(
    g: &Graph,
    calib: &Tensor,
    cfg: &QuantConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Program, Calibration)> {
    let mut cal = calibrate(g, calib, 64, progress)?;
    if cfg.gptq || cfg.adaround || cfg.bias_correction {
        cal.hessians = systole_compiler::quant::calibrate::collect_hessians(g, calib, 64)?;
    }
    let p = lower(g, &cal, cfg)?;
    Ok((p, cal))
}
