//! `systole verify`: the chain of truth on one build directory. The integer reference defines
//! every code; the exact simulator must equal it (bit for bit); the RTL must equal both (every
//! tensor it writes) and the simulator's timing (every layer's start and length, in cycles).
//!
//! The verdict is per layer so that a failure points at the first stage to look at, and each
//! finding names the layer, the tensor, the first differing index, both values and the cycle.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use systole_compiler::backend::BuildDir;
use systole_compiler::fxir::StageKind;
use systole_compiler::reference::int as reference;
use systole_compiler::schedule::Work;
use systole_compiler::Tensor;

use crate::error::Result;
use crate::model::{self, Engine, Mismatch};
use crate::rtl::{self, RtlRun, RtlTool};

/// One layer under one RTL simulator.
#[derive(Clone, Debug, Serialize)]
pub struct RtlLayerCheck {
    pub tool: RtlTool,
    pub start_cycle: u64,
    pub cycles: u64,
    /// Start and length equal the simulator's.
    pub cycles_equal: bool,
    /// The tensor the RTL wrote equals the reference (None: the layer writes nothing, a view or
    /// a host layer).
    pub equal: Option<bool>,
    pub mismatch: Option<Mismatch>,
}

/// One schedule layer: what the simulator did and what each RTL run did.
#[derive(Clone, Debug, Serialize)]
pub struct LayerCheck {
    pub index: usize,
    pub name: String,
    /// `array`, `vector`, `dma`, `view` or `host`.
    pub unit: &'static str,
    pub tensor: String,
    pub sim_start_cycle: u64,
    pub sim_cycles: u64,
    /// The exact simulator's output equals the reference (None where it does not recompute).
    pub sim_equal: Option<bool>,
    pub rtl: Vec<RtlLayerCheck>,
}

/// One RTL simulator over the whole program.
#[derive(Clone, Debug, Serialize)]
pub struct RtlSummary {
    pub tool: RtlTool,
    pub total_cycles: u64,
    pub equal: bool,
    pub cycles_equal: bool,
    pub build_seconds: f64,
    pub run_seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub program: String,
    pub hw: String,
    pub batch: usize,
    pub layers: Vec<LayerCheck>,
    pub sim_total_cycles: u64,
    pub sim_equal: bool,
    pub rtl: Vec<RtlSummary>,
    /// The first finding, in layer order: a differing code or differing cycles.
    pub first_failure: Option<String>,
    pub equal: bool,
    pub reference_seconds: f64,
    pub sim_seconds: f64,
}

/// The first element where `got` differs from `want` (index within the batch).
fn first_diff(
    layer: &str,
    tensor: &str,
    per: usize,
    got: &[i32],
    want: &[i32],
    cycle: u64,
) -> Option<Mismatch> {
    let i = match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(i) => i,
        None if got.len() == want.len() => return None,
        None => got.len().min(want.len()),
    };
    let per = per.max(1);
    Some(Mismatch {
        layer: layer.to_string(),
        tensor: tensor.to_string(),
        index: [i / per, i % per],
        expected: want.get(i).copied().unwrap_or(0),
        got: got.get(i).copied().unwrap_or(0),
        cycle,
    })
}

