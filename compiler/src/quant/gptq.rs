//! GPTQ (Frantar et al., 2023): round weights one input column at a time and push each column's
//! rounding error onto the columns not yet rounded, weighted by the inverse Hessian of the
//! layer's reconstruction error `‖XW - XŴ‖²` (`H = 2 XᵀX` over calibration inputs).
//!
//! The steps (one per output channel) are fixed before the sweep (per-channel max / qmax, as
//! round-to-nearest uses), so GPTQ changes only which code each weight gets. Dampening adds 1 %
//! of the mean diagonal to `H`, as the paper does; dead inputs (zero diagonal) get a unit
//! diagonal and their weights are rounded plainly.

use crate::fxir::{Coding, Weights};
use crate::quant::spec::WeightSpec;
use crate::quant::weights::{fp8_encode, fp8_shift, pow2_code, quantize_weights, table_code};
use crate::quant::QuantError;

/// Accumulates `XᵀX` of rows `x` (each of length `k`) into `h` (`k × k`, row-major).
pub fn hessian_add(h: &mut [f64], k: usize, x: &[f32]) {
    for row in x.chunks(k) {
        for i in 0..k {
            let xi = f64::from(row[i]);
            if xi == 0.0 {
                continue;
            }
            let hi = &mut h[i * k..(i + 1) * k];
            for (j, &xj) in row.iter().enumerate() {
                hi[j] += xi * f64::from(xj);
            }
        }
    }
}

