//! Verification of dynamic quantization (`docs/quantization.md`, "Dynamic quantization"): the
//! exponent stage, the dynamic quantizer, and the proof that an array stage reading dynamic
//! codes cannot overflow once its accumulator is shifted left by the row's exponent.
//!
//! The chain is `x (wide) → DynamicExponent → e`, `(x, e) → DynamicQuant → q`, and
//! `(q, e) → Gemm | MatMul { dynamic }`. The consumer's array accumulates `Σ q·w` in `acc_bits`
//! (the static proof in `validate.rs` covers it, bias included); the requantizer then takes
//! `(acc << e) + bias`, which this module proves fits an `i64`:
//! `K · max|q| · max|w| · 2^e_max + max|bias| < 2^63`, where `e_max` is the largest exponent the
//! wide input's format allows ([`max_shift`]).

use super::validate::bad;
use super::{GemmStage, MatMulStage, Program, Stage, StageKind, TensorId, TensorInfo, VectorOp};
use crate::quant::Format;
use crate::Result;

/// The largest exponent a row of `x` can get: `max(0, bitlen(max |x − z|) − mag_bits)` over the
/// codes the format allows.
pub fn max_shift(x: &Format, mag_bits: u32) -> u32 {
    let z = x.zero_point();
    let span = (x.max_int() - z)
        .unsigned_abs()
        .max((x.min_int() - z).unsigned_abs());
    (64 - span.leading_zeros()).saturating_sub(mag_bits)
}

/// The format of an exponent tensor holding `0..=max_shift`: unsigned integers, at least 2 bits.
pub fn exponent_format(max_shift: u32) -> Format {
    Format::binary_point(false, (32 - max_shift.leading_zeros()).max(2), 0)
}

fn producer(p: &Program, t: TensorId) -> Option<&Stage> {
    p.stages.iter().find(|s| s.output == t)
}

pub(super) fn check_exponent(
    name: &str,
    x: &TensorInfo,
    out: &TensorInfo,
    row: usize,
    mag_bits: u32,
) -> Result<()> {
    if row == 0 || !x.len().is_multiple_of(row) || out.len() != x.len() / row {
        return Err(bad(
            name,
            format!(
                "dynamic exponent: rows of {row} over {:?} do not give {:?}",
                x.shape, out.shape
            ),
        ));
    }
    if !(1..=31).contains(&mag_bits) {
        return Err(bad(
            name,
            format!("dynamic exponent: mag_bits {mag_bits} is not in 1..=31"),
        ));
    }
    let need = max_shift(&x.format, mag_bits);
    if out.format.signed || out.format.zero_point() != 0 || out.format.max_int() < i64::from(need) {
        return Err(bad(
            name,
            format!("dynamic exponent: the output must be unsigned with zero point 0 and hold exponents up to {need}"),
        ));
    }
    Ok(())
}

/// The exponent stage that produced `e`, as `(its input, row, mag_bits)`.
fn exponent_of(p: &Program, e: TensorId) -> Option<(TensorId, usize, u32)> {
    let st = producer(p, e)?;
    match (&st.kind, st.inputs.first()) {
        (StageKind::Vector(VectorOp::DynamicExponent { row, mag_bits }), Some(&x)) => {
            Some((x, *row, *mag_bits))
        }
        _ => None,
    }
}

pub(super) fn check_quant(p: &Program, st: &Stage, row: usize) -> Result<()> {
    let name = st.name.as_str();
    let (x, e) = (st.inputs[0], st.inputs[1]);
    let (xi, out) = (p.tensor(x), p.tensor(st.output));
    let mag = out.format.bits - u32::from(out.format.signed);
    match exponent_of(p, e) {
        Some((src, r, m)) if src == x && r == row && m == mag => {}
        _ => {
            return Err(bad(
                name,
                format!("dynamic quant: input 1 must be the dynamic exponent of input 0 over rows of {row} with mag_bits {mag}"),
            ))
        }
    }
    if xi.shape != out.shape || out.format.zero_point() != 0 {
        return Err(bad(
            name,
            "dynamic quant: the output keeps the input's shape and has zero point 0",
        ));
    }
    Ok(())
}

/// The consumer's common checks: input 0 is a dynamic quant whose exponent is input 1, with
/// `rows` rows of `row_len` per sample; returns the largest exponent.
fn check_consumer(p: &Program, st: &Stage, rows: usize, row_len: usize) -> Result<u32> {
    let name = st.name.as_str();
    let (q, e) = (st.inputs[0], st.inputs[1]);
    let quant = producer(p, q).and_then(|s| match &s.kind {
        StageKind::Vector(VectorOp::DynamicQuant { row }) if s.inputs.get(1) == Some(&e) => {
            Some(*row)
        }
        _ => None,
    });
    let Some(row) = quant else {
        return Err(bad(
            name,
            "dynamic: input 0 must be a dynamic quant whose exponent is input 1",
        ));
    };
    let (x, _, mag) = exponent_of(p, e).ok_or_else(|| bad(name, "dynamic: no exponent stage"))?;
    if row != row_len || p.tensor(e).len() != rows {
        return Err(bad(
            name,
            format!(
                "dynamic: the exponents cover rows of {row} ({} per sample); this stage needs {rows} rows of {row_len}",
                p.tensor(e).len()
            ),
        ));
    }
    Ok(max_shift(&p.tensor(x).format, mag))
}

/// `K · max|q| · max|w| · 2^e_max + max|bias| < 2^63`: the requantizer's input fits an `i64`.
fn check_shifted(
    name: &str,
    k: usize,
    q: &Format,
    wmax: u64,
    bias: &[i64],
    e_max: u32,
) -> Result<()> {
    let qmax = u128::from(super::validate_max_code(q));
    let bmax = u128::from(bias.iter().map(|b| b.unsigned_abs()).max().unwrap_or(0));
    let acc = k as u128 * qmax * u128::from(wmax);
    let bound = acc.checked_shl(e_max).filter(|v| v >> e_max == acc);
    match bound.and_then(|v| v.checked_add(bmax)) {
        Some(v) if v < 1 << 63 => Ok(()),
        _ => Err(bad(
            name,
            format!("dynamic: the accumulator shifted by up to {e_max} bits plus the bias can leave 64 bits"),
        )),
    }
}

pub(super) fn check_gemm(p: &Program, st: &Stage, g: &GemmStage) -> Result<()> {
    let name = st.name.as_str();
    if g.acc_overflow.is_some() {
        return Err(bad(
            name,
            "dynamic: a narrowed accumulator is not supported",
        ));
    }
    let q = p.tensor(st.inputs[0]);
    let e_max = check_consumer(p, st, 1, q.len())?;
    check_shifted(name, g.k, &q.format, g.weights.max_abs(), &g.bias, e_max)
}

pub(super) fn check_matmul(p: &Program, st: &Stage, m: &MatMulStage) -> Result<()> {
    let name = st.name.as_str();
    let Some(w) = &m.weights else {
        return Err(bad(name, "dynamic: only a linear layer (constant weights)"));
    };
    let q = p.tensor(st.inputs[0]);
    let e_max = check_consumer(p, st, m.groups * m.m, m.k)?;
    check_shifted(name, m.k, &q.format, w.max_abs(), &m.bias, e_max)
}
