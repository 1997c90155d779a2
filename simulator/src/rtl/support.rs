//! What the whole-program RTL can run ([`supported`], the one check, called by `compile` before
//! scheduling and by `verify` and [`run`](super::run) on a build): everything else is refused
//! with the stage or layer, the field and what the RTL supports, before any tool is started.

use systole_compiler::fxir::{Program, StageKind, VectorOp};
use systole_compiler::quant::{Overflow, Rounding};
use systole_compiler::schedule::{elem_bytes, Schedule, Work};
use systole_hw::{Accelerator, Dataflow};

use crate::error::{Result, SimError};
use crate::model::{array, sram};

fn refuse(layer: &str, field: &str, msg: impl Into<String>) -> SimError {
    SimError::RtlUnsupported {
        layer: layer.to_string(),
        field: field.to_string(),
        msg: msg.into(),
    }
}

/// DRAM bytes per cycle as the integer the RTL's DMA lanes need.
pub(crate) fn bytes_per_cycle(hw: &Accelerator) -> Result<u64> {
    let b = hw.dram.bytes_per_cycle;
    if b.fract() != 0.0 || !(1.0..=64.0).contains(&b) {
        return Err(refuse(
            "-",
            "dram.bytes_per_cycle",
            format!("{b}: the RTL moves a whole number of bytes per cycle, 1..=64"),
        ));
    }
    Ok(b as u64)
}

/// Refuses what the whole-program RTL cannot run, naming the stage or the layer and field and
/// what the RTL supports; `what` is the verb that asks ("compile", "verify").
///
/// Without `plan`, the program alone: the stage kinds the backend and the RTL do not take yet,
/// which no accelerator description makes runnable (`compile` asks before scheduling, so it
/// still builds for every description). With `plan` (a schedule and the description it was made
/// for), also the array, the dataflow, the DMA, the buffers and the requantizers.
pub fn supported(p: &Program, plan: Option<(&Schedule, &Accelerator)>, what: &str) -> Result<()> {
    program_supported(p, what)?;
    match plan {
        Some((s, hw)) => plan_supported(p, s, hw),
        None => Ok(()),
    }
}

/// Refuses the integer program inputs (token ids), the encoder stages (row-major `MatMul`,
/// `Embed`, vector `Add`, `LayerNorm`, `Gelu`, `MaskedSoftmax`) and dynamic quantization
/// (`DynamicExponent`, `DynamicQuant`: no `RowMax` in the RTL's vector unit, no shifter in its
/// requantizer); names the first such stage. `simulate` and `sweep` run all of them on the
/// simulator's engines.
fn program_supported(p: &Program, what: &str) -> Result<()> {
    let refuse = |msg: String| SimError::RtlProgram { msg };
    let dynamic = p.stages.iter().find(|st| {
        matches!(
            st.kind,
            StageKind::Vector(VectorOp::DynamicExponent { .. } | VectorOp::DynamicQuant { .. })
        )
    });
    if let Some(st) = dynamic {
        return Err(refuse(format!(
            "{what} does not take dynamic quantization yet: stage '{}' is a run-time per-row exponent or quantizer (quantize --dynamic) and the RTL has no RowMax nor exponent shifter; `systole simulate` and `systole sweep` run it, or quantize without --dynamic",
            st.name
        )));
    }
    let encoder = p.stages.iter().find(|st| {
        matches!(
            st.kind,
            StageKind::MatMul(_)
                | StageKind::Embed(_)
                | StageKind::Vector(
                    VectorOp::Add { .. }
                        | VectorOp::LayerNorm { .. }
                        | VectorOp::Gelu { .. }
                        | VectorOp::MaskedSoftmax { .. }
                )
        )
    });
    match encoder {
        Some(st) => Err(refuse(format!(
            "{what} does not take the transformer encoder stages yet: stage '{}' is {}; `systole simulate` runs it (docs/transformers.md, Simulation)",
            st.name,
            match &st.kind {
                StageKind::MatMul(m) if m.weights.is_some() => "a row-major linear layer",
                StageKind::MatMul(_) => "an activation x activation matmul",
                StageKind::Embed(_) => "an embedding lookup",
                _ => "an encoder vector op (add, layernorm, gelu, masked softmax)",
            }
        ))),
        None if !p.int_inputs.is_empty() => Err(refuse(format!(
            "{what} does not take programs with integer inputs yet"
        ))),
        None => Ok(()),
    }
}

