//! AdaRound (Nagel et al., ICML 2020): learn, per weight, whether to round down or up, by
//! minimising the layer's reconstruction error `‖X(W − Ŵ)ᵀ‖²` plus a regulariser that pushes each
//! soft rounding variable to 0 or 1.
//!
//! The reconstruction error of output channel `c` is `Δ_cᵀ H Δ_c` with `H = XᵀX` (the calibration
//! Hessian GPTQ also uses), so the optimisation needs no stored activations: one `k × k`
//! matrix-vector product per channel and step. Steps are the round-to-nearest ones (per-channel
//! max / qmax), as in the paper; only the rounding direction is learned. Adam on the rectified
//! sigmoid's logits `V`, `β` annealed from 20 to 2 after a warm-up without regulariser, `λ` =
//! 0.01 on a reconstruction normalised per output element.

use crate::fxir::{Coding, Weights};
use crate::quant::calibrate::LayerInputs;

/// Stretch of the rectified sigmoid (the paper's ζ and γ).
const ZETA: f64 = 1.1;
const GAMMA: f64 = -0.1;
const ITERS: usize = 2000;
const WARMUP: f64 = 0.2;
const LAMBDA: f64 = 0.01;
const LR: f64 = 1e-2;

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// `h(V) = clip(σ(V)(ζ − γ) + γ, 0, 1)` and its derivative.
fn soft(v: f64) -> (f64, f64) {
    let s = sigmoid(v);
    let h = s * (ZETA - GAMMA) + GAMMA;
    if h <= 0.0 {
        (0.0, 0.0)
    } else if h >= 1.0 {
        (1.0, 0.0)
    } else {
        (h, s * (1.0 - s) * (ZETA - GAMMA))
    }
}

