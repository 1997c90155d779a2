//! Equal, Where and Expand: the ops exporters use to build attention masks and token-type ids
//! from the input's shape (`Where(Equal(shape, -1), 1, shape)` feeding `Expand`).

use super::broadcast;
use super::num::{dispatch_all, Elem};
use super::{err, input, int_values, max_inputs, tensor, typed};
use crate::error::KernelError;
use crate::tensor::{DType, Tensor};

/// Elementwise `A == B` with broadcasting, for every dtype; the output is bool.
pub fn equal(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Equal", inputs, 2)?;
    let a = input("Equal", inputs, 0, "A")?;
    let b = input("Equal", inputs, 1, "B")?;
    if a.dtype() != b.dtype() {
        return Err(err(format!(
            "Equal: inputs A and B must have the same type, got {} and {}",
            a.dtype(),
            b.dtype()
        )));
    }
    dispatch_all!(a.dtype(), T => {
        let x = typed::<T>("Equal", "A", a)?;
        let y = typed::<T>("Equal", "B", b)?;
        let (shape, v) = broadcast::binary("Equal", x, &a.shape, y, &b.shape, |p, q| p == q)?;
        Ok(tensor(shape, v))
    })
}

/// `condition ? X : Y`, the three inputs broadcast together.
pub fn where_(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Where", inputs, 3)?;
    let c = input("Where", inputs, 0, "condition")?;
    let x = input("Where", inputs, 1, "X")?;
    let y = input("Where", inputs, 2, "Y")?;
    if c.dtype() != DType::Bool {
        return Err(err(format!(
            "Where: input condition must be bool, got {}",
            c.dtype()
        )));
    }
    if x.dtype() != y.dtype() {
        return Err(err(format!(
            "Where: inputs X and Y must have the same type, got {} and {}",
            x.dtype(),
            y.dtype()
        )));
    }
    let cv = typed::<bool>("Where", "condition", c)?;
    dispatch_all!(x.dtype(), T => {
        let xv = typed::<T>("Where", "X", x)?;
        let yv = typed::<T>("Where", "Y", y)?;
        let (shape, v) = broadcast::ternary(
            "Where",
            (cv, &c.shape),
            (xv, &x.shape),
            (yv, &y.shape),
            |k, p, q| if k { p } else { q },
        )?;
        Ok(tensor(shape, v))
    })
}

/// Broadcasts the input with the target shape (numpy rules in both directions: a target 1 keeps
/// the input's dimension).
pub fn expand(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Expand", inputs, 2)?;
    let x = input("Expand", inputs, 0, "input")?;
    let s = input("Expand", inputs, 1, "shape")?;
    if s.rank() != 1 {
        return Err(err(format!(
            "Expand: input shape must be 1-D, got shape {:?}",
            s.shape
        )));
    }
    let target = int_values("Expand", "shape", s)?
        .into_iter()
        .map(|d| {
            usize::try_from(d).map_err(|_| err(format!("Expand: negative dimension {d} in shape")))
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let out = broadcast::broadcast_shapes("Expand", &[&x.shape, &target])?;
    super::runtime_elements("Expand", &out, x.dtype().size_bytes())?;
    dispatch_all!(x.dtype(), T => expand_typed::<T>(x, &out))
}

fn expand_typed<T: Elem>(x: &Tensor, out: &[usize]) -> Result<Tensor, KernelError> {
    let v = broadcast::expand(
        "Expand",
        "input",
        typed::<T>("Expand", "input", x)?,
        &x.shape,
        out,
    )?;
    Ok(tensor(out.to_vec(), v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Data;

    #[test]
    fn equal_where_expand_build_a_mask() {
        let shape = Tensor::i64(vec![2], vec![-1, 4]);
        let minus = Tensor::i64(vec![], vec![-1]);
        let eq = equal(&[Some(&shape), Some(&minus)]).unwrap();
        assert_eq!(eq.data, Data::Bool(vec![true, false]));
        let one = Tensor::i64(vec![], vec![1]);
        let w = where_(&[Some(&eq), Some(&one), Some(&shape)]).unwrap();
        assert_eq!(w.data, Data::I64(vec![1, 4]));
        let row = Tensor::i64(vec![1, 4], vec![0, 1, 2, 3]);
        let e = expand(&[Some(&row), Some(&Tensor::i64(vec![2], vec![2, 1]))]).unwrap();
        assert_eq!(e.shape, vec![2, 4]);
        assert_eq!(e.data, Data::I64(vec![0, 1, 2, 3, 0, 1, 2, 3]));
    }

    #[test]
    fn bad_inputs_are_named() {
        let f = Tensor::f32(vec![1], vec![1.0]);
        let i = Tensor::i64(vec![1], vec![1]);
        assert!(equal(&[Some(&f), Some(&i)])
            .unwrap_err()
            .0
            .contains("same type"));
        assert!(where_(&[Some(&f), Some(&f), Some(&f)])
            .unwrap_err()
            .0
            .contains("condition must be bool"));
        let neg = Tensor::i64(vec![1], vec![-3]);
        assert!(expand(&[Some(&f), Some(&neg)])
            .unwrap_err()
            .0
            .contains("negative"));
        let bad = Tensor::i64(vec![1], vec![3]);
        let two = Tensor::f32(vec![2], vec![1.0, 2.0]);
        assert!(expand(&[Some(&two), Some(&bad)]).is_err());
    }
}
