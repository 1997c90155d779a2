//! Loading a model for a flow: the frontend and the pass pipeline, and for quantization the
//! passes that turn a model's own quantization (QDQ pairs, QONNX nodes) into annotations.

use std::path::Path;

use crate::error::Result;
use systole_compiler::frontend::load_model;
use systole_compiler::ir::Graph;
use systole_compiler::passes::{run_pipeline, PipelineOptions};

/// Loads an ONNX model and runs the whole pass pipeline on it.
pub fn load_optimized(path: &Path) -> Result<Graph> {
    Ok(systole_compiler::passes::load_optimized(path)?)
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
