//! Weight quantizers: real weights `[n][k]` in, stored codes and their [`Coding`] out.
//!
//! Each returns [`Weights`] whose `decode() · scales[c]` approximates the real weights; the
//! decoding itself is defined once in `fxir::weights`. Rounding of real weights is round half
//! to even (the float path runs only here, at compile time). An all-zero channel gets codes 0
//! and step 1, so nothing divides by zero.

use super::spec::WeightSpec;
use super::QuantError;
use crate::fxir::weights::MAX_OPERAND_BITS;
use crate::fxir::{Coding, Fp8Kind, Weights};

/// Bits of each group's multiplier in `intB:gG` formats.
pub const GROUP_MULT_BITS: u32 = 4;

/// Bits of each codebook entry (centroids are stored as int8 on the channel's or layer's step).
pub const CODEBOOK_BITS: u32 = 8;

/// The smallest per-channel step, as a fraction of the largest channel's (`2^-8`).
///
/// A channel whose weights are all tiny (a dead unit of a trained network: weights near 1e-8, a
/// bias that is not) would otherwise get a step near 1e-10, and its bias, folded into
/// accumulator units `b / (S_x · S_w[c])`, would need an accumulator of 38 bits where the rest of
/// the layer needs 22. Flooring each channel's range at `CHANNEL_FLOOR` times the tensor's
/// largest keeps the bias within `log2(1/CHANNEL_FLOOR)` = 8 bits of the per-tensor one and
/// rounds such a channel's weights to zero (at 1/256 of the largest channel's range they are
/// below half a step even at int8). onnxruntime's quantizer faces the same problem (its option to
/// adjust weight scales so an int32 bias fits). A channel of exact zeros gets the floored step
/// and zero codes, not a step of 1. Only when the whole tensor is zero is the step 1.
pub const CHANNEL_FLOOR: f64 = 1.0 / 256.0;

/// The range (max |w|) each output channel's step is derived from: its own, floored at
/// [`CHANNEL_FLOOR`] of the tensor's (`per_channel`), or the tensor's.
pub fn channel_ranges(w: &[f32], n: usize, k: usize, per_channel: bool) -> Vec<f64> {
    let tensor = amax(w);
    (0..n)
        .map(|c| {
            if per_channel {
                amax(&w[c * k..(c + 1) * k]).max(CHANNEL_FLOOR * tensor)
            } else {
                tensor
            }
        })
        .collect()
}

fn amax(v: &[f32]) -> f64 {
    v.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()))
}

fn qmax(bits: u32) -> f64 {
    f64::from((1u32 << (bits - 1)) - 1)
}

fn round_clamp(v: f64, lim: f64) -> i32 {
    v.round_ties_even().clamp(-lim, lim) as i32
}

