//! Per-layer bit allocation: choose one weight format per layer minimizing the summed
//! sensitivity (output error each choice causes alone) under a storage budget.
//!
//! This is a multiple-choice knapsack, solved exactly by dynamic programming over the budget.
//! Costs are ROM bits (codes plus side tables); when the budget exceeds [`MAX_UNITS`] bits the
//! costs are counted in units of `ceil(budget / MAX_UNITS)` bits, rounded up, so a solution the
//! DP accepts always fits the real budget.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::QuantError;

/// Largest DP table width.
pub const MAX_UNITS: u64 = 200_000;

/// One way to store one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The weight format.
    pub format: String,
    /// The width of the layer's input, set as its producer's output format (`Layer::producer`);
    /// `None` leaves it at the configuration's.
    pub acts: Option<super::spec::ActSpec>,
    /// What the knapsack counts against the budget (`budget::Budget::cost`).
    pub cost: u64,
    /// ROM bits of the layer in this format.
    pub rom_bits: u64,
    /// Widths the array multiplies: the decoded weight and the stage's input operand.
    pub operand_bits: u32,
    pub input_bits: u32,
    /// Output error this choice causes with every other layer at the reference format.
    pub error: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    pub weights: u64,
    /// Multiply-accumulates per sample.
    pub macs: u64,
    /// The array layer whose output is this layer's input, when activation widths are
    /// candidates and that output feeds this layer alone (`systole_flow::sensitivity::input_producer`).
    pub producer: Option<String>,
    pub choices: Vec<Choice>,
}

/// The index of the chosen option per layer, minimizing Σ error subject to Σ cost <= budget.
/// Ties prefer the cheaper total. `Err` carries the smallest achievable cost.
pub fn solve(layers: &[Layer], budget: u64) -> Result<Vec<usize>, u64> {
    let min_cost: u64 = layers
        .iter()
        .map(|l| l.choices.iter().map(|c| c.cost).min().unwrap_or(0))
        .sum();
    if min_cost > budget || layers.iter().any(|l| l.choices.is_empty()) {
        return Err(min_cost);
    }
    let unit = budget.div_ceil(MAX_UNITS).max(1);
    let cap = (budget / unit) as usize;
    const INF: f64 = f64::INFINITY;
    // best[c] = (error, exact cost) of the best prefix using at most c units.
    let mut best = vec![(0.0f64, 0u64); cap + 1];
    let mut pick: Vec<Vec<u16>> = Vec::with_capacity(layers.len());
    for l in layers {
        let mut next = vec![(INF, u64::MAX); cap + 1];
        let mut choice = vec![u16::MAX; cap + 1];
        for (i, c) in l.choices.iter().enumerate() {
            let u = c.cost.div_ceil(unit) as usize;
            for cap_here in u..=cap {
                let (e0, c0) = best[cap_here - u];
                if e0 == INF {
                    continue;
                }
                let cand = (e0 + c.error, c0 + c.cost);
                let cur = next[cap_here];
                if cand.0 < cur.0 || (cand.0 == cur.0 && cand.1 < cur.1) {
                    next[cap_here] = cand;
                    choice[cap_here] = i as u16;
                }
            }
        }
        best = next;
        pick.push(choice);
    }
    if best[cap].0 == INF {
        return Err(min_cost);
    }
    // Walk back.
    let mut out = vec![0; layers.len()];
    let mut c = cap;
    for li in (0..layers.len()).rev() {
        let i = pick[li][c] as usize;
        out[li] = i;
        c -= layers[li].choices[i].cost.div_ceil(unit) as usize;
    }
    Ok(out)
}

/// An allocation file (`--alloc FILE`, RON): the weight format of each layer by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AllocFile {
    /// Weight format per array layer.
    pub layers: BTreeMap<String, String>,
    /// Output activation format per layer, where the allocation chose one (activation
    /// candidates): the next layer's input width.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub acts: BTreeMap<String, String>,
}

impl AllocFile {
    pub fn to_ron(&self) -> String {
        let cfg = ron::ser::PrettyConfig::new().depth_limit(3);
        let mut s = String::from("// Systole bit allocation: the weight format of each layer (edit freely; `systole quantize --alloc FILE`).\n");
        s.push_str(&ron::ser::to_string_pretty(self, cfg).expect("an allocation serializes"));
        s.push('\n');
        s
    }

    pub fn from_ron(text: &str) -> Result<AllocFile, QuantError> {
        ron::from_str(text).map_err(|e| QuantError::Format(format!("allocation file: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn layer(name: &str, opts: &[(u64, f64)]) -> Layer {
        Layer {
            name: name.into(),
            weights: 1,
            macs: 1,
            producer: None,
            choices: opts
                .iter()
                .map(|&(cost, error)| Choice {
                    format: format!("c{cost}"),
                    acts: None,
                    cost,
                    rom_bits: cost,
                    operand_bits: 8,
                    input_bits: 8,
                    error,
                })
                .collect(),
        }
    }

    fn brute(layers: &[Layer], budget: u64) -> Option<f64> {
        let mut best: Option<f64> = None;
        let mut idx = vec![0; layers.len()];
        loop {
            let cost: u64 = idx
                .iter()
                .zip(layers)
                .map(|(&i, l)| l.choices[i].cost)
                .sum();
            let err: f64 = idx
                .iter()
                .zip(layers)
                .map(|(&i, l)| l.choices[i].error)
                .sum();
            if cost <= budget && best.is_none_or(|b| err < b) {
                best = Some(err);
            }
            let mut d = 0;
            loop {
                if d == layers.len() {
                    return best;
                }
                idx[d] += 1;
                if idx[d] < layers[d].choices.len() {
                    break;
                }
                idx[d] = 0;
                d += 1;
            }
        }
    }

    #[test]
    fn picks_the_sensitive_layer_for_more_bits() {
        let ls = [
            layer("a", &[(4, 10.0), (8, 0.0)]),
            layer("b", &[(4, 1.0), (8, 0.0)]),
        ];
        assert_eq!(solve(&ls, 12).unwrap(), vec![1, 0]);
        assert_eq!(solve(&ls, 7), Err(8));
    }

    proptest! {
        #[test]
        fn dp_equals_brute_force(costs in proptest::collection::vec(proptest::collection::vec((1u64..50, 0.0f64..10.0), 1..4), 1..5), budget in 0u64..150) {
            let layers: Vec<Layer> = costs.iter().enumerate().map(|(i, o)| layer(&i.to_string(), o)).collect();
            match (solve(&layers, budget), brute(&layers, budget)) {
                (Ok(pick), Some(b)) => {
                    let err: f64 = pick.iter().zip(&layers).map(|(&i, l)| l.choices[i].error).sum();
                    let cost: u64 = pick.iter().zip(&layers).map(|(&i, l)| l.choices[i].cost).sum();
                    prop_assert!(cost <= budget);
                    prop_assert!((err - b).abs() < 1e-9, "dp {} brute {}", err, b);
                }
                (Err(_), None) => {}
                (a, b) => prop_assert!(false, "dp {:?} brute {:?}", a, b),
            }
        }
    }
}
