//! Integer kernels of the transformer encoder (docs/transformers.md, "Integer kernels"): the
//! row-major matmul (linear layers and activation × activation), the embedding lookup, the
//! rescaling add, I-BERT's LayerNorm (integer mean, variance and Newton square root), i-GELU
//! (integer erf polynomial) and the masked integer softmax. Integers only; every rounding is
//! written here once.

use rayon::prelude::*;

use crate::fxir::{EmbedStage, MatMulStage};
use crate::quant::{requantize, requantize_fast, saturate_i128, Format, Overflow, Requant};

use super::kernel::BlockedWeights;
use super::vector::{i_exp, write_ratios};

/// `floor(n / d + 1/2)` for `d > 0` (RND: half toward +inf).
pub fn div_rnd(n: i128, d: i128) -> i128 {
    (2 * n + d).div_euclid(2 * d)
}

/// `floor(sqrt(n))` by Newton's iteration on integers (I-BERT's i-sqrt): start above the root
/// (a power of two from the bit length), iterate `x ← (x + n/x)/2` while it decreases.
pub fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    let bits = 128 - n.leading_zeros();
    let mut x: u128 = 1 << bits.div_ceil(2);
    loop {
        let y = (x + n / x) / 2;
        if y >= x {
            return x;
        }
        x = y;
    }
}

fn sat(v: i128, f: &Format) -> i32 {
    saturate_i128(v, f.bits, f.signed, Overflow::Sat) as i32
}