/// Quantizes `w` (`[n][k]` row-major) with `spec`; `per_channel` chooses one step per output
/// channel instead of one per tensor where the format has a choice.
pub fn quantize_weights(
    w: &[f32],
    n: usize,
    k: usize,
    spec: WeightSpec,
    per_channel: bool,
) -> Result<Weights, QuantError> {
    if w.len() != n * k || n == 0 || k == 0 {
        return Err(QuantError::Format(format!(
            "weights of {} values for a {n}x{k} matrix",
            w.len()
        )));
    }
    if let Some(i) = w.iter().position(|x| !x.is_finite()) {
        return Err(QuantError::Format(format!(
            "weight [{}][{}] is {}",
            i / k,
            i % k,
            w[i]
        )));
    }
    let rows: Vec<&[f32]> = w.chunks(k).collect();
    let tensor_amax = amax(w);
    let ranges = channel_ranges(w, n, k, per_channel);
    let chan_amax = |c: usize| ranges[c];
    let out = match spec {
        WeightSpec::Int { bits } => {
            let q = qmax(bits);
            let mut codes = Vec::with_capacity(n * k);
            let mut scales = Vec::with_capacity(n);
            for (c, row) in rows.iter().enumerate() {
                let s = step_or_one(chan_amax(c) / q);
                scales.push(s);
                codes.extend(row.iter().map(|&x| round_clamp(f64::from(x) / s, q)));
            }
            Weights {
                n,
                k,
                coding: Coding::Int { bits },
                codes,
                scales,
            }
        }
        WeightSpec::ApFixed(a) if !a.signed => {
            return Err(super::spec::unsigned_weights(&a.to_string()))
        }
        WeightSpec::ApFixed(a) => {
            let f = crate::quant::Format::binary_point(a.signed, a.bits, a.frac_bits());
            let codes = w
                .iter()
                .map(|&x| f.quantize_f64(f64::from(x), a.rounding, a.overflow) as i32)
                .collect();
            Weights {
                n,
                k,
                coding: Coding::Int { bits: a.bits },
                codes,
                scales: vec![f.step(); n],
            }
        }
        WeightSpec::Group { bits, group } => group_weights(&rows, k, bits, group, tensor_amax),
        WeightSpec::Pow2 { bits } => {
            let emax = (1i32 << (bits - 1)) - 2; // codes ±1..=±(emax+1) are ±2^0..=±2^emax
            let mut codes = Vec::with_capacity(n * k);
            let mut scales = Vec::with_capacity(n);
            for (c, row) in rows.iter().enumerate() {
                let s = step_or_one(chan_amax(c) / f64::powi(2.0, emax));
                scales.push(s);
                codes.extend(row.iter().map(|&x| pow2_code(f64::from(x) / s, emax)));
            }
            Weights {
                n,
                k,
                coding: Coding::Pow2 { bits },
                codes,
                scales,
            }
        }
        WeightSpec::KMeans {
            bits,
            per_channel: pc,
        } => kmeans_weights(&rows, k, bits, pc, tensor_amax),
        WeightSpec::Fp8(kind) => fp8_weights(&rows, k, kind, &chan_amax),
        WeightSpec::Mx { bits, group } => block_weights(&rows, k, bits, group, tensor_amax),
    };
    Ok(out)
}

fn step_or_one(s: f64) -> f64 {
    if s > 0.0 && s.is_finite() {
        s
    } else {
        1.0
    }
}

/// Nearest of `0, ±2^0, …, ±2^emax` to `v` (linear distance), as a code.
pub(crate) fn pow2_code(v: f64, emax: i32) -> i32 {
    let a = v.abs();
    if a < 0.5 {
        return 0;
    }
    let mut e = a.log2().floor() as i32;
    e = e.clamp(0, emax);
    // Between 2^e and 2^(e+1) the midpoint is 1.5 · 2^e.
    if e < emax && a >= 1.5 * f64::powi(2.0, e) {
        e += 1;
    }
    let code = e + 1;
    if v < 0.0 {
        -code
    } else {
        code
    }
}

fn group_weights(rows: &[&[f32]], k: usize, bits: u32, group: usize, tensor_amax: f64) -> Weights {
    let q = qmax(bits);
    let mlim = 1i32 << GROUP_MULT_BITS;
    let gpr = k.div_ceil(group);
    let (mut codes, mut scales, mut mults) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        let gsteps: Vec<f64> = row.chunks(group).map(|g| amax(g) / q).collect();
        // The channel's largest group step, floored like every per-channel step.
        let smax = gsteps
            .iter()
            .cloned()
            .fold(CHANNEL_FLOOR * tensor_amax / q, f64::max);
        let sc = step_or_one(smax / f64::from(mlim));
        scales.push(sc);
        for (gi, g) in row.chunks(group).enumerate() {
            let m = ((gsteps[gi] / sc).round() as i32).clamp(1, mlim);
            mults.push(m);
            let s = sc * f64::from(m);
            codes.extend(g.iter().map(|&x| round_clamp(f64::from(x) / s, q)));
        }
        debug_assert_eq!(mults.len() % gpr, 0);
    }
    Weights {
        n: rows.len(),
        k,
        coding: Coding::Group {
            bits,
            group,
            mult_bits: GROUP_MULT_BITS,
            mults,
        },
        codes,
        scales,
    }
}

