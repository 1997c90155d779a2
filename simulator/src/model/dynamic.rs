//! Dynamic quantization on the accelerator (`docs/quantization.md`, "Dynamic quantization").
//!
//! * `DynamicExponent` (the vector unit's `RowMax`, or the host) and `DynamicQuant` (the vector
//!   unit's `Requantize`) run the integer reference's kernels
//!   (`reference::int::dynamic::{exponents, quantize}`) on the simulator's own tensors, like
//!   every vector op; the exact engine also compares their outputs with the reference, so a
//!   wrong exponent is named where it is made, not only where the array uses it.
//! * A dynamic array stage (`Gemm`/`MatMul` with `dynamic: true`) multiplies the codes `q` and
//!   the weights exactly as a static stage does; its input 1 (the exponents) never enters the
//!   array. The requantization unit at the array's edge shifts each accumulator left by its
//!   row's exponent before adding the bias (`reference::int::dynamic::finish`): a barrel shifter
//!   in the requantizer, charged no cycles.

use systole_compiler::fxir::{Program, Stage, StageKind, VectorOp};

use crate::error::{Result, SimError};

/// The largest exponent the requantizer's shifter takes (`acc << e` stays in an `i64` for any
/// accumulator the array can produce only below this; `validate` proves the real bound).
const MAX_SHIFT: i32 = 62;

/// Whether stage `st` is an array stage reading run-time exponents.
pub(crate) fn is_dynamic_array(st: &Stage) -> bool {
    match &st.kind {
        StageKind::Gemm(g) => g.dynamic,
        StageKind::MatMul(m) => m.dynamic,
        _ => false,
    }
}

/// Whether stage `st` is one of the two dynamic vector stages, whose outputs the exact engine
/// compares with the reference.
pub(crate) fn is_dynamic_vector(st: &Stage) -> bool {
    matches!(
        st.kind,
        StageKind::Vector(VectorOp::DynamicExponent { .. } | VectorOp::DynamicQuant { .. })
    )
}

/// The row exponents of a dynamic array stage (its input 1), checked: one per row of the
/// stage's output (`rows`), each in `0..=62`.
pub(crate) fn row_exponents<'a>(
    p: &Program,
    st: &Stage,
    rows: usize,
    get: &dyn Fn(systole_compiler::fxir::TensorId) -> &'a [i32],
) -> Result<&'a [i32]> {
    // `Program::validate` checks the stage's inputs and the exponent stage; the reference
    // computes the exponents within range.
    let bad = |what: String| SimError::internal(format!("layer '{}': {what}", st.name));
    let &t = st
        .inputs
        .get(1)
        .ok_or_else(|| bad("a dynamic array stage without its exponent input".into()))?;
    let e = get(t);
    if e.len() != rows {
        return Err(bad(format!(
            "{} exponents in '{}' for {rows} rows",
            e.len(),
            p.tensor(t).name
        )));
    }
    if let Some(i) = e.iter().position(|v| !(0..=MAX_SHIFT).contains(v)) {
        return Err(bad(format!(
            "exponent {} of row {i} in '{}' is outside 0..={MAX_SHIFT}",
            e[i],
            p.tensor(t).name
        )));
    }
    Ok(e)
}
