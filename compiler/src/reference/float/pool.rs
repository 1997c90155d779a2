//! MaxPool, AveragePool (N-D, pads, auto_pad, ceil_mode, dilations, count_include_pad) and
//! GlobalAveragePool.
//!
//! The window of every output position is the same for every (batch, channel) plane, so it is
//! computed once per call: interior windows as a base offset plus fixed tap offsets, windows
//! touching the padding as an explicit list of in-image offsets.

use rayon::prelude::*;

use super::num::{dispatch_num, dispatch_real, Num, Real};
use super::spatial::{self, odometer, Geometry};
use super::{err, input, max_inputs, tensor, typed};
use crate::error::KernelError;
use crate::ir::op::PoolAttrs;
use crate::tensor::{strides_of, Tensor};

/// The window of every output position, as input offsets within one plane.
struct Windows {
    /// `Some(offset of tap 0)` when the whole window lies inside the input (the common case);
    /// its taps are then at `interior + deltas[k]`.
    interior: Vec<Option<usize>>,
    deltas: Vec<usize>,
    /// Per block of [`BLOCK`] consecutive outputs: whether all of them are interior, and the
    /// interior base offsets flattened (0 for border windows).
    block_ok: Vec<bool>,
    base: Vec<usize>,
    /// Windows that touch the padding: their in-image offsets, `offsets[starts[o]..starts[o+1]]`
    /// (empty for interior windows).
    starts: Vec<usize>,
    offsets: Vec<usize>,
    /// Taps inside the input, and inside the input plus explicit padding (the
    /// `count_include_pad` divisor; cells added by `ceil_mode` do not count).
    valid: Vec<usize>,
    padded: Vec<usize>,
}

fn windows(geo: &Geometry) -> Windows {
    let nd = geo.input.len();
    let in_strides = strides_of(&geo.input);
    let k_area: usize = geo.kernel.iter().product();
    let mut deltas = Vec::with_capacity(k_area);
    let mut kidx = vec![0usize; nd];
    for _ in 0..k_area {
        deltas.push(
            (0..nd)
                .map(|d| kidx[d] * geo.dilations[d] * in_strides[d])
                .sum(),
        );
        odometer(&mut kidx, &geo.kernel);
    }
    let out_area = geo.output_area();
    let mut w = Windows {
        interior: Vec::with_capacity(out_area),
        deltas,
        block_ok: Vec::new(),
        base: Vec::new(),
        starts: vec![0],
        offsets: Vec::new(),
        valid: Vec::with_capacity(out_area),
        padded: Vec::with_capacity(out_area),
    };
    let (mut cur, mut next) = (Vec::new(), Vec::new());
    let mut oidx = vec![0usize; nd];
    for _ in 0..out_area {
        let o = &oidx;
        let taps = |d: usize| (0..geo.kernel[d]).map(move |k| geo.tap(d, o[d], k));
        let inside = |d: usize, i: i64| i >= 0 && i < geo.input[d] as i64;
        let padded: usize = (0..nd)
            .map(|d| {
                taps(d)
                    .filter(|&i| i < (geo.input[d] + geo.pad_end[d]) as i64)
                    .count()
            })
            .product();
        w.padded.push(padded);
        if (0..nd).all(|d| taps(d).all(|i| inside(d, i))) {
            w.interior.push(Some(
                (0..nd)
                    .map(|d| geo.tap(d, oidx[d], 0) as usize * in_strides[d])
                    .sum(),
            ));
            w.valid.push(k_area);
        } else {
            cur.clear();
            cur.push(0usize);
            for (d, &st) in in_strides.iter().enumerate() {
                next.clear();
                for &base in &cur {
                    let ok = taps(d).filter(|&i| inside(d, i));
                    next.extend(ok.map(|i| base + i as usize * st));
                }
                std::mem::swap(&mut cur, &mut next);
            }
            w.offsets.extend_from_slice(&cur);
            w.interior.push(None);
            w.valid.push(cur.len());
        }
        w.starts.push(w.offsets.len());
        odometer(&mut oidx, &geo.output);
    }
    w.base = w.interior.iter().map(|b| b.unwrap_or(0)).collect();
    w.block_ok = w
        .interior
        .chunks(BLOCK)
        .map(|c| c.len() == BLOCK && c.iter().all(|b| b.is_some()))
        .collect();
    w
}

/// Outputs reduced together, so the reduction runs as independent chains rather than one
/// latency-bound chain per output.
const BLOCK: usize = 8;