/// Lower Cholesky factor of a symmetric positive definite matrix, or `None`.
fn cholesky(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let mut s = a[i * k + j];
            for p in 0..j {
                s -= l[i * k + p] * l[j * k + p];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// Inverse of an SPD matrix through its Cholesky factor.
fn spd_inverse(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let l = cholesky(a, k)?;
    // Solve L Y = I, then Lᵀ X = Y.
    let mut inv = vec![0.0; k * k];
    for col in 0..k {
        let mut y = vec![0.0; k];
        for i in 0..k {
            let mut s = if i == col { 1.0 } else { 0.0 };
            for p in 0..i {
                s -= l[i * k + p] * y[p];
            }
            y[i] = s / l[i * k + i];
        }
        for i in (0..k).rev() {
            let mut s = y[i];
            for p in i + 1..k {
                s -= l[p * k + i] * inv[p * k + col];
            }
            inv[i * k + col] = s / l[i * k + i];
        }
    }
    Some(inv)
}

/// `qmax` of symmetric `bits`-bit codes and the step of each output channel of `w` (`[n][k]`)
/// as round-to-nearest chooses it (the channel's, or the tensor's, max |w| over `qmax`). GPTQ
/// and AdaRound keep these steps and change only which code each weight gets.
pub(crate) fn rtn_steps(
    w: &[f32],
    n: usize,
    k: usize,
    bits: u32,
    per_channel: bool,
) -> (f64, Vec<f64>) {
    let qmax = f64::from((1u32 << (bits - 1)) - 1);
    let scales: Vec<f64> = crate::quant::weights::channel_ranges(w, n, k, per_channel)
        .into_iter()
        .map(|a| if a > 0.0 { a / qmax } else { 1.0 })
        .collect();
    (qmax, scales)
}

/// Quantizes `w` (`[n][k]`) to symmetric `bits`-bit codes on the per-channel (or per-tensor)
/// steps round-to-nearest would use, with GPTQ error compensation under Hessian `h` (`XᵀX`).
pub fn gptq_int(w: &[f32], n: usize, k: usize, bits: u32, per_channel: bool, h: &[f64]) -> Weights {
    let (_, scales) = rtn_steps(w, n, k, bits, per_channel);
    let mut q = Weights {
        n,
        k,
        coding: Coding::Int { bits },
        codes: vec![0; n * k],
        scales,
    };
    sweep(&mut q, w, WeightSpec::Int { bits }, &[], h, None);
    q
}

/// GPTQ for the per-group format (`intB:gG`): the steps of each group (channel scale × group
/// multiplier) are the ones round-to-nearest chooses from the unquantized weights ("static
/// groups"), fixed before the sweep; GPTQ changes only the codes.
pub fn gptq_group(
    w: &[f32],
    n: usize,
    k: usize,
    bits: u32,
    group: usize,
    h: &[f64],
) -> Result<Weights, QuantError> {
    gptq_weights(w, n, k, WeightSpec::Group { bits, group }, true, h, None)
}

/// GPTQ for every weight format. GPTQ needs only a rounding-to-grid function: round-to-nearest
/// ([`quantize_weights`]) first fixes every side parameter of the format (channel steps, group
/// multipliers, codebooks, FP8 channel scales, MX block exponents), then the sweep picks, column
/// by column, the code whose decoded value is nearest the error-compensated weight on that fixed
/// grid (for `ap_fixed`, the format's own rounding and overflow modes). Without this, `--gptq`
/// silently did nothing for pow2, FP8, k-means, MX and ap_fixed weights.
///
/// `pruned` marks weights that pruning removed: they keep the code of zero whatever the
/// compensation pushes onto them (their own error is still compensated on later columns, as
/// SparseGPT does for a fixed mask), so an N:M pattern survives GPTQ. FP8's per-channel operand
/// window is recomputed from the final codes, by the rule round-to-nearest uses.
pub fn gptq_weights(
    w: &[f32],
    n: usize,
    k: usize,
    spec: WeightSpec,
    per_channel: bool,
    h: &[f64],
    pruned: Option<&[bool]>,
) -> Result<Weights, QuantError> {
    let mut q = quantize_weights(w, n, k, spec, per_channel)?;
    // FP8: the channel's real step before its operand window (scale = raw · 2^shift).
    let raw: Vec<f64> = match &q.coding {
        Coding::Fp8 { shifts, .. } => (0..n)
            .map(|c| q.scales[c] / f64::powi(2.0, shifts[c]))
            .collect(),
        _ => Vec::new(),
    };
    sweep(&mut q, w, spec, &raw, h, pruned);
    if let Coding::Fp8 { kind, shifts } = &mut q.coding {
        for c in 0..n {
            let row = q.codes[c * k..(c + 1) * k].iter().map(|&b| b as u8);
            shifts[c] = fp8_shift(*kind, row);
            q.scales[c] = raw[c] * f64::powi(2.0, shifts[c]);
        }
    }
    Ok(q)
}

/// The code of channel `c`, column `j` nearest to the real value `v` on `q`'s fixed grid.
fn nearest_code(q: &Weights, spec: WeightSpec, raw: &[f64], c: usize, j: usize, v: f64) -> i32 {
    let s = q.scales[c];
    let round = |x: f64, bits: u32| {
        let lim = f64::from((1u32 << (bits - 1)) - 1);
        x.round_ties_even().clamp(-lim, lim) as i32
    };
    match &q.coding {
        Coding::Int { bits } => match spec {
            WeightSpec::ApFixed(a) => {
                // The format's own Q and O modes, but clamped to its range first: compensation
                // may push a weight past the largest code, and WRAP would flip its sign.
                let f = crate::quant::Format::binary_point(a.signed, a.bits, a.frac_bits());
                let top = f64::powi(2.0, a.bits as i32 - 1);
                let v = v.clamp(-top * f.step(), (top - 1.0) * f.step());
                f.quantize_f64(v, a.rounding, a.overflow) as i32
            }
            _ => round(v / s, *bits),
        },
        Coding::Group {
            bits, group, mults, ..
        } => {
            let gpr = q.k.div_ceil((*group).max(1));
            round(v / (s * f64::from(mults[c * gpr + j / group])), *bits)
        }
        Coding::Pow2 { bits } => pow2_code(v / s, (1i32 << (bits - 1)) - 2),
        Coding::Codebook {
            bits,
            per_channel,
            table,
            ..
        } => {
            let size = 1usize << bits;
            let base = if *per_channel { c * size } else { 0 };
            table_code(&table[base..base + size], v / s)
        }
        Coding::Fp8 { kind, .. } => i32::from(fp8_encode(*kind, v / raw[c])),
        Coding::Block {
            bits,
            group,
            shifts,
        } => {
            let gpr = q.k.div_ceil((*group).max(1));
            let sg = s * f64::powi(2.0, shifts[c * gpr + j / group]);
            round(v / sg, *bits)
        }
    }
}

/// The real value element `(c, j)` of `q` stands for (FP8: the code's exact value, before the
/// channel window's rounding).
fn real_value(q: &Weights, raw: &[f64], c: usize, j: usize) -> f64 {
    match &q.coding {
        Coding::Fp8 { kind, .. } => kind.value(q.codes[c * q.k + j] as u8) * raw[c],
        _ => q.decode_one(c, j) as f64 * q.scales[c],
    }
}

/// `U`, the upper Cholesky factor of `H⁻¹` (the paper's `Cholesky(H⁻¹)ᵀ`) of the dampened
/// Hessian, or `None` if it is not positive definite (then weights are rounded plainly).
fn upper_factor(h: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut hd = h.to_vec();
    let mean_diag = (0..k).map(|i| hd[i * k + i]).sum::<f64>() / k.max(1) as f64;
    for i in 0..k {
        if hd[i * k + i] == 0.0 {
            hd[i * k + i] = 1.0;
        }
        hd[i * k + i] += 0.01 * mean_diag.max(1e-12);
    }
    spd_inverse(&hd, k)
        .and_then(|inv| cholesky(&inv, k))
        .map(|l| {
            let mut u = vec![0.0; k * k];
            for i in 0..k {
                for j in 0..k {
                    u[i * k + j] = l[j * k + i];
                }
            }
            u
        })
}

/// The GPTQ sweep: rewrites `q.codes` column by column on `q`'s fixed grid, pushing each
/// column's rounding error onto the columns not yet rounded. `pruned` weights keep the code of 0.
fn sweep(
    q: &mut Weights,
    w: &[f32],
    spec: WeightSpec,
    raw: &[f64],
    h: &[f64],
    pruned: Option<&[bool]>,
) {
    let (n, k) = (q.n, q.k);
    let u = upper_factor(h, k);
    let mut rows: Vec<f64> = w.iter().map(|&x| f64::from(x)).collect();
    for c in 0..n {
        for j in 0..k {
            let i = c * k + j;
            let is_pruned = pruned.is_some_and(|p| p.get(i).copied().unwrap_or(false));
            let target = if is_pruned { 0.0 } else { rows[i] };
            q.codes[i] = nearest_code(q, spec, raw, c, j, target);
            let e = rows[i] - real_value(q, raw, c, j);
            if let Some(u) = &u {
                let e = e / u[j * k + j];
                for p in j + 1..k {
                    rows[c * k + p] -= e * u[j * k + p];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gptq_reconstructs_better_than_rounding_on_correlated_inputs() {
        let (n, k, m) = (4usize, 16usize, 200usize);
        let mut r = 1u64;
        let mut rnd = || {
            r = r
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((r >> 11) as f64 / (1u64 << 53) as f64) as f32 - 0.5
        };
        let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
        // Correlated inputs: a shared component plus noise.
        let x: Vec<f32> = (0..m)
            .flat_map(|_| {
                let base = rnd();
                (0..k).map(|_| base + 0.3 * rnd()).collect::<Vec<f32>>()
            })
            .collect();
        let mut h = vec![0.0; k * k];
        hessian_add(&mut h, k, &x);
        let err = |q: &Weights| -> f64 {
            let dec = q.decode();
            x.chunks(k)
                .map(|row| {
                    (0..n)
                        .map(|c| {
                            let y: f64 = (0..k)
                                .map(|j| f64::from(row[j]) * f64::from(w[c * k + j]))
                                .sum();
                            let yq: f64 = (0..k)
                                .map(|j| {
                                    f64::from(row[j]) * f64::from(dec[c * k + j]) * q.scales[c]
                                })
                                .sum();
                            (y - yq).powi(2)
                        })
                        .sum::<f64>()
                })
                .sum()
        };
        let g = gptq_int(&w, n, k, 3, true, &h);
        let rtn = crate::quant::weights::quantize_weights(
            &w,
            n,
            k,
            crate::quant::spec::WeightSpec::Int { bits: 3 },
            true,
        )
        .unwrap();
        assert!(
            err(&g) < 0.8 * err(&rtn),
            "gptq {} rtn {}",
            err(&g),
            err(&rtn)
        );
        // Per group of 4 at 3 bits: the same steps as round-to-nearest, better codes.
        let spec = crate::quant::spec::WeightSpec::Group { bits: 3, group: 4 };
        let gg = gptq_group(&w, n, k, 3, 4, &h).unwrap();
        let rg = crate::quant::weights::quantize_weights(&w, n, k, spec, true).unwrap();
        assert_eq!(gg.coding, rg.coding, "group steps are round-to-nearest's");
        assert_eq!(gg.scales, rg.scales);
        assert!(
            err(&gg) < 0.8 * err(&rg),
            "gptq {} rtn {}",
            err(&gg),
            err(&rg)
        );
    }
}
