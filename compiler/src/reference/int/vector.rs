//! Vector-unit stages on integer codes: max pooling, integer softmax, transpose.

use rayon::prelude::*;

use crate::fxir::Window;
use crate::quant::{saturate, shift_round, Format, Overflow, Rounding, Scale};

pub(super) fn maxpool(
    win: &Window,
    x: &[i32],
    in_len: usize,
    out_len: usize,
    f: &Format,
) -> Vec<i32> {
    let batch = x.len() / in_len.max(1);
    let mut y = vec![0i32; batch * out_len];
    let floor = f.min_int() as i32;
    // Every window inside the input (no padding tap, the common 2x2/2 case): direct row slices
    // instead of per-tap coordinates and bounds checks. Same taps, same maximum.
    let inside = (0..2).all(|d| {
        win.pad_begin[d] == 0
            && win.output[d] > 0
            && (win.output[d] - 1) * win.strides[d] + (win.kernel[d] - 1) * win.dilations[d]
                < win.input[d]
    });
    if inside && win.kernel == [2, 2] && win.strides == [2, 2] && win.dilations == [1, 1] {
        // The 2x2/2 pool of every small CNN: two input rows per output row, pairs of columns.
        let (ihu, iwu) = (win.input[0], win.input[1]);
        let ow = win.output[1];
        y.par_chunks_mut(out_len.max(1))
            .zip(x.par_chunks(in_len.max(1)))
            .for_each(|(ys, xs)| {
                let outs = ys.chunks_exact_mut(ow);
                let rows = xs
                    .chunks_exact(ihu * iwu)
                    .take(win.channels)
                    .flat_map(|plane| plane.chunks_exact(2 * iwu).take(win.output[0]));
                for (out, pair) in outs.zip(rows) {
                    let (r0, r1) = pair.split_at(iwu);
                    for ((o, a), b) in out
                        .iter_mut()
                        .zip(r0.chunks_exact(2))
                        .zip(r1.chunks_exact(2))
                    {
                        *o = a[0].max(a[1]).max(b[0]).max(b[1]).max(floor);
                    }
                }
            });
        return y;
    }
    if inside {
        let (ihu, iwu) = (win.input[0], win.input[1]);
        let ([sy, sx], [dy, dx]) = (win.strides, win.dilations);
        y.par_chunks_mut(out_len.max(1))
            .zip(x.par_chunks(in_len.max(1)))
            .for_each(|(ys, xs)| {
                let mut o = 0;
                for plane in xs.chunks_exact(ihu * iwu).take(win.channels) {
                    for oy in 0..win.output[0] {
                        for ox in 0..win.output[1] {
                            let mut m = floor;
                            for ky in 0..win.kernel[0] {
                                let row = &plane[(oy * sy + ky * dy) * iwu + ox * sx..];
                                for kx in 0..win.kernel[1] {
                                    m = m.max(row[kx * dx]);
                                }
                            }
                            ys[o] = m;
                            o += 1;
                        }
                    }
                }
            });
        return y;
    }
    maxpool_general(win, x, in_len, out_len, f)
}

/// Max pooling by the definition: every tap's coordinates, padding taps skipped. The fast
/// path of [`maxpool`] is tested against it.
pub(super) fn maxpool_general(
    win: &Window,
    x: &[i32],
    in_len: usize,
    out_len: usize,
    f: &Format,
) -> Vec<i32> {
    let batch = x.len() / in_len.max(1);
    let mut y = vec![0i32; batch * out_len];
    let (ih, iw) = (win.input[0] as i64, win.input[1] as i64);
    let floor = f.min_int() as i32;
    y.par_chunks_mut(out_len.max(1))
        .zip(x.par_chunks(in_len.max(1)))
        .for_each(|(ys, xs)| {
            let mut o = 0;
            for ch in 0..win.channels {
                let plane = &xs[ch * (ih * iw) as usize..];
                for oy in 0..win.output[0] {
                    for ox in 0..win.output[1] {
                        let mut m = floor;
                        for ky in 0..win.kernel[0] {
                            let iy = win.tap(0, oy, ky);
                            if iy < 0 || iy >= ih {
                                continue;
                            }
                            for kx in 0..win.kernel[1] {
                                let ix = win.tap(1, ox, kx);
                                if ix >= 0 && ix < iw {
                                    m = m.max(plane[(iy * iw + ix) as usize]);
                                }
                            }
                        }
                        ys[o] = m;
                        o += 1;
                    }
                }
            }
        });
    y
}

