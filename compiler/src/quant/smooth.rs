//! SmoothQuant (Xiao et al., 2023): move activation outliers into the weights before quantizing.
//!
//! A linear layer `y = x·W` is unchanged by `y = (x·diag(1/s))·(diag(s)·W)`. With
//! `s_j = max|x_j|^α / max|W_j|^(1−α)` per input channel `j`, the channels of `x` whose range
//! is much wider than the rest (a few per token in transformer activations) shrink and the
//! matching weight rows grow, so one activation step per tensor wastes less of the 8 bits.
//!
//! The division by `s` must be free: here it is folded into a `LayerNormalization` whose output
//! feeds linear layers (`γ/s`, `β/s`). A BERT-style (post-LN) encoder also adds that output to
//! the residual stream, which must stay unscaled, so the LayerNorm is **duplicated**: the copy
//! with `γ/s, β/s` feeds the linear layers, the original the residual `Add`. The integer program
//! then has one more LayerNorm stage per site (one more vector pass); the unscaled tensor is read
//! only by the vector unit, so it keeps 16 bits. Linear layers fed by anything else (the
//! attention output projection, the FFN's second layer after GELU) are left alone.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::ir::{Graph, Node, Op, OpId, ValueKind};
use crate::tensor::Tensor;

/// A LayerNorm whose output some linear layers (MatMul with constant weights `[k, n]`) read.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The LayerNorm's output value (its name survives binding and the pass pipeline).
    pub output: String,
    pub layernorm: OpId,
    pub linears: Vec<OpId>,
}

/// The smoothing sites of `g`: LayerNorms over the last axis with constant `γ` and `β`, and the
/// linear layers reading their output.
pub fn sites(g: &Graph) -> Vec<Site> {
    let mut out = Vec::new();
    for id in g.node_ids() {
        let n = g.node(id);
        let Op::LayerNormalization { axis, .. } = n.op else {
            continue;
        };
        let (Some(Some(gamma)), Some(Some(beta))) = (n.inputs.get(1), n.inputs.get(2)) else {
            continue;
        };
        let rank = g.value(n.outputs[0]).ty.rank().unwrap_or(0) as i64;
        if (axis != -1 && axis != rank - 1) || g.const_of(*gamma).is_none() {
            continue;
        }
        if g.const_of(*beta).is_none() {
            continue;
        }
        let y = n.outputs[0];
        let linears: Vec<OpId> = g
            .consumers(y)
            .into_iter()
            .filter(|&(c, slot)| {
                let m = g.node(c);
                slot == 0
                    && matches!(m.op, Op::MatMul { act: None })
                    && m.inputs[1]
                        .and_then(|w| g.const_of(w))
                        .is_some_and(|w| w.rank() == 2)
            })
            .map(|(c, _)| c)
            .collect();
        if !linears.is_empty() {
            out.push(Site {
                output: g.value(y).name.clone(),
                layernorm: id,
                linears,
            });
        }
    }
    out
}

/// Per-channel `max |x|` of each site's output, accumulated over calibration runs.
#[derive(Debug, Clone, Default)]
pub struct ChannelRanges {
    pub absmax: BTreeMap<String, Vec<f32>>,
}

impl ChannelRanges {
    /// Folds one observed tensor in (the last axis is the channel).
    pub fn observe(&mut self, name: &str, t: &Tensor) {
        let (Some(v), Some(&c)) = (t.as_f32(), t.shape.last()) else {
            return;
        };
        if c == 0 {
            return;
        }
        let m = self
            .absmax
            .entry(name.to_string())
            .or_insert_with(|| vec![0.0; c]);
        if m.len() != c {
            return;
        }
        for row in v.chunks_exact(c) {
            for (a, &x) in m.iter_mut().zip(row) {
                *a = a.max(x.abs());
            }
        }
    }
}

/// The smoothing factors of one site: `s_j = max|x_j|^α / max_n |W_jn|^(1−α)` over every linear
/// layer the site feeds, clamped to `[1e-4, 1e4]`; 1 for a channel never seen nonzero.
pub fn factors(x_absmax: &[f32], weights: &[&Tensor], alpha: f64) -> Vec<f32> {
    let k = x_absmax.len();
    let mut w_absmax = vec![0f32; k];
    for w in weights {
        let n = w.shape[1];
        for (j, row) in w.to_f32_vec().chunks_exact(n).enumerate().take(k) {
            w_absmax[j] = row.iter().fold(w_absmax[j], |a, &v| a.max(v.abs()));
        }
    }
    x_absmax
        .iter()
        .zip(&w_absmax)
        .map(|(&x, &w)| {
            if x <= 0.0 || w <= 0.0 {
                return 1.0;
            }
            let s = f64::from(x).powf(alpha) / f64::from(w).powf(1.0 - alpha);
            s.clamp(1e-4, 1e4) as f32
        })
        .collect()
}

