//! One array layer on the engines: each schedule step is a single-fold GEMM block.

use rayon::prelude::*;
use systole_compiler::fxir::GemmStage;
use systole_compiler::reference::int::{im2col, requant_output};
use systole_compiler::schedule::{ArrayWork, Schedule, Step};
use systole_hw::Accelerator;

use crate::error::{Result, SimError};
use crate::exact::{self, Observer};
use crate::fast::{ArrayShape, Mapping};
use systole_compiler::reference::int::dynamic;

/// Steps simulated at once (bounds the memory of their outputs).
const CHUNK: usize = 256;

pub(crate) fn shape(s: &Schedule) -> ArrayShape {
    ArrayShape {
        rows: s.rows,
        cols: s.cols,
        dataflow: s.dataflow,
    }
}

/// Compute cycles of one step in closed form (the fast engine).
pub(crate) fn fast_cycles(s: &Schedule, st: &Step) -> u64 {
    Mapping::new(shape(s), st.m.len as u64, st.k.len as u64, st.n.len as u64).cycles()
}

/// The layer's GEMM operands: `A` (`M×K`, im2col rows of every sample) and `B` (`K×N`).
pub(crate) fn operands(g: &GemmStage, x: &[i32], zx: i32, batch: usize) -> (Vec<i32>, Vec<i32>) {
    let in_len = x.len() / batch.max(1);
    let mut a = Vec::new();
    for b in 0..batch {
        a.extend(im2col(g, &x[b * in_len..(b + 1) * in_len], zx));
    }
    let w = g.weights.decode();
    let (k, n) = (g.k, g.n);
    let mut bm = vec![0i32; k * n];
    for c in 0..n {
        for j in 0..k {
            bm[j * n + c] = w[c * k + j];
        }
    }
    (a, bm)
}

fn block(mat: &[i32], cols: usize, r: (usize, usize), c: (usize, usize)) -> Vec<i32> {
    let mut out = Vec::with_capacity(r.1 * c.1);
    for i in r.0..r.0 + r.1 {
        out.extend_from_slice(&mat[i * cols + c.0..i * cols + c.0 + c.1]);
    }
    out
}

fn run_step(
    array: ArrayShape,
    a: &[i32],
    b: &[i32],
    w: &ArrayWork,
    st: &Step,
    obs: Option<&mut dyn Observer>,
) -> Result<exact::GemmRun> {
    let sa = block(a, w.k, (st.m.start, st.m.len), (st.k.start, st.k.len));
    let sb = block(b, w.n, (st.k.start, st.k.len), (st.n.start, st.n.len));
    let run = match obs {
        None => exact::run_gemm_on(array, &sa, &sb, st.m.len, st.k.len, st.n.len)?,
        Some(o) => exact::run_gemm_observed_on(array, &sa, &sb, st.m.len, st.k.len, st.n.len, o)?,
    };
    if run.folds.len() != 1 {
        // `model::check` has matched the schedule's array with the description and
        // `Schedule::validate` every step's extent with the array.
        return Err(SimError::internal(format!(
            "step m{}+{} k{}+{} n{}+{} took {} folds on a {}x{} array; the schedule is for \
             another array",
            st.m.start,
            st.m.len,
            st.k.start,
            st.k.len,
            st.n.start,
            st.n.len,
            run.folds.len(),
            array.rows,
            array.cols
        )));
    }
    Ok(run)
}

/// What the exact engine produced for one layer.
pub(crate) struct ExactLayer {
    /// Output codes, sample-major as the integer reference lays them out.
    pub codes: Vec<i32>,
    /// Measured compute cycles per step.
    pub cycles: Vec<u64>,
    /// For each output code, the step that finished it.
    pub finished_by: Vec<u32>,
}

/// The operands of each of a layer's GEMMs (`ArrayWork::groups`): `A` (`m×k`) and `B` (`k×n`),
/// row-major, as the array multiplies them.
pub(crate) type Operands = Vec<(Vec<i32>, Vec<i32>)>;

/// Partial sums of every step added in step order: `groups × m × n` accumulators, the step
/// that finished each, and each step's measured cycles.
pub(crate) struct Accumulated {
    pub acc: Vec<i64>,
    pub done: Vec<u32>,
    pub cycles: Vec<u64>,
}

