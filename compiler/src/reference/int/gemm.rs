//! The array stage: `y[c] = requant_c(Σ_k x[k] · w[c][k] + bias[c])` on integer codes.
//!
//! Convolutions go through an im2col view (rows of `K = (c, kh, kw)` taps, padding filled with
//! the input zero point, which the folded bias cancels). Each output is a dot product of two
//! contiguous rows, accumulated in `i32` when the stage's proven accumulator width allows it
//! (the compiler vectorizes that loop) and in `i64` otherwise; a narrowed accumulator applies its
//! overflow mode after every addition, in increasing `k`.

use rayon::prelude::*;

use crate::fxir::GemmStage;
use crate::quant::{requantize_fast, saturate, Format, Overflow, Rounding};

use super::kernel::{dot16, ChannelWeights, RequantLanes, CHANNEL_BLOCK_MIN};

pub(crate) fn gemm_batch(
    g: &GemmStage,
    x: &[i32],
    xf: &Format,
    batch: usize,
    out_len: usize,
) -> Vec<i32> {
    let w = g.weights.decode();
    let in_len = x.len() / batch.max(1);
    let zx = xf.zero_point() as i32;
    let mut y = vec![0i32; batch * out_len];
    let fits_i16 = |lo: i64, hi: i64| lo >= i64::from(i16::MIN) && hi <= i64::from(i16::MAX);
    let fast = g.acc_overflow.is_none()
        && g.acc_bits <= 32
        && g.weights.max_abs() <= i16::MAX as u64
        && fits_i16(xf.min_int(), xf.max_int());
    if fast {
        let gather = Gather::new(g, in_len);
        let lanes = folded_requant(g);
        let p_count = gather.rows;
        if g.n >= CHANNEL_BLOCK_MIN {
            // Channels innermost: each tap of a pixel scales one row of `Wᵀ`, a loop over `n`
            // contiguous lanes that vectorizes, instead of `n` short dot products (conv1 of
            // the digits CNN has K = 9).
            let (k, n) = (g.k, g.n);
            let wt = ChannelWeights::new(&w, k, n);
            y.par_chunks_mut(out_len.max(1))
                .zip(x.par_chunks(in_len.max(1)))
                .for_each_init(
                    || (Vec::new(), Vec::new(), Vec::new(), Vec::new()),
                    |(buf, cols, acc, rows), (ys, xs)| {
                        gather.fill(xs, zx as i16, buf, cols);
                        acc.clear();
                        acc.resize(p_count * n, 0i32);
                        wt.accumulate(cols, acc);
                        if let Some(l) = &lanes {
                            // Requantize pixel by pixel across the channels (vectors), then
                            // store channel-major.
                            rows.resize(p_count * n, 0i32);
                            l.apply(acc, rows);
                            for (c, out) in ys.chunks_exact_mut(p_count).enumerate().take(n) {
                                for (y, &v) in out.iter_mut().zip(rows[c..].iter().step_by(n)) {
                                    *y = v;
                                }
                            }
                            return;
                        }
                        // Channel by channel: one channel's constants in registers, the
                        // outputs written contiguously (the layout is channel-major).
                        for (c, out) in ys.chunks_exact_mut(p_count).enumerate().take(n) {
                            for (y, &v) in out.iter_mut().zip(acc[c..].iter().step_by(n)) {
                                *y = finish(g, c, i64::from(v));
                            }
                        }
                    },
                );
            return y;
        }
        let w16: Vec<i16> = w.iter().map(|&v| v as i16).collect();
        y.par_chunks_mut(out_len.max(1))
            .zip(x.par_chunks(in_len.max(1)))
            .for_each_init(
                || (Vec::new(), Vec::new()),
                |(buf, cols), (ys, xs)| {
                    gather.fill(xs, zx as i16, buf, cols);
                    for (p, col) in cols.chunks_exact(g.k).enumerate() {
                        for c in 0..g.n {
                            let acc = dot16(&w16[c * g.k..(c + 1) * g.k], col);
                            ys[c * p_count + p] = match &lanes {
                                Some(l) => l.one(c, acc),
                                None => finish(g, c, i64::from(acc)),
                            };
                        }
                    }
                },
            );
        return y;
    }
    y.par_chunks_mut(out_len.max(1))
        .zip(x.par_chunks(in_len.max(1)))
        .for_each(|(ys, xs)| gemm_sample(g, &w, xs, zx, ys));
    y
}

/// The stage's requantizers in the default modes (RND, SAT) with the bias, zero point and
/// fused ReLU folded into per-channel constants: `clamp((acc + b) · M0 + half >> n + z, lo, hi)`
/// (`None` when any channel uses other modes or a shift outside `1..=62`). Equal to `finish`
/// for every accumulator of at most 32 bits (then `|acc + b| < 2^31` and the product fits an
/// `i64`); the property tests compare the two paths.
fn folded_requant(g: &GemmStage) -> Option<RequantLanes> {
    let n = g.requant.len();
    let mut l = RequantLanes {
        bias: Vec::with_capacity(n),
        m0: Vec::with_capacity(n),
        half: Vec::with_capacity(n),
        shift: Vec::with_capacity(n),
        z: Vec::with_capacity(n),
        lo: Vec::with_capacity(n),
        hi: Vec::with_capacity(n),
    };
    for (r, &bias) in g.requant.iter().zip(&g.bias) {
        let total = 31 + r.shift;
        if r.rounding != Rounding::Rnd || r.overflow != Overflow::Sat || !(1..=62).contains(&total)
        {
            return None;
        }
        let (lo, hi) = r.code_range();
        let z = i64::from(r.zero_point);
        l.bias.push(bias);
        l.m0.push(i64::from(r.m0));
        l.half.push(1i64 << (total - 1));
        l.shift.push(total as u64);
        l.z.push(z);
        l.lo.push(if g.relu { lo.max(z) } else { lo });
        l.hi.push(hi);
    }
    Some(l)
}

