//! Elementwise ops: Add/Sub/Mul/Div, Sum, Relu, LeakyRelu, Sigmoid, Tanh, Erf, Identity, Clip.

use super::activation;
use super::broadcast;
use super::num::{dispatch_num, dispatch_real, Num, Real};
use super::{err, input, max_inputs, opt_input, tensor, typed};
use crate::error::KernelError;
use crate::ir::op::{BinaryOp, UnaryOp};
use crate::tensor::{DType, Tensor};

fn binary_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "Add",
        BinaryOp::Sub => "Sub",
        BinaryOp::Mul => "Mul",
        BinaryOp::Div => "Div",
    }
}

fn not_numeric(op: &str, dt: DType) -> KernelError {
    err(format!(
        "{op}: bool tensors are not supported (expected a numeric type, got {dt})"
    ))
}

/// Add, Sub, Mul, Div with multidirectional broadcasting; both inputs must share a dtype.
pub fn binary(op: BinaryOp, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    let name = binary_name(op);
    max_inputs(name, inputs, 2)?;
    let a = input(name, inputs, 0, "A")?;
    let b = input(name, inputs, 1, "B")?;
    if a.dtype() != b.dtype() {
        return Err(err(format!(
            "{name}: inputs A and B must have the same type, got {} and {}",
            a.dtype(),
            b.dtype()
        )));
    }
    dispatch_num!(a.dtype(), T => binary_typed::<T>(name, op, a, b), Err(not_numeric(name, a.dtype())))
}

fn binary_typed<T: Num>(
    name: &str,
    op: BinaryOp,
    a: &Tensor,
    b: &Tensor,
) -> Result<Tensor, KernelError> {
    let x = typed::<T>(name, "A", a)?;
    let y = typed::<T>(name, "B", b)?;
    let (shape, v) = match op {
        BinaryOp::Add => broadcast::binary(name, x, &a.shape, y, &b.shape, T::add)?,
        BinaryOp::Sub => broadcast::binary(name, x, &a.shape, y, &b.shape, T::sub)?,
        BinaryOp::Mul => broadcast::binary(name, x, &a.shape, y, &b.shape, T::mul)?,
        BinaryOp::Div => {
            if !T::IS_FLOAT && y.contains(&T::ZERO) {
                // Validate the shapes first so a shape error is not masked.
                broadcast::broadcast_shapes(name, &[&a.shape, &b.shape])?;
                return Err(err(format!(
                    "Div: integer division by zero (input B of {})",
                    b.dtype()
                )));
            }
            broadcast::binary(name, x, &a.shape, y, &b.shape, T::div)?
        }
    };
    Ok(tensor(shape, v))
}

/// Sum of one or more inputs, all broadcast together.
pub fn sum(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    let first = input("Sum", inputs, 0, "data_0")?;
    let mut ts = Vec::with_capacity(inputs.len());
    for i in 0..inputs.len() {
        let t = input("Sum", inputs, i, &format!("data_{i}"))?;
        if t.dtype() != first.dtype() {
            return Err(err(format!(
                "Sum: input data_{i} must be {} like data_0, got {}",
                first.dtype(),
                t.dtype()
            )));
        }
        ts.push(t);
    }
    let shapes: Vec<&[usize]> = ts.iter().map(|t| t.shape.as_slice()).collect();
    broadcast::broadcast_shapes("Sum", &shapes)?;
    dispatch_num!(first.dtype(), T => {
        let mut acc = ts[0].clone();
        for (i, t) in ts.iter().enumerate().skip(1) {
            let x = typed::<T>("Sum", "data_0", &acc)?;
            let y = typed::<T>("Sum", &format!("data_{i}"), t)?;
            let (shape, v) = broadcast::binary("Sum", x, &acc.shape, y, &t.shape, T::add)?;
            acc = tensor(shape, v);
        }
        Ok(acc)
    }, Err(not_numeric("Sum", first.dtype())))
}

fn unary_name(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Relu => "Relu",
        UnaryOp::Sigmoid => "Sigmoid",
        UnaryOp::Tanh => "Tanh",
        UnaryOp::Identity => "Identity",
        UnaryOp::Erf => "Erf",
        UnaryOp::Gelu | UnaryOp::GeluTanh => "Gelu",
    }
}

fn map<T: Num>(op: &str, x: &Tensor, f: impl Fn(T) -> T) -> Result<Tensor, KernelError> {
    let v = typed::<T>(op, "X", x)?;
    Ok(tensor(x.shape.clone(), v.iter().map(|&a| f(a)).collect()))
}

fn float_only(op: &str, dt: DType) -> KernelError {
    err(format!("{op}: input X must be f32 or f64, got {dt}"))
}

