//! The scheduler: maps a fixed-point program onto one accelerator description.
//!
//! Every array stage becomes a list of [`Step`]s, each one fold of the array: a block
//! `C[m, n] (+)= A[m, k] · B[k, n]` whose spatial sides fit the array and whose streamed side
//! fits half of its SRAM buffer (the other half is being filled by the DMA). Vector stages go to
//! the vector unit, transposes to the DMA, reshapes are free, and the input quantizer (and any
//! op the vector unit lacks) stays on the host. The simulator times this plan and the backend
//! writes it out; both read the same [`Schedule`], so what is simulated is what is built.
//!
//! The tiling rules per dataflow are in [`tile`]; the text dump in [`dump`]; the instruction
//! stream both consumers walk is [`Schedule::instructions`].

mod dump;
mod tile;

pub use dump::dump;
pub use tile::{budgets, matmul_operand_bits, spatial};

use serde::{Deserialize, Serialize};
use systole_hw::{Accelerator, Dataflow, VectorOp as HwOp};

use crate::fxir::{LayoutOp, Program, StageKind, VectorOp};
use crate::{Error, Result};

/// Largest batch a schedule is made for (the plan holds one step per fold and tile).
pub const MAX_BATCH: usize = 1 << 16;
/// Most steps one layer may have before the scheduler refuses (memory of the plan).
pub const MAX_STEPS_PER_LAYER: u64 = 50_000_000;
/// Peak bytes of memory per fold of a plan, for `compile`, the heaviest user: the [`Step`], its
/// instructions and `schedule.json` text (the constant part), and the weight-bank ROM words it
/// streams, one per PE at most, rendered in four text formats (the part per PE). Measured with
/// `/usr/bin/time -v` on `compile` of the int8 digits CNN for edge-16x16 at batch 32768: 45,704
/// folds, 665 MB peak, 14.5 KB per fold; the formula gives 17.4 KB (conservative). The
/// scheduler refuses a plan whose folds × this is above `--max-memory-bytes` before making it.
pub const BYTES_PER_FOLD: u64 = 1024;
/// See [`BYTES_PER_FOLD`]: bytes per fold per PE of the array.
pub const BYTES_PER_FOLD_PE: u64 = 64;

/// The program on one accelerator for one batch size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub program: String,
    pub hw: String,
    pub rows: usize,
    pub cols: usize,
    pub dataflow: Dataflow,
    /// Samples processed together: the array's `M` is `batch × pixels`.
    pub batch: usize,
    /// One per program stage, in program order.
    pub layers: Vec<Layer>,
}

/// What happens for one program stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// Index of the stage in the program.
    pub stage: usize,
    pub name: String,
    pub work: Work,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Work {
    /// Done by the host, outside the accelerator's cycle count.
    Host {
        op: String,
        reason: String,
    },
    /// A new view of the same bytes (reshape): no cycles.
    View,
    /// A transpose: the DMA reads `bytes` and writes them back with remapped addresses.
    Copy {
        bytes: u64,
    },
    /// An embedding lookup: the DMA reads `rows` table rows (`bytes` in all) at addresses given
    /// by the token ids and writes them out contiguously (`bytes`).
    Gather {
        rows: u64,
        bytes: u64,
    },
    Vector(VectorWork),
    Array(ArrayWork),
}

/// A vector-unit stage streaming from and to DRAM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorWork {
    pub op: HwOp,
    /// Elements the unit processes (inputs for pooling, outputs otherwise).
    pub elements: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
}

/// An array stage cut into folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrayWork {
    /// Independent GEMMs of the sizes below, each with its own `A` and `B` (an activation ×
    /// activation matmul per sample and head); 1 for every layer with constant weights.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub groups: usize,
    /// `C[M×N] = A[M×K] · B[K×N]`: `M` = batch × output pixels, `K` the reduction, `N` channels.
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Bytes per element in SRAM and DRAM: activations, weights (decoded operands), outputs,
    /// and partial sums in the ofmap buffer.
    pub act_bytes: u64,
    pub weight_bytes: u64,
    pub out_bytes: u64,
    pub acc_bytes: u64,
    /// Longest temporal tile: rows of `A` (WS), columns of `B` (IS) or the reduction (OS).
    pub tile: usize,
    pub steps: Vec<Step>,
}

