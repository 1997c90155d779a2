//! The charts of `systole simulate --plot-dir`: cycles (compute and stall) and array utilization
//! per layer, and for an encoder its cycles per block split into attention, FFN and other.

use systole_compiler::fxir::Program;
use systole_sim::model::category::{encoder_blocks, Category};
use systole_sim::model::SimReport;

use crate::error::Result;
use crate::plot::grouped_bars;

/// The charts of a simulation of `prog`, as `(file name, SVG)`.
pub fn simulation_plots(prog: &Program, r: &SimReport) -> Result<Vec<(&'static str, String)>> {
    let labels: Vec<String> = r.layers.iter().map(|l| short(&l.name)).collect();
    let cycles = grouped_bars(
        &format!("{} on {}: cycles per layer", r.program, r.hw),
        "cycles",
        &labels,
        &[
            (
                "compute".into(),
                r.layers.iter().map(|l| l.compute_cycles as f64).collect(),
            ),
            (
                "stall".into(),
                r.layers.iter().map(|l| l.stall_cycles as f64).collect(),
            ),
        ],
        true,
    )?;
    let util = grouped_bars(
        &format!("{} on {}: array utilization", r.program, r.hw),
        "%",
        &labels,
        &[
            (
                "utilization".into(),
                r.layers.iter().map(|l| 100.0 * l.utilization).collect(),
            ),
            (
                "mapping efficiency".into(),
                r.layers
                    .iter()
                    .map(|l| 100.0 * l.mapping_efficiency)
                    .collect(),
            ),
        ],
        false,
    )?;
    let mut svgs = vec![("cycles.svg", cycles), ("utilization.svg", util)];
    if !prog.int_inputs.is_empty() {
        svgs.push(("categories.svg", category_plot(prog, r)?));
    }
    Ok(svgs)
}

/// The last path component of a node name, for chart labels.
fn short(name: &str) -> String {
    let s = name.rsplit('/').nth(1).unwrap_or(name);
    s.chars().take(14).collect()
}

/// An encoder's cycles per block (embeddings, each layer) split into attention, FFN and other.
fn category_plot(prog: &Program, r: &SimReport) -> Result<String> {
    let blocks = encoder_blocks(prog);
    let labels: Vec<String> = blocks.iter().map(|b| b.0.clone()).collect();
    let series: Vec<(String, Vec<f64>)> = [Category::Attention, Category::Ffn, Category::Other]
        .iter()
        .map(|c| {
            let per_block = blocks
                .iter()
                .map(|(_, a, b)| {
                    r.layers[*a..*b]
                        .iter()
                        .filter(|l| l.category == c.name())
                        .map(|l| l.cycles as f64)
                        .sum()
                })
                .collect();
            (c.name().to_string(), per_block)
        })
        .collect();
    grouped_bars(
        &format!(
            "{} on {}, batch {}: cycles per encoder block by category",
            r.program, r.hw, r.batch
        ),
        "cycles",
        &labels,
        &series,
        false,
    )
}
