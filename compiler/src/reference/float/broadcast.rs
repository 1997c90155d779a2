//! Numpy-style (ONNX "multidirectional") broadcasting.

use crate::error::KernelError;

/// The broadcast shape of `shapes`: right-aligned, each dimension equal or 1.
pub fn broadcast_shapes(op: &str, shapes: &[&[usize]]) -> Result<Vec<usize>, KernelError> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for (k, o) in out.iter_mut().enumerate() {
        for s in shapes {
            let off = rank - s.len();
            if k < off {
                continue;
            }
            let d = s[k - off];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return Err(KernelError::new(format!(
                    "{op}: shapes {} cannot be broadcast together (dimension {k} of the result: {} vs {d})",
                    shapes.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "),
                    *o
                )));
            }
        }
    }
    Ok(out)
}

/// Strides of `shape` (right-aligned into `out_rank` dims), with 0 where the dimension is
/// broadcast (size 1 or absent).
pub fn broadcast_strides(shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let off = out_shape.len() - shape.len();
    let own = crate::tensor::strides_of(shape);
    (0..out_shape.len())
        .map(|k| {
            if k < off || shape[k - off] == 1 {
                0
            } else {
                own[k - off]
            }
        })
        .collect()
}

/// Calls `f(out_index, offsets)` for every element of `out_shape` in row-major order, where
/// `offsets[i]` is the element of input `i` (with `strides[i]`) that broadcasts to it. Iterates
/// the last dimension in an inner loop so the per-element cost is a few adds.
fn for_each_offset<const N: usize>(
    out_shape: &[usize],
    strides: [&[usize]; N],
    mut f: impl FnMut([usize; N]),
) {
    let total: usize = out_shape.iter().product();
    if total == 0 {
        return;
    }
    let rank = out_shape.len();
    if rank == 0 {
        f([0; N]);
        return;
    }
    let last = out_shape[rank - 1];
    let inner: [usize; N] = std::array::from_fn(|i| strides[i][rank - 1]);
    let mut idx = vec![0usize; rank - 1];
    let mut base = [0usize; N];
    loop {
        let mut off = base;
        for _ in 0..last {
            f(off);
            for i in 0..N {
                off[i] += inner[i];
            }
        }
        // Odometer over the outer dimensions.
        let mut k = rank - 1;
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            idx[k] += 1;
            for i in 0..N {
                base[i] += strides[i][k];
            }
            if idx[k] < out_shape[k] {
                break;
            }
            for i in 0..N {
                base[i] -= strides[i][k] * out_shape[k];
            }
            idx[k] = 0;
        }
    }
}

/// Applies `f` elementwise over `a` and `b` broadcast together; returns (shape, values).
pub fn binary<A: Copy, B: Copy, O>(
    op: &str,
    a: &[A],
    a_shape: &[usize],
    b: &[B],
    b_shape: &[usize],
    f: impl Fn(A, B) -> O,
) -> Result<(Vec<usize>, Vec<O>), KernelError> {
    let shape = broadcast_shapes(op, &[a_shape, b_shape])?;
    let n: usize = shape.iter().product();
    let out = if a_shape == b_shape {
        a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    } else if b.len() == 1 && a.len() == n {
        let y = b[0];
        a.iter().map(|&x| f(x, y)).collect()
    } else if a.len() == 1 && b.len() == n {
        let x = a[0];
        b.iter().map(|&y| f(x, y)).collect()
    } else {
        let sa = broadcast_strides(a_shape, &shape);
        let sb = broadcast_strides(b_shape, &shape);
        let mut out = Vec::with_capacity(n);
        for_each_offset(&shape, [&sa, &sb], |[i, j]| out.push(f(a[i], b[j])));
        out
    };
    Ok((shape, out))
}

/// Applies `f` elementwise over three inputs broadcast together (Where); returns (shape, values).
pub fn ternary<A: Copy, B: Copy, C: Copy, O>(
    op: &str,
    (a, a_shape): (&[A], &[usize]),
    (b, b_shape): (&[B], &[usize]),
    (c, c_shape): (&[C], &[usize]),
    f: impl Fn(A, B, C) -> O,
) -> Result<(Vec<usize>, Vec<O>), KernelError> {
    let shape = broadcast_shapes(op, &[a_shape, b_shape, c_shape])?;
    let sa = broadcast_strides(a_shape, &shape);
    let sb = broadcast_strides(b_shape, &shape);
    let sc = broadcast_strides(c_shape, &shape);
    let mut out = Vec::with_capacity(shape.iter().product());
    for_each_offset(&shape, [&sa, &sb, &sc], |[i, j, k]| {
        out.push(f(a[i], b[j], c[k]))
    });
    Ok((shape, out))
}

