//! `systole quantize` as a library call: calibrate a model on data, take per-layer formats from
//! an allocation file or choose them under a budget (sensitivity analysis, a knapsack, and the
//! Pareto ladder of [`ladder`](crate::ladder)), lower, and measure the result against the float
//! model; and what a `.sysq` records of how it was made.

use std::path::Path;

use serde::Serialize;
use systole_compiler::fxir::{Program, StageKind, VectorOp};
use systole_compiler::ir::Graph;
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::quant::bitalloc::{solve, AllocFile, Layer};
use systole_compiler::quant::budget::Budget;
use systole_compiler::quant::calibrate::{calibrate, collect_hessians, Calibration};
use systole_compiler::quant::spec::{ActSpec, WeightSpec};
use systole_compiler::sysq::Provenance;
use systole_compiler::tensor::Tensor;

use crate::error::{FlowError, Result};
use crate::eval::run_float;
use crate::ladder::{self, ParetoPoint, Scoring};
use crate::sensitivity::{analyze, score};

/// Calibrates `g` on `calib` (batches of 64) and lowers it with `cfg`
/// ([`systole_compiler::lower::calibrate_and_lower`], with the flow's error type).
pub fn quantize(
    g: &Graph,
    calib: &Tensor,
    cfg: &QuantConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Program, Calibration)> {
    Ok(systole_compiler::lower::calibrate_and_lower(
        g, calib, cfg, progress,
    )?)
}

/// A search for per-layer formats under a budget.
#[derive(Debug, Clone)]
pub struct BudgetSearch {
    pub budget: Budget,
    /// Candidate weight formats of every layer.
    pub candidates: Vec<WeightSpec>,
    /// Candidate widths of a layer's input where another array layer alone produces it
    /// (`sensitivity::input_producer`); empty keeps the configuration's activations.
    pub act_candidates: Vec<ActSpec>,
}

/// What to quantize with: the configuration, then per-layer formats from an allocation file,
/// then (overriding those layers) a budget search.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub cfg: QuantConfig,
    pub alloc: Option<AllocFile>,
    pub budget: Option<BudgetSearch>,
}

/// A quantized model and what was measured on the way.
#[derive(Debug, Clone)]
pub struct Quantized {
    pub program: Program,
    /// The configuration the program was lowered with, per-layer formats included.
    pub cfg: QuantConfig,
    pub calibration: Calibration,
    /// Top-1 agreement with the float model on the calibration inputs.
    pub agreement: f64,
    /// With a budget: the allocations of the Pareto ladder.
    pub pareto: Vec<ParetoPoint>,
    /// With a budget: what the chosen allocation uses of it, in the budget's units.
    pub budget_used: Option<String>,
}

