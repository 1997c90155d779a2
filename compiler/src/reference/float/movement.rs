//! Data movement for every dtype: Transpose, Concat, Gather, Slice. Each computes the source
//! index of every output element and gathers once.

use super::num::{dispatch_all, Elem};
use super::{err, input, int_values, max_inputs, norm_axis, opt_input, tensor, typed};
use crate::error::KernelError;
use crate::tensor::{strides_of, Tensor};

/// Source offsets of a strided view: `base + Σ idx[d] · strides[d]` over `shape`, row-major.
fn strided_offsets(shape: &[usize], strides: &[i64], base: i64) -> Vec<usize> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    let mut off = base;
    for _ in 0..n {
        out.push(off as usize);
        for d in (0..rank).rev() {
            idx[d] += 1;
            off += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            off -= strides[d] * shape[d] as i64;
            idx[d] = 0;
        }
    }
    out
}

pub fn transpose(perm: &[usize], inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Transpose", inputs, 1)?;
    let x = input("Transpose", inputs, 0, "data")?;
    let r = x.rank();
    let perm: Vec<usize> = if perm.is_empty() {
        (0..r).rev().collect()
    } else {
        perm.to_vec()
    };
    let mut seen = vec![false; r];
    let valid = perm.len() == r
        && perm
            .iter()
            .all(|&p| p < r && !std::mem::replace(&mut seen[p], true));
    if !valid {
        return Err(err(format!(
            "Transpose: perm {perm:?} is not a permutation of the {r} axes of data {:?}",
            x.shape
        )));
    }
    let st = x.strides();
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let strides: Vec<i64> = perm.iter().map(|&p| st[p] as i64).collect();
    let data = crate::map_data!(&x.data, v => strided_copy(v, &shape, &strides));
    Ok(Tensor { shape, data })
}

/// Copies the strided view `Σ idx[d] · strides[d]` of `src` over `shape` into a new row-major
/// vector: an odometer over the outer axes and a tight loop over the innermost one, with no
/// index vector (Transpose sits between pooling and the classifier in exported CNNs).
fn strided_copy<T: Copy>(src: &[T], shape: &[usize], strides: &[i64]) -> Vec<T> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let Some((&inner, outer)) = shape.split_last() else {
        out.push(src[0]);
        return out;
    };
    let inner_stride = strides[shape.len() - 1] as usize;
    let mut idx = vec![0usize; outer.len()];
    let mut base = 0i64;
    for _ in 0..n / inner.max(1) {
        let b = base as usize;
        if inner_stride == 1 {
            out.extend_from_slice(&src[b..b + inner]);
        } else {
            out.extend((0..inner).map(|i| src[b + i * inner_stride]));
        }
        for d in (0..outer.len()).rev() {
            idx[d] += 1;
            base += strides[d];
            if idx[d] < outer[d] {
                break;
            }
            base -= strides[d] * outer[d] as i64;
            idx[d] = 0;
        }
    }
    out
}

pub fn concat(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    let first = input("Concat", inputs, 0, "inputs[0]")?;
    let ts: Vec<&Tensor> = (0..inputs.len())
        .map(|i| input("Concat", inputs, i, &format!("inputs[{i}]")))
        .collect::<Result<_, _>>()?;
    let r = first.rank();
    if r == 0 {
        return Err(err("Concat: inputs must have rank >= 1, got a scalar"));
    }
    let a = norm_axis("Concat", "axis", axis, r, false)?;
    let mut shape = first.shape.clone();
    shape[a] = 0;
    for (i, t) in ts.iter().enumerate() {
        let same = t.rank() == r && (0..r).all(|d| d == a || t.shape[d] == first.shape[d]);
        if !same {
            return Err(err(format!(
                "Concat: inputs[{i}] has shape {:?} but must match inputs[0] {:?} except on axis {a}",
                t.shape, first.shape
            )));
        }
        if t.dtype() != first.dtype() {
            return Err(err(format!(
                "Concat: inputs[{i}] is {} but inputs[0] is {}",
                t.dtype(),
                first.dtype()
            )));
        }
        shape[a] += t.shape[a];
    }
    let outer: usize = first.shape[..a].iter().product();
    dispatch_all!(first.dtype(), T => {
        let parts: Vec<(&[T], usize)> = ts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let chunk = t.shape[a..].iter().product::<usize>();
                typed::<T>("Concat", &format!("inputs[{i}]"), t).map(|v| (v, chunk))
            })
            .collect::<Result<_, _>>()?;
        Ok(concat_typed(&parts, outer, shape))
    })
}

fn concat_typed<T: Elem>(parts: &[(&[T], usize)], outer: usize, shape: Vec<usize>) -> Tensor {
    let mut out = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for &(v, chunk) in parts {
            out.extend_from_slice(&v[o * chunk..(o + 1) * chunk]);
        }
    }
    tensor(shape, out)
}

