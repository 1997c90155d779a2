//! The array itself: shape, dataflow and number widths.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// Which operand stays in the processing elements while the others stream through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dataflow {
    #[default]
    WeightStationary,
    OutputStationary,
    InputStationary,
}

/// Arrays larger than this on a side are refused: nothing real is that big, and the exact
/// simulator allocates per PE.
pub const MAX_ARRAY_SIDE: usize = 4096;
/// Widest input or weight operand, in bits.
pub const MAX_OPERAND_BITS: u32 = 32;
/// Widest accumulator, in bits (the simulator accumulates in `i64`).
pub const MAX_ACC_BITS: u32 = 64;
/// Fastest clock accepted, in MHz.
pub const MAX_CLOCK_MHZ: f64 = 10_000.0;
/// Slowest clock accepted, in MHz: 1 MHz. Reports divide by the clock (seconds, GB/s); a
/// clock of 1e-300 MHz turns every latency into infinity, and no array runs below a megahertz.
pub const MIN_CLOCK_MHZ: f64 = 1.0;

pub(crate) fn default_operand_bits() -> u32 {
    8
}

pub(crate) fn default_acc_bits() -> u32 {
    32
}

pub(crate) fn check_side(field: &str, v: usize) -> Result<(), Invalid> {
    if v == 0 {
        return Err(Invalid::new(
            field,
            "0 is not a number of PEs (at least 1)".into(),
        ));
    }
    crate::limits::MAX_ARRAY_SIDE
        .check(v as u128)
        .map_err(|m| Invalid::new(field, m.to_string()))?;
    Ok(())
}

pub(crate) fn check_clock(mhz: f64) -> Result<(), Invalid> {
    if !(mhz.is_finite() && (MIN_CLOCK_MHZ..=MAX_CLOCK_MHZ).contains(&mhz)) {
        return Err(Invalid::new(
            "clock_mhz",
            format!(
                "{mhz} is not a frequency in [{MIN_CLOCK_MHZ}, {MAX_CLOCK_MHZ}] MHz \
                 (limits MIN_/MAX_CLOCK_MHZ)"
            ),
        ));
    }
    Ok(())
}

/// Operand widths must be 1..=32 bits; the accumulator must hold at least one full product
/// (`input_bits + weight_bits`) and at most 64 bits. Narrower sums than the worst case over a
/// whole reduction are the layer's business (an explicit overflow mode), not the hardware's.
pub(crate) fn check_widths(input: u32, weight: u32, acc: u32) -> Result<(), Invalid> {
    for (field, v) in [("input_bits", input), ("weight_bits", weight)] {
        if v == 0 || v > MAX_OPERAND_BITS {
            return Err(Invalid::new(
                field,
                format!("{v} is not in 1..={MAX_OPERAND_BITS} bits"),
            ));
        }
    }
    if acc == 0 || acc > MAX_ACC_BITS {
        return Err(Invalid::new(
            "acc_bits",
            format!("{acc} is not in 1..={MAX_ACC_BITS} bits"),
        ));
    }
    if acc < input + weight {
        return Err(Invalid::new(
            "acc_bits",
            format!(
                "{acc} bits cannot hold one product of {input}-bit inputs and \
                 {weight}-bit weights (needs at least {})",
                input + weight
            ),
        ));
    }
    Ok(())
}
