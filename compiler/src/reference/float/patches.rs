//! Addressing of sliding windows (the patches of im2col), shared by Conv and the pools.
//!
//! For kernel tap `k` (row-major over the kernel shape), the output positions whose tap lands
//! inside the input form, per row of the output's last dimension, one contiguous *run*: outputs
//! `dst..dst + len` read inputs `src, src + s, …, src + (len - 1)·s` with `s` the last stride.
//! Kernels loop over taps and runs, so the inner loop is a strided copy or reduction with no
//! bounds logic.

use super::spatial::{odometer, Geometry};
use crate::tensor::strides_of;

pub struct Patches {
    /// `[outer tap][outer output position]`: input offset of the row read, `None` in padding.
    outer_base: Vec<Option<usize>>,
    /// Per last-dim tap: valid output range `[lo, hi)` and input column of output 0.
    last: Vec<(usize, usize, i64)>,
    out_outer: usize,
    out_last: usize,
    stride_last: usize,
    pub in_area: usize,
    pub k_area: usize,
    pub out_area: usize,
}

impl Patches {
    pub fn new(geo: &Geometry) -> Patches {
        let nd = geo.input.len();
        let in_strides = strides_of(&geo.input);
        let k_outer: usize = geo.kernel[..nd - 1].iter().product();
        let out_outer: usize = geo.output[..nd - 1].iter().product();
        let mut outer_base = Vec::with_capacity(k_outer * out_outer);
        let (mut kidx, mut oidx) = (vec![0usize; nd - 1], vec![0usize; nd - 1]);
        for _ in 0..k_outer {
            oidx.iter_mut().for_each(|o| *o = 0);
            for _ in 0..out_outer {
                let mut base = Some(0usize);
                for d in 0..nd - 1 {
                    let ic = geo.tap(d, oidx[d], kidx[d]);
                    base = match base {
                        Some(b) if ic >= 0 && ic < geo.input[d] as i64 => {
                            Some(b + ic as usize * in_strides[d])
                        }
                        _ => None,
                    };
                }
                outer_base.push(base);
                odometer(&mut oidx, &geo.output[..nd - 1]);
            }
            odometer(&mut kidx, &geo.kernel[..nd - 1]);
        }
        let (in_last, out_last, s) = (geo.input[nd - 1], geo.output[nd - 1], geo.strides[nd - 1]);
        let last = (0..geo.kernel[nd - 1])
            .map(|k| {
                let off = geo.tap(nd - 1, 0, k);
                let lo = if off >= 0 {
                    0
                } else {
                    (-off as usize).div_ceil(s)
                };
                let hi = if in_last as i64 <= off {
                    0
                } else {
                    ((in_last as i64 - off) as usize).div_ceil(s).min(out_last)
                };
                (lo.min(out_last), hi.max(lo.min(out_last)), off)
            })
            .collect();
        Patches {
            outer_base,
            last,
            out_outer,
            out_last,
            stride_last: s,
            in_area: geo.input.iter().product(),
            k_area: geo.kernel.iter().product(),
            out_area: geo.output_area(),
        }
    }

    /// Calls `f(dst, src, len)` for every run of kernel tap `kidx`.
    #[inline]
    pub fn for_each_run(&self, kidx: usize, mut f: impl FnMut(usize, usize, usize)) {
        let k_last = self.last.len();
        let (ko, kl) = (kidx / k_last, kidx % k_last);
        let (lo, hi, off) = self.last[kl];
        if lo == hi {
            return;
        }
        let bases = &self.outer_base[ko * self.out_outer..(ko + 1) * self.out_outer];
        for (oo, base) in bases.iter().enumerate() {
            if let Some(base) = *base {
                let src = (base as i64 + (lo * self.stride_last) as i64 + off) as usize;
                f(oo * self.out_last + lo, src, hi - lo);
            }
        }
    }

    /// All runs of every tap, `runs[starts[k]..starts[k + 1]]` for tap `k`.
    pub fn runs(&self) -> (Vec<usize>, Vec<(usize, usize, usize)>) {
        let mut starts = vec![0];
        let mut runs = Vec::new();
        for k in 0..self.k_area {
            self.for_each_run(k, |d, s, l| runs.push((d, s, l)));
            starts.push(runs.len());
        }
        (starts, runs)
    }

