//! Dynamic quantization kernels (`docs/quantization.md`, "Dynamic quantization"): a shared
//! power-of-two exponent per row, chosen at run time from the row's largest magnitude, and the
//! array stages that read such rows. Integers only:
//!
//! - exponent: `e = max(0, bitlen(max |x − z|) − mag_bits)` per row (a max-reduction and a
//!   leading-zero count);
//! - quantize: `q = sat(floor((x − z + 2^(e−1)) / 2^e))` (RND, half toward +inf; `q = x − z`
//!   when `e = 0`);
//! - consumer: `y = requant((Σ q·w) << e) + bias)`, the static requantizer unchanged: the
//!   codes of row `r` are worth `2^e_r` input steps.

use rayon::prelude::*;

use crate::fxir::{GemmStage, MatMulStage};
use crate::quant::{requantize_fast, saturate, Format, Overflow};

use super::gemm::im2col;
use super::kernel::dot16;

/// Bit length of `v` (0 for 0).
fn bitlen(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// One exponent per row of `row` codes of `x` (format `xf`).
pub fn exponents(x: &[i32], xf: &Format, row: usize, mag_bits: u32) -> Vec<i32> {
    let z = xf.zero_point();
    x.par_chunks(row.max(1))
        .map(|r| {
            let amax = r
                .iter()
                .map(|&v| (i64::from(v) - z).unsigned_abs())
                .max()
                .unwrap_or(0);
            bitlen(amax).saturating_sub(mag_bits) as i32
        })
        .collect()
}

/// `x − z` of each row shifted right by the row's exponent, rounded half up, saturated to `yf`.
pub fn quantize(x: &[i32], xf: &Format, e: &[i32], row: usize, yf: &Format) -> Vec<i32> {
    let z = xf.zero_point();
    let mut y = vec![0i32; x.len()];
    y.par_chunks_mut(row.max(1))
        .zip(x.par_chunks(row.max(1)))
        .zip(e.par_iter())
        .for_each(|((ys, xs), &s)| {
            for (o, &v) in ys.iter_mut().zip(xs) {
                *o = shift_round(i64::from(v) - z, s as u32, yf);
            }
        });
    y
}

/// `sat(floor((v + 2^(s−1)) / 2^s))` in `yf`'s range (`sat(v)` for `s = 0`).
fn shift_round(v: i64, s: u32, yf: &Format) -> i32 {
    let r = if s == 0 {
        v
    } else {
        (v + (1i64 << (s - 1))) >> s
    };
    saturate(r, yf.bits, yf.signed, Overflow::Sat) as i32
}

/// The requantization unit of a dynamic array stage: the accumulator `Σ q·w` of a row with
/// exponent `s`, shifted left by `s`, plus the bias, requantized, ReLU-clamped when fused
/// (validate proves `(acc << s) + bias` fits an `i64`). The simulator's array edge calls this.
#[inline]
pub fn finish(acc: i64, s: i32, bias: i64, r: &crate::quant::Requant, relu: bool) -> i32 {
    let y = requantize_fast(acc << s, bias, r) as i32;
    if relu {
        y.max(r.zero_point)
    } else {
        y
    }
}

/// Whether the `i16 × i16 → i32` dot product is exact: the proven width is at most 32 bits and
/// every operand fits `i16`.
fn fits_fast(acc_bits: u32, wmax: u64, qf: &Format) -> bool {
    acc_bits <= 32
        && wmax <= i16::MAX as u64
        && qf.min_int() >= i64::from(i16::MIN)
        && qf.max_int() <= i64::from(i16::MAX)
}

/// A dynamic array stage over a batch: `q` the dynamic codes (zero point 0), `e` one exponent
/// per sample.
pub(crate) fn gemm(
    g: &GemmStage,
    q: &[i32],
    qf: &Format,
    e: &[i32],
    batch: usize,
    out_len: usize,
) -> Vec<i32> {
    let w = g.weights.decode();
    let in_len = q.len() / batch.max(1);
    let fast = fits_fast(g.acc_bits, g.weights.max_abs(), qf);
    let w16: Vec<i16> = w.iter().map(|&v| v as i16).collect();
    let k = g.k;
    let mut y = vec![0i32; batch * out_len];
    y.par_chunks_mut(out_len.max(1))
        .zip(q.par_chunks(in_len.max(1)))
        .zip(e.par_iter())
        .for_each(|((ys, xs), &s)| {
            let cols = im2col(g, xs, 0);
            let p_count = cols.len() / k.max(1);
            let cols16: Vec<i16> = if fast {
                cols.iter().map(|&v| v as i16).collect()
            } else {
                Vec::new()
            };
            for p in 0..p_count {
                for c in 0..g.n {
                    let acc = if fast {
                        i64::from(dot16(&w16[c * k..(c + 1) * k], &cols16[p * k..(p + 1) * k]))
                    } else {
                        dot_i64(&w[c * k..(c + 1) * k], &cols[p * k..(p + 1) * k])
                    };
                    ys[c * p_count + p] = finish(acc, s, g.bias[c], &g.requant[c], g.relu);
                }
            }
        });
    y
}

fn dot_i64(a: &[i32], b: &[i32]) -> i64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i64::from(x) * i64::from(y))
        .sum()
}

/// A dynamic linear layer over a batch: rows of `k` codes of `q`, one exponent per row in `e`.
pub(crate) fn matmul(st: &MatMulStage, q: &[i32], qf: &Format, e: &[i32]) -> Vec<i32> {
    let (k, n) = (st.k, st.n);
    let Some(w) = &st.weights else {
        unreachable!("validated: a dynamic matmul has constant weights")
    };
    let dec = w.decode();
    let fast = fits_fast(st.acc_bits, w.max_abs(), qf);
    let w16: Vec<i16> = dec.iter().map(|&v| v as i16).collect();
    let rows = q.len() / k.max(1);
    let mut y = vec![0i32; rows * n];
    y.par_chunks_mut(n.max(1))
        .zip(q.par_chunks(k.max(1)))
        .zip(e.par_iter())
        .for_each_init(Vec::new, |row16: &mut Vec<i16>, ((ys, row), &s)| {
            if fast {
                row16.clear();
                row16.extend(row.iter().map(|&v| v as i16));
            }
            for (j, yv) in ys.iter_mut().enumerate() {
                let acc = if fast {
                    i64::from(dot16(row16, &w16[j * k..(j + 1) * k]))
                } else {
                    dot_i64(row, &dec[j * k..(j + 1) * k])
                };
                *yv = finish(acc, s, st.bias[j], &st.requant[j], false);
            }
        });
    y
}
