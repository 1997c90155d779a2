//! A row-major `MatMul` stage (the transformer's linear layers, `Q·Kᵀ` and `P·V`) on the
//! exact engine.
//!
//! The scheduler makes it one array layer ([`ArrayWork`]): with constant weights one GEMM whose
//! `M` is every token row of every group and sample (`A` is the raw codes, `z_a` folded into
//! the bias, as the reference defines it); with an activation `B` one GEMM per sample and group
//! (`ArrayWork::groups`), both operands with their zero points subtracted before they enter the
//! array. Partial sums are added in step order and requantized by the reference's
//! requantization (`quant::requantize`) at the array edge; a dynamic linear layer's
//! requantizer first shifts each accumulator by its token row's exponent (`super::dynamic`).

use systole_compiler::fxir::MatMulStage;
use systole_compiler::quant::{requantize, Format};
use systole_compiler::schedule::{ArrayWork, Schedule};

use super::array::{self, ExactLayer, Operands};
use crate::error::{Result, SimError};
use systole_compiler::reference::int::dynamic;

/// The operands of each of the layer's GEMMs, as the array multiplies them.
pub(crate) fn operands(
    w: &ArrayWork,
    mm: &MatMulStage,
    a: &[i32],
    af: &Format,
    b: Option<(&[i32], &Format)>,
    batch: usize,
) -> Result<Operands> {
    let (g, m, k, n) = (mm.groups, mm.m, mm.k, mm.n);
    // The program and the schedule are validated against each other and the operands come from
    // the integer reference: a mismatch here is ours.
    let bad = SimError::internal;
    if a.len() != batch * g * m * k {
        return Err(bad(format!(
            "matmul input 0: {} codes for {batch} samples of [{g}, {m}, {k}]",
            a.len()
        )));
    }
    match (&mm.weights, b) {
        (Some(wt), _) => {
            if w.groups != 1 || w.m != batch * g * m {
                return Err(bad(format!(
                    "linear layer scheduled as {} GEMMs of {} rows, the stage has {} rows",
                    w.groups,
                    w.m,
                    batch * g * m
                )));
            }
            let dec = wt.decode();
            let mut bm = vec![0i32; k * n];
            for c in 0..n {
                for j in 0..k {
                    bm[j * n + c] = dec[c * k + j];
                }
            }
            Ok(vec![(a.to_vec(), bm)])
        }
        (None, Some((bv, bf))) => {
            if w.groups != batch * g || bv.len() != batch * g * k * n {
                return Err(bad(format!(
                    "activation matmul: {} GEMMs scheduled, {} codes of B for {batch} samples \
                     of [{g}, {k}, {n}]",
                    w.groups,
                    bv.len()
                )));
            }
            let (za, zb) = (af.zero_point() as i32, bf.zero_point() as i32);
            Ok((0..batch * g)
                .map(|gi| {
                    let ag = a[gi * m * k..(gi + 1) * m * k].iter().map(|&v| v - za);
                    let bg = bv[gi * k * n..(gi + 1) * k * n].iter().map(|&v| v - zb);
                    (ag.collect(), bg.collect())
                })
                .collect())
        }
        (None, None) => Err(bad("activation matmul without input 1".to_string())),
    }
}

/// Runs every step register by register, adds partial sums in step order and requantizes per
/// column (weights) or with the stage's one requantizer (activation `B`). The output layout
/// `[sample, group, m, n]` is the accumulators' own order.
pub(crate) fn exact_layer(
    s: &Schedule,
    w: &ArrayWork,
    mm: &MatMulStage,
    ops: &Operands,
    exps: Option<&[i32]>,
) -> Result<ExactLayer> {
    let run = array::run_steps(s, w, ops)?;
    let n = mm.n.max(1);
    let weights = mm.weights.is_some();
    // `Program::validate` checks one requantizer per column (or one for an activation B).
    let first = mm
        .requant
        .first()
        .ok_or_else(|| SimError::internal("matmul stage without a requantizer"))?;
    let codes = run
        .acc
        .iter()
        .enumerate()
        .map(|(i, &acc)| {
            let j = i % n;
            if weights {
                let (bias, r) = (
                    mm.bias.get(j).copied().unwrap_or(0),
                    mm.requant.get(j).unwrap_or(first),
                );
                match exps {
                    // A dynamic linear layer: one exponent per token row of `n` outputs.
                    Some(e) => dynamic::finish(acc, e[i / n], bias, r, false),
                    None => requantize(acc, bias, r) as i32,
                }
            } else {
                requantize(acc, 0, first) as i32
            }
        })
        .collect();
    Ok(ExactLayer {
        codes,
        cycles: run.cycles,
        finished_by: run.done,
    })
}