/// Half-open index range `[start, start + len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub len: usize,
}

impl Span {
    /// Saturating: spans are read from `schedule.json`, and an overflowing end must compare
    /// as past every matrix (and be refused), not wrap or panic.
    pub fn end(&self) -> usize {
        self.start.saturating_add(self.len)
    }
}

fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

/// One fold on the array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Which of the layer's [`ArrayWork::groups`] GEMMs the fold belongs to.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub group: usize,
    pub m: Span,
    pub k: Span,
    pub n: Span,
    /// Bytes the DMA brings into the ifmap and filter buffers before the step can run.
    pub load_ifmap: u64,
    pub load_filter: u64,
    /// Adds onto the partial sums of an earlier step (same `m` and `n`, earlier `k`).
    pub accumulate: bool,
    /// Bytes of finished, requantized outputs written to DRAM after the step (0: partial sums).
    pub store: u64,
}

/// One entry of the instruction stream (the program both the simulator and the RTL run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Instr {
    /// Start of a layer's work.
    Layer {
        index: usize,
    },
    LoadIfmap {
        step: usize,
        bytes: u64,
    },
    LoadFilter {
        step: usize,
        bytes: u64,
    },
    /// Run one fold.
    Fold {
        step: usize,
    },
    /// Requantize the step's outputs at the array edge and write them to DRAM.
    Store {
        step: usize,
        bytes: u64,
    },
    Vector {
        op: HwOp,
        elements: u64,
    },
    Copy {
        bytes: u64,
    },
    Host,
    /// Wait for every outstanding DMA and fold (end of a layer).
    Sync,
}

impl Schedule {
    /// The instruction stream, layer after layer.
    pub fn instructions(&self) -> Vec<Instr> {
        let mut out = Vec::new();
        for (index, l) in self.layers.iter().enumerate() {
            out.push(Instr::Layer { index });
            match &l.work {
                Work::Host { .. } => out.push(Instr::Host),
                Work::View => {}
                Work::Copy { bytes } | Work::Gather { bytes, .. } => {
                    out.push(Instr::Copy { bytes: *bytes })
                }
                Work::Vector(v) => out.push(Instr::Vector {
                    op: v.op,
                    elements: v.elements,
                }),
                Work::Array(a) => {
                    for (step, s) in a.steps.iter().enumerate() {
                        if s.load_ifmap > 0 {
                            out.push(Instr::LoadIfmap {
                                step,
                                bytes: s.load_ifmap,
                            });
                        }
                        if s.load_filter > 0 {
                            out.push(Instr::LoadFilter {
                                step,
                                bytes: s.load_filter,
                            });
                        }
                        out.push(Instr::Fold { step });
                        if s.store > 0 {
                            out.push(Instr::Store {
                                step,
                                bytes: s.store,
                            });
                        }
                    }
                }
            }
            out.push(Instr::Sync);
        }
        out
    }

