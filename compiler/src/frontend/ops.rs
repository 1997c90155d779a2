//! The ONNX op registry: op type → converter into a typed [`Op`].
//!
//! Converters normalize every opset to the newest form: attributes that later opsets moved to
//! inputs become constant inputs here, so nothing downstream looks at the opset again.

use super::attrs::Attrs;
use super::onnx::Cx;
use crate::error::Result;
use crate::ir::op::*;
use crate::tensor::{DType, Data, Tensor};

/// Every op type the frontend accepts, for listing in the unsupported-op error.
pub const SUPPORTED: &[&str] = &[
    "Add",
    "And",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "DequantizeLinear",
    "Div",
    "Dropout",
    "Equal",
    "Erf",
    "Expand",
    "Flatten",
    "Gather",
    "Gelu",
    "GatherND",
    "Gemm",
    "GlobalAveragePool",
    "GreaterOrEqual",
    "Identity",
    "IsNaN",
    "LRN",
    "LayerNormalization",
    "LeakyRelu",
    "MatMul",
    "Max",
    "MaxPool",
    "Mul",
    "QuantizeLinear",
    "Range",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Shape",
    "Sigmoid",
    "Slice",
    "Softmax",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Where",
];

/// Domains QONNX models put their ops in: qonnx's own, FINN's older name and Brevitas's.
pub const QONNX_DOMAINS: &[&str] = &[
    "qonnx.custom_op.general",
    "finn.custom_op.general",
    "onnx.brevitas",
];

/// The QONNX ops accepted (`IntQuant` is newer qonnx's name for `Quant`).
pub const QONNX_SUPPORTED: &[&str] = &["Quant", "IntQuant"];

/// A node of a QONNX domain. `BipolarQuant`, `Trunc` and `MultiThreshold` have no lowering and
/// are refused by name, listing what is accepted.
pub fn convert_qonnx(op_type: &str, a: &Attrs, cx: &Cx) -> Result<Op> {
    if !QONNX_SUPPORTED.contains(&op_type) {
        return Err(cx.unsupported());
    }
    let mode = a.string("rounding_mode", "ROUND")?;
    let rounding = QonnxRounding::parse(&mode).ok_or_else(|| {
        a.err(
            "rounding_mode",
            format!("'{mode}' is not one of {}", QonnxRounding::NAMES),
        )
    })?;
    Ok(Op::QonnxQuant {
        signed: a.bool("signed", true)?,
        narrow: a.bool("narrow", false)?,
        rounding,
    })
}

fn auto_pad(a: &Attrs) -> Result<AutoPad> {
    Ok(match a.string("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" | "" => AutoPad::NotSet,
        "SAME_UPPER" => AutoPad::SameUpper,
        "SAME_LOWER" => AutoPad::SameLower,
        "VALID" => AutoPad::Valid,
        other => {
            return Err(a.err(
                "auto_pad",
                format!("'{other}' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID"),
            ))
        }
    })
}

fn window_attrs(a: &Attrs, kernel: Vec<usize>) -> Result<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let sp = kernel.len();
    let strides = a.usizes("strides", vec![1; sp])?;
    let dilations = a.usizes("dilations", vec![1; sp])?;
    let pads = a.usizes("pads", vec![0; 2 * sp])?;
    if sp > 0 && (strides.len() != sp || dilations.len() != sp || pads.len() != 2 * sp) {
        return Err(a.err(
            "pads",
            format!(
                "kernel has {sp} dims, so strides and dilations need {sp} and pads {}; got {}, {} and {}",
                2 * sp,
                strides.len(),
                dilations.len(),
                pads.len()
            ),
        ));
    }
    if strides.contains(&0) || dilations.contains(&0) {
        return Err(a.err("strides", "strides and dilations must be ≥ 1"));
    }
    Ok((strides, dilations, pads))
}

fn pool(a: &Attrs, avg: bool) -> Result<PoolAttrs> {
    let kernel = a.usizes("kernel_shape", vec![])?;
    if kernel.is_empty() {
        return Err(a.err("kernel_shape", "is required"));
    }
    let (strides, dilations, pads) = window_attrs(a, kernel.clone())?;
    Ok(PoolAttrs {
        kernel_shape: kernel,
        strides,
        dilations,
        pads,
        auto_pad: auto_pad(a)?,
        ceil_mode: a.bool("ceil_mode", false)?,
        count_include_pad: avg && a.bool("count_include_pad", false)?,
    })
}

fn i64_tensor(v: Vec<i64>) -> Tensor {
    Tensor::i64(vec![v.len()], v)
}