/// Gather along `axis`; negative indices count from the end.
pub fn gather(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Gather", inputs, 2)?;
    let x = input("Gather", inputs, 0, "data")?;
    let ind = input("Gather", inputs, 1, "indices")?;
    if x.rank() == 0 {
        return Err(err("Gather: data must have rank >= 1, got a scalar"));
    }
    let a = norm_axis("Gather", "axis", axis, x.rank(), false)?;
    let dim = x.shape[a];
    let mut idx = Vec::with_capacity(ind.len());
    for i in int_values("Gather", "indices", ind)? {
        if i < -(dim as i64) || i >= dim as i64 {
            return Err(err(format!(
                "Gather: index {i} is out of range [-{dim}, {}] for axis {a} of data {:?}",
                dim as i64 - 1,
                x.shape
            )));
        }
        idx.push(if i < 0 {
            (i + dim as i64) as usize
        } else {
            i as usize
        });
    }
    let outer: usize = x.shape[..a].iter().product();
    let inner: usize = x.shape[a + 1..].iter().product();
    let mut src = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &i in &idx {
            let base = (o * dim + i) * inner;
            src.extend(base..base + inner);
        }
    }
    let mut shape = x.shape[..a].to_vec();
    shape.extend_from_slice(&ind.shape);
    shape.extend_from_slice(&x.shape[a + 1..]);
    Ok(Tensor {
        shape,
        data: x.data.gather(&src),
    })
}

