//! Tiling an array stage for a dataflow.
//!
//! The dataflow fixes which GEMM sides lie on the array and which one streams through time:
//!
//! | dataflow | rows (`R`) | columns (`C`) | streamed | loop order (outer → inner) |
//! |---|---|---|---|---|
//! | WS | `K` | `N` | `M` | `M` tiles, `N` folds, `K` folds |
//! | IS | `K` | `M` | `N` | `N` tiles, `M` folds, `K` folds |
//! | OS | `M` | `N` | `K` | `N` folds, `M` folds, `K` tiles |
//!
//! The streamed side is cut into tiles no longer than what half of its buffer holds (the other
//! half is the DMA's) and, for WS and IS, what half of the ofmap buffer holds as partial sums;
//! the reduction is innermost so partial sums complete before the next outputs start. With
//! buffers large enough for the whole stream this is SCALE-Sim's order (column folds outer, row
//! folds inner) and its cycle count.

use systole_hw::{Accelerator, Dataflow, Operand};

use super::{ArrayWork, Span, Step, BYTES_PER_FOLD, BYTES_PER_FOLD_PE, MAX_STEPS_PER_LAYER};
use crate::fxir::{GemmStage, MatMulStage, Stage, TensorInfo};
use crate::{Error, Result};

/// Bytes one tile may use in the ifmap, filter and ofmap buffers. A unified scratchpad is split
/// evenly between the operands it holds (two with a separate accumulator memory, else three).
pub fn budgets(hw: &Accelerator) -> [u64; 3] {
    use systole_hw::Buffers;
    match &hw.buffers {
        Buffers::Separate { .. } => [Operand::Ifmap, Operand::Filter, Operand::Ofmap]
            .map(|op| hw.buffers.for_operand(op).usable_bytes()),
        Buffers::Unified {
            shared,
            accumulator: Some(acc),
        } => {
            let half = shared.usable_bytes() / 2;
            [half, half, acc.usable_bytes()]
        }
        Buffers::Unified {
            shared,
            accumulator: None,
        } => [shared.usable_bytes() / 3; 3],
    }
}

/// Rows and columns of the array a step occupies.
pub fn spatial(df: Dataflow, s: &Step) -> (usize, usize) {
    match df {
        Dataflow::WeightStationary => (s.k.len, s.n.len),
        Dataflow::InputStationary => (s.k.len, s.m.len),
        Dataflow::OutputStationary => (s.m.len, s.n.len),
    }
}

fn spans(total: usize, size: usize) -> impl Iterator<Item = Span> {
    (0..total.div_ceil(size)).map(move |i| Span {
        start: i * size,
        len: size.min(total - i * size),
    })
}

/// The operand and accumulator widths of array layer `layer` against the PEs (`input_bits`,
/// `weight_bits`, `acc_bits`); `b_what` says what the B operand is in the message.
fn check_widths(
    hw: &Accelerator,
    layer: &str,
    a_bits: u32,
    b_what: &str,
    b_bits: u32,
    acc_bits: u32,
) -> Result<()> {
    let fail = |msg: String| {
        Err(Error::Schedule {
            layer: layer.to_string(),
            hw: hw.name.clone(),
            msg,
        })
    };
    if a_bits > hw.input_bits {
        return fail(format!(
            "{a_bits}-bit activations, the array takes {} (input_bits)",
            hw.input_bits
        ));
    }
    if b_bits > hw.weight_bits {
        return fail(format!(
            "{b_what} {b_bits}-bit operands, the array takes {} (weight_bits)",
            hw.weight_bits
        ));
    }
    if acc_bits > hw.acc_bits {
        return fail(format!(
            "needs a {acc_bits}-bit accumulator, the PEs have {} (acc_bits)",
            hw.acc_bits
        ));
    }
    Ok(())
}

/// Where a layer is being scheduled: the accelerator, the batch size, and the folds the earlier
/// layers of the plan already take (for the plan's memory estimate).
#[derive(Clone, Copy)]
pub(super) struct Placement<'a> {
    pub hw: &'a Accelerator,
    pub batch: usize,
    pub folds_before: u64,
}

pub(super) fn array_work(
    st: &Stage,
    g: &GemmStage,
    input: &TensorInfo,
    out: &TensorInfo,
    at: Placement,
) -> Result<ArrayWork> {
    let Placement {
        hw,
        batch,
        folds_before,
    } = at;
    let fail = |msg: String| Error::Schedule {
        layer: st.name.clone(),
        hw: hw.name.clone(),
        msg,
    };
    let (act_bits, w_bits) = (input.format.bits, g.weights.operand_bits());
    check_widths(
        hw,
        &st.name,
        act_bits,
        "weights decode to",
        w_bits,
        g.acc_bits,
    )?;
    if let Some(mode) = g.acc_overflow {
        return Err(fail(format!(
            "a narrowed accumulator with overflow mode {mode:?} is not modelled by the array \
             (the PEs accumulate at full width); quantize without a narrowed accumulator"
        )));
    }
    if !hw.vector.supports(systole_hw::VectorOp::Requantize) {
        return Err(fail(
            "the vector unit has no Requantize, which every array layer needs".into(),
        ));
    }
    let pixels = g.conv.as_ref().map_or(1, |w| w.output_area());
    let sizes = Sizes {
        groups: 1,
        m: batch * pixels,
        k: g.k,
        n: g.n,
        a: u64::from(act_bits.div_ceil(8)),
        w: u64::from(w_bits.div_ceil(8)),
        o: u64::from(out.format.bits.div_ceil(8)),
        acc: if g.acc_bits <= 32 { 4 } else { 8 },
    };
    tile_gemm(&sizes, hw, folds_before, &fail)
}