/// The row-major matmul stage for a whole batch. `b` is the second input (activation `B`) when
/// the stage has no weights.
pub(super) fn matmul(
    st: &MatMulStage,
    a: &[i32],
    af: &Format,
    b: Option<(&[i32], &Format)>,
    batch: usize,
) -> Vec<i32> {
    let (g, m, k, n) = (st.groups, st.m, st.k, st.n);
    let (a_len, y_len) = (g * m * k, g * m * n);
    let mut y = vec![0i32; batch * y_len];
    let za = af.zero_point();
    let fits16 = |lo: i64, hi: i64| lo >= i64::from(i16::MIN) && hi <= i64::from(i16::MAX);
    match (&st.weights, b) {
        (Some(w), _)
            if st.acc_bits <= 32
                && w.max_abs() <= i16::MAX as u64
                && fits16(af.min_int(), af.max_int()) =>
        {
            // Exact in i32: the proven accumulator width is at most 32 bits. Rows in tasks of
            // ROWS, each passing over W one cache-sized block of channels at a time.
            const ROWS: usize = 64;
            let wb = BlockedWeights::new(&w.decode(), k, n);
            let rows = batch * g * m;
            y[..rows * n]
                .par_chunks_mut(ROWS * n.max(1))
                .zip(a[..rows * k].par_chunks(ROWS * k.max(1)))
                .for_each_init(
                    || (Vec::new(), Vec::new()),
                    |(a16, acc): &mut (Vec<i16>, Vec<i32>), (ys, xs)| {
                        a16.clear();
                        a16.extend(xs.iter().map(|&v| v as i16));
                        wb.for_each(a16, acc, |i, j, v| {
                            ys[i * n + j] =
                                requantize_fast(i64::from(v), st.bias[j], &st.requant[j]) as i32;
                        });
                    },
                );
        }
        (Some(w), _) => {
            // Linear layer: raw codes of A (z_a folded into the bias), decoded weights [n][k].
            let dec = w.decode();
            y.par_chunks_mut(n.max(1))
                .zip(a.par_chunks(k.max(1)))
                .take(batch * g * m)
                .for_each(|(ys, row)| {
                    for (j, yv) in ys.iter_mut().enumerate() {
                        let acc: i64 = row
                            .iter()
                            .zip(&dec[j * k..(j + 1) * k])
                            .map(|(&x, &wv)| i64::from(x) * i64::from(wv))
                            .sum();
                        *yv = requantize(acc, st.bias[j], &st.requant[j]) as i32;
                    }
                });
        }
        (None, Some((bv, bf)))
            if st.acc_bits <= 32
                && fits16(af.min_int() - za, af.max_int() - za)
                && fits16(
                    bf.min_int() - bf.zero_point(),
                    bf.max_int() - bf.zero_point(),
                ) =>
        {
            // Zero points subtracted, B transposed to [n][k] per group, i32 dot products
            // (exact: the proven accumulator width is at most 32 bits).
            let zb = bf.zero_point();
            let b_len = g * k * n;
            let r = st.requant[0];
            y.par_chunks_mut(y_len.max(1))
                .zip(a.par_chunks(a_len.max(1)))
                .zip(bv.par_chunks(b_len.max(1)))
                .for_each(|((ys, xa), xb)| {
                    let a16: Vec<i16> = xa.iter().map(|&v| (i64::from(v) - za) as i16).collect();
                    let mut bt = vec![0i32; k * n];
                    let mut acc = Vec::new();
                    for gi in 0..g {
                        for t in 0..k {
                            for j in 0..n {
                                bt[j * k + t] =
                                    i64::from(xb[(gi * k + t) * n + j]) as i32 - zb as i32;
                            }
                        }
                        let wb = BlockedWeights::new(&bt, k, n);
                        let ys = &mut ys[gi * m * n..(gi + 1) * m * n];
                        wb.for_each(&a16[gi * m * k..(gi + 1) * m * k], &mut acc, |i, j, v| {
                            ys[i * n + j] = requantize_fast(i64::from(v), 0, &r) as i32;
                        });
                    }
                });
        }
        (None, Some((bv, bf))) => {
            let zb = bf.zero_point();
            let b_len = g * k * n;
            let r = st.requant[0];
            y.par_chunks_mut(y_len.max(1))
                .zip(a.par_chunks(a_len.max(1)))
                .zip(bv.par_chunks(b_len.max(1)))
                .for_each(|((ys, xa), xb)| {
                    for gi in 0..g {
                        let am = &xa[gi * m * k..(gi + 1) * m * k];
                        let bm = &xb[gi * k * n..(gi + 1) * k * n];
                        for i in 0..m {
                            for j in 0..n {
                                let acc: i64 = (0..k)
                                    .map(|t| {
                                        (i64::from(am[i * k + t]) - za)
                                            * (i64::from(bm[t * n + j]) - zb)
                                    })
                                    .sum();
                                ys[(gi * m + i) * n + j] = requantize(acc, 0, &r) as i32;
                            }
                        }
                    }
                });
        }
        (None, None) => {}
    }
    y
}

/// Rows of the table picked by each id (the caller has checked the ids against `rows`; an id
/// outside the table reads zeros rather than panicking).
pub(super) fn embed(e: &EmbedStage, ids: &[i32]) -> Vec<i32> {
    let mut y = vec![0i32; ids.len() * e.dim];
    y.par_chunks_mut(e.dim.max(1))
        .zip(ids.par_iter())
        .for_each(|(ys, &id)| {
            if id >= 0 && (id as usize) < e.rows {
                let r = id as usize * e.dim;
                ys.copy_from_slice(&e.table[r..r + e.dim]);
            }
        });
    y
}

/// The fixed-point rescaling of an elementwise Add ([`crate::fxir::VectorOp::Add`]): the
/// multipliers of both operands, the shift they share, and the constant operand (one sample's
/// worth, in output units·2^shift) when there is no second activation.
#[derive(Clone, Copy, Debug)]
pub struct AddScales<'a> {
    pub ma: i64,
    pub mb: i64,
    pub shift: u32,
    pub constant: &'a [i64],
}