    /// Checks the plan against the program: every stage has a layer, every array stage's steps
    /// cover each output exactly once per reduction index, ranges stay inside the matrices.
    pub fn validate(&self, p: &Program) -> Result<()> {
        let bad = |l: &Layer, msg: String| Error::Schedule {
            layer: l.name.clone(),
            hw: self.hw.clone(),
            msg,
        };
        if self.layers.len() != p.stages.len() {
            return Err(Error::ScheduleMismatch {
                hw: self.hw.clone(),
                msg: format!(
                    "{} layers, the program has {} stages",
                    self.layers.len(),
                    p.stages.len()
                ),
            });
        }
        if self.batch == 0 || self.batch > MAX_BATCH {
            return Err(Error::ScheduleMismatch {
                hw: self.hw.clone(),
                msg: format!(
                    "batch {} is not in 1..={MAX_BATCH} (limit MAX_BATCH)",
                    self.batch
                ),
            });
        }
        for (i, l) in self.layers.iter().enumerate() {
            if l.stage != i {
                return Err(bad(
                    l,
                    format!("layer {i} names stage {}, expected {i}", l.stage),
                ));
            }
            let Work::Array(a) = &l.work else { continue };
            // The sizes come from a file: they must be the program's before anything is sized
            // from them (an edited `m` or `n` used to allocate `groups·m·n` counters).
            let want = array_dims(&p.stages[i], self.batch).ok_or_else(|| {
                bad(
                    l,
                    format!(
                        "array work for stage {i}, which is not an array stage, or whose sizes \
                         at batch {} overflow",
                        self.batch
                    ),
                )
            })?;
            if (a.groups, a.m, a.k, a.n) != want {
                return Err(bad(
                    l,
                    format!(
                        "GEMM groups={} m={} k={} n={}; the program at batch {} needs \
                         groups={} m={} k={} n={}",
                        a.groups, a.m, a.k, a.n, self.batch, want.0, want.1, want.2, want.3
                    ),
                ));
            }
            // Two counters per output (u32 and u64) while the coverage is checked.
            let outputs = (a.groups as u128) * (a.m as u128) * (a.n as u128);
            systole_hw::limits::MAX_MEMORY_BYTES
                .check(outputs * 12)
                .map_err(|m| bad(l, format!("checking the schedule: estimated {m}")))?;
            let per = a.m * a.n;
            let mut cover = vec![0u32; a.groups * per];
            let mut seen_k = vec![0u64; a.groups * per];
            for (i, s) in a.steps.iter().enumerate() {
                if s.m.end() > a.m || s.k.end() > a.k || s.n.end() > a.n || s.group >= a.groups {
                    return Err(bad(
                        l,
                        format!(
                            "step {i} leaves the {}x{}x{} GEMM (group {} of {})",
                            a.m, a.k, a.n, s.group, a.groups
                        ),
                    ));
                }
                let (sr, sc) = tile::spatial(self.dataflow, s);
                if sr > self.rows || sc > self.cols {
                    return Err(bad(l, format!("step {i} needs {sr}x{sc} PEs")));
                }
                for mi in s.m.start..s.m.end() {
                    for ni in s.n.start..s.n.end() {
                        let at = s.group * per + mi * a.n + ni;
                        if (seen_k[at] > 0) != s.accumulate {
                            return Err(bad(l, format!("step {i}: accumulate flag disagrees")));
                        }
                        seen_k[at] += s.k.len as u64;
                        if seen_k[at] == a.k as u64 {
                            cover[at] += 1;
                            if s.store == 0 {
                                return Err(bad(l, format!("step {i} finishes outputs unstored")));
                            }
                        }
                    }
                }
            }
            if let Some(at) = cover.iter().position(|&c| c != 1) {
                let (g, at_g) = (at / per.max(1), at % per.max(1));
                return Err(bad(
                    l,
                    format!(
                        "output [{}, {}]{} is finished {} times",
                        at_g / a.n.max(1),
                        at_g % a.n.max(1),
                        if a.groups > 1 {
                            format!(" of group {g}")
                        } else {
                            String::new()
                        },
                        cover[at]
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `(groups, m, k, n)` of the array work the scheduler makes for stage `st` at `batch` (the
/// rules of [`tile::array_work`] and [`tile::matmul_work`]); `None` for a stage that is not an
/// array stage or whose sizes overflow.
fn array_dims(st: &crate::fxir::Stage, batch: usize) -> Option<(usize, usize, usize, usize)> {
    match &st.kind {
        StageKind::Gemm(g) => {
            let pixels = g
                .conv
                .as_ref()
                .map_or(Some(1), |w| w.output[0].checked_mul(w.output[1]))?;
            Some((1, batch.checked_mul(pixels)?, g.k, g.n))
        }
        StageKind::MatMul(mm) => {
            if mm.weights.is_some() {
                Some((
                    1,
                    batch.checked_mul(mm.groups)?.checked_mul(mm.m)?,
                    mm.k,
                    mm.n,
                ))
            } else {
                Some((batch.checked_mul(mm.groups)?, mm.m, mm.k, mm.n))
            }
        }
        _ => None,
    }
}

/// Schedules `p` on `hw` for `batch` samples at a time.
pub fn schedule(p: &Program, hw: &Accelerator, batch: usize) -> Result<Schedule> {
    if batch == 0 || batch > MAX_BATCH {
        return Err(Error::OutOfRange {
            what: "batch",
            value: batch.to_string(),
            range: format!("1..={MAX_BATCH} (limit MAX_BATCH)"),
        });
    }
    let mut layers = Vec::with_capacity(p.stages.len());
    let mut folds = 0u64;
    let place = |folds_before| tile::Placement {
        hw,
        batch,
        folds_before,
    };
    for (i, st) in p.stages.iter().enumerate() {
        let out = p.tensor(st.output);
        let b = batch as u64;
        let bytes_of = |t: &crate::fxir::TensorInfo| b * t.len() as u64 * elem_bytes(t);
        let work = match &st.kind {
            StageKind::Quantize { .. } => Work::Host {
                op: "quantize".into(),
                reason: "the input quantizer: the accelerator receives codes".into(),
            },
            StageKind::Layout(LayoutOp::Reshape) => Work::View,
            StageKind::Layout(LayoutOp::Transpose { .. }) => Work::Copy {
                bytes: bytes_of(out),
            },
            StageKind::Vector(v) => {
                let input = p.tensor(st.inputs[0]);
                let (op, elements) = match v {
                    VectorOp::MaxPool { .. } => (HwOp::MaxPool, b * input.len() as u64),
                    VectorOp::Relu | VectorOp::ReluCast { .. } => {
                        (HwOp::Relu, b * out.len() as u64)
                    }
                    VectorOp::Softmax { .. } | VectorOp::MaskedSoftmax { .. } => {
                        (HwOp::Softmax, b * out.len() as u64)
                    }
                    VectorOp::Add { .. } => (HwOp::Add, b * out.len() as u64),
                    VectorOp::LayerNorm { .. } => (HwOp::LayerNorm, b * out.len() as u64),
                    VectorOp::Gelu { .. } => (HwOp::Gelu, b * out.len() as u64),
                    VectorOp::DynamicExponent { .. } => (HwOp::RowMax, b * input.len() as u64),
                    VectorOp::DynamicQuant { .. } => (HwOp::Requantize, b * out.len() as u64),
                };
                if hw.vector.supports(op) {
                    Work::Vector(VectorWork {
                        op,
                        elements,
                        in_bytes: bytes_of(input),
                        out_bytes: bytes_of(out),
                    })
                } else {
                    Work::Host {
                        op: format!("{op:?}"),
                        reason: format!("the vector unit of '{}' has no {op:?}", hw.name),
                    }
                }
            }
            StageKind::Gemm(g) => {
                let input = p.tensor(st.inputs[0]);
                Work::Array(tile::array_work(st, g, input, out, place(folds))?)
            }
            StageKind::MatMul(mm) => {
                let a = p.tensor(st.inputs[0]);
                let bt = st.inputs.get(1).map(|&t| p.tensor(t));
                Work::Array(tile::matmul_work(st, mm, a, bt, out, place(folds))?)
            }
            StageKind::Embed(e) => Work::Gather {
                rows: b * out.len() as u64 / e.dim.max(1) as u64,
                bytes: bytes_of(out),
            },
        };
        if let Work::Array(a) = &work {
            folds += a.steps.len() as u64;
        }
        layers.push(Layer {
            stage: i,
            name: st.name.clone(),
            work,
        });
    }
    let s = Schedule {
        program: p.name.clone(),
        hw: hw.name.clone(),
        rows: hw.rows,
        cols: hw.cols,
        dataflow: hw.dataflow,
        batch,
        layers,
    };
    Ok(s)
}

/// Bytes one code of `t` occupies in SRAM and DRAM (whole bytes; packing is the backend's).
pub fn elem_bytes(t: &crate::fxir::TensorInfo) -> u64 {
    u64::from(t.format.bits.div_ceil(8))
}
