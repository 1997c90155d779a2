//! ReduceSum over any set of axes (sentence-transformers' mean pooling sums token embeddings and
//! the attention mask with it).

use super::num::{dispatch_num, Num};
use super::{err, input, int_values, max_inputs, norm_axis, opt_input, tensor, typed};
use crate::error::KernelError;
use crate::tensor::Tensor;

/// `keepdims` keeps reduced axes as size 1; no axes (absent or empty) reduces every axis, or is
/// the identity when `noop_with_empty_axes`.
pub fn reduce_sum(
    keepdims: bool,
    noop_with_empty_axes: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, KernelError> {
    max_inputs("ReduceSum", inputs, 2)?;
    let x = input("ReduceSum", inputs, 0, "data")?;
    let list = match opt_input(inputs, 1) {
        Some(a) => int_values("ReduceSum", "axes", a)?,
        None => vec![],
    };
    if list.is_empty() && noop_with_empty_axes {
        return Ok(x.clone());
    }
    let mut reduced = vec![false; x.rank()];
    for &a in &list {
        let a = norm_axis("ReduceSum", "axis", a, x.rank(), false)?;
        if std::mem::replace(&mut reduced[a], true) {
            return Err(err(format!("ReduceSum: axis {a} is listed twice")));
        }
    }
    if list.is_empty() {
        reduced.iter_mut().for_each(|r| *r = true);
    }
    // Output index of each input element: strides of the keepdims shape, 0 on reduced axes.
    let kept: Vec<usize> = x
        .shape
        .iter()
        .zip(&reduced)
        .map(|(&d, &r)| if r { 1 } else { d })
        .collect();
    let own = crate::tensor::strides_of(&kept);
    let ostr: Vec<usize> = own
        .iter()
        .zip(&reduced)
        .map(|(&s, &r)| if r { 0 } else { s })
        .collect();
    let out_shape: Vec<usize> = if keepdims {
        kept.clone()
    } else {
        x.shape
            .iter()
            .zip(&reduced)
            .filter(|(_, &r)| !r)
            .map(|(&d, _)| d)
            .collect()
    };
    dispatch_num!(x.dtype(), T => {
        let xv = typed::<T>("ReduceSum", "data", x)?;
        Ok(tensor(out_shape, sum_into::<T>(xv, &x.shape, &ostr, kept.iter().product())))
    }, Err(err("ReduceSum: bool tensors are not supported")))
}

fn sum_into<T: Num>(xv: &[T], shape: &[usize], ostr: &[usize], n_out: usize) -> Vec<T> {
    let mut out = vec![T::ZERO; n_out];
    if xv.is_empty() {
        return out;
    }
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    let mut o = 0usize;
    for &v in xv {
        out[o] = out[o].add(v);
        // Odometer over the input index, moving the output offset with it.
        for k in (0..rank).rev() {
            idx[k] += 1;
            o += ostr[k];
            if idx[k] < shape[k] {
                break;
            }
            o -= ostr[k] * shape[k];
            idx[k] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_along_axes() {
        let x = Tensor::f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let ax = Tensor::i64(vec![1], vec![1]);
        let y = reduce_sum(false, false, &[Some(&x), Some(&ax)]).unwrap();
        assert_eq!(
            (y.shape.clone(), y.as_f32().unwrap()),
            (vec![2], &[6.0, 15.0][..])
        );
        let ax0 = Tensor::i64(vec![1], vec![-2]);
        let y = reduce_sum(true, false, &[Some(&x), Some(&ax0)]).unwrap();
        assert_eq!(y.shape, vec![1, 3]);
        assert_eq!(y.as_f32().unwrap(), &[5.0, 7.0, 9.0]);
        let all = reduce_sum(false, false, &[Some(&x)]).unwrap();
        assert_eq!(
            (all.shape.clone(), all.as_f32().unwrap()),
            (vec![], &[21.0][..])
        );
        let empty = Tensor::i64(vec![0], vec![]);
        assert_eq!(
            reduce_sum(true, true, &[Some(&x), Some(&empty)]).unwrap(),
            x
        );
        let twice = Tensor::i64(vec![2], vec![1, -1]);
        assert!(reduce_sum(true, false, &[Some(&x), Some(&twice)]).is_err());
        let far = Tensor::i64(vec![1], vec![2]);
        assert!(reduce_sum(true, false, &[Some(&x), Some(&far)]).is_err());
    }
}