/// `y = sat(rnd((a − z_a)·ma + (b − z_b)·mb + c, shift) + z_y)`; `b` absent: a constant `c` per
/// sample element.
pub(super) fn add(
    a: &[i32],
    af: &Format,
    b: Option<(&[i32], &Format)>,
    s: &AddScales,
    yf: &Format,
) -> Vec<i32> {
    let AddScales {
        ma,
        mb,
        shift,
        constant,
    } = *s;
    let za = i128::from(af.zero_point());
    let zy = i128::from(yf.zero_point());
    let half = if shift == 0 { 0 } else { 1i128 << (shift - 1) };
    let fin = |s: i128| sat(((s + half) >> shift) + zy, yf);
    match b {
        Some((bv, bf)) => {
            let zb = i128::from(bf.zero_point());
            a.par_iter()
                .zip(bv.par_iter())
                .map(|(&x, &v)| {
                    fin((i128::from(x) - za) * i128::from(ma)
                        + (i128::from(v) - zb) * i128::from(mb))
                })
                .collect()
        }
        None => {
            let per = constant.len().max(1);
            a.par_iter()
                .enumerate()
                .map(|(i, &x)| {
                    fin((i128::from(x) - za) * i128::from(ma) + i128::from(constant[i % per]))
                })
                .collect()
        }
    }
}

/// The integer parameters of an I-BERT LayerNorm ([`crate::fxir::VectorOp::LayerNorm`]): per
/// channel `gamma` and `beta` in output units·2^frac, the fraction bits `frac`, and `eps` in
/// squared input units times the row length squared.
#[derive(Clone, Copy, Debug)]
pub struct LayerNormParams<'a> {
    pub gamma: &'a [i64],
    pub beta: &'a [i64],
    pub frac: u32,
    pub eps: i64,
}

/// I-BERT LayerNorm over rows of `row` codes (see `VectorOp::LayerNorm`).
pub fn layernorm(
    x: &[i32],
    xf: &Format,
    row: usize,
    ln: &LayerNormParams,
    yf: &Format,
) -> Vec<i32> {
    let LayerNormParams {
        gamma,
        beta,
        frac,
        eps,
    } = *ln;
    let z = i128::from(xf.zero_point());
    let zy = i128::from(yf.zero_point());
    let h = row as i128;
    let mut y = vec![0i32; x.len()];
    y.par_chunks_mut(row.max(1))
        .zip(x.par_chunks(row.max(1)))
        .for_each(|(ys, xs)| {
            if layernorm_row_i64(xs, ys, z as i64, ln, yf).is_some() {
                return;
            }
            let sum: i128 = xs.iter().map(|&v| i128::from(v) - z).sum();
            let d: Vec<i128> = xs.iter().map(|&v| h * (i128::from(v) - z) - sum).collect();
            let ss: i128 = d.iter().map(|v| v * v).sum();
            let sigma = isqrt((ss / h + i128::from(eps)) as u128).max(1) as i128;
            let den = sigma << frac;
            for (c, (o, &dv)) in ys.iter_mut().zip(&d).enumerate() {
                let num = dv * i128::from(gamma[c]) + i128::from(beta[c]) * sigma;
                *o = sat(div_rnd(num, den) + zy, yf);
            }
        });
    y
}