/// The sizes and element widths of one array layer: `groups` independent GEMMs
/// `[m×k]·[k×n]`, each with its own operands.
pub(super) struct Sizes {
    pub groups: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a: u64,
    pub w: u64,
    pub o: u64,
    pub acc: u64,
}

/// Cuts `groups` GEMMs into folds for the array of `hw` (groups one after another, each tiled
/// the same way).
pub(super) fn tile_gemm(
    sz: &Sizes,
    hw: &Accelerator,
    folds_before: u64,
    fail: &dyn Fn(String) -> Error,
) -> Result<ArrayWork> {
    let (m, k, n) = (sz.m, sz.k, sz.n);
    let (a, w, o, acc) = (sz.a, sz.w, sz.o, sz.acc);
    let (r, c) = (hw.rows, hw.cols);
    let [b_if, b_fi, b_of] = budgets(hw);
    let df = hw.dataflow;
    // The stationary tile (or OS's accumulators) must fit whole; the stream is tiled.
    let (tr, tc, elem, stat_buf, stat_name) = match df {
        Dataflow::WeightStationary => (k.min(r), n.min(c), w, b_fi, "filter"),
        Dataflow::InputStationary => (k.min(r), m.min(c), a, b_if, "ifmap"),
        Dataflow::OutputStationary => (m.min(r), n.min(c), acc, b_of, "ofmap"),
    };
    let stat_need = (tr * tc) as u64 * elem;
    if stat_need > stat_buf {
        return Err(fail(format!(
            "the {stat_name} buffer holds {stat_buf} bytes per tile, one {tr}x{tc} stationary \
             tile needs {stat_need}: make it at least {} KiB",
            (2 * stat_need).div_ceil(1024)
        )));
    }
    // Bytes per streamed index in each buffer it touches.
    let per_t: Vec<(u64, u64, &str)> = match df {
        Dataflow::WeightStationary => vec![
            (k.min(r) as u64 * a, b_if, "ifmap"),
            (n.min(c) as u64 * acc, b_of, "ofmap"),
        ],
        Dataflow::InputStationary => vec![
            (k.min(r) as u64 * w, b_fi, "filter"),
            (m.min(c) as u64 * acc, b_of, "ofmap"),
        ],
        Dataflow::OutputStationary => vec![
            (m.min(r) as u64 * a, b_if, "ifmap"),
            (n.min(c) as u64 * w, b_fi, "filter"),
        ],
    };
    let t_total = match df {
        Dataflow::WeightStationary => m,
        Dataflow::InputStationary => n,
        Dataflow::OutputStationary => k,
    };
    let mut tile = t_total as u64;
    for (bytes, buf, name) in per_t {
        let fit = buf / bytes.max(1);
        if fit == 0 {
            return Err(fail(format!(
                "the {name} buffer holds {buf} bytes per tile, one streamed vector needs {bytes}: \
                 make it at least {} KiB",
                (2 * bytes).div_ceil(1024)
            )));
        }
        tile = tile.min(fit);
    }
    let tile = tile as usize;
    let count = sz.groups as u64
        * (t_total.div_ceil(tile) as u64)
        * match df {
            Dataflow::WeightStationary => (n.div_ceil(c) * k.div_ceil(r)) as u64,
            Dataflow::InputStationary => (m.div_ceil(c) * k.div_ceil(r)) as u64,
            Dataflow::OutputStationary => (n.div_ceil(c) * m.div_ceil(r)) as u64,
        };
    if count > MAX_STEPS_PER_LAYER {
        return Err(fail(format!(
            "{count} folds, more than MAX_STEPS_PER_LAYER ({MAX_STEPS_PER_LAYER}); use a \
             smaller batch or a larger array"
        )));
    }
    // The plan's memory, estimated from the fold count before any step exists: this layer's
    // folds and every earlier layer's (`compile --batch 65536` of the digits CNN needs GBs).
    let total = u128::from(folds_before) + u128::from(count);
    let per_fold = u128::from(BYTES_PER_FOLD) + u128::from(BYTES_PER_FOLD_PE) * (r * c) as u128;
    systole_hw::limits::MAX_MEMORY_BYTES
        .check(total * per_fold)
        .map_err(|m| {
            fail(format!(
                "the plan reaches {total} folds here, estimated {m}; use a smaller batch or a \
                 larger array"
            ))
        })?;
    let mut steps = Vec::with_capacity(count as usize);
    let step = |group: usize, m: Span, k: Span, n: Span, last_k: bool| Step {
        group,
        m,
        k,
        n,
        load_ifmap: (m.len * k.len) as u64 * a,
        load_filter: (k.len * n.len) as u64 * w,
        accumulate: k.start > 0,
        store: if last_k {
            (m.len * n.len) as u64 * o
        } else {
            0
        },
    };
    let last = |s: &Span| s.end() == k;
    for group in 0..sz.groups {
        match df {
            Dataflow::WeightStationary => {
                for mt in spans(m, tile) {
                    for nf in spans(n, c) {
                        for kf in spans(k, r) {
                            steps.push(step(group, mt, kf, nf, last(&kf)));
                        }
                    }
                }
            }
            Dataflow::InputStationary => {
                for nt in spans(n, tile) {
                    for mf in spans(m, c) {
                        for kf in spans(k, r) {
                            steps.push(step(group, mf, kf, nt, last(&kf)));
                        }
                    }
                }
            }
            Dataflow::OutputStationary => {
                for nf in spans(n, c) {
                    for mf in spans(m, r) {
                        for kt in spans(k, tile) {
                            steps.push(step(group, mf, kt, nf, last(&kt)));
                        }
                    }
                }
            }
        }
    }
    Ok(ArrayWork {
        groups: sz.groups,
        m,
        k,
        n,
        act_bytes: a,
        weight_bytes: w,
        out_bytes: o,
        acc_bytes: acc,
        tile,
        steps,
    })
}

