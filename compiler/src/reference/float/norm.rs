//! BatchNormalization (inference mode) and LRN.

use rayon::prelude::*;

use super::num::{dispatch_real, Num, Real};
use super::{err, input, max_inputs, tensor, typed};
use crate::error::KernelError;
use crate::tensor::Tensor;

/// `y = (x - mean) / sqrt(var + epsilon) · scale + B`, per channel (dim 1).
pub fn batch_norm(epsilon: f32, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    const OP: &str = "BatchNormalization";
    max_inputs(OP, inputs, 5)?;
    let x = input(OP, inputs, 0, "X")?;
    let dt = x.dtype();
    dispatch_real!(dt, T => batch_norm_typed::<T>(epsilon, x, inputs),
        Err(err(format!("{OP}: input X must be f32 or f64, got {dt}"))))
}

fn batch_norm_typed<T: Real>(
    epsilon: f32,
    x: &Tensor,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, KernelError> {
    const OP: &str = "BatchNormalization";
    if x.rank() < 2 {
        return Err(err(format!(
            "{OP}: input X must be [N, C, ...], got shape {:?}",
            x.shape
        )));
    }
    let c = x.shape[1];
    let mut params = Vec::with_capacity(4);
    for (i, name) in [(1, "scale"), (2, "B"), (3, "input_mean"), (4, "input_var")] {
        let t = input(OP, inputs, i, name)?;
        if t.shape != [c] {
            return Err(err(format!(
                "{OP}: input {name} must have shape [{c}] (the channels of X {:?}), got {:?}",
                x.shape, t.shape
            )));
        }
        params.push(typed::<T>(OP, name, t)?);
    }
    let (scale, bias, mean, var) = (params[0], params[1], params[2], params[3]);
    let xv = typed::<T>(OP, "X", x)?;
    // Fold into y = x·a + b per channel (a and b computed in f64).
    let (a, b): (Vec<T>, Vec<T>) = (0..c)
        .map(|ch| {
            let a = scale[ch].to_f64() / (var[ch].to_f64() + epsilon as f64).sqrt();
            (
                T::from_f64(a),
                T::from_f64(bias[ch].to_f64() - mean[ch].to_f64() * a),
            )
        })
        .unzip();
    let inner: usize = x.shape[2..].iter().product();
    let mut y = vec![T::ZERO; xv.len()];
    let image = |(yi, xi): (&mut [T], &[T])| {
        for (ch, (yc, xc)) in yi.chunks_mut(inner).zip(xi.chunks(inner)).enumerate() {
            let (a, b) = (a[ch], b[ch]);
            yc.iter_mut().zip(xc).for_each(|(o, &v)| *o = v * a + b);
        }
    };
    let img = c * inner;
    if img > 0 && xv.len() >= 1 << 16 {
        y.par_chunks_mut(img)
            .zip(xv.par_chunks(img))
            .for_each(image);
    } else if img > 0 {
        y.chunks_mut(img).zip(xv.chunks(img)).for_each(image);
    }
    Ok(tensor(x.shape.clone(), y))
}

/// LRN across channels: `y = x / (bias + alpha / size · Σ x²)^beta`, the sum over channels
/// `[c - floor((size-1)/2), c + ceil((size-1)/2)]` clipped to the valid range.
pub fn lrn(
    alpha: f32,
    beta: f32,
    bias: f32,
    size: usize,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, KernelError> {
    max_inputs("LRN", inputs, 1)?;
    let x = input("LRN", inputs, 0, "X")?;
    if x.rank() < 3 {
        return Err(err(format!(
            "LRN: input X must be [N, C, D1, ...], got shape {:?}",
            x.shape
        )));
    }
    if size == 0 {
        return Err(err("LRN: size must be >= 1"));
    }
    let dt = x.dtype();
    dispatch_real!(dt, T => {
        let xv = typed::<T>("LRN", "X", x)?;
        let (n, c) = (x.shape[0], x.shape[1]);
        let inner: usize = x.shape[2..].iter().product();
        let (before, after) = ((size - 1) / 2, (size - 1).div_ceil(2));
        let (alpha, beta, bias) = (alpha as f64, beta as f64, bias as f64);
        let mut y = vec![T::ZERO; xv.len()];
        for b in 0..n {
            let img = &xv[b * c * inner..(b + 1) * c * inner];
            for ch in 0..c {
                let lo = ch.saturating_sub(before);
                let hi = (ch + after).min(c - 1);
                for p in 0..inner {
                    let sq: f64 = (lo..=hi).map(|k| img[k * inner + p].to_f64().powi(2)).sum();
                    let v = img[ch * inner + p].to_f64();
                    y[(b * c + ch) * inner + p] =
                        T::from_f64(v / (bias + alpha / size as f64 * sq).powf(beta));
                }
            }
        }
        Ok(tensor(x.shape.clone(), y))
    }, Err(err(format!("LRN: input X must be f32 or f64, got {dt}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_norm_per_channel() {
        let x = Tensor::f32(vec![1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let s = Tensor::f32(vec![2], vec![1.0, 2.0]);
        let b = Tensor::f32(vec![2], vec![0.0, 1.0]);
        let m = Tensor::f32(vec![2], vec![1.0, 3.0]);
        let v = Tensor::f32(vec![2], vec![4.0, 1.0]);
        let y = batch_norm(0.0, &[Some(&x), Some(&s), Some(&b), Some(&m), Some(&v)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[0.0, 0.5, 1.0, 3.0]);
        // epsilon enters under the square root.
        let y = batch_norm(3.0, &[Some(&x), Some(&s), Some(&b), Some(&m), Some(&v)]).unwrap();
        assert!((y.as_f32().unwrap()[1] - 1.0 / 7f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn batch_norm_errors() {
        let x = Tensor::f32(vec![1, 2, 2], vec![1.0; 4]);
        let p2 = Tensor::f32(vec![2], vec![1.0; 2]);
        let p3 = Tensor::f32(vec![3], vec![1.0; 3]);
        let e = batch_norm(
            1e-5,
            &[Some(&x), Some(&p2), Some(&p3), Some(&p2), Some(&p2)],
        )
        .unwrap_err();
        assert!(e.0.contains("input B must have shape [2]"), "{e}");
        assert!(batch_norm(1e-5, &[Some(&x), Some(&p2), Some(&p2), Some(&p2)]).is_err());
        let flat = Tensor::f32(vec![2], vec![1.0; 2]);
        assert!(batch_norm(
            1e-5,
            &[Some(&flat), Some(&p2), Some(&p2), Some(&p2), Some(&p2)]
        )
        .is_err());
    }

    #[test]
    fn lrn_window_is_asymmetric_for_even_size() {
        // C = 3, size 2: window [c, c + 1].
        let x = Tensor::f32(vec![1, 3, 1, 1], vec![1.0, 2.0, 3.0]);
        let y = lrn(2.0, 1.0, 1.0, 2, &[Some(&x)]).unwrap();
        let y = y.as_f32().unwrap();
        assert!((y[0] - 1.0 / (1.0 + 1.0 * 5.0)).abs() < 1e-6);
        assert!((y[1] - 2.0 / (1.0 + 1.0 * 13.0)).abs() < 1e-6);
        assert!((y[2] - 3.0 / (1.0 + 1.0 * 9.0)).abs() < 1e-6);
        // size 3: window [c-1, c+1], beta 0.5.
        let y = lrn(3.0, 0.5, 2.0, 3, &[Some(&x)]).unwrap();
        assert!((y.as_f32().unwrap()[1] - 2.0 / (2.0f32 + 14.0).sqrt()).abs() < 1e-6);
        assert!(lrn(1.0, 1.0, 1.0, 0, &[Some(&x)]).is_err());
    }
}