    /// im2col of `images` side by side: image `i` fills columns `i·out_area..(i+1)·out_area` of
    /// `cols` (`[images.channels × k_area, ld]`, zeroed; padding stays zero). Each run is
    /// applied to all images before the next, so its bookkeeping is paid once per chunk.
    pub fn im2col<T: Copy>(
        &self,
        (starts, runs): &(Vec<usize>, Vec<(usize, usize, usize)>),
        images: Images<'_, T>,
        cols: &mut [T],
        ld: usize,
    ) {
        let Images {
            data: x,
            count: images,
            stride: img_stride,
            channels,
        } = images;
        let s = self.stride_last;
        for c in 0..channels {
            for kidx in 0..self.k_area {
                let row = &mut cols[(c * self.k_area + kidx) * ld..][..ld];
                for &(dst, src, len) in &runs[starts[kidx]..starts[kidx + 1]] {
                    for i in 0..images {
                        let d = &mut row[i * self.out_area + dst..][..len];
                        let x_run = &x[i * img_stride + c * self.in_area + src..];
                        if s == 1 {
                            copy_run(d, &x_run[..len]);
                        } else {
                            d.iter_mut()
                                .enumerate()
                                .for_each(|(j, v)| *v = x_run[j * s]);
                        }
                    }
                }
            }
        }
    }
}

/// Images one after another in a buffer, read by [`Patches::im2col`]: image `i` (`[channels,
/// input spatial...]`, the first `channels` of a group) starts at `data[i * stride]`.
#[derive(Clone, Copy)]
pub struct Images<'a, T> {
    pub data: &'a [T],
    pub count: usize,
    pub stride: usize,
    pub channels: usize,
}

/// `dst.copy_from_slice(src)` without a `memcpy` call for the short runs of small images,
/// where the call costs more than the copy (constant-size moves compile to plain loads/stores).
#[inline]
pub fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len();
    let src = &src[..n];
    match n {
        0 => {}
        1 => dst[0] = src[0],
        2 => dst.copy_from_slice(&<[T; 2]>::try_from(src).unwrap_or_else(|_| unreachable!())),
        3 => dst.copy_from_slice(&<[T; 3]>::try_from(src).unwrap_or_else(|_| unreachable!())),
        4 => dst.copy_from_slice(&<[T; 4]>::try_from(src).unwrap_or_else(|_| unreachable!())),
        5..=8 => {
            dst[..4]
                .copy_from_slice(&<[T; 4]>::try_from(&src[..4]).unwrap_or_else(|_| unreachable!()));
            copy_run(&mut dst[4..], &src[4..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::op::{AutoPad, WindowAttrs};
    use crate::reference::float::spatial::resolve;

    #[test]
    fn runs_skip_padding() {
        // 1-D: input 4, kernel 3, pad 1, stride 1 → 4 outputs.
        let w = WindowAttrs {
            kernel: &[3],
            strides: &[],
            dilations: &[],
            pads: &[1, 1],
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
        };
        let g = resolve("t", &[4], &w).unwrap();
        let p = Patches::new(&g);
        let runs = |k| {
            let mut v = vec![];
            p.for_each_run(k, |d, s, l| v.push((d, s, l)));
            v
        };
        assert_eq!(runs(0), vec![(1, 0, 3)]);
        assert_eq!(runs(1), vec![(0, 0, 4)]);
        assert_eq!(runs(2), vec![(0, 1, 3)]);
        let mut cols = vec![0; 12];
        let x = Images {
            data: &[1, 2, 3, 4],
            count: 1,
            stride: 4,
            channels: 1,
        };
        p.im2col(&p.runs(), x, &mut cols, 4);
        assert_eq!(cols, vec![0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 0]);
    }

    #[test]
    fn strided_2d_runs() {
        // 3×3 input, 2×2 kernel, stride 2, pads end 1 → 2×2 outputs.
        let w = WindowAttrs {
            kernel: &[2, 2],
            strides: &[2, 2],
            dilations: &[],
            pads: &[0, 0, 1, 1],
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
        };
        let g = resolve("t", &[3, 3], &w).unwrap();
        let p = Patches::new(&g);
        let mut cols = vec![0; 16];
        let x = Images {
            data: &[1, 2, 3, 4, 5, 6, 7, 8, 9],
            count: 1,
            stride: 9,
            channels: 1,
        };
        p.im2col(&p.runs(), x, &mut cols, 4);
        assert_eq!(cols, vec![1, 3, 7, 9, 2, 0, 8, 0, 4, 6, 0, 0, 5, 0, 0, 0]);
    }
}