/// Broadcasts `src` (of `src_shape`) to exactly `target` (unidirectional, as Gemm's C).
pub fn expand<T: Copy>(
    op: &str,
    what: &str,
    src: &[T],
    src_shape: &[usize],
    target: &[usize],
) -> Result<Vec<T>, KernelError> {
    let ok = src_shape.len() <= target.len()
        && src_shape
            .iter()
            .rev()
            .zip(target.iter().rev())
            .all(|(&s, &t)| s == t || s == 1);
    if !ok {
        return Err(KernelError::new(format!(
            "{op}: {what} of shape {src_shape:?} cannot be broadcast to {target:?}"
        )));
    }
    if src_shape == target {
        return Ok(src.to_vec());
    }
    let strides = broadcast_strides(src_shape, target);
    let mut out = Vec::with_capacity(target.iter().product());
    for_each_offset(target, [&strides], |[i]| out.push(src[i]));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_broadcast_right_aligned() {
        assert_eq!(
            broadcast_shapes("t", &[&[2, 1, 4], &[3, 1]]).unwrap(),
            vec![2, 3, 4]
        );
        assert_eq!(broadcast_shapes("t", &[&[], &[5]]).unwrap(), vec![5]);
        assert_eq!(
            broadcast_shapes("t", &[&[0, 1], &[1, 3]]).unwrap(),
            vec![0, 3]
        );
        let e = broadcast_shapes("Add", &[&[2, 3], &[4]]).unwrap_err();
        assert!(e.0.contains("cannot be broadcast"), "{e}");
    }

    #[test]
    fn binary_general_case() {
        // [2,1] + [1,3]
        let (s, v) = binary("t", &[10, 20], &[2, 1], &[1, 2, 3], &[1, 3], |a, b| a + b).unwrap();
        assert_eq!(s, vec![2, 3]);
        assert_eq!(v, vec![11, 12, 13, 21, 22, 23]);
        // [3] with [2,1,3]
        let (s, v) = binary(
            "t",
            &[1, 2, 3],
            &[3],
            &[0, 0, 0, 10, 10, 10],
            &[2, 1, 3],
            |a, b| a + b,
        )
        .unwrap();
        assert_eq!(s, vec![2, 1, 3]);
        assert_eq!(v, vec![1, 2, 3, 11, 12, 13]);
    }

    #[test]
    fn binary_scalars_and_empty() {
        let (s, v) = binary("t", &[5], &[], &[2], &[], |a: i32, b: i32| a * b).unwrap();
        assert!(s.is_empty());
        assert_eq!(v, vec![10]);
        let (s, v) = binary("t", &[] as &[i32], &[0, 3], &[1, 2, 3], &[3], |a, b| a + b).unwrap();
        assert_eq!(s, vec![0, 3]);
        assert!(v.is_empty());
    }

    #[test]
    fn ternary_broadcasts_three_ways() {
        let (s, v) = ternary(
            "t",
            (&[true, false], &[2, 1]),
            (&[1, 2, 3], &[3]),
            (&[0], &[]),
            |c, x, y| if c { x } else { y },
        )
        .unwrap();
        assert_eq!(s, vec![2, 3]);
        assert_eq!(v, vec![1, 2, 3, 0, 0, 0]);
        assert!(ternary(
            "t",
            (&[true; 2], &[2]),
            (&[1; 3], &[3]),
            (&[0], &[]),
            |_, x, _| x
        )
        .is_err());
    }

    #[test]
    fn expand_is_unidirectional() {
        assert_eq!(
            expand("t", "C", &[1, 2], &[2], &[2, 2]).unwrap(),
            vec![1, 2, 1, 2]
        );
        assert_eq!(
            expand("t", "C", &[1, 2], &[2, 1], &[2, 3]).unwrap(),
            vec![1, 1, 1, 2, 2, 2]
        );
        assert!(expand("t", "C", &[1, 2, 3], &[3], &[2, 2]).is_err());
        assert!(expand("t", "C", &[1; 4], &[2, 2], &[2]).is_err());
    }
}
