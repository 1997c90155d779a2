//! Float reference kernels: what a model computes before quantization, checked against
//! onnxruntime and the ONNX backend node tests.
//!
//! One module per concept; [`eval`] dispatches an [`Op`] to its kernel. Kernels validate every
//! rank, shape and dtype before indexing, and report problems as a [`KernelError`] that names
//! the op, the input and what was expected.

mod activation;
mod broadcast;

pub use broadcast::ternary as broadcast_ternary;
mod cast;
mod conv;
mod elementwise;
mod gemm;
mod layer_norm;
mod logic;
mod movement;
mod norm;
mod num;
mod patches;
mod pool;
pub mod qdq;
mod reduce;
mod select;
mod shape_ops;
mod softmax;
pub(crate) mod spatial;

#[cfg(test)]
mod conv_tests;

use crate::error::KernelError;
use crate::ir::op::Op;
use crate::tensor::Tensor;

pub use broadcast::broadcast_shapes;

/// Evaluates one op on concrete inputs (`None` for an absent optional input).
pub fn eval(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, KernelError> {
    let one = |t: Tensor| vec![t];
    Ok(match op {
        Op::Gemm(attrs) => one(gemm::gemm(attrs, inputs)?),
        Op::MatMul { act } => one(gemm::matmul(*act, inputs)?),
        Op::Binary(b) => one(elementwise::binary(*b, inputs)?),
        Op::Sum => one(elementwise::sum(inputs)?),
        Op::Unary(u) => one(elementwise::unary(*u, inputs)?),
        Op::LeakyRelu { alpha } => one(elementwise::leaky_relu(*alpha, inputs)?),
        Op::Clip => one(elementwise::clip(inputs)?),
        Op::Conv(attrs) => one(conv::conv(attrs, inputs)?),
        Op::MaxPool(attrs) => one(pool::max_pool(attrs, inputs)?),
        Op::AveragePool(attrs) => one(pool::average_pool(attrs, inputs)?),
        Op::GlobalAveragePool => one(pool::global_average_pool(inputs)?),
        Op::BatchNormalization { epsilon } => one(norm::batch_norm(*epsilon, inputs)?),
        Op::Lrn {
            alpha,
            beta,
            bias,
            size,
        } => one(norm::lrn(*alpha, *beta, *bias, *size, inputs)?),
        Op::Softmax { axis, legacy_2d } => one(softmax::softmax(*axis, *legacy_2d, inputs)?),
        Op::Flatten { axis } => one(shape_ops::flatten(*axis, inputs)?),
        Op::Reshape { allowzero } => one(shape_ops::reshape(*allowzero, inputs)?),
        Op::Squeeze => one(shape_ops::squeeze(inputs)?),
        Op::Unsqueeze => one(shape_ops::unsqueeze(inputs)?),
        Op::Shape { start, end } => one(shape_ops::shape(*start, *end, inputs)?),
        Op::ConstantOfShape { value } => one(shape_ops::constant_of_shape(value, inputs)?),
        Op::Dropout => shape_ops::dropout(inputs)?,
        Op::Transpose { perm } => one(movement::transpose(perm, inputs)?),
        Op::Concat { axis } => one(movement::concat(*axis, inputs)?),
        Op::Gather { axis } => one(movement::gather(*axis, inputs)?),
        Op::Slice => one(movement::slice(inputs)?),
        Op::Cast { to } => one(cast::cast(*to, inputs)?),
        Op::QuantizeLinear { axis } => one(qdq::quantize_linear(*axis, inputs)?),
        Op::DequantizeLinear { axis } => one(qdq::dequantize_linear(*axis, inputs)?),
        Op::IsNaN => one(logic::is_nan(inputs)?),
        Op::And => one(logic::and(inputs)?),
        Op::GreaterOrEqual => one(logic::greater_or_equal(inputs)?),
        Op::Max => one(logic::max(inputs)?),
        Op::Range => one(logic::range(inputs)?),
        Op::GatherNd { batch_dims } => one(logic::gather_nd(*batch_dims, inputs)?),
        Op::QonnxQuant {
            signed,
            narrow,
            rounding,
        } => one(qdq::qonnx_quant(*signed, *narrow, *rounding, inputs)?),
        Op::Equal => one(select::equal(inputs)?),
        Op::Where => one(select::where_(inputs)?),
        Op::Expand => one(select::expand(inputs)?),
        Op::LayerNormalization { axis, epsilon } => {
            layer_norm::layer_norm(*axis, *epsilon, inputs)?
        }
        Op::ReduceSum {
            keepdims,
            noop_with_empty_axes,
        } => one(reduce::reduce_sum(
            *keepdims,
            *noop_with_empty_axes,
            inputs,
        )?),
    })
}

/// Checks an output whose shape came from the data (ConstantOfShape, Range, Expand) before it
/// is allocated: shape inference could not bound it, so a hostile input could otherwise ask
/// for 2^64 elements (a capacity-overflow panic) or more memory than the machine has (an abort
/// that no error handler sees). The element limit is the process-wide one; the fallible
/// reservation turns "larger than memory" into an error as well.
pub(crate) fn runtime_elements(
    op: &str,
    shape: &[usize],
    elem_bytes: usize,
) -> Result<usize, KernelError> {
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err(format!("{op}: the output shape {shape:?} overflows")))?;
    systole_hw::limits::MAX_TENSOR_ELEMENTS
        .check(n as u128)
        .map_err(|m| {
            err(format!(
                "{op}: the output of shape {shape:?} is too large: {m}"
            ))
        })?;
    let bytes = n
        .checked_mul(elem_bytes.max(1))
        .ok_or_else(|| err(format!("{op}: the output shape {shape:?} overflows")))?;
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(bytes).map_err(|_| {
        err(format!(
            "{op}: the output of shape {shape:?} needs {bytes} bytes, more than this machine can allocate"
        ))
    })?;
    Ok(n)
}