/// `x > 0 ? cast(x) : 0` between binary-point formats (hls4ml's ReLU with a result type).
pub(super) fn relu_cast(
    x: &[i32],
    from: &Format,
    to: &Format,
    rounding: Rounding,
    overflow: Overflow,
) -> Vec<i32> {
    let frac = |f: &Format| match f.scale {
        Scale::BinaryPoint { frac_bits } => frac_bits,
        Scale::Affine { .. } => 0,
    };
    let drop = frac(from) - frac(to);
    x.par_iter()
        .map(|&q| {
            if q <= 0 {
                return 0;
            }
            let v = if drop >= 0 {
                shift_round(i64::from(q), drop as u32, rounding)
            } else {
                i64::from(q) << (-drop)
            };
            saturate(v, to.bits, to.signed, overflow) as i32
        })
        .collect()
}

/// I-BERT's integer exp of `q <= 0` (input codes relative to the row maximum).
pub fn i_exp(q: i64, q_ln2: i64, q_b: i64, q_c: i64) -> i64 {
    let z = (-q) / q_ln2;
    let p = q + z * q_ln2; // in (-q_ln2, 0]
    let l = (p + q_b) * (p + q_b) + q_c;
    l >> z.min(62)
}

/// `y = min(floor(e·2^frac / sum), max_code)` for a softmax row (`e ≥ 0`, `sum ≥ 1`): in `i64`
/// when the row's largest `e·2^frac` fits (an `i128` division is a library call per element),
/// otherwise in `i128`. The same quotients.
pub(super) fn write_ratios(ys: &mut [i32], e: &[i64], frac: u32, sum: i64, max_code: i64) {
    let top = e.iter().copied().max().unwrap_or(0);
    if frac < 62 && top >= 0 && top <= i64::MAX >> frac {
        for (o, &v) in ys.iter_mut().zip(e) {
            *o = ((v << frac) / sum).min(max_code) as i32;
        }
    } else {
        for (o, &v) in ys.iter_mut().zip(e) {
            *o = ((i128::from(v) << frac) / i128::from(sum)).min(i128::from(max_code)) as i32;
        }
    }
}

pub(super) fn softmax(
    x: &[i32],
    row: usize,
    q_ln2: i64,
    q_b: i64,
    q_c: i64,
    out: &Format,
) -> Vec<i32> {
    let frac = match out.scale {
        crate::quant::Scale::BinaryPoint { frac_bits } => frac_bits.max(0) as u32,
        crate::quant::Scale::Affine { .. } => out.bits,
    };
    let max_code = out.max_int();
    let mut y = vec![0i32; x.len()];
    y.par_chunks_mut(row.max(1))
        .zip(x.par_chunks(row.max(1)))
        .for_each(|(ys, xs)| {
            let m = xs.iter().copied().max().unwrap_or(0);
            let e: Vec<i64> = xs
                .iter()
                .map(|&q| i_exp(i64::from(q) - i64::from(m), q_ln2, q_b, q_c))
                .collect();
            let sum: i64 = e.iter().sum::<i64>().max(1);
            write_ratios(ys, &e, frac, sum, max_code);
        });
    y
}

/// Per-sample transpose of a row-major tensor of shape `shape` by `perm`.
pub(super) fn transpose(x: &[i32], shape: &[usize], perm: &[usize]) -> Vec<i32> {
    let len: usize = shape.iter().product();
    let strides = crate::tensor::strides_of(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
    // Source offset of every destination element, computed once.
    let mut offsets = Vec::with_capacity(len);
    let mut idx = vec![0usize; out_shape.len()];
    for _ in 0..len {
        offsets.push(
            idx.iter()
                .zip(perm)
                .map(|(&i, &a)| i * strides[a])
                .sum::<usize>(),
        );
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    let mut y = vec![0i32; x.len()];
    y.par_chunks_mut(len.max(1))
        .zip(x.par_chunks(len.max(1)))
        .for_each(|(ys, xs)| {
            for (o, &s) in ys.iter_mut().zip(&offsets) {
                *o = xs[s];
            }
        });
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_exp_tracks_exp() {
        let s = 0.01f64;
        let q_ln2 = (std::f64::consts::LN_2 / s).floor() as i64;
        let q_b = (1.353 / s).floor() as i64;
        let q_c = (0.344 / (0.3585 * s * s)).floor() as i64;
        let scale = 0.3585 * s * s;
        for q in [0i64, -10, -69, -70, -200, -500] {
            let got = i_exp(q, q_ln2, q_b, q_c) as f64 * scale;
            let want = (q as f64 * s).exp();
            assert!((got - want).abs() < 0.02, "q={q}: {got} vs {want}");
        }
    }

    #[test]
    fn transpose_moves_channels_last() {
        // [2, 1, 3] -> perm [1, 2, 0] -> [1, 3, 2]
        let x = vec![0, 1, 2, 10, 11, 12];
        assert_eq!(
            transpose(&x, &[2, 1, 3], &[1, 2, 0]),
            vec![0, 10, 1, 11, 2, 12]
        );
    }
}
