//! GPTQ (Frantar et al., 2023): round weights one input column at a time and push each column's
//! rounding error onto the columns not yet rounded, weighted by the inverse Hessian of the
//! layer's reconstruction error `‖XW - XŴ‖²` (`H = 2 XᵀX` over calibration inputs).
//!
//! The steps (one per output channel) are fixed before the sweep (per-channel max / qmax, as
//! round-to-nearest uses), so GPTQ changes only which code each weight gets. Dampening adds 1 %
//! of the mean diagonal to `H`, as the paper does; dead inputs (zero diagonal) get a unit
//! diagonal and their weights are rounded plainly.

use crate::fxir::{Coding, Weights};

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
    let amax = |v: &[f32]| v.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()));
    let tensor_max = amax(w);
    let scales: Vec<f64> = (0..n)
        .map(|c| {
            let a = if per_channel {
                amax(&w[c * k..(c + 1) * k])
            } else {
                tensor_max
            };
            if a > 0.0 {
                a / qmax
            } else {
                1.0
            }
        })
        .collect();
    (qmax, scales)
}

/// Quantizes `w` (`[n][k]`) to symmetric `bits`-bit codes on the per-channel (or per-tensor)
/// steps round-to-nearest would use, with GPTQ error compensation under Hessian `h` (`XᵀX`).
pub fn gptq_int(w: &[f32], n: usize, k: usize, bits: u32, per_channel: bool, h: &[f64]) -> Weights {
    let (qmax, scales) = rtn_steps(w, n, k, bits, per_channel);
    let codes = gptq_codes(w, n, k, qmax, &|c, _| scales[c], h);
    Weights {
        n,
        k,
        coding: Coding::Int { bits },
        codes,
        scales,
    }
}

/// GPTQ for the per-group format (`intB:gG`): the steps of each group (channel scale × group
/// multiplier) are the ones round-to-nearest chooses from the unquantized weights ("static
/// groups"), fixed before the sweep; GPTQ changes only the codes.
pub fn gptq_group(w: &[f32], n: usize, k: usize, bits: u32, group: usize, h: &[f64]) -> Weights {
    let base = crate::quant::weights::quantize_weights(
        w,
        n,
        k,
        crate::quant::spec::WeightSpec::Group { bits, group },
        true,
    )
    .expect("a per-group format of 2..=8 bits always quantizes");
    let Coding::Group { mults, .. } = &base.coding else {
        return base;
    };
    let gpr = k.div_ceil(group.max(1));
    let qmax = f64::from((1u32 << (bits - 1)) - 1);
    let step = |c: usize, j: usize| base.scales[c] * f64::from(mults[c * gpr + j / group]);
    let codes = gptq_codes(w, n, k, qmax, &step, h);
    Weights { codes, ..base }
}

/// The GPTQ sweep: codes of `w` (`[n][k]`) in `[-qmax, qmax]` on steps `step(channel, column)`.
fn gptq_codes(
    w: &[f32],
    n: usize,
    k: usize,
    qmax: f64,
    step: &dyn Fn(usize, usize) -> f64,
    h: &[f64],
) -> Vec<i32> {
    let mut hd = h.to_vec();
    let mean_diag = (0..k).map(|i| hd[i * k + i]).sum::<f64>() / k.max(1) as f64;
    for i in 0..k {
        if hd[i * k + i] == 0.0 {
            hd[i * k + i] = 1.0;
        }
        hd[i * k + i] += 0.01 * mean_diag.max(1e-12);
    }
    // U: the upper Cholesky factor of H⁻¹ (the paper's `Cholesky(H⁻¹)ᵀ`).
    let u = spd_inverse(&hd, k)
        .and_then(|inv| cholesky(&inv, k))
        .map(|l| {
            let mut u = vec![0.0; k * k];
            for i in 0..k {
                for j in 0..k {
                    u[i * k + j] = l[j * k + i];
                }
            }
            u
        });
    let mut codes = vec![0i32; n * k];
    let mut rows: Vec<f64> = w.iter().map(|&x| f64::from(x)).collect();
    for c in 0..n {
        let row = &mut rows[c * k..(c + 1) * k];
        for j in 0..k {
            let s = step(c, j);
            let q = (row[j] / s).round_ties_even().clamp(-qmax, qmax);
            codes[c * k + j] = q as i32;
            if let Some(u) = &u {
                let e = (row[j] - q * s) / u[j * k + j];
                for p in j + 1..k {
                    row[p] -= e * u[j * k + p];
                }
            }
        }
    }
    codes
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
        let gg = gptq_group(&w, n, k, 3, 4, &h);
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
