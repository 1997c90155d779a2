//! Field ranges of a fixed-point program: what the integer reference, both simulator engines,
//! the backend's ROMs and the RTL actually implement, checked before any of them runs.
//!
//! A `.sysq` file is user data. Its structure (ids, shapes, the accumulator proof) is checked in
//! `validate.rs`; this module checks every number that a kernel uses as a shift, a loop bound, a
//! divisor or a ROM width, so that a hand-edited file (a pool kernel of 2^40, 0-bit weights, a
//! requantizer shift the RTL cannot take) is refused naming the stage, the field, the value and
//! the accepted range, instead of hanging, dividing by zero or computing something else.

use std::ops::RangeInclusive;

use super::validate::bad;
use super::weights::MAX_OPERAND_BITS;
use super::{Coding, Fp8Kind, Weights, Window};
use crate::quant::{Requant, Scale};
use crate::Result;

/// Requantizer shifts `s` every implementation takes: the RTL computes `t = 31 + s` and rounds
/// by adding `2^(t−1)` (so `t ≥ 1`), the reference shifts an `i128` product right by `t ≤ 95`
/// (`quant::format::SHIFT_RANGE`), and `simulator/src/rtl/support.rs` refuses `t` outside
/// `1..=95`. `quantize_multiplier` never produces `s = −31` (a multiplier of 2^30 or more).
pub const REQUANT_SHIFT: RangeInclusive<i32> = -30..=64;
/// Integer weight codes (`int`, `int:g`) the quantizer writes and the ROM packer handles:
/// `weight_spec` parses int2..int16; 0 bits divides by zero in `backend::rom`, 64 overflows
/// every code range.
pub const INT_BITS: RangeInclusive<u32> = 2..=16;
/// Power-of-two codes (`pow2:2` .. `pow2:6`).
pub const POW2_BITS: RangeInclusive<u32> = 2..=6;
/// Codebook index widths (`kmeans:1` .. `kmeans:8`); the table has `2^bits` entries.
pub const CODEBOOK_BITS: RangeInclusive<u32> = 1..=8;
/// Codebook entry widths (the quantizer writes 8).
pub const TABLE_BITS: RangeInclusive<u32> = 2..=16;
/// Shared-exponent block elements (`mx:2` .. `mx:8`).
pub const BLOCK_BITS: RangeInclusive<u32> = 2..=8;
/// Group multiplier widths (the quantizer writes 4).
pub const MULT_BITS: RangeInclusive<u32> = 1..=16;
/// Largest window extent, stride or dilation along one axis. Real kernels are a few taps; the
/// bound keeps every tap coordinate (`o·stride − pad + k·dilation`) far inside `i64`.
pub const MAX_WINDOW: usize = 1 << 16;

fn range_err<T: std::fmt::Display>(
    stage: &str,
    field: &str,
    v: T,
    range: impl std::fmt::Display,
    why: &str,
) -> crate::Error {
    bad(stage, format!("{field} = {v} is not in {range} ({why})"))
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    stage: &str,
    field: &str,
    v: T,
    r: &RangeInclusive<T>,
    why: &str,
) -> Result<()> {
    if r.contains(&v) {
        Ok(())
    } else {
        Err(range_err(
            stage,
            field,
            v,
            format!("{}..={}", r.start(), r.end()),
            why,
        ))
    }
}

/// A count that must be at least 1.
fn positive(stage: &str, field: &str, v: usize, why: &str) -> Result<()> {
    if v == 0 {
        return Err(range_err(stage, field, v, "1.. (at least 1)", why));
    }
    Ok(())
}

/// A requantizer's fields beyond `Requant::validate` (width, normalized multiplier).
pub(super) fn requant(stage: &str, which: &str, r: &Requant) -> Result<()> {
    r.validate()
        .map_err(|e| bad(stage, format!("{which}: {e}")))?;
    in_range(
        stage,
        &format!("{which}: requant.shift"),
        r.shift,
        &REQUANT_SHIFT,
        "31 + shift must be 1..=95: the RTL rounds by adding 2^(30 + shift), the reference shifts an i128 product",
    )?;
    if r.m0 == 0 && r.shift != 0 {
        return Err(bad(
            stage,
            format!(
                "{which}: requant.m0 = 0 with shift {} (a zero multiplier is written with shift 0, \
                 as quantize_multiplier does)",
                r.shift
            ),
        ));
    }
    Ok(())
}

/// An activation tensor's step must be positive: the lowering refuses a zero step
/// (`lower::act_format`), the `Quantize` stage would divide by it, and every requantizer
/// derived from it is meaningless.
pub(super) fn activation_step(tensor: &str, f: &crate::quant::Format) -> Result<()> {
    if let Scale::Affine { multiplier: 0, .. } = f.scale {
        return Err(crate::Error::Program {
            at: format!("tensor {tensor}"),
            msg: "format multiplier = 0 is not in [2^30, 2^31) (an activation step of 0; the \
                  lowering never writes it)"
                .into(),
        });
    }
    Ok(())
}

/// A per-sample shape: at most `--max-tensor-elements` elements, counted without overflow,
/// before anything is sized from it.
pub(super) fn shape(what: &str, s: &[usize]) -> Result<()> {
    let n = s
        .iter()
        .try_fold(1u128, |a, &d| a.checked_mul(d as u128))
        .unwrap_or(u128::MAX);
    systole_hw::limits::MAX_TENSOR_ELEMENTS
        .check(n)
        .map_err(|m| crate::Error::Program {
            at: format!("{what} of shape {s:?}"),
            msg: m.to_string(),
        })
}

