//! MaxPool, AveragePool (N-D, pads, auto_pad, ceil_mode, dilations, count_include_pad) and
//! GlobalAveragePool.
//!
//! The window of every output position is the same for every (batch, channel) plane, so it is
//! computed once as a table of input offsets; each plane then reduces over its table entries.

use rayon::prelude::*;

use super::num::{dispatch_num, dispatch_real, Num, Real};
use super::spatial::{self, Geometry};
use super::{err, input, max_inputs, tensor, typed};
use crate::error::KernelError;
use crate::ir::op::PoolAttrs;
use crate::tensor::{strides_of, Tensor};

/// Window of each output position: `offsets[starts[o]..starts[o + 1]]` are the in-image input
/// offsets (within one plane); `padded[o]` counts the taps inside the input plus its explicit
/// padding (the `count_include_pad` divisor).
struct Windows {
    starts: Vec<usize>,
    offsets: Vec<usize>,
    padded: Vec<usize>,
}

fn windows(geo: &Geometry) -> Windows {
    let nd = geo.input.len();
    // Per dim and output coordinate: in-image taps and the count inside the padded extent.
    let mut taps: Vec<Vec<Vec<usize>>> = Vec::with_capacity(nd);
    let mut padded_n: Vec<Vec<usize>> = Vec::with_capacity(nd);
    for d in 0..nd {
        let hi = (geo.input[d] + geo.pad_end[d]) as i64;
        let (mut t, mut p) = (Vec::new(), Vec::new());
        for o in 0..geo.output[d] {
            let pos: Vec<i64> = (0..geo.kernel[d]).map(|k| geo.tap(d, o, k)).collect();
            t.push(
                pos.iter()
                    .filter(|&&i| i >= 0 && i < geo.input[d] as i64)
                    .map(|&i| i as usize)
                    .collect(),
            );
            p.push(pos.iter().filter(|&&i| i < hi).count());
        }
        taps.push(t);
        padded_n.push(p);
    }
    let in_strides = strides_of(&geo.input);
    let out_area = geo.output_area();
    let mut w = Windows {
        starts: vec![0],
        offsets: Vec::new(),
        padded: Vec::with_capacity(out_area),
    };
    let (mut cur, mut next) = (Vec::new(), Vec::new());
    let mut oidx = vec![0usize; nd];
    for _ in 0..out_area {
        cur.clear();
        cur.push(0usize);
        let mut count = 1;
        for d in 0..nd {
            next.clear();
            for &base in &cur {
                next.extend(taps[d][oidx[d]].iter().map(|&i| base + i * in_strides[d]));
            }
            std::mem::swap(&mut cur, &mut next);
            count *= padded_n[d][oidx[d]];
        }
        w.offsets.extend_from_slice(&cur);
        w.starts.push(w.offsets.len());
        w.padded.push(count);
        for d in (0..nd).rev() {
            oidx[d] += 1;
            if oidx[d] < geo.output[d] {
                break;
            }
            oidx[d] = 0;
        }
    }
    w
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
    spatial::resolve(
        op,
        &x.shape[2..],
        &attrs.kernel_shape,
        &attrs.strides,
        &attrs.dilations,
        &attrs.pads,
        attrs.auto_pad,
        attrs.ceil_mode,
    )
}

/// Reduces every plane of `x` with `f(plane, window_index)` into a new tensor.
fn pool_planes<T: Num>(
    x: &Tensor,
    xv: &[T],
    geo: &Geometry,
    f: impl Fn(&[T], usize) -> T + Sync,
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
        for (o, v) in y_p.iter_mut().enumerate() {
            *v = f(plane, o);
        }
    };
    if y.len() >= 1 << 14 {
        y.par_chunks_mut(out_area)
            .enumerate()
            .with_min_len(4)
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
        Ok(pool_planes(x, xv, &geo, |plane, o| {
            let mut m = lowest;
            for &i in &w.offsets[w.starts[o]..w.starts[o + 1]] {
                if plane[i] > m {
                    m = plane[i];
                }
            }
            m
        }))
    }, Err(err("MaxPool: input X must be numeric, got bool")))
}

pub fn average_pool(attrs: &PoolAttrs, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("AveragePool", inputs, 1)?;
    let x = input("AveragePool", inputs, 0, "X")?;
    let geo = geometry("AveragePool", attrs, x)?;
    let w = windows(&geo);
    let dt = x.dtype();
    dispatch_real!(dt, T => {
        let xv = typed::<T>("AveragePool", "X", x)?;
        Ok(pool_planes(x, xv, &geo, |plane, o| {
            let win = &w.offsets[w.starts[o]..w.starts[o + 1]];
            let s: f64 = win.iter().map(|&i| plane[i].to_f64()).sum();
            let n = if attrs.count_include_pad { w.padded[o] } else { win.len() };
            T::from_f64(s / n as f64)
        }))
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
