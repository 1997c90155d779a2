//! QuantizeLinear and DequantizeLinear (opset 10–21, per tensor or per axis): the fake-quant
//! pairs of QDQ models from onnxruntime's quantizer and QAT exports.
//!
//! `QuantizeLinear`: `y = saturate(round_half_even(x / scale) + zero_point)` in the zero point's
//! type (uint8 when absent). `DequantizeLinear`: `y = (x - zero_point) · scale`, float32.
//! Blocked quantization (opset 21 `block_size`) and float8 storage are not modelled.

use super::{err, input, norm_axis, opt_input};
use crate::error::KernelError;
use crate::tensor::{DType, Data, Tensor};

/// The scale (and zero point) index of every element: one per tensor, or one per `axis` index.
fn param_index(op: &str, x: &Tensor, scale: &Tensor, axis: i64) -> Result<Vec<usize>, KernelError> {
    if scale.len() == 1 && scale.rank() <= 1 {
        return Ok(vec![0; x.len()]);
    }
    if scale.rank() != 1 {
        return Err(err(format!("{op}: y_scale must be a scalar or 1-D, got shape {:?} (blocked quantization is not supported)", scale.shape)));
    }
    let ax = norm_axis(op, "axis", axis, x.rank(), false)?;
    if x.shape[ax] != scale.len() {
        return Err(err(format!(
            "{op}: {} scales for axis {ax} of size {}",
            scale.len(),
            x.shape[ax]
        )));
    }
    let inner: usize = x.shape[ax + 1..].iter().product();
    Ok((0..x.len())
        .map(|i| (i / inner.max(1)) % scale.len())
        .collect())
}

/// Per-element parameter index and the zero points (0 when absent), checked against the scales.
fn params(
    op: &str,
    x: &Tensor,
    s: &Tensor,
    zp: Option<&Tensor>,
    axis: i64,
    scales: usize,
) -> Result<(Vec<usize>, Vec<i64>), KernelError> {
    let idx = param_index(op, x, s, axis)?;
    let zv: Vec<i64> = zp
        .map(|z| z.to_i64_vec())
        .unwrap_or_else(|| vec![0; scales]);
    if zv.len() != scales {
        return Err(err(format!(
            "{op}: {} zero points for {scales} scales",
            zv.len()
        )));
    }
    Ok((idx, zv))
}

fn range(dt: DType) -> Option<(f64, f64)> {
    Some(match dt {
        DType::U8 => (0.0, 255.0),
        DType::I8 => (-128.0, 127.0),
        DType::U16 => (0.0, 65535.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::I32 => (-2147483648.0, 2147483647.0),
        _ => return None,
    })
}

pub fn quantize_linear(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    const OP: &str = "QuantizeLinear";
    let x = input(OP, inputs, 0, "x")?;
    let s = input(OP, inputs, 1, "y_scale")?;
    let zp = opt_input(inputs, 2);
    let xs = x
        .as_f32()
        .ok_or_else(|| err(format!("{OP}: x must be float32, got {}", x.dtype())))?;
    let sv = s
        .as_f32()
        .ok_or_else(|| err(format!("{OP}: y_scale must be float32, got {}", s.dtype())))?;
    let dt = zp.map(|z| z.dtype()).unwrap_or(DType::U8);
    let (lo, hi) = range(dt).ok_or_else(|| {
        err(format!(
            "{OP}: zero point of type {dt} is not supported (uint8, int8, uint16, int16, int32)"
        ))
    })?;
    let (idx, zv) = params(OP, x, s, zp, axis, sv.len())?;
    let q: Vec<f64> = xs
        .iter()
        .zip(&idx)
        .map(|(&v, &i)| {
            ((f64::from(v) / f64::from(sv[i])).round_ties_even() + zv[i] as f64).clamp(lo, hi)
        })
        .collect();
    let data = match dt {
        DType::U8 => Data::U8(q.iter().map(|&v| v as u8).collect()),
        DType::I8 => Data::I8(q.iter().map(|&v| v as i8).collect()),
        DType::U16 => Data::U16(q.iter().map(|&v| v as u16).collect()),
        DType::I16 => Data::I16(q.iter().map(|&v| v as i16).collect()),
        _ => Data::I32(q.iter().map(|&v| v as i32).collect()),
    };
    Tensor::new(x.shape.clone(), data).map_err(err)
}

pub fn dequantize_linear(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    const OP: &str = "DequantizeLinear";
    let x = input(OP, inputs, 0, "x")?;
    let s = input(OP, inputs, 1, "x_scale")?;
    let zp = opt_input(inputs, 2);
    if range(x.dtype()).is_none() {
        return Err(err(format!(
            "{OP}: x of type {} is not supported (uint8, int8, uint16, int16, int32)",
            x.dtype()
        )));
    }
    if let Some(z) = zp {
        if z.dtype() != x.dtype() {
            return Err(err(format!(
                "{OP}: zero point is {} but x is {}",
                z.dtype(),
                x.dtype()
            )));
        }
    }
    let sv = s
        .as_f32()
        .ok_or_else(|| err(format!("{OP}: x_scale must be float32, got {}", s.dtype())))?;
    let (idx, zv) = params(OP, x, s, zp, axis, sv.len())?;
    let xv = x.to_i64_vec();
    let y = xv
        .iter()
        .zip(&idx)
        .map(|(&q, &i)| ((q - zv[i]) as f32) * sv[i])
        .collect();
    Ok(Tensor::f32(x.shape.clone(), y))
}