/// The plan's part of [`supported`]: the schedule, the description and every layer's work.
fn plan_supported(p: &Program, s: &Schedule, hw: &Accelerator) -> Result<()> {
    s.validate(p)?;
    if !array::same_array(s, hw) {
        return Err(refuse(
            "-",
            "rows/cols/dataflow",
            format!(
                "the schedule is for {}x{} {:?}, the description '{}' is {}x{} {:?}",
                s.rows, s.cols, s.dataflow, hw.name, hw.rows, hw.cols, hw.dataflow
            ),
        ));
    }
    if hw.dataflow == Dataflow::InputStationary {
        return Err(refuse(
            "-",
            "dataflow",
            "InputStationary: the whole-program RTL runs WeightStationary and OutputStationary",
        ));
    }
    let bpc = bytes_per_cycle(hw)?;
    if hw.dram.latency_cycles < 2 {
        return Err(refuse(
            "-",
            "dram.latency_cycles",
            format!(
                "{}: the RTL needs at least 2 (a store's first beat must follow the fold's last \
                 sum)",
                hw.dram.latency_cycles
            ),
        ));
    }
    if hw.acc_bits > 32 {
        return Err(refuse(
            "-",
            "acc_bits",
            format!("{}: the RTL's requantizer takes at most 32", hw.acc_bits),
        ));
    }
    if hw.input_bits > 8 || hw.weight_bits > 8 {
        return Err(refuse(
            "-",
            "input_bits/weight_bits",
            "the RTL's buffers hold one byte per operand: at most 8 bits each",
        ));
    }
    for (i, (l, st)) in s.layers.iter().zip(&p.stages).enumerate() {
        let name = st.name.as_str();
        match (&l.work, &st.kind) {
            (Work::Host { .. }, StageKind::Quantize { .. }) if i == 0 => {}
            (Work::Host { op, .. }, _) => {
                // A host op is fine at the end, where nothing on the accelerator reads it.
                let read_later = p.stages[i + 1..]
                    .iter()
                    .zip(&s.layers[i + 1..])
                    .any(|(t, tl)| {
                        !matches!(tl.work, Work::Host { .. }) && t.inputs.contains(&st.output)
                    });
                if read_later {
                    return Err(refuse(
                        name,
                        "work",
                        format!(
                            "host op {op} feeds the accelerator: the RTL runs from the input \
                             quantizer to the end without the host"
                        ),
                    ));
                }
            }
            (Work::View, _) => {}
            (Work::Copy { .. }, StageKind::Layout(_)) => {
                let shape = &p.tensor(st.inputs[0]).shape;
                if shape.len() > 4 {
                    return Err(refuse(
                        name,
                        "perm",
                        "the RTL transposes at most 4 dimensions",
                    ));
                }
            }
            (Work::Vector(_), StageKind::Vector(VectorOp::MaxPool { .. })) => {
                if elem_bytes(p.tensor(st.output)) != 1 {
                    return Err(refuse(name, "format", "the vector unit pools 8-bit codes"));
                }
            }
            (Work::Vector(v), _) => {
                return Err(refuse(
                    name,
                    "vector op",
                    format!("{:?}: the RTL's vector unit has MaxPool only", v.op),
                ))
            }
            (Work::Array(w), StageKind::Gemm(g)) => {
                if w.act_bytes != 1 || w.weight_bytes != 1 {
                    return Err(refuse(name, "format", "operands of one byte only"));
                }
                if w.out_bytes > 4 || bpc % w.out_bytes != 0 {
                    return Err(refuse(
                        name,
                        "output format",
                        format!(
                            "{}-byte outputs with {bpc} DRAM bytes per cycle: the store lanes \
                             need whole outputs per beat",
                            w.out_bytes
                        ),
                    ));
                }
                let out = p.tensor(st.output);
                for (c, r) in g.requant.iter().enumerate() {
                    if r.rounding != Rounding::Rnd || r.overflow != Overflow::Sat {
                        return Err(refuse(
                            name,
                            "requant rounding/overflow",
                            format!(
                                "channel {c}: {:?}/{:?}; the RTL's requantizer does RND and SAT",
                                r.rounding, r.overflow
                            ),
                        ));
                    }
                    if !(1..=95).contains(&(31 + r.shift)) || r.m0 < 0 {
                        return Err(refuse(
                            name,
                            "requant shift",
                            format!("channel {c}: 31 + shift must be in 1..=95, M0 >= 0"),
                        ));
                    }
                    if r.bits != out.format.bits || r.signed != out.format.signed || r.bits > 32 {
                        return Err(refuse(
                            name,
                            "requant bits",
                            format!("channel {c}: must equal the output format, at most 32 bits"),
                        ));
                    }
                }
                if g.n >= 1 << 16 {
                    return Err(refuse(name, "n", "at most 65535 output channels"));
                }
                for (j, x) in w.steps.iter().enumerate() {
                    let compute = array::fast_cycles(s, x);
                    let ports = sram::cycles(hw, w, x);
                    if ports > compute {
                        return Err(refuse(
                            name,
                            "buffers (ports/word_bits)",
                            format!(
                                "fold {j} needs {ports} SRAM-port cycles for {compute} of \
                                 compute: the RTL does not model the port stretch; widen the \
                                 buffers' words or add ports"
                            ),
                        ));
                    }
                }
            }
            (w, _) => {
                return Err(refuse(
                    name,
                    "work",
                    format!("{w:?} is not something the RTL runs"),
                ))
            }
        }
    }
    Ok(())
}
