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
    Tensor::new(x.shape.clone(), data).map_err(|e| err(e.to_string()))
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

/// The integer range of a QONNX `Quant` of `bits` bits, as qonnx's `min_int`/`max_int` define it.
pub fn qonnx_range(signed: bool, narrow: bool, bits: u32) -> (f64, f64) {
    let b = f64::from(bits);
    match (signed, narrow) {
        (true, true) => (-(2f64.powf(b - 1.0)) + 1.0, 2f64.powf(b - 1.0) - 1.0),
        (true, false) => (-(2f64.powf(b - 1.0)), 2f64.powf(b - 1.0) - 1.0),
        (false, true) => (0.0, 2f64.powf(b) - 2.0),
        (false, false) => (0.0, 2f64.powf(b) - 1.0),
    }
}

/// The bit width input of a `Quant`: a scalar integer from 2 to 32 (1-bit signed `Quant` is
/// bipolar in qonnx, a different op in all but name, and is refused).
pub fn qonnx_bits(t: &Tensor) -> Result<u32, KernelError> {
    const OP: &str = "Quant";
    if t.len() != 1 {
        return Err(err(format!(
            "{OP}: the bit width must be a scalar, got shape {:?}",
            t.shape
        )));
    }
    let b = t.data.get_f64(0);
    if b.fract() != 0.0 || !(2.0..=32.0).contains(&b) {
        return Err(err(format!(
            "{OP}: bit width {b} is not an integer from 2 to 32"
        )));
    }
    Ok(b as u32)
}

/// QONNX `Quant`: `(round(clamp(x / scale + zp, min, max)) - zp) · scale`, every step in
/// float32 in qonnx's order (clamp before rounding; the same thing, since the bounds are
/// integers), so its executor's outputs are matched exactly.
pub fn qonnx_quant(
    signed: bool,
    narrow: bool,
    rounding: crate::ir::op::QonnxRounding,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, KernelError> {
    const OP: &str = "Quant";
    let x = input(OP, inputs, 0, "x")?;
    let s = input(OP, inputs, 1, "scale")?;
    let z = input(OP, inputs, 2, "zeropt")?;
    let bits = qonnx_bits(input(OP, inputs, 3, "bitwidth")?)?;
    fn f32_of<'t>(t: &'t Tensor, what: &str) -> Result<&'t [f32], KernelError> {
        t.as_f32()
            .ok_or_else(|| err(format!("{OP}: {what} must be float32, got {}", t.dtype())))
    }
    let (xs, sv, zv) = (f32_of(x, "x")?, f32_of(s, "scale")?, f32_of(z, "zeropt")?);
    let (lo, hi) = qonnx_range(signed, narrow, bits);
    let (lo, hi) = (lo as f32, hi as f32);
    let (shape, y) = super::broadcast::ternary(
        OP,
        (xs, &x.shape),
        (sv, &s.shape),
        (zv, &z.shape),
        |v, s, z| (rounding.apply((v / s + z).clamp(lo, hi)) - z) * s,
    )?;
    if shape != x.shape {
        return Err(err(format!(
            "{OP}: scale {:?} and zero point {:?} must broadcast to x {:?}",
            s.shape, z.shape, x.shape
        )));
    }
    Ok(Tensor::f32(shape, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::op::QonnxRounding;

    fn quant(
        x: &[f32],
        scale: f32,
        zp: f32,
        bits: f32,
        signed: bool,
        narrow: bool,
        r: QonnxRounding,
    ) -> Vec<f32> {
        let x = Tensor::f32(vec![x.len()], x.to_vec());
        let (s, z, b) = (
            Tensor::f32(vec![], vec![scale]),
            Tensor::f32(vec![], vec![zp]),
            Tensor::f32(vec![], vec![bits]),
        );
        qonnx_quant(signed, narrow, r, &[Some(&x), Some(&s), Some(&z), Some(&b)])
            .unwrap()
            .to_f32_vec()
    }

    #[test]
    fn qonnx_ranges_follow_min_int_and_max_int() {
        // qonnx's docstring examples, 8 bits.
        assert_eq!(qonnx_range(true, true, 8), (-127.0, 127.0));
        assert_eq!(qonnx_range(true, false, 8), (-128.0, 127.0));
        assert_eq!(qonnx_range(false, true, 8), (0.0, 254.0));
        assert_eq!(qonnx_range(false, false, 8), (0.0, 255.0));
    }

    #[test]
    fn quant_clamps_rounds_and_rescales() {
        use QonnxRounding::*;
        let x = [-9.0, -2.5, -0.5, 0.5, 1.5, 2.5, 9.0];
        // 4-bit signed narrow: codes -7..7, ties to even.
        assert_eq!(
            quant(&x, 1.0, 0.0, 4.0, true, true, HalfEven),
            [-7.0, -2.0, -0.0, 0.0, 2.0, 2.0, 7.0]
        );
        assert_eq!(quant(&x, 1.0, 0.0, 4.0, true, false, HalfEven)[0], -8.0);
        assert_eq!(
            quant(&x, 1.0, 0.0, 4.0, true, false, HalfUp),
            [-8.0, -3.0, -1.0, 1.0, 2.0, 3.0, 7.0]
        );
        assert_eq!(
            quant(&x, 1.0, 0.0, 4.0, true, false, HalfDown),
            [-8.0, -2.0, -0.0, 0.0, 1.0, 2.0, 7.0]
        );
        assert_eq!(
            quant(&[0.2, -0.2], 1.0, 0.0, 4.0, true, false, Up),
            [1.0, -1.0]
        );
        assert_eq!(
            quant(&[0.7, -0.7], 1.0, 0.0, 4.0, true, false, Down),
            [0.0, -0.0]
        );
        assert_eq!(
            quant(&[0.2, -0.2], 1.0, 0.0, 4.0, true, false, Ceil),
            [1.0, -0.0]
        );
        assert_eq!(
            quant(&[0.7, -0.7], 1.0, 0.0, 4.0, true, false, Floor),
            [0.0, -1.0]
        );
        // Unsigned with a zero point and a scale: code = clamp(round(x / 0.5 + 3), 0, 14).
        assert_eq!(
            quant(
                &[-4.0, 0.0, 1.0, 10.0],
                0.5,
                3.0,
                4.0,
                false,
                true,
                HalfEven
            ),
            [-1.5, 0.0, 1.0, 5.5]
        );
    }

    #[test]
    fn quant_refuses_odd_bit_widths_and_shapes() {
        let x = Tensor::f32(vec![2], vec![0.0, 1.0]);
        let one = Tensor::f32(vec![], vec![1.0]);
        for bits in [1.0, 3.5, 33.0] {
            let b = Tensor::f32(vec![], vec![bits]);
            let r = qonnx_quant(
                true,
                false,
                QonnxRounding::HalfEven,
                &[Some(&x), Some(&one), Some(&one), Some(&b)],
            );
            assert!(r.is_err(), "{bits}");
        }
        let b = Tensor::f32(vec![], vec![8.0]);
        let wide = Tensor::f32(vec![3], vec![1.0; 3]);
        assert!(qonnx_quant(
            true,
            false,
            QonnxRounding::HalfEven,
            &[Some(&x), Some(&wide), Some(&one), Some(&b)]
        )
        .is_err());
    }
}