/// The im2col view as a table of source offsets, built once per stage, so the per-sample
/// gather is one indexed copy into `i16` rows of `K`. Padding taps point one past the input,
/// where [`Gather::fill`] puts the zero point: a branch-free gather.
struct Gather {
    rows: usize,
    src: Vec<u32>,
}

impl Gather {
    fn new(g: &GemmStage, in_len: usize) -> Gather {
        match &g.conv {
            None => Gather {
                rows: 1,
                src: (0..in_len as u32).collect(),
            },
            Some(win) => {
                let (ih, iw) = (win.input[0] as i64, win.input[1] as i64);
                let mut src = Vec::with_capacity(win.output_area() * g.k);
                for oy in 0..win.output[0] {
                    for ox in 0..win.output[1] {
                        for ch in 0..win.channels {
                            for ky in 0..win.kernel[0] {
                                let iy = win.tap(0, oy, ky);
                                for kx in 0..win.kernel[1] {
                                    let ix = win.tap(1, ox, kx);
                                    let inside = iy >= 0 && iy < ih && ix >= 0 && ix < iw;
                                    src.push(if inside {
                                        (ch as i64 * ih * iw + iy * iw + ix) as u32
                                    } else {
                                        in_len as u32
                                    });
                                }
                            }
                        }
                    }
                }
                Gather {
                    rows: win.output_area(),
                    src,
                }
            }
        }
    }

    /// `buf` is scratch: the sample as `i16` with the zero point appended.
    fn fill(&self, xs: &[i32], pad: i16, buf: &mut Vec<i16>, cols: &mut Vec<i16>) {
        buf.clear();
        buf.extend(xs.iter().map(|&v| v as i16));
        buf.push(pad);
        cols.clear();
        cols.extend(self.src.iter().map(|&i| buf[i as usize]));
    }
}

/// One sample: `xs` is the input (`[K]` or `[C, H, W]`), `w` the decoded weights `[n][k]`,
/// `ys` the output (`[n]` or `[n, OH, OW]`).
pub fn gemm_sample(g: &GemmStage, w: &[i32], xs: &[i32], zx: i32, ys: &mut [i32]) {
    let k = g.k;
    match &g.conv {
        None => {
            for c in 0..g.n {
                ys[c] = finish(g, c, dot(g, &w[c * k..(c + 1) * k], xs));
            }
        }
        Some(win) => {
            let p_count = win.output_area();
            let cols = im2col(g, xs, zx);
            for (p, col) in cols.chunks_exact(k).enumerate() {
                for c in 0..g.n {
                    ys[c * p_count + p] = finish(g, c, dot(g, &w[c * k..(c + 1) * k], col));
                }
            }
        }
    }
}

/// The rows of `A` for one sample: one row of `K = (ch, ky, kx)` taps per output pixel of a
/// convolution (padding taps hold the input zero point `zx`, which the folded bias cancels), or
/// the input itself for a plain GEMM. The array and the simulator read the same view.
pub fn im2col(g: &GemmStage, xs: &[i32], zx: i32) -> Vec<i32> {
    let Some(win) = &g.conv else {
        return xs[..g.k].to_vec();
    };
    let k = g.k;
    let mut out = vec![zx; win.output_area() * k];
    let (kh, kw) = (win.kernel[0], win.kernel[1]);
    let (ih, iw) = (win.input[0] as i64, win.input[1] as i64);
    let mut j = 0;
    for oy in 0..win.output[0] {
        for ox in 0..win.output[1] {
            for ch in 0..win.channels {
                let plane = &xs[ch * (ih * iw) as usize..];
                for ky in 0..kh {
                    let iy = win.tap(0, oy, ky);
                    for kx in 0..kw {
                        let ix = win.tap(1, ox, kx);
                        if iy >= 0 && iy < ih && ix >= 0 && ix < iw {
                            out[j] = plane[(iy * iw + ix) as usize];
                        }
                        j += 1;
                    }
                }
            }
        }
    }
    out
}

/// The requantization unit at the array's edge: the accumulator of channel `c` (bias not yet
/// added) to its output code, with the stage's bias, requantizer and fused ReLU.
pub fn requant_output(g: &GemmStage, c: usize, acc: i64) -> i32 {
    finish(g, c, acc)
}

fn dot(g: &GemmStage, w: &[i32], x: &[i32]) -> i64 {
    match g.acc_overflow {
        Some(mode) => {
            let mut acc: i64 = 0;
            for (a, b) in w.iter().zip(x) {
                acc = saturate(acc + i64::from(*a) * i64::from(*b), g.acc_bits, true, mode);
            }
            acc
        }
        None if g.acc_bits <= 32 => {
            // Proven: no partial sum leaves i32 (fxir::validate), so wrapping ops are exact.
            let mut acc: i32 = 0;
            for (a, b) in w.iter().zip(x) {
                acc = acc.wrapping_add(a.wrapping_mul(*b));
            }
            i64::from(acc)
        }
        None => w
            .iter()
            .zip(x)
            .map(|(a, b)| i64::from(*a) * i64::from(*b))
            .sum(),
    }
}

fn finish(g: &GemmStage, c: usize, acc: i64) -> i32 {
    let r = &g.requant[c];
    let acc = match g.acc_overflow {
        Some(mode) => saturate(acc + g.bias[c], g.acc_bits, true, mode),
        None => acc + g.bias[c],
    };
    let y = requantize_fast(acc, 0, r) as i32;
    if g.relu {
        y.max(r.zero_point)
    } else {
        y
    }
}