impl Windows {
    /// Folds the windows `o0..o0 + BLOCK`, all interior.
    #[inline]
    fn fold_block<T: Copy>(
        &self,
        plane: &[T],
        o0: usize,
        init: T,
        f: impl Fn(T, T) -> T,
    ) -> [T; BLOCK] {
        let bases = &self.base[o0..o0 + BLOCK];
        let mut acc = [init; BLOCK];
        for &d in &self.deltas {
            for i in 0..BLOCK {
                acc[i] = f(acc[i], plane[bases[i] + d]);
            }
        }
        acc
    }

    /// Folds the in-image taps of window `o` of `plane` with `f`, starting from `init`.
    #[inline]
    fn fold<T: Copy>(&self, plane: &[T], o: usize, init: T, f: impl Fn(T, T) -> T) -> T {
        match self.interior[o] {
            Some(b) => {
                let xs = &plane[b..];
                self.deltas.iter().fold(init, |acc, &d| f(acc, xs[d]))
            }
            None => self.offsets[self.starts[o]..self.starts[o + 1]]
                .iter()
                .fold(init, |acc, &i| f(acc, plane[i])),
        }
    }
}

fn geometry(op: &str, attrs: &PoolAttrs, x: &Tensor) -> Result<Geometry, KernelError> {
    if x.rank() < 3 {
        return Err(err(format!(
            "{op}: input X must be [N, C, spatial...] with at least one spatial dim, got shape {:?}",
            x.shape
        )));
    }
    if attrs.kernel_shape.is_empty() {
        return Err(err(format!("{op}: attribute kernel_shape is required")));
    }
    spatial::resolve(op, &x.shape[2..], &attrs.window())
}

/// Computes every (batch, channel) plane: output `o` is `finish(fold of its taps with f, o)`.
/// Parallel over planes when large.
fn pool_planes<T: Num>(
    x: &Tensor,
    xv: &[T],
    geo: &Geometry,
    w: &Windows,
    init: T,
    f: impl Fn(T, T) -> T + Sync,
    finish: impl Fn(T, usize) -> T + Sync,
) -> Tensor {
    let mut shape = x.shape[..2].to_vec();
    shape.extend_from_slice(&geo.output);
    let out_area = geo.output_area();
    let in_area: usize = geo.input.iter().product();
    let planes = x.shape[0] * x.shape[1];
    let mut y = vec![T::ZERO; planes * out_area];
    if y.is_empty() {
        return tensor(shape, y);
    }
    let work = |(p, y_p): (usize, &mut [T])| {
        let plane = &xv[p * in_area..(p + 1) * in_area];
        for (blk, ys) in y_p.chunks_mut(BLOCK).enumerate() {
            let o0 = blk * BLOCK;
            if w.block_ok[blk] {
                let acc = w.fold_block(plane, o0, init, &f);
                for (i, v) in ys.iter_mut().enumerate() {
                    *v = finish(acc[i], o0 + i);
                }
            } else {
                for (i, v) in ys.iter_mut().enumerate() {
                    *v = finish(w.fold(plane, o0 + i, init, &f), o0 + i);
                }
            }
        }
    };
    if xv.len() >= 1 << 15 {
        y.par_chunks_mut(out_area)
            .enumerate()
            .with_min_len(16)
            .for_each(work);
    } else {
        y.chunks_mut(out_area).enumerate().for_each(work);
    }
    tensor(shape, y)
}

pub fn max_pool(attrs: &PoolAttrs, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("MaxPool", inputs, 1)?;
    let x = input("MaxPool", inputs, 0, "X")?;
    let geo = geometry("MaxPool", attrs, x)?;
    let w = windows(&geo);
    dispatch_num!(x.dtype(), T => {
        let xv = typed::<T>("MaxPool", "X", x)?;
        let lowest = T::from_f64(f64::NEG_INFINITY);
        // A select rather than a branch: data-dependent branches mispredict.
        let max = |m: T, v: T| if v > m { v } else { m };
        Ok(pool_planes(x, xv, &geo, &w, lowest, max, |m, _| m))
    }, Err(err("MaxPool: input X must be numeric, got bool")))
}

