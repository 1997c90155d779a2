//! ap_fixed's quantization (rounding) and overflow modes, on integers.
//!
//! The names and meanings are those of Vitis HLS `ap_[u]fixed<W, I, Q, O>` (UG1399, "Quantization
//! Modes" and "Overflow Modes"), so a hardware engineer reads a Systole format without a glossary
//! and an hls4ml precision string maps onto it one to one.
//!
//! A quantized value is an integer `q` standing for `q · 2^-F`. Dropping `shift` fraction bits
//! is a division by `2^shift` whose rounding is a [`Rounding`] mode ([`shift_round`]); fitting the
//! result into `W` bits is an [`Overflow`] mode ([`saturate`]). Both work on integers only: no
//! float is ever on the path from an accumulator to an output.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::QuantError;

/// What happens to the bits below the new least significant bit (ap_fixed's `Q` parameter).
///
/// The five `RND*` modes round to the *nearest* representable value and differ only in how they
/// break an exact tie (a discarded part of exactly one half LSB); the two `TRN*` modes discard
/// the bits. Examples below are UG1399's: `ap_fixed<3, 2>` has one fraction bit, so `±1.25` is a
/// tie between `±1.0` and `±1.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rounding {
    /// `AP_RND`, "rounding to plus infinity": nearest, ties toward +∞.
    /// `1.25 → 1.5`, `-1.25 → -1.0`. Cheapest rounding in hardware (add half an LSB, truncate).
    #[serde(rename = "RND")]
    Rnd,
    /// `AP_RND_ZERO`, "rounding to zero": nearest, ties toward zero.
    /// `1.25 → 1.0`, `-1.25 → -1.0`.
    #[serde(rename = "RND_ZERO")]
    RndZero,
    /// `AP_RND_MIN_INF`, "rounding to minus infinity": nearest, ties toward −∞.
    /// `1.25 → 1.0`, `-1.25 → -1.5`.
    #[serde(rename = "RND_MIN_INF")]
    RndMinInf,
    /// `AP_RND_INF`, "rounding to infinity": nearest, ties away from zero (C's `round`).
    /// `1.25 → 1.5`, `-1.25 → -1.5`.
    #[serde(rename = "RND_INF")]
    RndInf,
    /// `AP_RND_CONV`, "convergent rounding": nearest, ties to even (IEEE 754 default). Unbiased,
    /// which matters when many rounded values are summed.
    /// `1.25 → 1.0`, `-1.25 → -1.0`, `1.75 → 2.0`.
    #[serde(rename = "RND_CONV")]
    RndConv,
    /// `AP_TRN`, "truncation" (ap_fixed's default): toward −∞, i.e. floor; free in hardware
    /// (drop the bits), biased by −½ LSB on average.
    #[serde(rename = "TRN")]
    Trn,
    /// `AP_TRN_ZERO`, "truncation to zero": toward zero (C's integer division).
    #[serde(rename = "TRN_ZERO")]
    TrnZero,
}

/// What happens when a value does not fit in `W` bits (ap_fixed's `O` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Overflow {
    /// `AP_SAT`: clamp to the largest / most negative representable value
    /// (`ap_fixed<4,4>`: `19 → 7`, `-19 → -8`; `ap_ufixed<4,4>`: `19 → 15`, `-19 → 0`).
    #[serde(rename = "SAT")]
    Sat,
    /// `AP_SAT_ZERO`: any overflow, either direction, gives zero (`19 → 0`, `-19 → 0`).
    #[serde(rename = "SAT_ZERO")]
    SatZero,
    /// `AP_SAT_SYM`: clamp to a symmetric range: signed `[-(2^(W-1)-1), 2^(W-1)-1]`, so the most
    /// negative code is never produced and negation cannot overflow (`ap_fixed<4,4>`: `-19 → -7`);
    /// for unsigned the same as `SAT`.
    #[serde(rename = "SAT_SYM")]
    SatSym,
    /// `AP_WRAP` (ap_fixed's default): keep the low `W` bits, two's complement wrap-around;
    /// free in hardware. (`AP_WRAP_SM`, sign-magnitude wrap, is not supported.)
    #[serde(rename = "WRAP")]
    Wrap,
}

const ROUNDING_NAMES: &str = "RND, RND_ZERO, RND_MIN_INF, RND_INF, RND_CONV, TRN, TRN_ZERO";
const OVERFLOW_NAMES: &str = "SAT, SAT_ZERO, SAT_SYM, WRAP";

impl Rounding {
    /// All modes, in ap_fixed's documentation order.
    pub const ALL: [Rounding; 7] = [
        Rounding::Rnd,
        Rounding::RndZero,
        Rounding::RndMinInf,
        Rounding::RndInf,
        Rounding::RndConv,
        Rounding::Trn,
        Rounding::TrnZero,
    ];