/// One-dimensional k-means (Lloyd's algorithm on sorted values, centroids initialized at
/// evenly spaced quantiles): deterministic and exact enough for 2^8 centroids or fewer.
/// When `keep_zero` is set (pruned weights), one centroid is pinned at 0.
pub fn kmeans_1d(values: &[f64], clusters: usize, keep_zero: bool) -> Vec<f64> {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let free = if keep_zero { clusters - 1 } else { clusters };
    let data: Vec<f64> = if keep_zero {
        v.iter().copied().filter(|&x| x != 0.0).collect()
    } else {
        v
    };
    let mut cent: Vec<f64> = if data.is_empty() {
        vec![0.0; free]
    } else {
        (0..free)
            .map(|i| data[((2 * i + 1) * data.len() / (2 * free)).min(data.len() - 1)])
            .collect()
    };
    for _ in 0..50 {
        let mut sum = vec![0.0; free];
        let mut cnt = vec![0usize; free];
        for &x in &data {
            let j = nearest(&cent, x);
            sum[j] += x;
            cnt[j] += 1;
        }
        let mut moved = false;
        for j in 0..free {
            if cnt[j] > 0 {
                let c = sum[j] / cnt[j] as f64;
                moved |= c != cent[j];
                cent[j] = c;
            }
        }
        cent.sort_by(f64::total_cmp);
        if !moved {
            break;
        }
    }
    if keep_zero {
        cent.push(0.0);
        cent.sort_by(f64::total_cmp);
    }
    cent
}

fn nearest(cent: &[f64], x: f64) -> usize {
    let mut best = 0;
    for (j, &c) in cent.iter().enumerate() {
        if (x - c).abs() < (x - cent[best]).abs() {
            best = j;
        }
    }
    best
}

fn kmeans_weights(
    rows: &[&[f32]],
    k: usize,
    bits: u32,
    per_channel: bool,
    tensor_amax: f64,
) -> Weights {
    let size = 1usize << bits;
    let lim = qmax(CODEBOOK_BITS);
    let sparse = |vals: &[f64]| vals.iter().filter(|&&x| x == 0.0).count() * 100 > vals.len();
    // A per-channel table's step is floored like every per-channel step (CHANNEL_FLOOR).
    let floor = if per_channel {
        CHANNEL_FLOOR * tensor_amax
    } else {
        0.0
    };
    let book = |vals: &[f64]| -> (Vec<i32>, f64) {
        let cent = kmeans_1d(vals, size, sparse(vals) && size > 1);
        let s = step_or_one(cent.iter().fold(floor, |m, c| m.max(c.abs())) / lim);
        (cent.iter().map(|&c| round_clamp(c / s, lim)).collect(), s)
    };
    let to_f64 = |r: &[f32]| r.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    let (mut table, mut scales, mut codes) = (Vec::new(), Vec::new(), Vec::new());
    if per_channel {
        for row in rows {
            let (t, s) = book(&to_f64(row));
            codes.extend(row.iter().map(|&x| table_code(&t, f64::from(x) / s)));
            table.extend(t);
            scales.push(s);
        }
    } else {
        let all: Vec<f64> = rows.iter().flat_map(|r| to_f64(r)).collect();
        let (t, s) = book(&all);
        for row in rows {
            codes.extend(row.iter().map(|&x| table_code(&t, f64::from(x) / s)));
            scales.push(s);
        }
        table = t;
    }
    Weights {
        n: rows.len(),
        k,
        coding: Coding::Codebook {
            bits,
            table_bits: CODEBOOK_BITS,
            per_channel,
            table,
        },
        codes,
        scales,
    }
}

/// The index of the table entry nearest to `v`.
pub(crate) fn table_code(table: &[i32], v: f64) -> i32 {
    let f: Vec<f64> = table.iter().map(|&t| f64::from(t)).collect();
    nearest(&f, v) as i32
}