/// Bits of the operand the array sees for codes of `f` with the zero point subtracted: the
/// format's width when the zero point is 0 (the PE takes the code as is, like a `Gemm` input),
/// else the signed width of `code − z`.
fn operand_bits(f: &crate::quant::Format) -> u32 {
    let z = f.zero_point();
    if z == 0 {
        return f.bits;
    }
    let span = (f.max_int() - z)
        .unsigned_abs()
        .max((f.min_int() - z).unsigned_abs());
    65 - span.leading_zeros()
}

/// Operand widths the array sees for a [`MatMulStage`]: `(A, B)`. Constant weights: the array
/// multiplies raw codes of A (`z_a` is folded into the bias) and the decoded weights;
/// activation B: both operands enter with their zero points subtracted.
pub fn matmul_operand_bits(
    mm: &MatMulStage,
    a_info: &TensorInfo,
    b_info: Option<&TensorInfo>,
) -> (u32, u32) {
    match (&mm.weights, b_info) {
        (Some(w), _) => (a_info.format.bits, w.operand_bits()),
        (None, Some(b)) => (operand_bits(&a_info.format), operand_bits(&b.format)),
        (None, None) => (operand_bits(&a_info.format), 0),
    }
}

/// A row-major [`MatMulStage`]: with constant weights one GEMM of `M = batch·groups·m` token
/// rows (the weights are shared by every group and sample); with an activation `B` one GEMM
/// per sample and group (`M = m`), whose `B` tiles the DMA loads into the array like filter
/// data.
pub(super) fn matmul_work(
    st: &Stage,
    mm: &MatMulStage,
    a_info: &TensorInfo,
    b_info: Option<&TensorInfo>,
    out: &TensorInfo,
    at: Placement,
) -> Result<ArrayWork> {
    let Placement {
        hw,
        batch,
        folds_before,
    } = at;
    let fail = |msg: String| Error::Schedule {
        layer: st.name.clone(),
        hw: hw.name.clone(),
        msg,
    };
    if mm.weights.is_none() && b_info.is_none() {
        return Err(fail(
            "an activation x activation matmul without input 1".into(),
        ));
    }
    let (a_bits, b_bits) = matmul_operand_bits(mm, a_info, b_info);
    let b_what = if mm.weights.is_some() {
        "weights decode to"
    } else {
        "input 1 (B) has"
    };
    check_widths(hw, &st.name, a_bits, b_what, b_bits, mm.acc_bits)?;
    if !hw.vector.supports(systole_hw::VectorOp::Requantize) {
        return Err(fail(
            "the vector unit has no Requantize, which every array layer needs".into(),
        ));
    }
    let (groups, m) = if mm.weights.is_some() {
        (1, batch * mm.groups * mm.m)
    } else {
        (batch * mm.groups, mm.m)
    };
    let sizes = Sizes {
        groups,
        m,
        k: mm.k,
        n: mm.n,
        a: u64::from(a_bits.div_ceil(8)),
        w: u64::from(b_bits.div_ceil(8)),
        o: u64::from(out.format.bits.div_ceil(8)),
        acc: if mm.acc_bits <= 32 { 4 } else { 8 },
    };
    tile_gemm(&sizes, hw, folds_before, &fail)
}
