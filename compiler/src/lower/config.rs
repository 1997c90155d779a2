//! What the user asked the quantizer for: default formats, per-layer choices, calibration
//! method, rounding and pruning.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::quant::spec::{ActSpec, WeightSpec};
use crate::quant::threshold::Method;
use crate::quant::{QuantError, Rounding};

/// Magnitude pruning applied to a layer's real weights before quantization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prune {
    /// Zero the given fraction of the smallest-magnitude weights of the layer.
    Fraction(f64),
    /// Keep the `n` largest of every `m` consecutive weights along the reduction axis (2:4).
    NM { n: usize, m: usize },
}

/// The largest N:M group: sparse tensor cores use 4 and 8; larger groups are allowed for
/// studies, but a group longer than any reduction axis would prune nothing it claims to.
pub const MAX_NM_GROUP: usize = 256;

impl FromStr for Prune {
    type Err = QuantError;
    fn from_str(s: &str) -> Result<Prune, QuantError> {
        let bad = || {
            QuantError::Format(format!("unknown pruning '{s}'; valid: a fraction in [0, 1) such as 0.5, or N:M keeping N of every M weights with 1 <= N < M <= {MAX_NM_GROUP}, such as 2:4"))
        };
        if let Some((n, m)) = s.split_once(':') {
            let (n, m): (usize, usize) =
                (n.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            // 0:M zeroed every weight and N = M pruned nothing, both with exit 0.
            if n == 0 || n >= m || m > MAX_NM_GROUP {
                return Err(bad());
            }
            return Ok(Prune::NM { n, m });
        }
        let f: f64 = s.parse().map_err(|_| bad())?;
        if !(0.0..1.0).contains(&f) {
            return Err(bad());
        }
        Ok(Prune::Fraction(f))
    }
}

impl fmt::Display for Prune {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prune::Fraction(x) => write!(f, "{x}"),
            Prune::NM { n, m } => write!(f, "{n}:{m}"),
        }
    }
}

impl Prune {
    /// Zeroes weights of `w` (`[rows][k]`) in place.
    pub fn apply(&self, w: &mut [f32], k: usize) {
        match *self {
            Prune::Fraction(f) => {
                let drop = (f * w.len() as f64).round() as usize;
                if drop == 0 {
                    return;
                }
                let mut idx: Vec<usize> = (0..w.len()).collect();
                // Ties broken by index, so the result is deterministic.
                idx.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()).then(a.cmp(&b)));
                for &i in &idx[..drop.min(w.len())] {
                    w[i] = 0.0;
                }
            }
            Prune::NM { n, m } => {
                for row in w.chunks_mut(k) {
                    for g in row.chunks_mut(m) {
                        let mut idx: Vec<usize> = (0..g.len()).collect();
                        idx.sort_by(|&a, &b| g[b].abs().total_cmp(&g[a].abs()).then(a.cmp(&b)));
                        for &i in idx.iter().skip(n) {
                            g[i] = 0.0;
                        }
                    }
                }
            }
        }
    }
}

/// A per-layer override (from `--alloc FILE` or the bit allocator).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerChoice {
    pub weights: Option<WeightSpec>,
    /// The format of this layer's output activation.
    pub acts: Option<ActSpec>,
    pub prune: Option<Prune>,
}

/// Everything that decides how a model is quantized.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantConfig {
    pub acts: ActSpec,
    pub weights: WeightSpec,
    /// One weight step per output channel (else one per tensor) where the format has a choice.
    pub per_channel: bool,
    pub method: Method,
    /// Rounding of every requantization and of the input quantizer.
    pub rounding: Rounding,
    pub prune: Option<Prune>,
    /// GPTQ error compensation for integer weight formats (needs `Calibration::hessians`).
    pub gptq: bool,
    /// AdaRound: learn each integer weight's rounding direction (needs `Calibration::hessians`).
    pub adaround: bool,
    /// Bias correction: add `E[x]·(W − Ŵ)` of the calibration inputs to each layer's bias.
    pub bias_correction: bool,
    /// SmoothQuant's migration strength α (encoders only: `quant::smooth`), or no smoothing.
    pub smooth_alpha: Option<f64>,
    /// Overrides by layer (graph node) name.
    pub layers: BTreeMap<String, LayerChoice>,
    /// Dynamic activation quantization: array stages read their input through a run-time
    /// per-row exponent (per sample for Conv/Gemm, per token for the encoder's linear layers).
    pub dynamic: bool,
}

impl Default for QuantConfig {
    fn default() -> QuantConfig {
        QuantConfig {
            acts: ActSpec::Int { bits: 8 },
            weights: WeightSpec::Int { bits: 8 },
            per_channel: true,
            method: Method::MinMax,
            rounding: Rounding::Rnd,
            prune: None,
            gptq: false,
            adaround: false,
            bias_correction: false,
            smooth_alpha: None,
            layers: BTreeMap::new(),
            dynamic: false,
        }
    }
}

impl QuantConfig {
    pub fn weights_for(&self, layer: &str) -> WeightSpec {
        self.layers
            .get(layer)
            .and_then(|c| c.weights)
            .unwrap_or(self.weights)
    }

    pub fn acts_for(&self, layer: &str) -> ActSpec {
        self.layers
            .get(layer)
            .and_then(|c| c.acts)
            .unwrap_or(self.acts)
    }

    pub fn prune_for(&self, layer: &str) -> Option<Prune> {
        self.layers.get(layer).and_then(|c| c.prune).or(self.prune)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_the_largest() {
        let mut w = vec![0.1, -0.5, 0.2, 0.05, 1.0, -0.3, 0.0, 0.4];
        "2:4".parse::<Prune>().unwrap().apply(&mut w, 8);
        assert_eq!(w, vec![0.0, -0.5, 0.2, 0.0, 1.0, 0.0, 0.0, 0.4]);
        let mut w = vec![0.1, -0.5, 0.2, 0.05];
        "0.5".parse::<Prune>().unwrap().apply(&mut w, 4);
        assert_eq!(w, vec![0.0, -0.5, 0.2, 0.0]);
        assert!("1.5".parse::<Prune>().is_err());
        assert!("5:4".parse::<Prune>().is_err());
        for s in ["0:4", "4:4", "1:1000", "0:0", "1:18446744073709551615"] {
            assert!(s.parse::<Prune>().is_err(), "{s}");
        }
    }
}