/// Relu (floats and signed integers), Sigmoid, Tanh (floats), Identity (any type).
pub fn unary(op: UnaryOp, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    let name = unary_name(op);
    max_inputs(name, inputs, 1)?;
    let x = input(name, inputs, 0, "X")?;
    let dt = x.dtype();
    match op {
        UnaryOp::Identity => Ok(x.clone()),
        UnaryOp::Relu => match dt {
            DType::F32 => map::<f32>(name, x, activation::relu),
            DType::F64 => map::<f64>(name, x, activation::relu),
            DType::I8 => map::<i8>(name, x, |a| a.max(0)),
            DType::I16 => map::<i16>(name, x, |a| a.max(0)),
            DType::I32 => map::<i32>(name, x, |a| a.max(0)),
            DType::I64 => map::<i64>(name, x, |a| a.max(0)),
            _ => Err(err(format!(
                "Relu: input X must be a float or signed integer, got {dt}"
            ))),
        },
        UnaryOp::Sigmoid => {
            dispatch_real!(dt, T => map::<T>(name, x, activation::sigmoid), Err(float_only(name, dt)))
        }
        UnaryOp::Tanh => {
            dispatch_real!(dt, T => map::<T>(name, x, Real::tanh), Err(float_only(name, dt)))
        }
        UnaryOp::Erf => {
            dispatch_real!(dt, T => map::<T>(name, x, Real::erf), Err(float_only(name, dt)))
        }
        UnaryOp::Gelu => {
            dispatch_real!(dt, T => map::<T>(name, x, activation::gelu), Err(float_only(name, dt)))
        }
        UnaryOp::GeluTanh => {
            dispatch_real!(dt, T => map::<T>(name, x, activation::gelu_tanh), Err(float_only(name, dt)))
        }
    }
}

pub fn leaky_relu(alpha: f32, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("LeakyRelu", inputs, 1)?;
    let x = input("LeakyRelu", inputs, 0, "X")?;
    let dt = x.dtype();
    dispatch_real!(dt, T => {
        let a = T::from_f64(alpha as f64);
        map::<T>("LeakyRelu", x, |v| activation::leaky_relu(v, a))
    }, Err(float_only("LeakyRelu", dt)))
}

/// A Clip bound: absent → `default`; otherwise a one-element tensor of the input's type.
fn bound<T: Num>(
    inputs: &[Option<&Tensor>],
    i: usize,
    what: &str,
) -> Result<Option<T>, KernelError> {
    let Some(t) = opt_input(inputs, i) else {
        return Ok(None);
    };
    let v = typed::<T>("Clip", what, t)?;
    match v {
        [] => Ok(None),
        [x] if t.rank() <= 1 => Ok(Some(*x)),
        _ => Err(err(format!(
            "Clip: input {what} must be a scalar, got shape {:?}",
            t.shape
        ))),
    }
}

