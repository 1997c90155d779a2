//! A whole quantized model on the accelerator: every stage of the fixed-point program, timed
//! by one of the two engines over the scheduler's plan, its numerics checked against the
//! integer reference.
//!
//! * **exact**: each fold runs register by register ([`crate::exact`]); partial sums are added
//!   in step order and requantized by the reference's requantization unit definition; every
//!   array layer's output is compared with the integer reference element by element.
//! * **fast**: each fold's cycles in closed form ([`crate::fast`]); numerics are the
//!   reference's.
//!
//! Both time memory with [`crate::timeline`], so their per-layer cycles are equal whenever the
//! exact engine's measured fold cycles equal the closed form (property-tested).
//!
//! Vector stages run the reference's definition of each op (the vector unit's numerics are
//! those functions; the RTL is their independent check) and are timed by lanes and cycles per
//! op, between reading their input from DRAM and writing their output back (store and forward).

pub(crate) mod array;
pub mod category;
pub(crate) mod dynamic;
pub(crate) mod matmul;
pub mod report;
pub(crate) mod sram;

pub use category::Category;
pub use report::{CategoryReport, LayerReport, Mismatch, SimReport, Sram, Traffic};

use systole_compiler::fxir::{Program, StageKind, TensorId};
use systole_compiler::reference::int::{self as reference, Codes};
use systole_compiler::schedule::{Schedule, Work};
use systole_compiler::Tensor;
use systole_hw::Accelerator;

use crate::energy::EnergyTable;
use crate::error::{Result, SimError};
use crate::exact::Observer;
use crate::timeline::{self, StepCost};

/// Which engine times the folds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Exact,
    Fast,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Exact => "exact",
            Engine::Fast => "fast",
        }
    }
}

/// Receives the array's registers during an exact run (waveforms). Layers and folds are
/// announced with their global start cycle; the observer then sees the fold's cycles from 0.
pub trait Probe {
    fn begin_layer(&mut self, index: u32, name: &str, start_cycle: u64);
    fn begin_fold(&mut self, fold: u64, start_cycle: u64);
    fn observer(&mut self) -> &mut dyn Observer;
    /// Called once at the end with the last cycle of the run.
    fn end(&mut self, total_cycles: u64);
}

/// The result of [`simulate`].
pub struct Simulation {
    pub report: SimReport,
    /// Output codes of the program, `[batch × output len]`.
    pub output: Codes,
}