/// Quantizes `w` (`[n][k]`) to symmetric `bits`-bit codes on round-to-nearest's steps, choosing
/// each weight's rounding direction by AdaRound under the layer's calibration inputs (`h = XᵀX`
/// over `rows` rows; `inputs.xtx` must be `k × k`).
///
/// `pruned` marks weights that pruning removed: they keep code 0. Their real value is 0, whose
/// floor is 0, so AdaRound would otherwise be free to round them *up* to one step and break an
/// N:M pattern; they take no part in the optimisation (a fixed zero, like the float weight).
pub fn adaround_int(
    w: &[f32],
    n: usize,
    k: usize,
    bits: u32,
    per_channel: bool,
    inputs: &LayerInputs,
    pruned: Option<&[bool]>,
) -> Weights {
    let (h, rows) = (&inputs.xtx[..], inputs.rows as f64);
    let is_pruned = |i: usize| pruned.is_some_and(|p| p.get(i).copied().unwrap_or(false));
    let (qmax, scales) = crate::quant::gptq::rtn_steps(w, n, k, bits, per_channel);
    // Per output element: the mean over calibration rows.
    let norm = 1.0 / rows.max(1.0);
    let mut codes = vec![0i32; n * k];
    for c in 0..n {
        let s = scales[c];
        let wr: Vec<f64> = w[c * k..(c + 1) * k]
            .iter()
            .map(|&x| f64::from(x) / s)
            .collect();
        let floor: Vec<f64> = wr.iter().map(|x| x.floor()).collect();
        // Start where h(V) equals the fractional part, i.e. at the float weight.
        let mut v: Vec<f64> = wr
            .iter()
            .zip(&floor)
            .map(|(x, f)| {
                let p = ((x - f - GAMMA) / (ZETA - GAMMA)).clamp(1e-6, 1.0 - 1e-6);
                (p / (1.0 - p)).ln()
            })
            .collect();
        let (mut m1, mut m2) = (vec![0.0; k], vec![0.0; k]);
        let mut delta = vec![0.0; k];
        let mut dh = vec![0.0; k];
        let mut hd = vec![0.0; k];
        let warm = (WARMUP * ITERS as f64) as usize;
        for it in 0..ITERS {
            // Δ = (w − s(⌊w/s⌋ + h)) / s, in steps: the loss scales by s² uniformly per channel.
            for j in 0..k {
                let (hv, d) = if is_pruned(c * k + j) {
                    (0.0, 0.0)
                } else {
                    soft(v[j])
                };
                let q = (floor[j] + hv).clamp(-qmax, qmax);
                delta[j] = wr[j] - q;
                dh[j] = if (floor[j] + hv) > qmax || (floor[j] + hv) < -qmax {
                    0.0
                } else {
                    d
                };
            }
            for i in 0..k {
                let row = &h[i * k..(i + 1) * k];
                hd[i] = row.iter().zip(&delta).map(|(a, b)| a * b).sum::<f64>() * norm;
            }
            let beta = if it < warm {
                0.0
            } else {
                let t = (it - warm) as f64 / (ITERS - warm).max(1) as f64;
                20.0 + (2.0 - 20.0) * t
            };
            let t = (it + 1) as i32;
            for j in 0..k {
                // d/dV of ΔᵀHΔ: −2 (HΔ)_j · h'(V_j).
                let mut g = -2.0 * hd[j] * dh[j];
                if beta > 0.0 {
                    // reg = 1 − |2h − 1|^β; d/dh = −β |2h−1|^(β−1) · 2 sign(2h−1).
                    let (hv, d) = soft(v[j]);
                    let u = 2.0 * hv - 1.0;
                    let dreg = -beta * u.abs().powf(beta - 1.0) * 2.0 * u.signum();
                    g += LAMBDA * dreg * d;
                }
                m1[j] = 0.9 * m1[j] + 0.1 * g;
                m2[j] = 0.999 * m2[j] + 0.001 * g * g;
                let mh = m1[j] / (1.0 - 0.9f64.powi(t));
                let vh = m2[j] / (1.0 - 0.999f64.powi(t));
                v[j] -= LR * mh / (vh.sqrt() + 1e-8);
            }
        }
        for j in 0..k {
            let up = if soft(v[j]).0 >= 0.5 && !is_pruned(c * k + j) {
                1.0
            } else {
                0.0
            };
            codes[c * k + j] = (floor[j] + up).clamp(-qmax, qmax) as i32;
        }
    }
    Weights {
        n,
        k,
        coding: Coding::Int { bits },
        codes,
        scales,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::gptq::hessian_add;

    #[test]
    fn adaround_reconstructs_better_than_rounding_on_correlated_inputs() {
        let (n, k, m) = (4usize, 16usize, 200usize);
        let mut r = 7u64;
        let mut rnd = || {
            r = r
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((r >> 11) as f64 / (1u64 << 53) as f64) as f32 - 0.5
        };
        let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
        let x: Vec<f32> = (0..m)
            .flat_map(|_| {
                let base = rnd();
                (0..k).map(|_| base + 0.3 * rnd()).collect::<Vec<f32>>()
            })
            .collect();
        let mut h = LayerInputs {
            xtx: vec![0.0; k * k],
            sum: vec![],
            rows: m as u64,
        };
        hessian_add(&mut h.xtx, k, &x);
        let err = |q: &Weights| -> f64 {
            let dec = q.decode();
            x.chunks(k)
                .map(|row| {
                    (0..n)
                        .map(|c| {
                            let d: f64 = (0..k)
                                .map(|j| {
                                    f64::from(row[j])
                                        * (f64::from(w[c * k + j])
                                            - f64::from(dec[c * k + j]) * q.scales[c])
                                })
                                .sum();
                            d * d
                        })
                        .sum::<f64>()
                })
                .sum()
        };
        // At 2 bits (ternary codes) this example ends 3 % above round-to-nearest: the soft
        // optimum is far from any hard one; the real models' figures are in docs/quantization.md.
        for bits in [3, 4] {
            let a = adaround_int(&w, n, k, bits, true, &h, None);
            let rtn = crate::quant::weights::quantize_weights(
                &w,
                n,
                k,
                crate::quant::spec::WeightSpec::Int { bits },
                true,
            )
            .unwrap();
            assert!(
                err(&a) < 0.8 * err(&rtn),
                "{bits} bits: adaround {} rtn {}",
                err(&a),
                err(&rtn)
            );
            // Only rounding directions change: every code is the floor or the ceiling.
            for (j, &q) in a.codes.iter().enumerate() {
                let x = f64::from(w[j]) / a.scales[j / k];
                assert!(
                    (q as f64 - x.floor()).abs() <= 1.0 + 1e-9 && (q as f64 - x).abs() < 1.0 + 1e-9,
                    "code {q} for {x}"
                );
            }
        }
    }
}
