//! Softmax, in the opset ≥ 13 form (along one axis) and the legacy form (the input coerced to
//! 2-D at `axis`, each row normalized). Subtracts the maximum first for numerical stability.

use super::num::{dispatch_real, Num, Real};
use super::{err, input, max_inputs, norm_axis, tensor, typed};
use crate::error::KernelError;
use crate::tensor::Tensor;

pub fn softmax(
    axis: i64,
    legacy_2d: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, KernelError> {
    max_inputs("Softmax", inputs, 1)?;
    let x = input("Softmax", inputs, 0, "input")?;
    let rank = x.rank();
    let (outer, len, inner) = if rank == 0 {
        (1, 1, 1)
    } else if legacy_2d {
        let a = norm_axis("Softmax", "axis", axis, rank, true)?;
        (
            x.shape[..a].iter().product(),
            x.shape[a..].iter().product(),
            1,
        )
    } else {
        let a = norm_axis("Softmax", "axis", axis, rank, false)?;
        (
            x.shape[..a].iter().product(),
            x.shape[a],
            x.shape[a + 1..].iter().product(),
        )
    };
    let dt = x.dtype();
    dispatch_real!(dt, T => {
        let xv = typed::<T>("Softmax", "input", x)?;
        let mut y = vec![T::ZERO; xv.len()];
        for o in 0..outer {
            for i in 0..inner {
                let base = o * len * inner + i;
                let idx = |j: usize| base + j * inner;
                let mut m = T::NEG_INFINITY;
                for j in 0..len {
                    let v = xv[idx(j)];
                    if v > m || v.is_nan() {
                        m = v;
                    }
                }
                let mut s = 0f64;
                for j in 0..len {
                    let e = (xv[idx(j)] - m).exp();
                    y[idx(j)] = e;
                    s += e.to_f64();
                }
                let inv = T::from_f64(1.0 / s);
                for j in 0..len {
                    y[idx(j)] *= inv;
                }
            }
        }
        Ok(tensor(x.shape.clone(), y))
    }, Err(err(format!("Softmax: input must be f32 or f64, got {dt}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn last_axis_and_stability() {
        let x = Tensor::f32(vec![1, 3], vec![1000.0, 1001.0, 1002.0]);
        let y = softmax(-1, false, &[Some(&x)]).unwrap();
        close(
            y.as_f32().unwrap(),
            &[0.090_030_57, 0.244_728_48, 0.665_240_94],
        );
    }

    #[test]
    fn middle_axis_vs_legacy() {
        let x = Tensor::f32(vec![1, 2, 2], vec![0.0, 0.0, 0.0, 2f32.ln()]);
        // Along axis 1 (columns of each 2×2).
        let y = softmax(1, false, &[Some(&x)]).unwrap();
        close(y.as_f32().unwrap(), &[0.5, 1.0 / 3.0, 0.5, 2.0 / 3.0]);
        // Legacy: coerce to [1, 4] and normalize the row.
        let y = softmax(1, true, &[Some(&x)]).unwrap();
        close(y.as_f32().unwrap(), &[0.2, 0.2, 0.2, 0.4]);
        // Legacy axis == rank: each element is its own row.
        let y = softmax(3, true, &[Some(&x)]).unwrap();
        close(y.as_f32().unwrap(), &[1.0; 4]);
    }

    #[test]
    fn bad_axis_and_dtype() {
        let x = Tensor::f32(vec![2, 2], vec![0.0; 4]);
        assert!(softmax(2, false, &[Some(&x)]).is_err());
        assert!(softmax(-3, false, &[Some(&x)]).is_err());
        let xi = Tensor::i64(vec![2], vec![1, 2]);
        assert!(softmax(0, false, &[Some(&xi)]).is_err());
    }
}