/// Slice with ONNX clamping: for a positive step start/end clamp to `[0, dim]`, for a negative
/// step to `[0, dim - 1]` and `[-1, dim - 1]`; negative values first count from the end.
pub fn slice(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Slice", inputs, 5)?;
    let x = input("Slice", inputs, 0, "data")?;
    let list = |i: usize, name: &str| -> Result<Option<Vec<i64>>, KernelError> {
        match opt_input(inputs, i) {
            Some(t) if t.rank() != 1 => Err(err(format!(
                "Slice: input {name} must be 1-D, got shape {:?}",
                t.shape
            ))),
            Some(t) => int_values("Slice", name, t).map(Some),
            None => Ok(None),
        }
    };
    input("Slice", inputs, 1, "starts")?;
    input("Slice", inputs, 2, "ends")?;
    let starts = list(1, "starts")?.unwrap_or_default();
    let ends = list(2, "ends")?.unwrap_or_default();
    let r = x.rank();
    let axes = list(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = list(4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(err(format!(
            "Slice: starts ({}), ends ({}), axes ({}) and steps ({}) must have the same length",
            starts.len(),
            ends.len(),
            axes.len(),
            steps.len()
        )));
    }
    let mut begin = vec![0i64; r];
    let mut step = vec![1i64; r];
    let mut shape = x.shape.clone();
    let mut seen = vec![false; r];
    for j in 0..starts.len() {
        let a = norm_axis("Slice", "axis", axes[j], r, false)?;
        if std::mem::replace(&mut seen[a], true) {
            return Err(err(format!("Slice: axis {a} is repeated in axes {axes:?}")));
        }
        let (dim, s) = (x.shape[a] as i64, steps[j]);
        if s == 0 {
            return Err(err(format!("Slice: step for axis {a} must not be 0")));
        }
        // A step longer than the axis takes at most one element whatever its size, so clamping
        // it to ±dim changes nothing and keeps `-s` and `stride · s` inside i64 (a step of
        // -2^63 overflowed both).
        let s = s.clamp(-dim.max(1), dim.max(1));
        let fix = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
        let (b, e) = if s > 0 {
            (fix(starts[j]).clamp(0, dim), fix(ends[j]).clamp(0, dim))
        } else {
            (
                fix(starts[j]).clamp(0, (dim - 1).max(0)),
                fix(ends[j]).clamp(-1, dim - 1),
            )
        };
        let len = if dim == 0 {
            0
        } else if s > 0 {
            if e > b {
                (e - b + s - 1) / s
            } else {
                0
            }
        } else if b > e {
            (b - e + (-s) - 1) / (-s)
        } else {
            0
        };
        begin[a] = b;
        step[a] = s;
        shape[a] = len as usize;
    }
    let st = strides_of(&x.shape);
    let strides: Vec<i64> = (0..r).map(|d| st[d] as i64 * step[d]).collect();
    let base: i64 = (0..r).map(|d| begin[d] * st[d] as i64).sum();
    let idx = strided_offsets(&shape, &strides, base);
    Ok(Tensor {
        shape,
        data: x.data.gather(&idx),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Data;

    fn x34() -> Tensor {
        Tensor::f32(vec![3, 4], (0..12).map(|v| v as f32).collect())
    }
    fn iv(v: &[i64]) -> Tensor {
        Tensor::i64(vec![v.len()], v.to_vec())
    }

    #[test]
    fn transpose_default_and_perm() {
        let x = x34();
        let y = transpose(&[], &[Some(&x)]).unwrap();
        assert_eq!(y.shape, vec![4, 3]);
        assert_eq!(&y.as_f32().unwrap()[..4], &[0.0, 4.0, 8.0, 1.0]);
        let x3 = Tensor::f32(vec![2, 3, 4], (0..24).map(|v| v as f32).collect());
        let y = transpose(&[1, 2, 0], &[Some(&x3)]).unwrap();
        assert_eq!(y.shape, vec![3, 4, 2]);
        assert_eq!(&y.as_f32().unwrap()[..4], &[0.0, 12.0, 1.0, 13.0]);
        assert!(transpose(&[0, 0], &[Some(&x)]).is_err());
        assert!(transpose(&[0], &[Some(&x)]).is_err());
    }

    #[test]
    fn concat_axes() {
        let a = Tensor::new(vec![2, 1], Data::I32(vec![1, 2])).unwrap();
        let b = Tensor::new(vec![2, 2], Data::I32(vec![3, 4, 5, 6])).unwrap();
        let y = concat(-1, &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(y.shape, vec![2, 3]);
        assert_eq!(y.data, Data::I32(vec![1, 3, 4, 2, 5, 6]));
        assert!(concat(0, &[Some(&a), Some(&b)]).is_err());
        let c = Tensor::f32(vec![2, 1], vec![0.0; 2]);
        assert!(concat(1, &[Some(&a), Some(&c)])
            .unwrap_err()
            .0
            .contains("f32"));
        let e = Tensor::new(vec![2, 0], Data::I32(vec![])).unwrap();
        assert_eq!(concat(1, &[Some(&e), Some(&a)]).unwrap(), a);
    }

    #[test]
    fn gather_axes_and_negative_indices() {
        let x = x34();
        let y = gather(0, &[Some(&x), Some(&iv(&[2, -3]))]).unwrap();
        assert_eq!(y.shape, vec![2, 4]);
        assert_eq!(
            y.as_f32().unwrap(),
            &[8.0, 9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 3.0]
        );
        let ind = Tensor::new(vec![2, 1], Data::I32(vec![-1, 1])).unwrap();
        let y = gather(1, &[Some(&x), Some(&ind)]).unwrap();
        assert_eq!(y.shape, vec![3, 2, 1]);
        assert_eq!(y.as_f32().unwrap(), &[3.0, 1.0, 7.0, 5.0, 11.0, 9.0]);
        let s = Tensor::i64(vec![], vec![1]);
        assert_eq!(gather(0, &[Some(&x), Some(&s)]).unwrap().shape, vec![4]);
        assert!(gather(0, &[Some(&x), Some(&iv(&[3]))]).is_err());
        assert!(gather(0, &[Some(&x), Some(&iv(&[-4]))]).is_err());
        assert!(gather(2, &[Some(&x), Some(&iv(&[0]))]).is_err());
    }

    #[test]
    fn slice_clamping_and_steps() {
        let x = x34();
        let s = |st: &[i64], en: &[i64], ax: Option<&[i64]>, sp: Option<&[i64]>| {
            let (a, b) = (iv(st), iv(en));
            let (c, d) = (ax.map(iv), sp.map(iv));
            slice(&[Some(&x), Some(&a), Some(&b), c.as_ref(), d.as_ref()])
        };
        let y = s(&[1, 0], &[2, 3], None, None).unwrap();
        assert_eq!(
            (y.shape.clone(), y.as_f32().unwrap().to_vec()),
            (vec![1, 3], vec![4.0, 5.0, 6.0])
        );
        let y = s(&[0], &[i64::MAX], Some(&[1]), Some(&[2])).unwrap();
        assert_eq!(y.shape, vec![3, 2]);
        assert_eq!(&y.as_f32().unwrap()[..2], &[0.0, 2.0]);
        // Negative step from the end, INT_MIN end: reverse the axis.
        let y = s(&[-1], &[i64::MIN], Some(&[-1]), Some(&[-1])).unwrap();
        assert_eq!(&y.as_f32().unwrap()[..4], &[3.0, 2.0, 1.0, 0.0]);
        let y = s(&[20], &[1], Some(&[1]), Some(&[-2])).unwrap();
        assert_eq!(&y.as_f32().unwrap()[..2], &[3.0, 7.0]);
        // Empty result and errors.
        assert_eq!(s(&[3], &[1], Some(&[1]), None).unwrap().shape, vec![3, 0]);
        assert!(s(&[0], &[1], Some(&[1]), Some(&[0])).is_err());
        assert!(s(&[0, 0], &[1, 1], Some(&[1, -1]), None).is_err());
        assert!(s(&[0], &[1, 2], None, None).is_err());
        assert!(s(&[0], &[1], Some(&[2]), None).is_err());
    }
}