/// A convolution or pooling window: every kernel, stride and dilation at least 1, pads smaller
/// than the kernel's extent (a window wholly in the padding has no input to pool, and no model
/// needs it), the window inside the padded input, and the im2col view (channels × kernel area ×
/// output area, what the array streams or the pool compares) within `--max-tensor-elements`.
pub(super) fn window(stage: &str, what: &str, w: &Window) -> Result<()> {
    let f = |field: &str| format!("{what}.{field}");
    positive(
        stage,
        &f("channels"),
        w.channels,
        "a window reads at least one channel",
    )?;
    for d in 0..2 {
        let axis = ["[0]", "[1]"][d];
        positive(
            stage,
            &(f("input") + axis),
            w.input[d],
            "an empty input has no window",
        )?;
        positive(stage, &(f("output") + axis), w.output[d], "an empty output")?;
        in_range(
            stage,
            &(f("kernel") + axis),
            w.kernel[d],
            &(1..=MAX_WINDOW),
            "kernel taps per axis",
        )?;
        in_range(
            stage,
            &(f("strides") + axis),
            w.strides[d],
            &(1..=MAX_WINDOW),
            "a stride of 0 repeats one window",
        )?;
        in_range(
            stage,
            &(f("dilations") + axis),
            w.dilations[d],
            &(1..=MAX_WINDOW),
            "a dilation of 0 reads one tap",
        )?;
        let extent = w.dilations[d] * (w.kernel[d] - 1) + 1;
        in_range(
            stage,
            &(f("pad_begin") + axis),
            w.pad_begin[d],
            &(0..=extent - 1),
            "pads are smaller than the kernel's extent",
        )?;
        // The padding after the input that the last output's window needs.
        let last = (w.output[d] as u128 - 1) * w.strides[d] as u128 + extent as u128;
        let pad_end = last.saturating_sub((w.input[d] + w.pad_begin[d]) as u128);
        if pad_end >= extent as u128 {
            return Err(bad(
                stage,
                format!(
                    "{} = {} needs {pad_end} padding after an input of {}: not in 0..={} \
                     (pads are smaller than the kernel's extent)",
                    f("output") + axis,
                    w.output[d],
                    w.input[d],
                    extent - 1
                ),
            ));
        }
    }
    let view = [
        w.channels,
        w.kernel[0],
        w.kernel[1],
        w.output[0],
        w.output[1],
    ]
    .iter()
    .try_fold(1u128, |a, &d| a.checked_mul(d as u128))
    .unwrap_or(u128::MAX);
    systole_hw::limits::MAX_TENSOR_ELEMENTS
        .check(view)
        .map_err(|m| {
            bad(
                stage,
                format!("{what}: the im2col view (channels × kernel × output) has {m}"),
            )
        })
}

/// Every width and shift of a weight coding, before any code is decoded (decoding shifts by
/// them and sizes tables from them).
pub(super) fn coding(stage: &str, w: &Weights) -> Result<()> {
    let code = "weights.coding";
    match &w.coding {
        Coding::Int { bits } => in_range(
            stage,
            &format!("{code}.bits"),
            *bits,
            &INT_BITS,
            "int2..int16 weights",
        ),
        Coding::Group {
            bits,
            group,
            mult_bits,
            ..
        } => {
            in_range(
                stage,
                &format!("{code}.bits"),
                *bits,
                &INT_BITS,
                "int2..int16 weights",
            )?;
            positive(
                stage,
                &format!("{code}.group"),
                *group,
                "at least one weight per group",
            )?;
            in_range(
                stage,
                &format!("{code}.mult_bits"),
                *mult_bits,
                &MULT_BITS,
                "group multiplier width",
            )
        }
        Coding::Pow2 { bits } => in_range(
            stage,
            &format!("{code}.bits"),
            *bits,
            &POW2_BITS,
            "pow2:2..pow2:6",
        ),
        Coding::Codebook {
            bits, table_bits, ..
        } => {
            in_range(
                stage,
                &format!("{code}.bits"),
                *bits,
                &CODEBOOK_BITS,
                "kmeans:1..kmeans:8",
            )?;
            in_range(
                stage,
                &format!("{code}.table_bits"),
                *table_bits,
                &TABLE_BITS,
                "codebook entry width",
            )
        }
        Coding::Fp8 { kind, shifts } => {
            let r = fp8_shifts(*kind);
            for (c, &s) in shifts.iter().enumerate() {
                in_range(
                    stage,
                    &format!("{code}.shifts[{c}]"),
                    s,
                    &r,
                    "a channel's window starts at an exponent of the FP8 kind",
                )?;
            }
            Ok(())
        }
        Coding::Block {
            bits,
            group,
            shifts,
        } => {
            in_range(
                stage,
                &format!("{code}.bits"),
                *bits,
                &BLOCK_BITS,
                "mx:2..mx:8",
            )?;
            positive(
                stage,
                &format!("{code}.group"),
                *group,
                "at least one weight per block",
            )?;
            let r = 0..=(MAX_OPERAND_BITS - bits) as i32;
            for (i, &s) in shifts.iter().enumerate() {
                in_range(
                    stage,
                    &format!("{code}.shifts[{i}]"),
                    s,
                    &r,
                    "a block's exponent above the channel's smallest, keeping operands within 24 bits",
                )?;
            }
            Ok(())
        }
    }
}

/// The exponents of an FP8 kind's finite values (`split`'s third component): where the
/// quantizer's per-channel window may start.
pub fn fp8_shifts(kind: Fp8Kind) -> RangeInclusive<i32> {
    let lo = kind.split(1).2;
    let hi = kind.split(kind.max_code()).2;
    lo..=hi
}