    /// The ap_fixed name without the `AP_` prefix, as written in formats and files.
    pub fn name(self) -> &'static str {
        match self {
            Rounding::Rnd => "RND",
            Rounding::RndZero => "RND_ZERO",
            Rounding::RndMinInf => "RND_MIN_INF",
            Rounding::RndInf => "RND_INF",
            Rounding::RndConv => "RND_CONV",
            Rounding::Trn => "TRN",
            Rounding::TrnZero => "TRN_ZERO",
        }
    }
}

impl Overflow {
    /// All modes, in ap_fixed's documentation order.
    pub const ALL: [Overflow; 4] = [
        Overflow::Sat,
        Overflow::SatZero,
        Overflow::SatSym,
        Overflow::Wrap,
    ];

    /// The ap_fixed name without the `AP_` prefix, as written in formats and files.
    pub fn name(self) -> &'static str {
        match self {
            Overflow::Sat => "SAT",
            Overflow::SatZero => "SAT_ZERO",
            Overflow::SatSym => "SAT_SYM",
            Overflow::Wrap => "WRAP",
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Strips an optional `AP_` prefix, so hls4ml-style `AP_RND_CONV` is accepted too.
fn strip_ap(s: &str) -> &str {
    s.strip_prefix("AP_").unwrap_or(s)
}

impl FromStr for Rounding {
    type Err = QuantError;

    fn from_str(s: &str) -> Result<Rounding, QuantError> {
        let name = strip_ap(s.trim());
        Rounding::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| QuantError::UnknownMode {
                kind: "rounding",
                name: s.to_string(),
                valid: ROUNDING_NAMES,
            })
    }
}

impl FromStr for Overflow {
    type Err = QuantError;

    fn from_str(s: &str) -> Result<Overflow, QuantError> {
        let name = strip_ap(s.trim());
        Overflow::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| QuantError::UnknownMode {
                kind: "overflow",
                name: s.to_string(),
                valid: OVERFLOW_NAMES,
            })
    }
}

/// How the discarded part of a division compares with one half LSB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Discarded {
    Zero,
    BelowHalf,
    Half,
    AboveHalf,
}

/// Applies a rounding mode given the floor `q` of the exact quotient and the discarded part.
///
/// The exact value lies in `[q, q + 1)`; it is negative exactly when `q < 0`. Shared by the
/// integer path ([`shift_round_i128`]) and the calibration float path so both round alike.
pub(crate) fn resolve(q: i128, rest: Discarded, mode: Rounding) -> i128 {
    let up = q + 1;
    match (rest, mode) {
        (Discarded::Zero, _) => q,
        (_, Rounding::Trn) => q,
        (_, Rounding::TrnZero) => {
            if q < 0 {
                up
            } else {
                q
            }
        }
        (Discarded::BelowHalf, _) => q,
        (Discarded::AboveHalf, _) => up,
        (Discarded::Half, Rounding::Rnd) => up,
        (Discarded::Half, Rounding::RndMinInf) => q,
        (Discarded::Half, Rounding::RndZero) => {
            if q < 0 {
                up
            } else {
                q
            }
        }
        (Discarded::Half, Rounding::RndInf) => {
            if q < 0 {
                q
            } else {
                up
            }
        }
        (Discarded::Half, Rounding::RndConv) => {
            if q & 1 == 0 {
                q
            } else {
                up
            }
        }
    }
}

/// `x / 2^shift` rounded with `mode`, on `i128` (the width requantization needs).
///
/// `shift` must be at most 126 (so that half an LSB, `2^(shift-1)`, is an `i128`); the
/// requantization shifts `31 + s` are validated well below that.
pub fn shift_round_i128(x: i128, shift: u32, mode: Rounding) -> i128 {
    assert!(shift <= 126, "shift_round_i128: shift {shift} > 126");
    if shift == 0 {
        return x;
    }
    let q = x >> shift; // arithmetic shift: floor
    let rem = x - (q << shift); // in [0, 2^shift)
    resolve(q, cmp_half(rem, 1i128 << (shift - 1)), mode)
}

fn cmp_half(rem: i128, half: i128) -> Discarded {
    if rem == 0 {
        return Discarded::Zero;
    }
    match rem.cmp(&half) {
        std::cmp::Ordering::Less => Discarded::BelowHalf,
        std::cmp::Ordering::Equal => Discarded::Half,
        std::cmp::Ordering::Greater => Discarded::AboveHalf,
    }
}