/// Calibrates `g` on `calib`, applies `opts.alloc`, searches `opts.budget`, lowers and scores.
///
/// Errors that name an input: [`FlowError::Calibration`] (the calibration data),
/// [`FlowError::AllocLayer`] and [`FlowError::AllocFormat`] (the allocation) and
/// [`FlowError::Infeasible`] (the budget).
pub fn quantize_model(
    g: &Graph,
    calib: &Tensor,
    opts: &Options,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Quantized> {
    let mut cfg = opts.cfg.clone();
    let mut cal =
        calibrate(g, calib, 64, progress).map_err(|source| FlowError::Calibration { source })?;
    if cfg.gptq || cfg.adaround || cfg.bias_correction {
        cal.hessians = collect_hessians(g, calib, 64)?;
    }
    let base = lower(g, &cal, &cfg)?;
    if let Some(alloc) = &opts.alloc {
        apply_alloc(&mut cfg, alloc, &base)?;
    }
    let float_out = run_float(g, calib)?.to_f32_vec();
    let on = Scoring {
        g,
        cal: &cal,
        x: calib,
        float_out: &float_out,
    };
    let mut pareto = Vec::new();
    let mut budget_used = None;
    if let Some(search) = &opts.budget {
        let total_w = base.weight_count();
        let budget = &search.budget;
        let layers = analyze(
            g,
            &cal,
            &cfg,
            &search.candidates,
            &search.act_candidates,
            calib,
            &float_out,
        )?;
        let costed = budget.costed(&layers);
        let pick = solve(&costed, budget.limit(total_w)).map_err(|min| FlowError::Infeasible {
            smallest: budget.describe(min, total_w),
        })?;
        budget_used = Some(budget.describe(ladder::cost(&pick, &costed), total_w));
        pareto = ladder::pareto(&on, &cfg, budget, &layers, &costed, total_w)?;
        set_pick(&mut cfg, &layers, &pick)?;
    }
    let program = lower(g, &cal, &cfg)?;
    let agreement = score(&program, calib, &float_out)?.agreement;
    Ok(Quantized {
        program,
        cfg,
        calibration: cal,
        agreement,
        pareto,
        budget_used,
    })
}

/// Sets the formats of an allocation file on `cfg`, refusing a layer `p` does not have and a
/// format that does not parse.
pub fn apply_alloc(cfg: &mut QuantConfig, alloc: &AllocFile, p: &Program) -> Result<()> {
    let names: Vec<String> = p.gemms().map(|(s, _)| s.name.clone()).collect();
    // Each entry names a layer of the program and a format string of type T.
    fn entries<T: std::str::FromStr<Err = E>, E: std::fmt::Display>(
        map: &std::collections::BTreeMap<String, String>,
        names: &[String],
        acts: bool,
    ) -> Result<Vec<(String, T)>> {
        map.iter()
            .map(|(layer, fmt)| {
                if !names.contains(layer) {
                    return Err(FlowError::AllocLayer {
                        acts,
                        layer: layer.clone(),
                        layers: names.to_vec(),
                    });
                }
                fmt.parse()
                    .map(|v| (layer.clone(), v))
                    .map_err(|e: E| FlowError::AllocFormat {
                        acts,
                        layer: layer.clone(),
                        msg: e.to_string(),
                    })
            })
            .collect()
    }
    for (layer, w) in entries::<WeightSpec, _>(&alloc.layers, &names, false)? {
        cfg.layers.entry(layer).or_default().weights = Some(w);
    }
    for (layer, a) in entries::<ActSpec, _>(&alloc.acts, &names, true)? {
        cfg.layers.entry(layer).or_default().acts = Some(a);
    }
    Ok(())
}

/// Sets a pick of the knapsack (one choice per layer) on `cfg`: each layer's weight format and,
/// where the choice has one, its producer's output format.
pub fn set_pick(cfg: &mut QuantConfig, layers: &[Layer], pick: &[usize]) -> Result<()> {
    for (l, &i) in layers.iter().zip(pick) {
        let c = &l.choices[i];
        let w: WeightSpec = c.format.parse()?;
        cfg.layers.entry(l.name.clone()).or_default().weights = Some(w);
        if let (Some(a), Some(prod)) = (c.acts, &l.producer) {
            cfg.layers.entry(prod.clone()).or_default().acts = Some(a);
        }
    }
    Ok(())
}

/// The allocation file of a quantized program (`--write-alloc`): every array layer's weight
/// format, and the activation formats `cfg` set per layer.
pub fn alloc_file(p: &Program, cfg: &QuantConfig) -> AllocFile {
    AllocFile {
        layers: p
            .gemms()
            .map(|(s, gs)| (s.name.clone(), gs.weights.coding.label()))
            .collect(),
        acts: cfg
            .layers
            .iter()
            .filter_map(|(n, c)| c.acts.map(|a| (n.clone(), a.to_string())))
            .collect(),
    }
}

/// One layer with weights (an array layer or an encoder's linear layer) as quantized.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub format: String,
    pub operand_bits: u32,
    /// Width of the activation codes the layer reads.
    pub input_bits: u32,
    pub acc_bits: u32,
    pub rom_bits: u64,
    pub zeros: usize,
}

