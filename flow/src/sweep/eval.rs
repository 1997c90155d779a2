//! One design point: build its description, schedule the program, time it on the fast engine,
//! cost it on every target. A point the scheduler refuses, or that does not fit a target, is
//! a record too, with the resource that binds.

use serde::{Deserialize, Serialize};
use systole_compiler::fxir::Program;
use systole_compiler::schedule;
use systole_hw::cost::{asic, fpga, Target};
use systole_hw::{Accelerator, Dataflow, Operand};

use super::space::{Point, Space};
use systole_sim::model::{self, Engine, SimReport};

/// A quantized program of one bit-width allocation, with the widths its array needs.
pub struct Alloc {
    pub label: String,
    pub program: Program,
    /// Top-1 accuracy on the evaluation data (integer reference), when data was given.
    pub accuracy: Option<f64>,
    pub input_bits: u32,
    pub weight_bits: u32,
    pub acc_bits: u32,
    /// The program as a `.sysq` file, written beside the best design's description.
    pub sysq: Vec<u8>,
}

impl Alloc {
    /// The widths the program's array stages need: the widest activation, decoded weight and
    /// proven accumulator (at least an int8 product and 32 bits, the presets' accumulator).
    pub fn new(label: String, program: Program, accuracy: Option<f64>) -> Alloc {
        let (mut a, mut w, mut acc) = (1u32, 1u32, 1u32);
        for (st, g) in program.gemms() {
            a = a.max(program.tensor(st.inputs[0]).format.bits);
            w = w.max(g.weights.operand_bits());
            acc = acc.max(g.acc_bits);
        }
        // The encoder's matmuls, with the widths the scheduler checks.
        for st in &program.stages {
            if let systole_compiler::fxir::StageKind::MatMul(m) = &st.kind {
                let b = st.inputs.get(1).map(|&t| program.tensor(t));
                let (ab, bb) = schedule::matmul_operand_bits(m, program.tensor(st.inputs[0]), b);
                a = a.max(ab);
                w = w.max(bb);
                acc = acc.max(m.acc_bits);
            }
        }
        let acc = acc.max(32).max(a + w);
        Alloc {
            label,
            program,
            accuracy,
            input_bits: a,
            weight_bits: w,
            acc_bits: acc,
            sysq: Vec::new(),
        }
    }
}

/// A point's cost on one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetCost {
    pub target: String,
    /// Scheduled, and fits the target's resources and clock.
    pub feasible: bool,
    /// What binds when not feasible: `lut`, `ff`, `dsp`, `bram`, `large_ram`, `clock`, or the
    /// scheduler's refusal (`buffers.filter`, `input_bits`, …).
    pub binding: Option<String>,
    /// FPGA: the largest fraction of any resource used (the cost axis of the Pareto front).
    pub resource_utilization: Option<f64>,
    pub lut: Option<u64>,
    pub ff: Option<u64>,
    pub dsp: Option<u64>,
    pub bram: Option<u64>,
    pub large_ram: Option<u64>,
    /// ASIC: silicon area, mm².
    pub area_mm2: Option<f64>,
    /// Energy per inference, µJ (ASIC: at the target's node; FPGA: the 45 nm reference table,
    /// a relative figure).
    pub energy_uj: Option<f64>,
}

/// Everything known about one point: one line of `points.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub index: u64,
    pub rows: usize,
    pub cols: usize,
    pub dataflow: String,
    pub buffer_kib: u64,
    pub bits: String,
    pub input_bits: u32,
    pub weight_bits: u32,
    pub clock_mhz: f64,
    pub dram_bytes_per_cycle: f64,
    pub accuracy: Option<f64>,
    /// The scheduler's refusal, when it refused.
    pub error: Option<String>,
    pub cycles: Option<u64>,
    pub latency_s: Option<f64>,
    pub inferences_per_s: Option<f64>,
    pub utilization: Option<f64>,
    pub dram_bytes: Option<u64>,
    pub targets: Vec<TargetCost>,
}

pub fn dataflow_name(d: Dataflow) -> &'static str {
    match d {
        Dataflow::WeightStationary => "ws",
        Dataflow::OutputStationary => "os",
        Dataflow::InputStationary => "is",
    }
}

/// The field a scheduler refusal names, from its message (`(input_bits)`, `the filter buffer`).
pub fn refusal_field(msg: &str) -> String {
    for f in ["input_bits", "weight_bits", "acc_bits"] {
        if msg.contains(&format!("({f})")) {
            return f.to_string();
        }
    }
    for b in ["ifmap", "filter", "ofmap"] {
        if msg.contains(&format!("{b} buffer")) {
            return format!("buffers.{b}");
        }
    }
    if msg.contains("vector") {
        return "vector".into();
    }
    "schedule".into()
}

/// Energy (pJ) of a run at an ASIC node: MACs, SRAM bytes by buffer size, DRAM bytes.
pub fn energy_pj(r: &SimReport, hw: &Accelerator, node: &asic::Node) -> f64 {
    let mac = asic::mac_pj(hw.input_bits, hw.weight_bits, hw.acc_bits, node);
    let e = |op: Operand| asic::sram_byte_pj(hw.buffer_bytes(op), node);
    let (ei, ef, eo) = (e(Operand::Ifmap), e(Operand::Filter), e(Operand::Ofmap));
    let mut pj = r.macs as f64 * mac;
    for l in &r.layers {
        pj += (l.sram.ifmap.reads + l.sram.ifmap.writes) as f64 * ei
            + (l.sram.filter.reads + l.sram.filter.writes) as f64 * ef
            + (l.sram.ofmap.reads + l.sram.ofmap.writes) as f64 * eo;
    }
    pj + (r.dram_read_bytes + r.dram_write_bytes) as f64 * asic::dram_byte_pj()
}