/// Runs the reference, the exact simulator and, for each of `tools`, the RTL on the batch `x`
/// (already cut to the build's batch). `work` is a scratch directory for the RTL builds.
/// `progress` hears what starts next (long RTL builds).
pub fn verify(
    b: &BuildDir,
    x: &Tensor,
    tools: &[RtlTool],
    work: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<VerifyReport> {
    let (p, s, hw) = (&b.program, &b.schedule, &b.hw);
    if !tools.is_empty() {
        rtl::supported(p, Some((s, hw)), "verify")?;
    }
    progress("integer reference");
    let t0 = Instant::now();
    let mut expected: Vec<Vec<i32>> = vec![Vec::new(); p.stages.len()];
    reference::run_observed(p, x, &mut |i, y| expected[i] = y.to_vec())?;
    let reference_seconds = t0.elapsed().as_secs_f64();

    progress("exact simulator");
    let t1 = Instant::now();
    let sim = model::simulate_against(p, s, hw, x, Engine::Exact, None, &expected)?.report;
    let sim_seconds = t1.elapsed().as_secs_f64();

    // The codes the host hands the accelerator: the input quantizer's output.
    let input_codes = p
        .stages
        .iter()
        .position(|st| matches!(st.kind, StageKind::Quantize { .. }))
        .map(|i| expected[i].clone())
        .unwrap_or_default();
    let mut runs: Vec<RtlRun> = Vec::new();
    for &tool in tools {
        progress(&format!("RTL under {} (build and run)", tool.name()));
        let dir = work.join(tool.name());
        std::fs::create_dir_all(&dir).map_err(|e| crate::SimError::Io {
            path: dir.clone(),
            source: e,
        })?;
        runs.push(rtl::run(&b.dir, p, s, hw, &input_codes, tool, &dir)?);
    }

    let mut layers = Vec::with_capacity(s.layers.len());
    let mut first_failure: Option<String> = None;
    let mut note = |f: String| {
        if first_failure.is_none() {
            first_failure = Some(f);
        }
    };
    if let Some(m) = &sim.mismatch {
        note(format!("exact simulator: {m}"));
    }
    for (li, (l, st)) in s.layers.iter().zip(&p.stages).enumerate() {
        let sr = &sim.layers[li];
        let out = p.tensor(st.output);
        let writes = matches!(l.work, Work::Array(_) | Work::Vector(_) | Work::Copy { .. });
        let mut rtl_checks = Vec::new();
        for run in &runs {
            let tool = run.tool.name();
            let (start, cycles) = run
                .layers
                .iter()
                .find(|r| r.index == li)
                .map_or((u64::MAX, u64::MAX), |r| (r.start_cycle, r.cycles));
            let cycles_equal = start == sr.start_cycle && cycles == sr.cycles;
            if !cycles_equal {
                note(format!(
                    "{tool}: layer {li} '{}': RTL starts at cycle {start} and takes {cycles}, \
                     the simulator starts at {} and takes {}",
                    st.name, sr.start_cycle, sr.cycles
                ));
            }
            let (equal, mismatch) = if writes {
                let end = start.saturating_add(cycles);
                let m = match run.tensors.get(&st.output.0) {
                    Some(got) => {
                        first_diff(&st.name, &out.name, out.len(), got, &expected[li], end)
                    }
                    None => first_diff(&st.name, &out.name, out.len(), &[], &expected[li], end),
                };
                if let Some(m) = &m {
                    note(format!(
                        "{tool}: layer '{}': tensor '{}' differs at sample {} index {}: \
                         reference {}, RTL {} (the layer ends at cycle {})",
                        m.layer, m.tensor, m.index[0], m.index[1], m.expected, m.got, m.cycle
                    ));
                }
                (Some(m.is_none()), m)
            } else {
                (None, None)
            };
            rtl_checks.push(RtlLayerCheck {
                tool: run.tool,
                start_cycle: start,
                cycles,
                cycles_equal,
                equal,
                mismatch,
            });
        }
        layers.push(LayerCheck {
            index: li,
            name: st.name.clone(),
            unit: sr.unit,
            tensor: out.name.clone(),
            sim_start_cycle: sr.start_cycle,
            sim_cycles: sr.cycles,
            sim_equal: sr.equal,
            rtl: rtl_checks,
        });
    }
    let rtl: Vec<RtlSummary> = runs
        .iter()
        .enumerate()
        .map(|(ri, run)| {
            let per_layer = layers.iter().map(|l| &l.rtl[ri]);
            let mut cycles_equal = true;
            let mut equal = true;
            for c in per_layer {
                cycles_equal &= c.cycles_equal;
                equal &= c.equal != Some(false);
            }
            RtlSummary {
                tool: run.tool,
                total_cycles: run.total_cycles,
                equal,
                cycles_equal: cycles_equal && run.total_cycles == sim.total_cycles,
                build_seconds: run.build_seconds,
                run_seconds: run.run_seconds,
            }
        })
        .collect();
    for r in &rtl {
        if r.total_cycles != sim.total_cycles {
            note(format!(
                "{}: the RTL ran {} cycles in all, the simulator {}",
                r.tool.name(),
                r.total_cycles,
                sim.total_cycles
            ));
        }
    }
    let sim_equal = sim.equal == Some(true);
    let equal = sim_equal && rtl.iter().all(|r| r.equal && r.cycles_equal);
    Ok(VerifyReport {
        program: p.name.clone(),
        hw: hw.name.clone(),
        batch: s.batch,
        layers,
        sim_total_cycles: sim.total_cycles,
        sim_equal,
        rtl,
        first_failure,
        equal,
        reference_seconds,
        sim_seconds,
    })
}