/// Every layer of `p` with weights, in stage order.
pub fn layer_summaries(p: &Program) -> Vec<LayerSummary> {
    p.stages
        .iter()
        .filter_map(|s| match &s.kind {
            StageKind::Gemm(gs) => Some((s, &gs.weights, gs.acc_bits)),
            StageKind::MatMul(m) => m.weights.as_ref().map(|w| (s, w, m.acc_bits)),
            _ => None,
        })
        .map(|(s, w, acc_bits)| LayerSummary {
            name: s.name.clone(),
            format: w.coding.label(),
            operand_bits: w.operand_bits(),
            input_bits: s.inputs.first().map_or(0, |&t| p.tensor(t).format.bits),
            acc_bits,
            rom_bits: w.storage_bits(),
            zeros: w.zeros(),
        })
        .collect()
}

/// The inputs `p` quantizes at run time (`--dynamic`): its dynamic-exponent stages.
pub fn dynamic_inputs(p: &Program) -> usize {
    p.stages
        .iter()
        .filter(|s| matches!(s.kind, StageKind::Vector(VectorOp::DynamicExponent { .. })))
        .count()
}

/// The activation format for the provenance, `+dynamic` with `--dynamic`.
pub fn acts_label(cfg: &QuantConfig) -> String {
    if cfg.dynamic {
        format!("{}+dynamic", cfg.acts)
    } else {
        cfg.acts.to_string()
    }
}

/// The tool that made a `.sysq`: `systole` and its version.
pub fn tool() -> String {
    format!("systole {}", env!("CARGO_PKG_VERSION"))
}

/// What the `.sysq` of [`quantize_model`] records: the model, the calibration data (`calibration`
/// names it), the configuration and every array layer's weight format.
pub fn provenance(model: &Path, calibration: String, q: &Quantized) -> Provenance {
    Provenance {
        tool: tool(),
        model: model.display().to_string(),
        calibration,
        calibration_samples: q.calibration.samples,
        method: q.cfg.method.to_string(),
        acts: acts_label(&q.cfg),
        weights: q.cfg.weights.to_string(),
        per_channel: q.cfg.per_channel,
        layers: q
            .program
            .gemms()
            .map(|(s, gs)| (s.name.clone(), gs.weights.coding.label()))
            .collect(),
    }
}

/// What the `.sysq` of an encoder quantized on sentences records (`calibration` names the
/// sentences, split and sequence length): every linear layer's weight format, and SmoothQuant's
/// alpha with the method.
pub fn encoder_provenance(
    model: &Path,
    calibration: String,
    samples: usize,
    cfg: &QuantConfig,
    p: &Program,
) -> Provenance {
    Provenance {
        tool: tool(),
        model: model.display().to_string(),
        calibration,
        calibration_samples: samples,
        method: match cfg.smooth_alpha {
            Some(alpha) => format!("{}, SmoothQuant alpha {alpha}", cfg.method),
            None => cfg.method.to_string(),
        },
        acts: acts_label(cfg),
        weights: cfg.weights.to_string(),
        per_channel: cfg.per_channel,
        layers: layer_summaries(p)
            .into_iter()
            .map(|l| (l.name, l.format))
            .collect(),
    }
}

/// What the `.sysq` of an hls4ml-compatible lowering records: the precision file it followed.
pub fn hls4ml_provenance(model: &Path, config: &Path, p: &Program) -> Provenance {
    Provenance {
        tool: tool(),
        model: model.display().to_string(),
        method: format!("hls4ml:{}", config.display()),
        layers: p
            .gemms()
            .map(|(s, gs)| (s.name.clone(), gs.weights.coding.label()))
            .collect(),
        ..Provenance::default()
    }
}