/// Converts one node. `cx` holds its resolved inputs (and can append constant inputs).
pub fn convert(op_type: &str, a: &Attrs, cx: &mut Cx) -> Result<Option<Op>> {
    let opset = cx.opset;
    let op = match op_type {
        "Gemm" => Op::Gemm(GemmAttrs {
            alpha: a.f32("alpha", 1.0)?,
            beta: a.f32("beta", 1.0)?,
            trans_a: a.bool("transA", false)?,
            trans_b: a.bool("transB", false)?,
            act: None,
        }),
        "MatMul" => Op::MatMul { act: None },
        "Add" => Op::Binary(BinaryOp::Add),
        "Sub" => Op::Binary(BinaryOp::Sub),
        "Mul" => Op::Binary(BinaryOp::Mul),
        "Div" => Op::Binary(BinaryOp::Div),
        "Relu" => Op::Unary(UnaryOp::Relu),
        "Sigmoid" => Op::Unary(UnaryOp::Sigmoid),
        "Tanh" => Op::Unary(UnaryOp::Tanh),
        "Identity" => Op::Unary(UnaryOp::Identity),
        "Erf" => Op::Unary(UnaryOp::Erf),
        "Gelu" => match a.string("approximate", "none")?.as_str() {
            "none" => Op::Unary(UnaryOp::Gelu),
            "tanh" => Op::Unary(UnaryOp::GeluTanh),
            other => {
                return Err(a.err(
                    "approximate",
                    format!("expected 'none' or 'tanh', got '{other}'"),
                ))
            }
        },
        "Equal" => Op::Equal,
        "IsNaN" => Op::IsNaN,
        "And" => Op::And,
        "GreaterOrEqual" => Op::GreaterOrEqual,
        "Max" => Op::Max,
        "Range" => Op::Range,
        "GatherND" => {
            let b = a.i64("batch_dims", 0)?;
            Op::GatherNd {
                batch_dims: usize::try_from(b)
                    .map_err(|_| a.err("batch_dims", format!("{b} is negative")))?,
            }
        }
        "Where" => Op::Where,
        "Expand" => Op::Expand,
        "LayerNormalization" => {
            // stash_type 1 (f32 statistics) is the default; the kernel computes the statistics
            // in f64, which is at least as precise, so other stash types are refused only
            // because no exporter writes them.
            if a.i64("stash_type", 1)? != 1 {
                return Err(a.err("stash_type", "only 1 (float32 statistics) is supported"));
            }
            Op::LayerNormalization {
                axis: a.i64("axis", -1)?,
                epsilon: a.epsilon()?,
            }
        }
        "ReduceSum" => {
            if opset < 13 {
                if let Some(ax) = a.ints("axes") {
                    cx.set_const_input(1, i64_tensor(ax));
                }
            }
            Op::ReduceSum {
                keepdims: a.bool("keepdims", true)?,
                noop_with_empty_axes: a.bool("noop_with_empty_axes", false)?,
            }
        }
        "LeakyRelu" => Op::LeakyRelu {
            alpha: a.f32("alpha", 0.01)?,
        },
        "Clip" => {
            if opset < 11 {
                let min = a.f32("min", f32::MIN)?;
                let max = a.f32("max", f32::MAX)?;
                cx.set_const_input(1, Tensor::scalar_f32(min));
                cx.set_const_input(2, Tensor::scalar_f32(max));
            }
            Op::Clip
        }
        "Conv" => {
            let kernel = a.usizes("kernel_shape", vec![])?;
            let sp = if kernel.is_empty() {
                cx.input_rank(1).map(|r| r.saturating_sub(2))
            } else {
                Some(kernel.len())
            };
            let (strides, dilations, pads) = match sp {
                Some(sp) => window_attrs(a, vec![1; sp])?,
                None => (
                    a.usizes("strides", vec![])?,
                    a.usizes("dilations", vec![])?,
                    a.usizes("pads", vec![])?,
                ),
            };
            let group = a.i64("group", 1)?;
            if group < 1 {
                return Err(a.err("group", format!("{group} is not ≥ 1")));
            }
            Op::Conv(ConvAttrs {
                kernel_shape: kernel,
                strides,
                dilations,
                pads,
                auto_pad: auto_pad(a)?,
                group: group as usize,
                act: None,
                im2col: None,
            })
        }
        "MaxPool" => {
            if cx.n_outputs() > 1 {
                return Err(a.err(
                    "Indices",
                    "the second output (argmax indices) is not supported",
                ));
            }
            if a.i64("storage_order", 0)? != 0 {
                return Err(a.err("storage_order", "only row-major (0) is supported"));
            }
            Op::MaxPool(pool(a, false)?)
        }
        "AveragePool" => Op::AveragePool(pool(a, true)?),
        "GlobalAveragePool" => Op::GlobalAveragePool,
        "BatchNormalization" => {
            if a.i64("training_mode", 0)? != 0 || cx.n_outputs() > 1 {
                return Err(a.err(
                    "training_mode",
                    "only inference mode (one output) is supported",
                ));
            }
            Op::BatchNormalization {
                epsilon: a.epsilon()?,
            }
        }
        "LRN" => {
            let size = a.req_i64("size")?;
            if size < 1 {
                return Err(a.err("size", format!("{size} is not ≥ 1")));
            }
            Op::Lrn {
                alpha: a.f32("alpha", 1e-4)?,
                beta: a.f32("beta", 0.75)?,
                bias: a.f32("bias", 1.0)?,
                size: size as usize,
            }
        }
        "Flatten" => Op::Flatten {
            axis: a.i64("axis", 1)?,
        },
        "Reshape" => Op::Reshape {
            allowzero: a.bool("allowzero", false)?,
        },
        "Transpose" => Op::Transpose {
            perm: a.usizes("perm", vec![])?,
        },
        "Concat" => Op::Concat {
            axis: a.req_i64("axis")?,
        },
        "Sum" => Op::Sum,
        "QuantizeLinear" | "DequantizeLinear" => {
            if a.i64("block_size", 0)? != 0 {
                return Err(a.err("block_size", "blocked quantization is not supported"));
            }
            if op_type == "QuantizeLinear" && a.i64("output_dtype", 0)? != 0 {
                return Err(a.err(
                    "output_dtype",
                    "is not supported; give a zero point of the wanted type",
                ));
            }
            let axis = a.i64("axis", 1)?;
            if op_type == "QuantizeLinear" {
                Op::QuantizeLinear { axis }
            } else {
                Op::DequantizeLinear { axis }
            }
        }
        "Softmax" => {
            let legacy = opset < 13;
            Op::Softmax {
                axis: a.i64("axis", if legacy { 1 } else { -1 })?,
                legacy_2d: legacy,
            }
        }
        "Dropout" => Op::Dropout,
        "Squeeze" | "Unsqueeze" => {
            if opset < 13 {
                match a.ints("axes") {
                    Some(ax) => cx.set_const_input(1, i64_tensor(ax)),
                    None if op_type == "Unsqueeze" => return Err(a.err("axes", "is required")),
                    None => {}
                }
            }
            if op_type == "Squeeze" {
                Op::Squeeze
            } else {
                Op::Unsqueeze
            }
        }
        "Shape" => Op::Shape {
            start: a.i64("start", 0)?,
            end: if a.has("end") {
                Some(a.i64("end", 0)?)
            } else {
                None
            },
        },
        "Gather" => Op::Gather {
            axis: a.i64("axis", 0)?,
        },
        "Slice" => {
            if opset < 10 {
                let starts = a
                    .ints("starts")
                    .ok_or_else(|| a.err("starts", "is required"))?;
                let ends = a.ints("ends").ok_or_else(|| a.err("ends", "is required"))?;
                cx.set_const_input(1, i64_tensor(starts));
                cx.set_const_input(2, i64_tensor(ends));
                if let Some(axes) = a.ints("axes") {
                    cx.set_const_input(3, i64_tensor(axes));
                }
            }
            Op::Slice
        }
        "Cast" => {
            let code = a.req_i64("to")? as i32;
            let to = DType::from_onnx(code).ok_or_else(|| {
                a.err(
                    "to",
                    format!(
                        "element type {} ({code}) is not supported",
                        DType::onnx_name(code)
                    ),
                )
            })?;
            Op::Cast { to }
        }
        "ConstantOfShape" => {
            let value = match a.get("value").and_then(|v| v.t.as_ref()) {
                Some(t) => {
                    let t = super::tensor_proto::tensor_from_proto(t, None)?;
                    if t.len() != 1 {
                        return Err(
                            a.err("value", format!("must hold one element; holds {}", t.len()))
                        );
                    }
                    Tensor {
                        shape: vec![],
                        data: t.data,
                    }
                }
                None => Tensor {
                    shape: vec![],
                    data: Data::F32(vec![0.0]),
                },
            };
            Op::ConstantOfShape { value }
        }
        "Constant" => {
            cx.define_constant(constant_value(a)?);
            return Ok(None);
        }
        _ => return Err(cx.unsupported()),
    };
    Ok(Some(op))
}

/// The value of a Constant node, from whichever of its attribute forms is present.
fn constant_value(a: &Attrs) -> Result<Tensor> {
    if let Some(t) = a.get("value").and_then(|v| v.t.as_ref()) {
        return super::tensor_proto::tensor_from_proto(t, None);
    }
    if let Some(v) = a.get("value_float").and_then(|v| v.f) {
        return Ok(Tensor::scalar_f32(v));
    }
    if let Some(v) = a.get("value_int").and_then(|v| v.i) {
        return Ok(Tensor::i64(vec![], vec![v]));
    }
    if let Some(v) = a.get("value_floats") {
        return Ok(Tensor::f32(vec![v.floats.len()], v.floats.clone()));
    }
    if let Some(v) = a.get("value_ints") {
        return Ok(i64_tensor(v.ints.clone()));
    }
    Err(a.err(
        "value",
        format!(
            "Constant needs one of value, value_float(s), value_int(s); has {:?} (sparse and string constants are not supported)",
            a.names()
        ),
    ))
}