/// The description of point `p` with allocation `a`.
pub fn accelerator(space: &Space, p: &Point, a: &Alloc) -> Accelerator {
    let mut hw = p.accelerator(space, a.input_bits, a.weight_bits, a.acc_bits);
    add_program_ops(&mut hw, &a.program);
    hw
}

/// An encoder program's vector unit also gets the ops its stages need (`Softmax`, `LayerNorm`,
/// `Gelu`), at transformer-128x128's cycles per element group (4, 3, 2), so they are timed on
/// the accelerator rather than left to the host; a dynamic program's gets `RowMax` (its
/// exponents' max-reduction, at the unit's `cycles_per_op`); a static CNN/MLP's description is
/// unchanged.
pub fn add_program_ops(hw: &mut Accelerator, program: &systole_compiler::fxir::Program) {
    use systole_compiler::fxir::{StageKind, VectorOp as Op};
    use systole_hw::VectorOp as HwOp;
    for st in &program.stages {
        let need = match &st.kind {
            StageKind::Vector(Op::MaskedSoftmax { .. }) => Some((HwOp::Softmax, 4)),
            StageKind::Vector(Op::LayerNorm { .. }) => Some((HwOp::LayerNorm, 3)),
            StageKind::Vector(Op::Gelu { .. }) => Some((HwOp::Gelu, 2)),
            StageKind::Vector(Op::DynamicExponent { .. }) => Some((HwOp::RowMax, 0)),
            _ => None,
        };
        if let Some((op, cycles)) = need {
            if !hw.vector.ops.contains(&op) {
                hw.vector.ops.push(op);
                if cycles > 0 {
                    hw.vector.op_cycles.insert(op, cycles);
                }
            }
        }
    }
}

/// Simulates point `p` (fast engine) and costs it on every target.
pub fn evaluate(
    space: &Space,
    p: &Point,
    a: &Alloc,
    x: model::Inputs<'_>,
    targets: &[Target],
) -> Record {
    let hw = accelerator(space, p, a);
    let mut rec = Record {
        index: p.index,
        rows: p.rows,
        cols: p.cols,
        dataflow: dataflow_name(p.dataflow).into(),
        buffer_kib: p.buffer_kib,
        bits: a.label.clone(),
        input_bits: a.input_bits,
        weight_bits: a.weight_bits,
        clock_mhz: p.clock_mhz,
        dram_bytes_per_cycle: p.dram_bytes_per_cycle,
        accuracy: a.accuracy,
        error: None,
        cycles: None,
        latency_s: None,
        inferences_per_s: None,
        utilization: None,
        dram_bytes: None,
        targets: Vec::new(),
    };
    let report = hw
        .validate()
        .map_err(|e| (e.to_string(), "description".to_string()))
        .and_then(|()| {
            schedule::schedule(&a.program, &hw, space.batch).map_err(|e| {
                let m = e.to_string();
                let f = refusal_field(&m);
                (m, f)
            })
        })
        .and_then(|s| {
            model::simulate_inputs(&a.program, &s, &hw, x, Engine::Fast, None)
                .map(|sim| sim.report)
                .map_err(|e| (e.to_string(), "simulate".to_string()))
        });
    let report = match report {
        Ok(r) => r,
        Err((msg, field)) => {
            rec.error = Some(msg);
            rec.targets = targets
                .iter()
                .map(|t| TargetCost {
                    target: t.name(),
                    feasible: false,
                    binding: Some(field.clone()),
                    resource_utilization: None,
                    lut: None,
                    ff: None,
                    dsp: None,
                    bram: None,
                    large_ram: None,
                    area_mm2: None,
                    energy_uj: None,
                })
                .collect();
            return rec;
        }
    };
    rec.cycles = Some(report.total_cycles);
    rec.latency_s = Some(report.latency_s);
    rec.inferences_per_s = Some(report.inferences_per_s);
    rec.utilization = Some(report.utilization);
    rec.dram_bytes = Some(report.dram_read_bytes + report.dram_write_bytes);
    let per_inf = 1e-6 / space.batch as f64;
    rec.targets = targets
        .iter()
        .map(|t| match t {
            Target::Fpga(part) => {
                let est = fpga::estimate(&hw, part);
                let mut binding = fpga::binding(&est.total, part).map(|b| b.0.to_string());
                if binding.is_none() && hw.clock_mhz > part.typical_mhz {
                    binding = Some("clock".into());
                }
                let ref45 = asic::Node::new(45).expect("45 nm is the table's own node");
                TargetCost {
                    target: t.name(),
                    feasible: binding.is_none(),
                    binding,
                    resource_utilization: Some(est.utilization),
                    lut: Some(est.total.lut),
                    ff: Some(est.total.ff),
                    dsp: Some(est.total.dsp),
                    bram: Some(est.total.bram),
                    large_ram: Some(est.total.large_ram),
                    area_mm2: None,
                    energy_uj: Some(energy_pj(&report, &hw, &ref45) * per_inf),
                }
            }
            Target::Asic(node) => TargetCost {
                target: t.name(),
                feasible: true,
                binding: None,
                resource_utilization: None,
                lut: None,
                ff: None,
                dsp: None,
                bram: None,
                large_ram: None,
                area_mm2: Some(asic::area(&hw, node).total_mm2),
                energy_uj: Some(energy_pj(&report, &hw, node) * per_inf),
            },
        })
        .collect();
    rec
}