/// `x / 2^shift` rounded with `mode`: dropping `shift` fraction bits of a fixed-point integer.
///
/// `shift_round(5, 1, Rounding::Rnd) == 3` is UG1399's `1.25 → 1.5` for `ap_fixed<3, 2, AP_RND>`
/// (5 is 1.25 with two fraction bits; the result 3 is 1.5 with one).
pub fn shift_round(x: i64, shift: u32, mode: Rounding) -> i64 {
    // For |x| <= 2^63 and shift >= 65 the quotient is within a quarter of zero, so every mode
    // gives the same result for any such shift: clamping the shift to 100 is exact. The quotient
    // of an i64 by 2^shift (shift >= 1) always fits in i64, also after rounding up.
    shift_round_i128(i128::from(x), shift.min(100), mode) as i64
}

/// The representable range `[min, max]` of a `bits`-wide integer under `mode`.
///
/// Only `SAT_SYM` changes the range (signed minimum `-max`); the other modes differ in what
/// happens outside it.
pub(crate) fn range(bits: u32, signed: bool, mode: Overflow) -> (i128, i128) {
    debug_assert!((1..=126).contains(&bits));
    if signed {
        let max = (1i128 << (bits - 1)) - 1;
        let min = if mode == Overflow::SatSym && bits > 1 {
            -max
        } else {
            -max - 1
        };
        (min, max)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// Fits `x` into a `bits`-wide signed or unsigned integer with overflow `mode`, on `i128`.
///
/// `bits` must be in `1..=126`.
pub fn saturate_i128(x: i128, bits: u32, signed: bool, mode: Overflow) -> i128 {
    assert!(
        (1..=126).contains(&bits),
        "saturate: bits {bits} not in 1..=126"
    );
    let (min, max) = range(bits, signed, mode);
    if (min..=max).contains(&x) {
        return x;
    }
    match mode {
        Overflow::Sat | Overflow::SatSym => x.clamp(min, max),
        Overflow::SatZero => 0,
        Overflow::Wrap => {
            let modulus = 1i128 << bits;
            let low = x.rem_euclid(modulus);
            if signed && low > max {
                low - modulus
            } else {
                low
            }
        }
    }
}

/// Fits `x` into a `bits`-wide signed or unsigned integer with overflow `mode`.
///
/// `saturate(19, 4, true, Overflow::Sat) == 7` and `saturate(-19, 4, true, Overflow::SatSym) ==
/// -7` are UG1399's `ap_fixed<4, 4>` examples. `bits` must be in `1..=64` (64 only for signed).
pub fn saturate(x: i64, bits: u32, signed: bool, mode: Overflow) -> i64 {
    assert!(
        (1..=64).contains(&bits) && (signed || bits < 64),
        "saturate: {} bits do not fit an i64",
        bits
    );
    saturate_i128(i128::from(x), bits, signed, mode) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use Overflow::*;
    use Rounding::*;

    /// Modes in the column order of the tables below.
    const MODES: [Rounding; 7] = [Rnd, RndZero, RndMinInf, RndInf, RndConv, Trn, TrnZero];

    #[test]
    fn every_rounding_mode_on_hand_computed_cases() {
        // (value, x, shift, [RND, RND_ZERO, RND_MIN_INF, RND_INF, RND_CONV, TRN, TRN_ZERO]),
        // x = value · 2^shift; the result is value rounded to an integer.
        #[rustfmt::skip]
        let cases: &[(&str, i64, u32, [i64; 7])] = &[
            ("2.5",   5,   1, [3, 2, 2, 3, 2, 2, 2]),
            ("-2.5",  -5,  1, [-2, -2, -3, -3, -2, -3, -2]),
            ("3.5",   7,   1, [4, 3, 3, 4, 4, 3, 3]),
            ("-3.5",  -7,  1, [-3, -3, -4, -4, -4, -4, -3]),
            ("2.25",  9,   2, [2, 2, 2, 2, 2, 2, 2]),
            ("-2.25", -9,  2, [-2, -2, -2, -2, -2, -3, -2]),
            ("2.75",  11,  2, [3, 3, 3, 3, 3, 2, 2]),
            ("-2.75", -11, 2, [-3, -3, -3, -3, -3, -3, -2]),
            ("3.0",   12,  2, [3, 3, 3, 3, 3, 3, 3]),
            ("-3.0",  -12, 2, [-3, -3, -3, -3, -3, -3, -3]),
            ("0.5",   1,   1, [1, 0, 0, 1, 0, 0, 0]),
            ("-0.5",  -1,  1, [0, 0, -1, -1, 0, -1, 0]),
            ("-0.25", -1,  2, [0, 0, 0, 0, 0, -1, 0]),
            ("0",     0,   5, [0, 0, 0, 0, 0, 0, 0]),
            ("-1/2 (i64::MIN >> 64)", i64::MIN, 64, [0, 0, -1, -1, 0, -1, 0]),
            ("tiny negative", -1, 200, [0, 0, 0, 0, 0, -1, 0]),
            ("tiny positive", 1, 200, [0, 0, 0, 0, 0, 0, 0]),
        ];
        for (name, x, shift, want) in cases {
            for (mode, want) in MODES.iter().zip(want) {
                assert_eq!(shift_round(*x, *shift, *mode), *want, "{name} with {mode}");
            }
        }
    }

    #[test]
    fn ug1399_quantization_examples() {
        // ap_fixed<3, 2, Q> = ±1.25: 1.25 is 5 with two fraction bits; keep one.
        let ex = [
            (Rnd, 3, -2),       // 1.5, -1.0
            (RndZero, 2, -2),   // 1.0, -1.0
            (RndMinInf, 2, -3), // 1.0, -1.5
            (RndInf, 3, -3),    // 1.5, -1.5
            (RndConv, 2, -2),   // 1.0, -1.0
        ];
        for (mode, pos, neg) in ex {
            assert_eq!(shift_round(5, 1, mode), pos, "{mode}");
            assert_eq!(shift_round(-5, 1, mode), neg, "{mode}");
        }
    }

    #[test]
    fn shift_zero_is_identity_and_extremes_do_not_overflow() {
        for mode in MODES {
            assert_eq!(shift_round(-7, 0, mode), -7);
            assert_eq!(shift_round(i64::MAX, 0, mode), i64::MAX);
            assert!(shift_round(i64::MAX, 1, mode) <= 1 << 62);
            assert!(shift_round(i64::MIN, 1, mode) == -(1 << 62));
            assert!((1..=2).contains(&shift_round_i128(i128::MAX, 126, mode)));
        }
    }

    #[test]
    fn every_overflow_mode_on_hand_computed_cases() {
        // (x, bits, signed, [SAT, SAT_ZERO, SAT_SYM, WRAP]); UG1399's ap_[u]fixed<4,4> examples
        // first.
        #[rustfmt::skip]
        let cases: &[(i64, u32, bool, [i64; 4])] = &[
            (19, 4, true, [7, 0, 7, 3]),
            (-19, 4, true, [-8, 0, -7, -3]),
            (19, 4, false, [15, 0, 15, 3]),
            (-19, 4, false, [0, 0, 0, 13]),
            (-8, 4, true, [-8, -8, -7, -8]), // SAT_SYM never yields the most negative code
            (7, 4, true, [7, 7, 7, 7]),
            (8, 4, true, [7, 0, 7, -8]),
            (-9, 4, true, [-8, 0, -7, 7]),
            (16, 4, false, [15, 0, 15, 0]),
            (-1, 4, false, [0, 0, 0, 15]),
            (128, 8, true, [127, 0, 127, -128]),
            (-129, 8, true, [-128, 0, -127, 127]),
            (256, 8, false, [255, 0, 255, 0]),
            (i64::MIN, 64, true, [i64::MIN, i64::MIN, i64::MIN + 1, i64::MIN]),
            (i64::MIN, 16, true, [-32768, 0, -32767, 0]),
        ];
        for (x, bits, signed, want) in cases {
            for (mode, want) in Overflow::ALL.iter().zip(want) {
                assert_eq!(
                    saturate(*x, *bits, *signed, *mode),
                    *want,
                    "{x} {bits} {signed} {mode}"
                );
            }
        }
    }

    #[test]
    fn names_roundtrip_through_fromstr_display_and_serde() {
        for mode in Rounding::ALL {
            assert_eq!(mode.to_string().parse::<Rounding>().unwrap(), mode);
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.name()));
            assert_eq!(serde_json::from_str::<Rounding>(&json).unwrap(), mode);
        }
        for mode in Overflow::ALL {
            assert_eq!(mode.to_string().parse::<Overflow>().unwrap(), mode);
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.name()));
            assert_eq!(serde_json::from_str::<Overflow>(&json).unwrap(), mode);
        }
        assert_eq!("AP_RND_CONV".parse::<Rounding>().unwrap(), RndConv);
        assert_eq!("AP_SAT_SYM".parse::<Overflow>().unwrap(), SatSym);
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let e = "ROUND".parse::<Rounding>().unwrap_err().to_string();
        assert!(
            e.contains("'ROUND'") && e.contains("RND_CONV") && e.contains("TRN_ZERO"),
            "{e}"
        );
        let e = "CLAMP".parse::<Overflow>().unwrap_err().to_string();
        assert!(
            e.contains("'CLAMP'") && e.contains("SAT_SYM") && e.contains("WRAP"),
            "{e}"
        );
    }
}
