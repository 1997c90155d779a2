//! Shape rules of the ops that transformer encoders add to the CNN set: Equal, Where, Expand
//! (attention-mask plumbing), LayerNormalization and ReduceSum (pooling). Kept apart from
//! `shape.rs` so each file holds one family; `shape::infer` dispatches here.

use super::shape::{broadcast, norm_axis, ShapeResult};
use super::types::{Dim, TensorType};
use crate::error::ShapeError;
use crate::tensor::{DType, Tensor};

fn unknown() -> Dim {
    Dim::Sym("?".into())
}

/// Equal (bool output) and Where (X's type): every input broadcast together.
pub fn broadcast_all(dtype: DType, shapes: &[Option<&Vec<Dim>>]) -> ShapeResult<TensorType> {
    let mut acc: Option<Vec<Dim>> = Some(vec![]);
    for s in shapes {
        acc = match (acc, s) {
            (Some(a), Some(b)) => Some(broadcast(&a, b)?),
            _ => None,
        };
    }
    Ok(TensorType { dtype, shape: acc })
}

/// Expand: the input broadcast with the (constant) target shape; with an unknown target of
/// known length, only the rank is known.
pub fn expand(
    x: &TensorType,
    target: Option<&Tensor>,
    target_ty: &TensorType,
) -> ShapeResult<TensorType> {
    let shape = match (x.shape.as_ref(), target) {
        (Some(xs), Some(t)) => {
            let dims = t
                .to_i64_vec()
                .iter()
                .map(|&d| {
                    usize::try_from(d).map(Dim::Known).map_err(|_| {
                        ShapeError::Attributes(format!("Expand: negative target dimension {d}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(broadcast(xs, &dims)?)
        }
        (Some(xs), None) => match target_ty.concrete() {
            Some(s) if s.len() == 1 => Some(vec![unknown(); s[0].max(xs.len())]),
            _ => None,
        },
        (None, _) => None,
    };
    Ok(TensorType {
        dtype: x.dtype,
        shape,
    })
}

/// LayerNormalization: Y like X; Mean and InvStdDev (when the node has them) are X's shape with
/// the normalized axes set to 1, in the stash type (f32).
pub fn layer_norm(x: &TensorType, axis: i64, n_outputs: usize) -> ShapeResult<Vec<TensorType>> {
    // The axis must exist whether or not the statistics are outputs (axis 9 on a rank-2 input
    // was accepted when the node had one output).
    if let Some(s) = &x.shape {
        norm_axis(axis, s.len())?;
    }
    let mut outs = vec![x.clone()];
    if n_outputs > 1 {
        let stat = match &x.shape {
            Some(s) => {
                let a = norm_axis(axis, s.len())?;
                let mut st = s.clone();
                st[a..].iter_mut().for_each(|d| *d = Dim::Known(1));
                TensorType::new(DType::F32, st)
            }
            None => TensorType::unknown(DType::F32),
        };
        outs.extend(std::iter::repeat_n(stat, n_outputs - 1));
    }
    Ok(outs)
}

/// ReduceSum: the reduced axes removed (or kept as 1); `axes` is `None` when the axes input is
/// present but not constant, `Some(None)` when it is absent.
pub fn reduce(
    x: &TensorType,
    axes: Option<Option<&Tensor>>,
    keepdims: bool,
    noop_with_empty_axes: bool,
) -> ShapeResult<TensorType> {
    let (Some(s), Some(axes)) = (&x.shape, axes) else {
        return Ok(TensorType::unknown(x.dtype));
    };
    let list: Vec<i64> = axes.map(|t| t.to_i64_vec()).unwrap_or_default();
    if list.is_empty() && noop_with_empty_axes {
        return Ok(x.clone());
    }
    let ax: Vec<usize> = if list.is_empty() {
        (0..s.len()).collect()
    } else {
        list.iter()
            .map(|&a| norm_axis(a, s.len()))
            .collect::<Result<_, _>>()?
    };
    let mut out = Vec::with_capacity(s.len());
    for (i, d) in s.iter().enumerate() {
        if !ax.contains(&i) {
            out.push(d.clone());
        } else if keepdims {
            out.push(Dim::Known(1));
        }
    }
    Ok(TensorType::new(x.dtype, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(dims: &[&str]) -> TensorType {
        TensorType::new(
            DType::F32,
            dims.iter()
                .map(|s| match s.parse::<usize>() {
                    Ok(n) => Dim::Known(n),
                    Err(_) => Dim::Sym(s.to_string()),
                })
                .collect(),
        )
    }

    #[test]
    fn expand_broadcasts_with_the_target() {
        let t = Tensor::i64(vec![3], vec![2, 1, 6]);
        let shape_ty = TensorType::known(DType::I64, &[3]);
        let y = expand(&ty(&["3", "1"]), Some(&t), &shape_ty).unwrap();
        assert_eq!(y, ty(&["2", "3", "6"]));
        let y = expand(&ty(&["N", "1"]), None, &shape_ty).unwrap();
        assert_eq!(y.rank(), Some(3));
        let bad = Tensor::i64(vec![1], vec![-2]);
        assert!(expand(&ty(&["3"]), Some(&bad), &shape_ty).is_err());
    }

    #[test]
    fn reduce_sum_axes_and_keepdims() {
        let x = ty(&["B", "S", "384"]);
        let ax = Tensor::i64(vec![1], vec![1]);
        assert_eq!(
            reduce(&x, Some(Some(&ax)), false, false).unwrap(),
            ty(&["B", "384"])
        );
        assert_eq!(
            reduce(&x, Some(Some(&ax)), true, false).unwrap(),
            ty(&["B", "1", "384"])
        );
        assert_eq!(reduce(&x, Some(None), false, false).unwrap(), ty(&[]));
        assert_eq!(reduce(&x, Some(None), false, true).unwrap(), x);
        assert_eq!(reduce(&x, None, false, false).unwrap().shape, None);
    }

    #[test]
    fn layer_norm_statistics_keep_rank() {
        let outs = layer_norm(&ty(&["B", "S", "384"]), -1, 3).unwrap();
        assert_eq!(outs.len(), 3);
        assert_eq!(outs[1], ty(&["B", "S", "1"]));
        assert!(layer_norm(&ty(&["4"]), 2, 2).is_err());
    }
}