pub fn average_pool(attrs: &PoolAttrs, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("AveragePool", inputs, 1)?;
    let x = input("AveragePool", inputs, 0, "X")?;
    let geo = geometry("AveragePool", attrs, x)?;
    let w = windows(&geo);
    let counts = if attrs.count_include_pad {
        &w.padded
    } else {
        &w.valid
    };
    let dt = x.dtype();
    dispatch_real!(dt, T => {
        let xv = typed::<T>("AveragePool", "X", x)?;
        let inv: Vec<T> = counts.iter().map(|&n| T::from_f64(1.0 / n as f64)).collect();
        Ok(pool_planes(x, xv, &geo, &w, T::ZERO, |a, v| a + v, |s, o| s * inv[o]))
    }, Err(err(format!("AveragePool: input X must be f32 or f64, got {dt}"))))
}

pub fn global_average_pool(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("GlobalAveragePool", inputs, 1)?;
    let x = input("GlobalAveragePool", inputs, 0, "X")?;
    if x.rank() < 2 {
        return Err(err(format!(
            "GlobalAveragePool: input X must be [N, C, spatial...], got shape {:?}",
            x.shape
        )));
    }
    let dt = x.dtype();
    let area: usize = x.shape[2..].iter().product();
    let mut shape = x.shape[..2].to_vec();
    shape.resize(x.rank(), 1);
    dispatch_real!(dt, T => {
        let xv = typed::<T>("GlobalAveragePool", "X", x)?;
        let planes = x.shape[0] * x.shape[1];
        let y: Vec<T> = (0..planes)
            .map(|p| {
                let s: f64 = xv[p * area..(p + 1) * area].iter().map(|v| v.to_f64()).sum();
                T::from_f64(s / area as f64)
            })
            .collect();
        Ok(tensor(shape, y))
    }, Err(err(format!("GlobalAveragePool: input X must be f32 or f64, got {dt}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::op::AutoPad;
    use crate::tensor::Data;

    fn attrs(k: &[usize], s: &[usize], pads: &[usize]) -> PoolAttrs {
        PoolAttrs {
            kernel_shape: k.to_vec(),
            strides: s.to_vec(),
            dilations: vec![],
            pads: pads.to_vec(),
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
            count_include_pad: false,
        }
    }

    fn x44() -> Tensor {
        Tensor::f32(vec![1, 1, 4, 4], (1..=16).map(|v| v as f32).collect())
    }

    #[test]
    fn max_pool_2x2() {
        let y = max_pool(&attrs(&[2, 2], &[2, 2], &[]), &[Some(&x44())]).unwrap();
        assert_eq!(y.shape, vec![1, 1, 2, 2]);
        assert_eq!(y.as_f32().unwrap(), &[6.0, 8.0, 14.0, 16.0]);
    }

    #[test]
    fn average_pool_ceil_mode() {
        // ONNX test_averagepool_2d_ceil.
        let mut a = attrs(&[3, 3], &[2, 2], &[]);
        a.ceil_mode = true;
        let y = average_pool(&a, &[Some(&x44())]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[6.0, 7.5, 12.0, 13.5]);
        let y = max_pool(&a, &[Some(&x44())]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[11.0, 12.0, 15.0, 16.0]);
    }

    #[test]
    fn average_pool_pads_and_count_include_pad() {
        let mut a = attrs(&[3, 3], &[1, 1], &[1, 1, 1, 1]);
        let y = average_pool(&a, &[Some(&x44())]).unwrap();
        assert_eq!(y.shape, vec![1, 1, 4, 4]);
        let v = y.as_f32().unwrap();
        assert_eq!(v[0], (1.0 + 2.0 + 5.0 + 6.0) / 4.0);
        a.count_include_pad = true;
        let y = average_pool(&a, &[Some(&x44())]).unwrap();
        assert_eq!(y.as_f32().unwrap()[0], (1.0 + 2.0 + 5.0 + 6.0) / 9.0);
        // ONNX test_averagepool_2d_ceil_last_window_starts_on_pad.
        let x = Tensor::f32(vec![1, 1, 2, 2], vec![0.8580, 0.0786, 0.2692, 0.1537]);
        let mut a = attrs(&[3, 3], &[3, 3], &[1, 1, 1, 1]);
        a.ceil_mode = true;
        a.count_include_pad = true;
        let y = average_pool(&a, &[Some(&x)]).unwrap();
        assert_eq!(y.shape, vec![1, 1, 1, 1]);
        assert!((y.as_f32().unwrap()[0] - 0.1511).abs() < 1e-4);
    }

    #[test]
    fn dilated_and_same_upper_pools() {
        // ONNX test_averagepool_2d_dilations.
        let mut a = attrs(&[2, 2], &[1, 1], &[]);
        a.dilations = vec![2, 2];
        a.ceil_mode = true;
        let y = average_pool(&a, &[Some(&x44())]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[6.0, 7.0, 10.0, 11.0]);
        let mut a = attrs(&[2, 2], &[2, 2], &[]);
        a.auto_pad = AutoPad::SameUpper;
        let x = Tensor::f32(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect());
        let y = max_pool(&a, &[Some(&x)]).unwrap();
        assert_eq!(y.shape, vec![1, 1, 2, 2]);
        assert_eq!(y.as_f32().unwrap(), &[5.0, 6.0, 8.0, 9.0]);
        let y = average_pool(&a, &[Some(&x)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[3.0, 4.5, 7.5, 9.0]);
    }

    #[test]
    fn pool_1d_3d_and_integers() {
        let x = Tensor::f32(
            vec![1, 2, 4],
            vec![1.0, 3.0, 2.0, 0.0, -1.0, -3.0, -2.0, -5.0],
        );
        let y = max_pool(&attrs(&[2], &[1], &[]), &[Some(&x)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[3.0, 3.0, 2.0, -1.0, -2.0, -2.0]);
        let x3 = Tensor::f32(vec![1, 1, 2, 2, 2], (0..8).map(|v| v as f32).collect());
        let y = average_pool(&attrs(&[2, 2, 2], &[], &[]), &[Some(&x3)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[3.5]);
        let xu = Tensor::new(vec![1, 1, 2, 2], Data::U8(vec![1, 9, 3, 4])).unwrap();
        let y = max_pool(&attrs(&[2, 2], &[], &[]), &[Some(&xu)]).unwrap();
        assert_eq!(y.data, Data::U8(vec![9]));
        assert!(average_pool(&attrs(&[2, 2], &[], &[]), &[Some(&xu)]).is_err());
    }

    #[test]
    fn pool_errors() {
        let x = x44();
        assert!(max_pool(&attrs(&[], &[], &[]), &[Some(&x)]).is_err());
        assert!(max_pool(&attrs(&[5, 5], &[], &[]), &[Some(&x)]).is_err());
        assert!(max_pool(&attrs(&[2], &[], &[]), &[Some(&x)]).is_err());
        let flat = Tensor::f32(vec![4], vec![0.0; 4]);
        assert!(max_pool(&attrs(&[2], &[], &[]), &[Some(&flat)]).is_err());
        assert!(max_pool(&attrs(&[2, 2], &[], &[]), &[None]).is_err());
    }

    #[test]
    fn many_planes_and_border_windows() {
        // 2 images × 3 channels of 5×5 with pads: every plane gets its own average, and the
        // padded border windows (scalar path) agree with the interior blocks.
        let x = Tensor::f32(vec![2, 3, 5, 5], (0..150).map(|v| v as f32).collect());
        let mut a = attrs(&[3, 3], &[1, 1], &[1, 1, 1, 1]);
        let y = average_pool(&a, &[Some(&x)]).unwrap();
        assert_eq!(y.shape, vec![2, 3, 5, 5]);
        let v = y.as_f32().unwrap();
        for p in 0..6 {
            let b = (p * 25) as f32;
            assert_eq!(v[p * 25 + 6], b + 6.0, "interior window of plane {p}");
            assert_eq!(
                v[p * 25],
                b + 3.0,
                "corner of plane {p}: (0 + 1 + 5 + 6) / 4"
            );
        }
        a.count_include_pad = true;
        let y = average_pool(&a, &[Some(&x)]).unwrap();
        assert_eq!(y.as_f32().unwrap()[25], (4.0 * 25.0 + 12.0) / 9.0);
        let y = max_pool(&attrs(&[2, 2], &[2, 2], &[]), &[Some(&x)]).unwrap();
        assert_eq!(y.shape, vec![2, 3, 2, 2]);
        assert_eq!(&y.as_f32().unwrap()[4..8], &[31.0, 33.0, 41.0, 43.0]);
    }

    #[test]
    fn global_average() {
        let y = global_average_pool(&[Some(&x44())]).unwrap();
        assert_eq!(y.shape, vec![1, 1, 1, 1]);
        assert_eq!(y.as_f32().unwrap(), &[8.5]);
        let x = Tensor::f32(vec![2, 1, 2], vec![1.0, 2.0, 3.0, 5.0]);
        let y = global_average_pool(&[Some(&x)]).unwrap();
        assert_eq!(y.shape, vec![2, 1, 1]);
        assert_eq!(y.as_f32().unwrap(), &[1.5, 4.0]);
    }
}