/// The FP8 code nearest to `v` (ties to the even code), saturating at the largest finite value.
pub fn fp8_encode(kind: Fp8Kind, v: f64) -> u8 {
    let max = kind.max_code();
    let a = v.abs();
    // Positive codes are monotonic in value: binary search for the first code >= a.
    let (mut lo, mut hi) = (0u8, max);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if kind.value(mid) < a {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let mut code = lo;
    if code > 0 {
        let (below, above) = (kind.value(code - 1), kind.value(code));
        let (db, da) = (a - below, above - a);
        if db < da || (db == da && (code - 1) % 2 == 0) {
            code -= 1;
        }
    }
    if v < 0.0 && code != 0 {
        code | 0x80
    } else {
        code
    }
}

/// A channel's FP8 operand window: the smallest exponent present, raised so the largest operand
/// keeps within `MAX_OPERAND_BITS` (sign included); 0 for a channel of zeros.
pub(crate) fn fp8_shift(kind: Fp8Kind, codes: impl Iterator<Item = u8>) -> i32 {
    let exps: Vec<i32> = codes
        .filter(|&b| b & 0x7f != 0)
        .map(|b| kind.split(b).2)
        .collect();
    match (exps.iter().min(), exps.iter().max()) {
        (Some(&lo), Some(&hi)) => {
            let top = hi + kind.mantissa_bits() as i32 + 1; // bits of the largest significand
            lo.max(top - (MAX_OPERAND_BITS as i32 - 1))
        }
        _ => 0,
    }
}

fn fp8_weights(
    rows: &[&[f32]],
    k: usize,
    kind: Fp8Kind,
    chan_amax: &dyn Fn(usize) -> f64,
) -> Weights {
    let fmax = kind.value(kind.max_code());
    let (mut codes, mut shifts, mut scales) = (Vec::new(), Vec::new(), Vec::new());
    for (c, row) in rows.iter().enumerate() {
        let s = step_or_one(chan_amax(c) / fmax);
        let cs: Vec<u8> = row
            .iter()
            .map(|&x| fp8_encode(kind, f64::from(x) / s))
            .collect();
        let shift = fp8_shift(kind, cs.iter().copied());
        shifts.push(shift);
        scales.push(s * f64::powi(2.0, shift));
        codes.extend(cs.iter().map(|&b| i32::from(b)));
    }
    Weights {
        n: rows.len(),
        k,
        coding: Coding::Fp8 { kind, shifts },
        codes,
        scales,
    }
}

fn block_weights(rows: &[&[f32]], k: usize, bits: u32, group: usize, tensor_amax: f64) -> Weights {
    let q = qmax(bits);
    let spread_max = MAX_OPERAND_BITS as i32 - bits as i32;
    let (mut codes, mut shifts, mut scales) = (Vec::new(), Vec::new(), Vec::new());
    // A block's range is floored like every per-channel range (CHANNEL_FLOOR of the tensor's).
    let floor = CHANNEL_FLOOR * tensor_amax;
    for row in rows {
        // Shared exponent per block: the smallest E with amax / 2^E <= qmax.
        let exps: Vec<Option<i32>> = row
            .chunks(group)
            .map(|g| {
                let a = amax(g).max(floor);
                (a > 0.0).then(|| (a / q).log2().ceil() as i32)
            })
            .collect();
        let emax = exps.iter().flatten().copied().max().unwrap_or(0);
        let emin = exps.iter().flatten().copied().min().unwrap_or(0);
        let floor = emin.max(emax - spread_max);
        scales.push(f64::powi(2.0, floor));
        for (g, e) in row.chunks(group).zip(&exps) {
            let e = e.unwrap_or(floor);
            shifts.push(e - floor);
            let s = f64::powi(2.0, e);
            codes.extend(g.iter().map(|&x| round_clamp(f64::from(x) / s, q)));
        }
    }
    Weights {
        n: rows.len(),
        k,
        coding: Coding::Block {
            bits,
            group,
            shifts,
        },
        codes,
        scales,
    }
}

/// Mean squared error of the decoded weights against the real ones (for reports and tests).
pub fn weight_mse(w: &[f32], q: &Weights) -> f64 {
    let dec = q.decode();
    let mut s = 0.0;
    for (i, (&x, &d)) in w.iter().zip(&dec).enumerate() {
        let r = f64::from(d) * q.scales[i / q.k];
        s += (f64::from(x) - r).powi(2);
    }
    s / w.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, k: usize) -> Vec<f32> {
        // Deterministic, roughly Gaussian-looking weights with a few outliers.
        (0..n * k)
            .map(|i| {
                let x = ((i * 7919 + 13) % 1000) as f32 / 1000.0 - 0.5;
                let o = if i % 97 == 0 { 3.0 } else { 1.0 };
                x * x * x.signum() * o
            })
            .collect()
    }

    #[test]
    fn every_format_decodes_close_to_the_real_weights() {
        let (n, k) = (8, 64);
        let w = sample(n, k);
        let var = w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / w.len() as f64;
        for (spec, tol) in [
            ("int8", 1e-3),
            ("int4", 0.1),
            ("int4:g16", 0.1),
            ("pow2:4", 0.2),
            ("kmeans:4", 0.05),
            ("kmeans:3:ch", 0.1),
            ("fp8e4m3", 1e-3),
            ("fp8e5m2", 5e-3),
            ("mx:8:g32", 1e-3),
            ("ap_fixed<8,1,RND,SAT>", 0.05),
        ] {
            let q = quantize_weights(&w, n, k, spec.parse().unwrap(), true).unwrap();
            let rel = weight_mse(&w, &q) / var;
            assert!(rel < tol, "{spec}: relative mse {rel}");
            assert!(q.operand_bits() <= MAX_OPERAND_BITS, "{spec}");
        }
    }

    #[test]
    fn all_zero_weights_do_not_divide_by_zero() {
        for spec in [
            "int8", "int4:g8", "pow2:3", "kmeans:2", "fp8e4m3", "mx:4:g8",
        ] {
            let q = quantize_weights(&[0.0; 16], 2, 8, spec.parse().unwrap(), true).unwrap();
            assert!(q.decode().iter().all(|&v| v == 0), "{spec}");
            assert!(q.scales.iter().all(|s| s.is_finite() && *s > 0.0), "{spec}");
        }
    }

    #[test]
    fn fp8_encoding_rounds_to_nearest_and_saturates() {
        let k = Fp8Kind::E4M3;
        assert_eq!(k.value(fp8_encode(k, 1.0)), 1.0);
        assert_eq!(k.value(fp8_encode(k, 1000.0)), 448.0);
        assert_eq!(k.value(fp8_encode(k, -1.06)), -1.0);
        assert_eq!(k.value(fp8_encode(k, 1.0625)), 1.0); // tie between 1 and 1.125: even code
        assert_eq!(fp8_encode(k, 0.0), 0);
    }

    #[test]
    fn pow2_codes_pick_the_nearest_power() {
        assert_eq!(pow2_code(0.4, 6), 0);
        assert_eq!(pow2_code(1.4, 6), 1);
        assert_eq!(pow2_code(1.6, 6), 2);
        assert_eq!(pow2_code(-100.0, 6), -7);
    }

    #[test]
    fn kmeans_finds_separated_clusters_and_pins_zero() {
        let v = [-1.0, -1.1, -0.9, 2.0, 2.1, 1.9];
        let c = kmeans_1d(&v, 2, false);
        assert!(
            (c[0] + 1.0).abs() < 1e-9 && (c[1] - 2.0).abs() < 1e-9,
            "{c:?}"
        );
        let c = kmeans_1d(&[0.0, 0.0, 1.0, 1.2], 2, true);
        assert!(c.contains(&0.0), "{c:?}");
    }
}