/// What a program reads: a real-valued batch (its `Quantize` stage), or integer codes for its
/// [`Program::int_inputs`] (token ids, an attention mask).
#[derive(Clone, Copy)]
pub enum Inputs<'a> {
    /// `[batch, input...]`, float.
    Real(&'a Tensor),
    /// One code vector per integer input, in `int_inputs` order, `batch × len` each.
    Int { codes: &'a [Vec<i32>], batch: usize },
}

/// Runs the program `p` on `hw` as `s` plans it, over the batch `x` (`[batch, input...]`).
pub fn simulate(
    p: &Program,
    s: &Schedule,
    hw: &Accelerator,
    x: &Tensor,
    engine: Engine,
    probe: Option<&mut dyn Probe>,
) -> Result<Simulation> {
    simulate_inputs(p, s, hw, Inputs::Real(x), engine, probe)
}

/// [`simulate`] for any kind of program input: an encoder's token ids and mask as integer codes.
pub fn simulate_inputs(
    p: &Program,
    s: &Schedule,
    hw: &Accelerator,
    inputs: Inputs<'_>,
    engine: Engine,
    probe: Option<&mut dyn Probe>,
) -> Result<Simulation> {
    check(p, s, hw, inputs)?;
    // The reference's every tensor, to compare with (and to feed the fast engine).
    let mut expected: Vec<Codes> = vec![Vec::new(); p.stages.len()];
    let mut keep = |i: usize, y: &[i32]| expected[i] = y.to_vec();
    match inputs {
        Inputs::Real(x) => reference::run_observed(p, x, &mut keep)?,
        Inputs::Int { codes, batch } => reference::run_int(p, codes, batch, &mut keep)?,
    };
    simulate_inputs_against(p, s, hw, inputs, engine, probe, &expected)
}

/// The schedule against the program and the description, and the batch against the schedule;
/// returns the batch size.
fn check(p: &Program, s: &Schedule, hw: &Accelerator, inputs: Inputs<'_>) -> Result<usize> {
    s.validate(p)?;
    if !array::same_array(s, hw) {
        return Err(SimError::WrongArray {
            rows: s.rows,
            cols: s.cols,
            dataflow: s.dataflow,
            hw: hw.name.clone(),
            hw_rows: hw.rows,
            hw_cols: hw.cols,
            hw_dataflow: hw.dataflow,
        });
    }
    let input_err = |name: &str, msg: String| {
        SimError::Compiler(systole_compiler::Error::Input {
            name: name.to_string(),
            msg,
        })
    };
    let names = || {
        p.int_inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (batch, name) = match inputs {
        Inputs::Real(x) => {
            if !p.int_inputs.is_empty() {
                return Err(input_err(
                    "input",
                    format!(
                        "the program '{}' reads integer inputs ({}), not a real-valued batch",
                        p.name,
                        names()
                    ),
                ));
            }
            (reference::check_input(p, x)?, p.input_name.clone())
        }
        Inputs::Int { codes, batch } => {
            if p.int_inputs.is_empty() || codes.len() != p.int_inputs.len() {
                return Err(input_err(
                    "input",
                    format!(
                        "{} integer inputs given, the program '{}' takes {} ({})",
                        codes.len(),
                        p.name,
                        p.int_inputs.len(),
                        names()
                    ),
                ));
            }
            for (inp, c) in p.int_inputs.iter().zip(codes) {
                let len = p.tensor(inp.tensor).len();
                if c.len() != batch * len {
                    return Err(input_err(
                        &inp.name,
                        format!("{} codes for {batch} samples of {len}", c.len()),
                    ));
                }
            }
            let first = p.int_inputs.first().map(|i| i.name.clone());
            (batch, first.unwrap_or_default())
        }
    };
    if batch != s.batch {
        return Err(input_err(
            &name,
            format!(
                "{batch} samples, the schedule is for a batch of {}",
                s.batch
            ),
        ));
    }
    Ok(batch)
}

/// [`simulate`] against reference tensors the caller already has (`expected[i]`: stage `i`'s
/// output codes for the batch `x`, from `reference::run_observed`), so a caller that needs them
/// too (`verify`) runs the reference once.
pub fn simulate_against(
    p: &Program,
    s: &Schedule,
    hw: &Accelerator,
    x: &Tensor,
    engine: Engine,
    probe: Option<&mut dyn Probe>,
    expected: &[Codes],
) -> Result<Simulation> {
    simulate_inputs_against(p, s, hw, Inputs::Real(x), engine, probe, expected)
}

/// [`simulate_against`] for any kind of program input.
pub fn simulate_inputs_against(
    p: &Program,
    s: &Schedule,
    hw: &Accelerator,
    inputs: Inputs<'_>,
    engine: Engine,
    mut probe: Option<&mut dyn Probe>,
    expected: &[Codes],
) -> Result<Simulation> {
    let batch = check(p, s, hw, inputs)?;
    if expected.len() != p.stages.len() {
        // Callers pass what the integer reference observed, one tensor per stage.
        return Err(SimError::internal(format!(
            "{} reference tensors for {} stages",
            expected.len(),
            p.stages.len()
        )));
    }
    let no_real = Tensor::f32(vec![0], vec![]);
    let x = match inputs {
        Inputs::Real(x) => x,
        Inputs::Int { .. } => &no_real,
    };
    let et = EnergyTable::HOROWITZ_45NM;
    let pes = (hw.rows * hw.cols) as f64;
    let mut env: Vec<Option<Codes>> = vec![None; p.tensors.len()];
    if let Inputs::Int { codes, .. } = inputs {
        for (inp, c) in p.int_inputs.iter().zip(codes) {
            env[inp.tensor.0] = Some(c.clone());
        }
    }
    let categories = category::of_program(p);
    let mut layers = Vec::with_capacity(s.layers.len());
    let mut clock = 0u64;
    let mut first_mismatch: Option<Mismatch> = None;
    for (li, (l, st)) in s.layers.iter().zip(&p.stages).enumerate() {
        let out_info = p.tensor(st.output);
        let mut rep = LayerReport {
            name: st.name.clone(),
            stage: l.stage,
            unit: "host",
            category: categories[li].name(),
            start_cycle: clock,
            cycles: 0,
            compute_cycles: 0,
            stall_cycles: 0,
            sram_stall_cycles: 0,
            folds: 0,
            macs: 0,
            utilization: 0.0,
            mapping_efficiency: 0.0,
            sram: Sram::default(),
            dram_read_bytes: 0,
            dram_write_bytes: 0,
            energy_pj: 0.0,
            equal: None,
        };
        let mut produced: Option<(Codes, Vec<u64>)> = None;
        match (&l.work, &st.kind) {
            (Work::Host { .. }, _) => {}
            (Work::View, _) => rep.unit = "view",
            (Work::Copy { bytes }, _) => {
                rep.unit = "dma";
                let t = timeline::store_and_forward(hw, *bytes, 0, *bytes);
                rep.cycles = t.cycles;
                rep.stall_cycles = t.stall;
                rep.dram_read_bytes = *bytes;
                rep.dram_write_bytes = *bytes;
            }
            (Work::Gather { bytes, .. }, _) => {
                rep.unit = "dma";
                let t = timeline::store_and_forward(hw, *bytes, 0, *bytes);
                rep.cycles = t.cycles;
                rep.stall_cycles = t.stall;
                rep.dram_read_bytes = *bytes;
                rep.dram_write_bytes = *bytes;
                rep.energy_pj = (2 * *bytes) as f64 * et.dram_byte_pj;
            }
            (Work::Vector(v), _) => {
                rep.unit = "vector";
                let busy = hw.vector.cycles_for_elements(v.op, v.elements).unwrap_or(0);
                let t = timeline::store_and_forward(hw, v.in_bytes, busy, v.out_bytes);
                rep.cycles = t.cycles;
                rep.compute_cycles = t.compute;
                rep.stall_cycles = t.stall;
                rep.dram_read_bytes = v.in_bytes;
                rep.dram_write_bytes = v.out_bytes;
                rep.energy_pj = v.elements as f64 * et.vector_elem_pj
                    + (v.in_bytes + v.out_bytes) as f64 * et.dram_byte_pj;
            }
            (Work::Array(w), StageKind::Gemm(_) | StageKind::MatMul(_)) => {
                rep.unit = "array";
                // The operands each of the layer's GEMMs multiplies, from the simulator's own
                // tensors (the exact engine) or the reference's.
                let ops = || -> Result<array::Operands> {
                    let get = |t: TensorId| env_or(&env, expected, p, t);
                    match &st.kind {
                        StageKind::Gemm(g) => {
                            let zx = p.tensor(st.inputs[0]).format.zero_point() as i32;
                            Ok(vec![array::operands(g, get(st.inputs[0]), zx, s.batch)])
                        }
                        StageKind::MatMul(mm) => {
                            // A dynamic layer's input 1 is its exponents, not an operand.
                            let b = match mm.dynamic {
                                true => None,
                                false => st.inputs.get(1).map(|&t| (get(t), &p.tensor(t).format)),
                            };
                            let af = p.tensor(st.inputs[0]).format;
                            matmul::operands(w, mm, get(st.inputs[0]), &af, b, batch)
                        }
                        // `Schedule::validate`: array work only for array stages.
                        _ => Err(SimError::internal(format!(
                            "layer '{}': array work for a stage that is not an array stage",
                            st.name
                        ))),
                    }
                };
                let (compute, codes) = match engine {
                    Engine::Fast => (
                        w.steps.iter().map(|x| array::fast_cycles(s, x)).collect(),
                        None,
                    ),
                    Engine::Exact => {
                        let get = |t: TensorId| env_or(&env, expected, p, t);
                        let rows = match &st.kind {
                            StageKind::Gemm(_) => batch,
                            _ => w.m,
                        };
                        let exps = match dynamic::is_dynamic_array(st) {
                            true => Some(dynamic::row_exponents(p, st, rows, &get)?),
                            false => None,
                        };
                        let run = match &st.kind {
                            StageKind::Gemm(g) => {
                                let xin = get(st.inputs[0]);
                                let zx = p.tensor(st.inputs[0]).format.zero_point() as i32;
                                array::exact_layer(s, w, g, xin, zx, exps)?
                            }
                            StageKind::MatMul(mm) => matmul::exact_layer(s, w, mm, &ops()?, exps)?,
                            _ => {
                                return Err(SimError::internal(format!(
                                    "layer '{}': array work for a stage that is not an array \
                                     stage",
                                    st.name
                                )))
                            }
                        };
                        (run.cycles, Some((run.codes, run.finished_by)))
                    }
                };
                let costs: Vec<StepCost> = w
                    .steps
                    .iter()
                    .zip(&compute)
                    .map(|(st, &c)| StepCost {
                        load_ifmap: st.load_ifmap,
                        load_filter: st.load_filter,
                        compute: c,
                        sram: sram::cycles(hw, w, st),
                        store: st.store,
                    })
                    .collect();
                let t = timeline::array_layer(hw, &costs);
                if let (Some(pr), Engine::Exact) = (probe.as_deref_mut(), engine) {
                    pr.begin_layer(li as u32, &st.name, clock);
                    let starts: Vec<u64> = t.fold_start.iter().map(|c| c + clock).collect();
                    array::observe_steps(s, w, &ops()?, &starts, pr)?;
                }
                rep.cycles = t.cycles;
                rep.compute_cycles = t.compute;
                rep.stall_cycles = t.stall;
                rep.sram_stall_cycles = t.sram_stall;
                rep.folds = w.steps.len() as u64;
                rep.macs = (w.groups * w.m * w.k * w.n) as u64;
                rep.utilization = rep.macs as f64 / (t.cycles.max(1) as f64 * pes);
                let mapped: f64 = w
                    .steps
                    .iter()
                    .map(|x| {
                        let (r, c) = systole_compiler::schedule::spatial(s.dataflow, x);
                        (r * c) as f64 / pes
                    })
                    .sum();
                rep.mapping_efficiency = mapped / w.steps.len().max(1) as f64;
                let mut sram = Sram::default();
                for x in &w.steps {
                    let (m, k, n) = (x.m.len as u64, x.k.len as u64, x.n.len as u64);
                    sram.ifmap.writes += x.load_ifmap;
                    sram.filter.writes += x.load_filter;
                    sram.ifmap.reads += m * k * w.act_bytes;
                    sram.filter.reads += k * n * w.weight_bytes;
                    sram.ofmap.writes += m * n * w.acc_bytes;
                    if x.accumulate {
                        sram.ofmap.reads += m * n * w.acc_bytes;
                    }
                    sram.ofmap.reads += x.store;
                    rep.dram_read_bytes += x.load_ifmap + x.load_filter;
                    rep.dram_write_bytes += x.store;
                }
                rep.sram = sram;
                rep.energy_pj = rep.macs as f64 * et.mac_pj
                    + sram.bytes() as f64 * et.sram_byte_pj
                    + (rep.dram_read_bytes + rep.dram_write_bytes) as f64 * et.dram_byte_pj
                    + (w.groups * w.m * w.n) as f64 * et.requant_pj;
                if let Some((codes, by)) = codes {
                    let ends: Vec<u64> = t.fold_end.iter().map(|c| c + clock).collect();
                    let cycle_of = |i: usize| ends.get(by[i] as usize).copied().unwrap_or(0);
                    produced = Some((codes, (0..by.len()).map(cycle_of).collect()));
                }
            }
            (Work::Array(_), _) => {
                return Err(SimError::internal(format!(
                    "layer '{}': array work for a stage that is not an array stage",
                    st.name
                )))
            }
        }
        // Numerics: the exact engine's array output, otherwise the stage's definition.
        let y = match produced {
            Some((codes, cycles)) => {
                let found = compare(&st.name, out_info, &codes, &expected[li], &cycles);
                rep.equal = Some(found.is_none());
                if first_mismatch.is_none() {
                    first_mismatch = found;
                }
                codes
            }
            None => match engine {
                Engine::Fast => expected[li].clone(),
                Engine::Exact => {
                    let y =
                        reference::exec_stage(p, li, x, batch, &|t| env_or(&env, expected, p, t));
                    if dynamic::is_dynamic_vector(st) {
                        // The exponents and codes the array's requantizer and operands use.
                        let at = vec![clock.saturating_add(rep.cycles); y.len()];
                        let found = compare(&st.name, out_info, &y, &expected[li], &at);
                        rep.equal = Some(found.is_none());
                        if first_mismatch.is_none() {
                            first_mismatch = found;
                        }
                    }
                    y
                }
            },
        };
        clock = clock.saturating_add(rep.cycles);
        env[st.output.0] = Some(y);
        layers.push(rep);
    }
    if let Some(pr) = probe {
        pr.end(clock);
    }
    let sum = |f: fn(&LayerReport) -> u64| layers.iter().map(f).fold(0u64, u64::saturating_add);
    let total_cycles = clock;
    let macs = sum(|l| l.macs);
    let latency_s = total_cycles as f64 * hw.cycle_seconds();
    // `Program::validate` checks that a stage produces the output, and every stage ran.
    let output = env[p.output.0].take().ok_or_else(|| {
        SimError::internal(format!(
            "program '{}': output t{} was not produced",
            p.name, p.output.0
        ))
    })?;
    let equal = match engine {
        Engine::Exact => Some(first_mismatch.is_none()),
        Engine::Fast => None,
    };
    let report = SimReport {
        program: p.name.clone(),
        hw: hw.name.clone(),
        engine: engine.name(),
        batch,
        rows: hw.rows,
        cols: hw.cols,
        dataflow: hw.dataflow,
        clock_mhz: hw.clock_mhz,
        total_cycles,
        compute_cycles: sum(|l| l.compute_cycles),
        stall_cycles: sum(|l| l.stall_cycles),
        macs,
        utilization: macs as f64 / (total_cycles.max(1) as f64 * pes),
        dram_read_bytes: sum(|l| l.dram_read_bytes),
        dram_write_bytes: sum(|l| l.dram_write_bytes),
        energy_pj: layers.iter().map(|l| l.energy_pj).sum(),
        latency_s,
        inferences_per_s: if latency_s > 0.0 {
            batch as f64 / latency_s
        } else {
            0.0
        },
        equal,
        mismatch: first_mismatch,
        energy_table: et,
        categories: CategoryReport::of(&layers, pes),
        layers,
    };
    Ok(Simulation { report, output })
}

/// The first element where the simulator's codes differ from the reference's.
fn compare(
    layer: &str,
    tensor: &systole_compiler::fxir::TensorInfo,
    got: &[i32],
    want: &[i32],
    cycles: &[u64],
) -> Option<Mismatch> {
    let per = tensor.len().max(1);
    let i = match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(i) => i,
        None if got.len() == want.len() => return None,
        None => got.len().min(want.len()),
    };
    Some(Mismatch {
        layer: layer.to_string(),
        tensor: tensor.name.clone(),
        index: [i / per, i % per],
        expected: want.get(i).copied().unwrap_or(0),
        got: got.get(i).copied().unwrap_or(0),
        cycle: cycles.get(i).copied().unwrap_or(0),
    })
}

/// The simulator's own copy of tensor `t` (the exact engine's numerics), or the reference's
/// when the producing stage is not one the simulator recomputes.
fn env_or<'a>(
    env: &'a [Option<Codes>],
    expected: &'a [Codes],
    p: &Program,
    t: systole_compiler::fxir::TensorId,
) -> &'a [i32] {
    match &env[t.0] {
        Some(c) => c,
        None => {
            let i = p.stages.iter().position(|s| s.output == t).unwrap_or(0);
            &expected[i]
        }
    }
}

#[cfg(test)]
mod tests {
    use systole_compiler::fxir::TensorInfo;
    use systole_compiler::quant::Format;

    #[test]
    fn a_mismatch_names_layer_tensor_sample_index_values_and_cycle() {
        let t = TensorInfo {
            name: "relu1:0".into(),
            shape: vec![2, 3],
            format: Format::binary_point(true, 8, 0),
        };
        let want = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let mut got = want;
        assert!(super::compare("conv1", &t, &got, &want, &[0; 12]).is_none());
        got[8] = -9;
        let cycles: Vec<u64> = (100..112).collect();
        let m = super::compare("conv1", &t, &got, &want, &cycles).unwrap();
        assert_eq!((m.index, m.expected, m.got, m.cycle), ([1, 2], 9, -9, 108));
        let text = m.to_string();
        for needle in [
            "conv1",
            "relu1:0",
            "sample 1 index 2",
            "reference 9",
            "simulator -9",
            "cycle 108",
        ] {
            assert!(text.contains(needle), "{text}");
        }
    }
}
