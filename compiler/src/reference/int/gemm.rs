//! The array stage: `y[c] = requant_c(Σ_k x[k] · w[c][k] + bias[c])` on integer codes.
//!
//! Convolutions go through an im2col view (rows of `K = (c, kh, kw)` taps, padding filled with
//! the input zero point, which the folded bias cancels). Each output is a dot product of two
//! contiguous rows, accumulated in `i32` when the stage's proven accumulator width allows it
//! (the compiler vectorizes that loop) and in `i64` otherwise; a narrowed accumulator applies its
//! overflow mode after every addition, in increasing `k`.

use rayon::prelude::*;

use crate::fxir::GemmStage;
use crate::quant::{requantize, saturate, Format};

pub(super) fn gemm_batch(
    g: &GemmStage,
    x: &[i32],
    xf: &Format,
    batch: usize,
    out_len: usize,
) -> Vec<i32> {
    let w = g.weights.decode();
    let in_len = x.len() / batch.max(1);
    let mut y = vec![0i32; batch * out_len];
    y.par_chunks_mut(out_len.max(1))
        .zip(x.par_chunks(in_len.max(1)))
        .for_each(|(ys, xs)| gemm_sample(g, &w, xs, xf.zero_point() as i32, ys));
    y
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
            let mut col = vec![zx; k];
            let (kh, kw) = (win.kernel[0], win.kernel[1]);
            let (ih, iw) = (win.input[0] as i64, win.input[1] as i64);
            for oy in 0..win.output[0] {
                for ox in 0..win.output[1] {
                    // Gather the patch for output pixel (oy, ox): K = (ch, ky, kx).
                    let mut j = 0;
                    for ch in 0..win.channels {
                        let plane = &xs[ch * (ih * iw) as usize..];
                        for ky in 0..kh {
                            let iy = win.tap(0, oy, ky);
                            for kx in 0..kw {
                                let ix = win.tap(1, ox, kx);
                                col[j] = if iy >= 0 && iy < ih && ix >= 0 && ix < iw {
                                    plane[(iy * iw + ix) as usize]
                                } else {
                                    zx
                                };
                                j += 1;
                            }
                        }
                    }
                    let p = oy * win.output[1] + ox;
                    for c in 0..g.n {
                        ys[c * p_count + p] = finish(g, c, dot(g, &w[c * k..(c + 1) * k], &col));
                    }
                }
            }
        }
    }
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
    let y = requantize(acc, 0, r) as i32;
    if g.relu {
        y.max(r.zero_point)
    } else {
        y
    }
}