fn group_ops<'a>(ops: &'a Operands, st: &Step) -> Result<&'a (Vec<i32>, Vec<i32>)> {
    // `Schedule::validate` checks every step's group against the layer's groups.
    ops.get(st.group).ok_or_else(|| {
        SimError::internal(format!(
            "step of group {} but {} operand sets",
            st.group,
            ops.len()
        ))
    })
}

/// Runs every step register by register and sums partial sums in step order.
pub(crate) fn run_steps(s: &Schedule, w: &ArrayWork, ops: &Operands) -> Result<Accumulated> {
    let array = shape(s);
    let (m, n) = (w.m, w.n);
    let per = m * n;
    let mut acc = vec![0i64; w.groups * per];
    let mut done = vec![u32::MAX; w.groups * per];
    let mut cycles = Vec::with_capacity(w.steps.len());
    for (c0, chunk) in w.steps.chunks(CHUNK).enumerate() {
        let runs: Vec<exact::GemmRun> = chunk
            .par_iter()
            .map(|st| {
                let (a, b) = group_ops(ops, st)?;
                run_step(array, a, b, w, st, None)
            })
            .collect::<Result<_>>()?;
        for (j, (st, run)) in chunk.iter().zip(runs).enumerate() {
            let index = (c0 * CHUNK + j) as u32;
            cycles.push(run.cycles);
            for i in 0..st.m.len {
                for jn in 0..st.n.len {
                    let at = st.group * per + (st.m.start + i) * n + st.n.start + jn;
                    let v = run.out[i * st.n.len + jn];
                    acc[at] = if st.accumulate { acc[at] + v } else { v };
                    if st.store > 0 {
                        done[at] = index;
                    }
                }
            }
        }
    }
    Ok(Accumulated { acc, done, cycles })
}

/// Runs every step register by register, sums partial sums in step order and requantizes;
/// `exps` (a dynamic stage) holds one exponent per sample, applied in the requantizer.
pub(crate) fn exact_layer(
    s: &Schedule,
    w: &ArrayWork,
    g: &GemmStage,
    x: &[i32],
    zx: i32,
    exps: Option<&[i32]>,
) -> Result<ExactLayer> {
    let (a, b) = operands(g, x, zx, s.batch);
    let run = run_steps(s, w, &vec![(a, b)])?;
    let (acc, done) = (run.acc, run.done);
    let (m, n) = (w.m, w.n);
    // Requantize into the reference's layout: sample, channel, pixel.
    let pixels = m / s.batch.max(1);
    let mut codes = vec![0i32; m * n];
    let mut finished_by = vec![0u32; m * n];
    for row in 0..m {
        let (bi, p) = (row / pixels, row % pixels);
        for c in 0..n {
            let dst = bi * n * pixels + c * pixels + p;
            let a = acc[row * n + c];
            codes[dst] = match exps {
                Some(e) => dynamic::finish(a, e[bi], g.bias[c], &g.requant[c], g.relu),
                None => requant_output(g, c, a),
            };
            finished_by[dst] = done[row * n + c];
        }
    }
    Ok(ExactLayer {
        codes,
        cycles: run.cycles,
        finished_by,
    })
}

/// Re-runs the steps one by one with an observer (waveforms), each starting at its global cycle.
pub(crate) fn observe_steps(
    s: &Schedule,
    w: &ArrayWork,
    ops: &Operands,
    starts: &[u64],
    probe: &mut dyn super::Probe,
) -> Result<()> {
    let array = shape(s);
    for (j, st) in w.steps.iter().enumerate() {
        probe.begin_fold(j as u64, starts[j]);
        let (a, b) = group_ops(ops, st)?;
        run_step(array, a, b, w, st, Some(probe.observer()))?;
    }
    Ok(())
}

/// Whether `hw` is the array the schedule was made for.
pub(crate) fn same_array(s: &Schedule, hw: &Accelerator) -> bool {
    s.rows == hw.rows && s.cols == hw.cols && s.dataflow == hw.dataflow
}