/// Clip with optional `min` and `max` inputs, for every numeric type.
pub fn clip(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Clip", inputs, 3)?;
    let x = input("Clip", inputs, 0, "input")?;
    dispatch_num!(x.dtype(), T => {
        let lo = bound::<T>(inputs, 1, "min")?;
        let hi = bound::<T>(inputs, 2, "max")?;
        map::<T>("Clip", x, |a| {
            let a = match lo { Some(l) if a < l => l, _ => a };
            match hi { Some(h) if a > h => h, _ => a }
        })
    }, Err(not_numeric("Clip", x.dtype())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Data;

    fn t(shape: &[usize], data: Data) -> Tensor {
        Tensor::new(shape.to_vec(), data).unwrap()
    }

    #[test]
    fn add_broadcasts_and_keeps_dtype() {
        let a = t(&[2, 1], Data::I8(vec![1, 2]));
        let b = t(&[3], Data::I8(vec![10, 20, 127]));
        let y = binary(BinaryOp::Add, &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(y.shape, vec![2, 3]);
        assert_eq!(
            y.data,
            Data::I8(vec![11, 21, -128, 12, 22, -127]),
            "wraps like numpy"
        );
    }

    #[test]
    fn integer_div_truncates_and_rejects_zero() {
        let a = t(&[4], Data::I32(vec![7, -7, 7, -7]));
        let b = t(&[4], Data::I32(vec![2, 2, -2, -2]));
        let y = binary(BinaryOp::Div, &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(y.data, Data::I32(vec![3, -3, -3, 3]));
        let z = t(&[1], Data::I32(vec![0]));
        let e = binary(BinaryOp::Div, &[Some(&a), Some(&z)]).unwrap_err();
        assert!(e.0.contains("division by zero"), "{e}");
        let f = Tensor::f32(vec![1], vec![0.0]);
        let one = Tensor::f32(vec![1], vec![1.0]);
        let y = binary(BinaryOp::Div, &[Some(&one), Some(&f)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[f32::INFINITY]);
    }

    #[test]
    fn binary_errors() {
        let a = Tensor::f32(vec![2], vec![1.0, 2.0]);
        let b = Tensor::i64(vec![2], vec![1, 2]);
        assert!(binary(BinaryOp::Sub, &[Some(&a), Some(&b)])
            .unwrap_err()
            .0
            .contains("same type"));
        let c = Tensor::f32(vec![3], vec![1.0; 3]);
        assert!(binary(BinaryOp::Mul, &[Some(&a), Some(&c)]).is_err());
        assert!(binary(BinaryOp::Mul, &[Some(&a), None])
            .unwrap_err()
            .0
            .contains("missing"));
        let bo = t(&[1], Data::Bool(vec![true]));
        assert!(binary(BinaryOp::Add, &[Some(&bo), Some(&bo)]).is_err());
    }

    #[test]
    fn sum_of_three_broadcast() {
        let a = Tensor::f32(vec![3], vec![1.0, 2.0, 3.0]);
        let b = Tensor::f32(vec![2, 1], vec![10.0, 20.0]);
        let c = Tensor::f32(vec![], vec![100.0]);
        let y = sum(&[Some(&a), Some(&b), Some(&c)]).unwrap();
        assert_eq!(y.shape, vec![2, 3]);
        assert_eq!(
            y.as_f32().unwrap(),
            &[111.0, 112.0, 113.0, 121.0, 122.0, 123.0]
        );
        assert_eq!(sum(&[Some(&a)]).unwrap(), a);
        assert!(sum(&[]).is_err());
    }

    #[test]
    fn unary_ops() {
        let x = Tensor::f32(vec![3], vec![-1.0, 0.0, 2.0]);
        let r = unary(UnaryOp::Relu, &[Some(&x)]).unwrap();
        assert_eq!(r.as_f32().unwrap(), &[0.0, 0.0, 2.0]);
        let s = unary(UnaryOp::Sigmoid, &[Some(&x)]).unwrap();
        assert!((s.as_f32().unwrap()[0] - 0.268_941_43).abs() < 1e-7);
        let e = unary(UnaryOp::Erf, &[Some(&x)]).unwrap();
        assert!((e.as_f32().unwrap()[0] + 0.842_700_8).abs() < 1e-6);
        assert_eq!(e.as_f32().unwrap()[1], 0.0);
        let th = unary(UnaryOp::Tanh, &[Some(&x)]).unwrap();
        assert!((th.as_f32().unwrap()[2] - 0.964_027_6).abs() < 1e-6);
        let xi = t(&[2], Data::I32(vec![-3, 3]));
        assert_eq!(
            unary(UnaryOp::Relu, &[Some(&xi)]).unwrap().data,
            Data::I32(vec![0, 3])
        );
        assert!(unary(UnaryOp::Sigmoid, &[Some(&xi)]).is_err());
        let xu = t(&[1], Data::U8(vec![3]));
        assert!(unary(UnaryOp::Relu, &[Some(&xu)]).is_err());
        assert_eq!(unary(UnaryOp::Identity, &[Some(&xu)]).unwrap(), xu);
        let l = leaky_relu(0.1, &[Some(&x)]).unwrap();
        assert_eq!(l.as_f32().unwrap(), &[-0.1, 0.0, 2.0]);
    }

    #[test]
    fn clip_bounds() {
        let x = Tensor::f32(vec![3], vec![-2.0, 0.0, 2.0]);
        let lo = Tensor::scalar_f32(-1.0);
        let hi = Tensor::scalar_f32(1.0);
        let y = clip(&[Some(&x), Some(&lo), Some(&hi)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[-1.0, 0.0, 1.0]);
        let y = clip(&[Some(&x), None, Some(&hi)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[-2.0, 0.0, 1.0]);
        let y = clip(&[Some(&x)]).unwrap();
        assert_eq!(y, x);
        // min > max: everything becomes max.
        let y = clip(&[Some(&x), Some(&hi), Some(&lo)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[-1.0, -1.0, -1.0]);
        let xi = t(&[3], Data::I8(vec![-100, 5, 100]));
        let li = t(&[], Data::I8(vec![-10]));
        assert_eq!(
            clip(&[Some(&xi), Some(&li)]).unwrap().data,
            Data::I8(vec![-10, 5, 100])
        );
        // Type mismatch and non-scalar bounds are errors.
        assert!(clip(&[Some(&x), Some(&li)]).unwrap_err().0.contains("min"));
        let v = Tensor::f32(vec![2], vec![0.0, 1.0]);
        assert!(clip(&[Some(&x), Some(&v)]).is_err());
    }
}
