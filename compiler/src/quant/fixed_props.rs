//! Property tests: the binary-point cases of [`shift_round`] + [`saturate`] agree with the
//! `fixed` crate, an independent implementation, at the widths it has.
//!
//! Converting a wider binary-point value to a narrower one (`I16F16 → I8F8`, ...) is done on the
//! `fixed` side with its own rounding (`floor`, `round_to_zero`, `round` = ties away,
//! `round_ties_even`, plus `ceil`/`floor` at exact ties for the directed tie modes) at the target
//! grid, and its own overflow handling (`saturating_from_num`, `wrapping_from_num`,
//! `checked_from_num`); on ours with the integer primitives on the raw bits.

use fixed::traits::Fixed;
use fixed::types::{I16F16, I24F8, I32F32, I48F16, I4F4, I64F64, I8F8, U16F16, U48F16, U8F8};
use proptest::prelude::*;

use super::rounding::{saturate, shift_round, Overflow, Rounding};

/// Rounds `y` to an integer with `mode`, using only the `fixed` crate's operations.
fn round_with<F: Fixed>(y: F, mode: Rounding) -> F {
    let half = F::from_num(0.5);
    let tie = y.frac() == half;
    match mode {
        Rounding::Trn => y.floor(),
        Rounding::TrnZero => y.round_to_zero(),
        Rounding::RndInf => y.round(),
        Rounding::RndConv => y.round_ties_even(),
        Rounding::Rnd if tie => y.ceil(),
        Rounding::RndMinInf if tie => y.floor(),
        Rounding::RndZero if tie => y.round_to_zero(),
        Rounding::Rnd | Rounding::RndMinInf | Rounding::RndZero => y.round(),
    }
}

/// Low bits biased toward the interesting cases: exact, tie, and one LSB either side of a tie.
fn low_bits(drop: u32) -> impl Strategy<Value = i64> {
    let half = 1i64 << (drop - 1);
    prop_oneof![
        Just(0),
        Just(half),
        Just(half - 1),
        Just(half + 1),
        0..(1i64 << drop),
    ]
}

macro_rules! against_fixed {
    ($name:ident, $Src:ty, $Raw:ty, $Dst:ty, $Wide:ty, $drop:expr, $dst_bits:expr, $signed:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            #[test]
            fn $name(hi in any::<$Raw>(), low in low_bits($drop), mi in 0usize..7, oi in 0usize..4) {
                let mode = Rounding::ALL[mi];
                let ov = Overflow::ALL[oi];
                let mask: $Raw = ((1i64 << $drop) - 1) as $Raw;
                let raw: $Raw = (hi & !mask) | (low as $Raw);

                // fixed: scale to the target grid, round to an integer, scale back, convert.
                let x = <$Src>::from_bits(raw);
                let dst_frac = <$Dst>::FRAC_NBITS;
                let y = <$Wide>::from_num(x) << dst_frac;
                let v = round_with(y, mode) >> dst_frac; // exact: Wide has enough fraction bits
                let theirs: i64 = match ov {
                    Overflow::Sat => <$Dst>::saturating_from_num(v).to_bits() as i64,
                    Overflow::Wrap => <$Dst>::wrapping_from_num(v).to_bits() as i64,
                    Overflow::SatZero => <$Dst>::checked_from_num(v).map_or(0, |d| d.to_bits() as i64),
                    Overflow::SatSym => {
                        let d = <$Dst>::saturating_from_num(v);
                        let d = if $signed && d == <$Dst>::MIN { d + <$Dst>::DELTA } else { d };
                        d.to_bits() as i64
                    }
                };

                let ours = saturate(shift_round(raw as i64, $drop, mode), $dst_bits, $signed, ov);
                prop_assert_eq!(ours, theirs, "{} -> {} with {}, {}", x, v, mode, ov);
            }
        }
    };
}

against_fixed!(i16f16_to_i8f8, I16F16, i32, I8F8, I48F16, 8, 16, true);
against_fixed!(i8f8_to_i4f4, I8F8, i16, I4F4, I24F8, 4, 8, true);
against_fixed!(i16f16_to_i4f4, I16F16, i32, I4F4, I48F16, 12, 8, true);
against_fixed!(u16f16_to_u8f8, U16F16, u32, U8F8, U48F16, 8, 16, false);
against_fixed!(i32f32_to_i16f16, I32F32, i64, I16F16, I64F64, 16, 32, true);
