//! Scalar activation functions, shared by the standalone ops and the activations fused into
//! Conv, Gemm and MatMul. NaN propagates through all of them, as in onnxruntime.

use super::num::Real;
use crate::ir::op::Activation;

pub fn relu<T: Real>(x: T) -> T {
    if x < T::ZERO {
        T::ZERO
    } else {
        x
    }
}

pub fn leaky_relu<T: Real>(x: T, alpha: T) -> T {
    if x < T::ZERO {
        alpha * x
    } else {
        x
    }
}

/// Numerically stable logistic: never evaluates `exp` of a large positive number.
pub fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (T::ZERO - x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// Clip: `min` first, then `max`, so `min > max` yields `max` everywhere as ONNX specifies.
pub fn clip<T: PartialOrd + Copy>(x: T, min: T, max: T) -> T {
    let y = if x < min { min } else { x };
    if y > max {
        max
    } else {
        y
    }
}

/// Applies a fused activation in place.
pub fn apply<T: Real>(act: Option<Activation>, v: &mut [T]) {
    let Some(act) = act else { return };
    match act {
        Activation::Relu => v.iter_mut().for_each(|x| *x = relu(*x)),
        Activation::LeakyRelu { alpha } => {
            let a = T::from_f64(alpha as f64);
            v.iter_mut().for_each(|x| *x = leaky_relu(*x, a));
        }
        Activation::Clip { min, max } => {
            let (lo, hi) = (T::from_f64(min as f64), T::from_f64(max as f64));
            v.iter_mut().for_each(|x| *x = clip(*x, lo, hi));
        }
        Activation::Sigmoid => v.iter_mut().for_each(|x| *x = sigmoid(*x)),
        Activation::Tanh => v.iter_mut().for_each(|x| *x = x.tanh()),
    }
}

/// ONNX `Gelu` with `approximate="none"`: `x·(1 + erf(x/√2))/2`, in `T` as onnxruntime computes it.
pub fn gelu<T: Real>(x: T) -> T {
    let half = T::from_f64(0.5);
    half * x * (T::ONE + (x * T::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erf())
}

/// ONNX `Gelu` with `approximate="tanh"`: `x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))/2`.
pub fn gelu_tanh<T: Real>(x: T) -> T {
    let half = T::from_f64(0.5);
    let c = T::from_f64((2.0 / std::f64::consts::PI).sqrt());
    let inner = c * (x + T::from_f64(0.044715) * x * x * x);
    half * x * (T::ONE + inner.tanh())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_functions() {
        assert_eq!(relu(-1.0f32), 0.0);
        assert!(relu(f32::NAN).is_nan());
        assert_eq!(leaky_relu(-2.0f32, 0.1), -0.2);
        assert_eq!(sigmoid(0.0f32), 0.5);
        assert!((sigmoid(-100.0f32)).abs() < 1e-30);
        assert_eq!(sigmoid(100.0f32), 1.0);
        assert_eq!(clip(5, 0, 3), 3);
        assert_eq!(clip(1, 2, 0), 0, "min > max gives max");
        assert!(clip(f32::NAN, 0.0, 1.0).is_nan());
    }

    #[test]
    fn fused_apply() {
        let mut v = vec![-1.0f32, 0.5, 2.0];
        apply(Some(Activation::Clip { min: 0.0, max: 1.0 }), &mut v);
        assert_eq!(v, vec![0.0, 0.5, 1.0]);
        let mut v = vec![-1.0f64, 2.0];
        apply(Some(Activation::LeakyRelu { alpha: 0.5 }), &mut v);
        assert_eq!(v, vec![-0.5, 2.0]);
        apply(None, &mut v);
        assert_eq!(v, vec![-0.5, 2.0]);
    }
}
