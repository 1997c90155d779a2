//! The Pareto ladder of a budgeted quantization: the knapsack solved again at a ladder of budgets
//! in the budget's own units, each distinct allocation lowered and scored, so a user sees what
//! a little more or less of the budget buys (`systole quantize --budget`, `pareto[]`).

use std::collections::BTreeSet;

use serde::Serialize;
use systole_compiler::fxir::Program;
use systole_compiler::ir::Graph;
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::quant::bitalloc::{solve, Layer};
use systole_compiler::quant::budget::Budget;
use systole_compiler::quant::calibrate::Calibration;
use systole_compiler::tensor::Tensor;

use crate::error::Result;
use crate::quantize::set_pick;
use crate::sensitivity::score;

/// One allocation on the ladder: its cost against the budget, the error the sensitivity
/// analysis predicts for it and the top-1 agreement with the float model it measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParetoPoint {
    pub avg_bits: f64,
    /// What the point uses of the budget's quantity (ROM bits, bit-operations, half DSPs are
    /// reported as DSPs): the ladder is spaced in these units.
    pub budget_used: String,
    pub predicted_error: f64,
    pub agreement: f64,
}

/// The budgets of the ladder: 1 to 8 bits per weight in steps of half a bit for storage
/// budgets, else 15 steps from the cheapest to the dearest allocation of `costed`.
pub fn rungs(budget: &Budget, costed: &[Layer], total_weights: u64) -> Vec<u64> {
    match budget {
        Budget::AvgBits(_) | Budget::WeightBytes(_) => (10..=80)
            .step_by(5)
            .map(|tenth| (total_weights as f64 * f64::from(tenth) / 10.0) as u64)
            .collect(),
        _ => {
            let lo: u64 = costed
                .iter()
                .filter_map(|l| l.choices.iter().map(|c| c.cost).min())
                .sum();
            let hi: u64 = costed
                .iter()
                .filter_map(|l| l.choices.iter().map(|c| c.cost).max())
                .sum();
            (0..15u64).map(|i| lo + (hi - lo) * i / 14).collect()
        }
    }
}

/// What a pick (one choice index per layer) costs against the budget.
pub fn cost(pick: &[usize], costed: &[Layer]) -> u64 {
    pick.iter()
        .zip(costed)
        .map(|(&i, l)| l.choices[i].cost)
        .sum()
}

/// The data a ladder is measured on: the graph, its calibration, the calibration inputs and the
/// float model's outputs on them.
pub struct Scoring<'a> {
    pub g: &'a Graph,
    pub cal: &'a Calibration,
    pub x: &'a Tensor,
    pub float_out: &'a [f32],
}

/// The Pareto front at [`rungs`]: every distinct feasible allocation (budgets below the cheapest
/// allocation are skipped), lowered with `cfg` and scored on `on`. `layers` carry the predicted
/// errors, `costed` the costs in the budget's units.
pub fn pareto(
    on: &Scoring,
    cfg: &QuantConfig,
    budget: &Budget,
    layers: &[Layer],
    costed: &[Layer],
    total_weights: u64,
) -> Result<Vec<ParetoPoint>> {
    let mut points = Vec::new();
    let mut seen = BTreeSet::new();
    for rung in rungs(budget, costed, total_weights) {
        let Ok(pick) = solve(costed, rung) else {
            continue;
        };
        if !seen.insert(pick.clone()) {
            continue;
        }
        let mut c = cfg.clone();
        set_pick(&mut c, layers, &pick)?;
        let p: Program = lower(on.g, on.cal, &c)?;
        let s = score(&p, on.x, on.float_out)?;
        points.push(ParetoPoint {
            avg_bits: p.weight_bits() as f64 / total_weights.max(1) as f64,
            budget_used: budget.describe(cost(&pick, costed), total_weights),
            predicted_error: pick
                .iter()
                .zip(layers)
                .map(|(&i, l)| l.choices[i].error)
                .sum(),
            agreement: s.agreement,
        });
    }
    Ok(points)
}
