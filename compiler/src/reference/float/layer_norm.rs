//! LayerNormalization (opset 17): each row over the axes from `axis` to the last is normalized
//! to zero mean and unit variance, then scaled and shifted. Statistics are computed in f64 so the
//! reference is at least as precise as onnxruntime's f32 stash type.

use super::broadcast;
use super::num::{dispatch_real, Real};
use super::{err, input, max_inputs, norm_axis, opt_input, tensor, typed};
use crate::error::KernelError;
use crate::tensor::Tensor;

const OP: &str = "LayerNormalization";

/// Returns Y, Mean and InvStdDev (the last two f32, shaped like X with the normalized axes 1).
pub fn layer_norm(
    axis: i64,
    epsilon: f32,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, KernelError> {
    max_inputs(OP, inputs, 3)?;
    let x = input(OP, inputs, 0, "X")?;
    let a = norm_axis(OP, "axis", axis, x.rank(), false)?;
    let dt = x.dtype();
    dispatch_real!(dt, T => layer_norm_typed::<T>(a, epsilon, x, inputs),
        Err(err(format!("{OP}: input X must be f32 or f64, got {dt}"))))
}

fn layer_norm_typed<T: Real>(
    a: usize,
    epsilon: f32,
    x: &Tensor,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, KernelError> {
    let norm_shape = &x.shape[a..];
    let len: usize = norm_shape.iter().product();
    let scale_t = input(OP, inputs, 1, "Scale")?;
    let scale = broadcast::expand(
        OP,
        "Scale",
        typed::<T>(OP, "Scale", scale_t)?,
        &scale_t.shape,
        norm_shape,
    )?;
    let bias = match opt_input(inputs, 2) {
        Some(b) => broadcast::expand(OP, "B", typed::<T>(OP, "B", b)?, &b.shape, norm_shape)?,
        None => vec![T::ZERO; len],
    };
    let xv = typed::<T>(OP, "X", x)?;
    let rows = xv.len().checked_div(len).unwrap_or(0);
    let mut y = vec![T::ZERO; xv.len()];
    let (mut means, mut inv_stds) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for r in 0..rows {
        let row = &xv[r * len..(r + 1) * len];
        let mean = row.iter().map(|v| v.to_f64()).sum::<f64>() / len as f64;
        let var = row.iter().map(|v| (v.to_f64() - mean).powi(2)).sum::<f64>() / len as f64;
        let inv = 1.0 / (var + epsilon as f64).sqrt();
        for (j, (o, &v)) in y[r * len..(r + 1) * len].iter_mut().zip(row).enumerate() {
            let n = (v.to_f64() - mean) * inv;
            *o = T::from_f64(n * scale[j].to_f64() + bias[j].to_f64());
        }
        means.push(mean as f32);
        inv_stds.push(inv as f32);
    }
    let mut stat_shape = x.shape.clone();
    stat_shape[a..].iter_mut().for_each(|d| *d = 1);
    Ok(vec![
        tensor(x.shape.clone(), y),
        Tensor::f32(stat_shape.clone(), means),
        Tensor::f32(stat_shape, inv_stds),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_rows_and_reports_statistics() {
        let x = Tensor::f32(vec![2, 2], vec![1.0, 3.0, -2.0, 2.0]);
        let s = Tensor::f32(vec![2], vec![1.0, 2.0]);
        let b = Tensor::f32(vec![2], vec![0.5, 0.0]);
        let out = layer_norm(-1, 0.0, &[Some(&x), Some(&s), Some(&b)]).unwrap();
        let y = out[0].as_f32().unwrap();
        assert!(
            (y[0] + 0.5).abs() < 1e-6 && (y[1] - 2.0).abs() < 1e-6,
            "{y:?}"
        );
        assert_eq!(out[1].shape, vec![2, 1]);
        assert_eq!(out[1].as_f32().unwrap(), &[2.0, 0.0]);
        assert!((out[2].as_f32().unwrap()[1] - 0.5).abs() < 1e-6);
        let wrong = Tensor::f32(vec![3], vec![1.0; 3]);
        assert!(layer_norm(-1, 0.0, &[Some(&x), Some(&wrong)]).is_err());
        assert!(layer_norm(2, 0.0, &[Some(&x), Some(&s)]).is_err());
    }
}