fn err(msg: impl Into<String>) -> KernelError {
    KernelError::new(msg)
}

/// Input `i` (named `name` in messages), which must be present.
fn input<'a>(
    op: &str,
    inputs: &[Option<&'a Tensor>],
    i: usize,
    name: &str,
) -> Result<&'a Tensor, KernelError> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| err(format!("{op}: input {i} ({name}) is required but missing")))
}

/// Optional input `i`: `None` when absent or beyond the list.
fn opt_input<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Option<&'a Tensor> {
    inputs.get(i).copied().flatten()
}

/// Errors when more than `max` inputs were given.
fn max_inputs(op: &str, inputs: &[Option<&Tensor>], max: usize) -> Result<(), KernelError> {
    if inputs.len() > max {
        return Err(err(format!(
            "{op}: takes at most {max} inputs, got {}",
            inputs.len()
        )));
    }
    Ok(())
}

/// The elements of `t` as `T`, or an error naming the expected and actual dtype.
fn typed<'a, T: num::Elem>(op: &str, name: &str, t: &'a Tensor) -> Result<&'a [T], KernelError> {
    T::slice(&t.data).ok_or_else(|| {
        err(format!(
            "{op}: input {name} must be {} like the others, got {}",
            T::DTYPE,
            t.dtype()
        ))
    })
}

/// An integer tensor (shape, axes, indices) as i64 values.
fn int_values(op: &str, name: &str, t: &Tensor) -> Result<Vec<i64>, KernelError> {
    if t.dtype().is_float() || t.dtype() == crate::tensor::DType::Bool {
        return Err(err(format!(
            "{op}: input {name} must be an integer tensor, got {}",
            t.dtype()
        )));
    }
    Ok(t.to_i64_vec())
}

/// Normalizes `axis` in `[-rank, rank)` (or `[-rank, rank]` when `inclusive`).
fn norm_axis(
    op: &str,
    what: &str,
    axis: i64,
    rank: usize,
    inclusive: bool,
) -> Result<usize, KernelError> {
    let r = rank as i64;
    let hi = if inclusive { r } else { r - 1 };
    if axis < -r || axis > hi {
        return Err(err(format!(
            "{op}: {what} {axis} is out of range [{}, {hi}] for rank {rank}",
            -r
        )));
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

fn tensor<T: num::Elem>(shape: Vec<usize>, v: Vec<T>) -> Tensor {
    debug_assert_eq!(shape.iter().product::<usize>(), v.len());
    Tensor {
        shape,
        data: T::wrap(v),
    }
}