/// One row of [`layernorm`] in `i64`, the same arithmetic as the `i128` definition, or `None`
/// (nothing to trust in `ys`) when an intermediate would leave `i64`: then the caller runs the
/// definition. With 16-bit inputs over 384 channels every row takes this path.
fn layernorm_row_i64(
    xs: &[i32],
    ys: &mut [i32],
    z: i64,
    ln: &LayerNormParams,
    yf: &Format,
) -> Option<()> {
    let LayerNormParams {
        gamma,
        beta,
        frac,
        eps,
    } = *ln;
    let h = xs.len() as i64;
    let sum: i64 = xs.iter().map(|&v| i64::from(v) - z).sum();
    let mut ss: i64 = 0;
    for &v in xs {
        let d = h.checked_mul(i64::from(v) - z)?.checked_sub(sum)?;
        ss = ss.checked_add(d.checked_mul(d)?)?;
    }
    let sigma = (isqrt((ss / h).checked_add(eps)? as u128).max(1)) as i64;
    let den = sigma.checked_mul(1i64.checked_shl(frac)?)?;
    let den2 = den.checked_mul(2)?;
    let zy = yf.zero_point();
    for (c, (o, &v)) in ys.iter_mut().zip(xs).enumerate() {
        let d = h * (i64::from(v) - z) - sum;
        let num = d
            .checked_mul(gamma[c])?
            .checked_add(beta[c].checked_mul(sigma)?)?;
        let q = num.checked_mul(2)?.checked_add(den)?.div_euclid(den2);
        *o = sat(i128::from(q) + i128::from(zy), yf);
    }
    Some(())
}

/// I-BERT's integer erf of codes `q` with step `S'`: `sgn(q)·(q_one − (min(|q|, q_r) − q_r)²)`,
/// in units of `0.2888·S'²`.
pub fn i_erf(q: i64, q_r: i64, q_one: i64) -> i64 {
    let t = q.abs().min(q_r) - q_r;
    q.signum() * (q_one - t * t)
}

/// i-GELU: `requant(q·(q_one + i_erf(q)))`.
pub fn gelu(x: &[i32], xf: &Format, q_r: i64, q_one: i64, r: &Requant) -> Vec<i32> {
    let z = xf.zero_point();
    let mut y = vec![0i32; x.len()];
    // requantize_fast: the same result for every product (it defers to `requantize` beyond 31
    // bits); chunks of 4096 so a task is more than one element.
    y.par_chunks_mut(4096)
        .zip(x.par_chunks(4096))
        .for_each(|(ys, xs)| {
            for (o, &v) in ys.iter_mut().zip(xs) {
                let q = i64::from(v) - z;
                *o = requantize_fast(q * (q_one + i_erf(q, q_r, q_one)), 0, r) as i32;
            }
        });
    y
}

/// The constants of I-BERT's integer exponential (`vector::i_exp`) in input codes, as
/// [`crate::fxir::VectorOp::Softmax`] documents them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpConstants {
    pub q_ln2: i64,
    pub q_b: i64,
    pub q_c: i64,
}

/// Integer softmax over rows, leaving out positions whose mask code is 0.
pub fn masked_softmax(
    x: &[i32],
    mask: &[i32],
    row: usize,
    e: ExpConstants,
    out: &Format,
    samples: usize,
) -> Vec<i32> {
    let ExpConstants { q_ln2, q_b, q_c } = e;
    let frac = match out.scale {
        crate::quant::Scale::BinaryPoint { frac_bits } => frac_bits.max(0) as u32,
        crate::quant::Scale::Affine { .. } => out.bits,
    };
    let max_code = out.max_int();
    let per = x.len() / samples.max(1);
    let mut y = vec![0i32; x.len()];
    y.par_chunks_mut(row.max(1))
        .zip(x.par_chunks(row.max(1)))
        .enumerate()
        .for_each(|(r, (ys, xs))| {
            let sample = (r * row) / per.max(1);
            let ms = &mask[sample * row..(sample + 1) * row];
            let Some(m) = xs
                .iter()
                .zip(ms)
                .filter(|(_, &k)| k != 0)
                .map(|(&q, _)| q)
                .max()
            else {
                return;
            };
            let e: Vec<i64> = xs
                .iter()
                .zip(ms)
                .map(|(&q, &k)| {
                    if k == 0 {
                        0
                    } else {
                        i_exp(i64::from(q) - i64::from(m), q_ln2, q_b, q_c)
                    }
                })
                .collect();
            let sum: i64 = e.iter().sum::<i64>().max(1);
            write_ratios(ys, &e, frac, sum, max_code);
        });
    y
}