/// Rewrites `g` for every site with ranges in `r`: a copy of the LayerNorm with `γ/s`, `β/s`
/// feeds the site's linear layers, whose weight rows are multiplied by `s`. Returns the number
/// of sites smoothed. `alpha` is SmoothQuant's migration strength in `[0, 1]`.
pub fn apply(g: &mut Graph, r: &ChannelRanges, alpha: f64) -> Result<usize> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(Error::OutOfRange {
            what: "SmoothQuant alpha",
            value: alpha.to_string(),
            range: "[0, 1]".into(),
        });
    }
    let mut done = 0;
    for site in sites(g) {
        let Some(x_absmax) = r.absmax.get(&site.output) else {
            continue;
        };
        let ln = g.node(site.layernorm).clone();
        // `sites` keeps only linear layers with a constant rank-2 W.
        let linears: Vec<(OpId, Tensor)> = site
            .linears
            .iter()
            .filter_map(|&l| {
                let w = g.node(l).inputs[1].and_then(|w| g.const_of(w))?;
                Some((l, w.clone()))
            })
            .collect();
        if linears.iter().any(|(_, w)| w.shape[0] != x_absmax.len()) {
            return Err(Error::Model {
                msg: format!(
                    "SmoothQuant: a linear layer after '{}' does not take its {} channels",
                    site.output,
                    x_absmax.len()
                ),
            });
        }
        let s = factors(
            x_absmax,
            &linears.iter().map(|(_, w)| w).collect::<Vec<_>>(),
            alpha,
        );
        let divided = |t: &Tensor| {
            let v: Vec<f32> = t
                .to_f32_vec()
                .iter()
                .zip(&s)
                .map(|(&a, &b)| a / b)
                .collect();
            Tensor::f32(t.shape.clone(), v)
        };
        let (Some(gamma), Some(beta)) = (
            ln.inputs[1].and_then(|v| g.const_of(v)),
            ln.inputs[2].and_then(|v| g.const_of(v)),
        ) else {
            continue;
        };
        if gamma.len() != s.len() || beta.len() != s.len() {
            continue;
        }
        let (gamma, beta) = (divided(gamma), divided(beta));
        let gv = g.add_const(format!("{}/smooth_gamma", ln.name), gamma);
        let bv = g.add_const(format!("{}/smooth_beta", ln.name), beta);
        let y = ln.outputs[0];
        let ty = g.value(y).ty.clone();
        let ys = g.add_value(
            format!("{}/smoothed", site.output),
            ty,
            ValueKind::Intermediate,
        );
        g.add_node(Node {
            name: format!("{}/smoothed", ln.name),
            op: ln.op.clone(),
            inputs: vec![ln.inputs[0], Some(gv), Some(bv)],
            outputs: vec![ys],
        });
        for (l, w) in linears {
            // Rows of W `[k, n]`: row j times s_j.
            let n = w.shape[1];
            let v: Vec<f32> = w
                .to_f32_vec()
                .iter()
                .enumerate()
                .map(|(i, &a)| a * s[i / n])
                .collect();
            let name = format!("{}/smoothed", g.node(l).name);
            let wv = g.add_const(name, Tensor::f32(w.shape.clone(), v));
            let node = g.node_mut(l);
            node.inputs[0] = Some(ys);
            node.inputs[1] = Some(wv);
        }
        done += 1;
    }
    g.rebuild_edges();
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_balance_activation_and_weight_ranges() {
        let w = Tensor::f32(vec![2, 2], vec![0.5, -0.25, 2.0, 1.0]);
        let s = factors(&[8.0, 0.5], &[&w], 0.5);
        // s = sqrt(8)/sqrt(0.5) = 4; sqrt(0.5)/sqrt(2) = 0.5: both channels' ranges become
        // max|x|/s = max|W|·s = 2 and 1.
        assert!(
            (s[0] - 4.0).abs() < 1e-6 && (s[1] - 0.5).abs() < 1e-6,
            "{s:?}"
        );
        // alpha 0 leaves activations alone only up to the weights' range; a dead channel is 1.
        let s = factors(&[0.0, 0.5], &[&w], 0.0);
        assert_eq!(s[0], 1.0);
        assert!((s[1] - 0.5).abs() < 1e-6);
    }
}
