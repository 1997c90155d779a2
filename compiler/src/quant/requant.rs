//! Requantization, written once: the step from a wide accumulator back to a narrow code.
//!
//! A layer computes `acc = Σ x_q · w_q` exactly in an accumulator of [`acc_bits`] bits, adds the
//! bias `b` (already in the accumulator's scale), and rescales by the real factor
//! `S_x · S_w / S_y`, encoded as `M0 · 2^(-31-s)` ([`super::quantize_multiplier`]):
//!
//! ```text
//! y = clamp( round((acc + b) · M0, 31 + s) + z )
//! ```
//!
//! where `round(v, n)` is [`shift_round_i128`] (divide by `2^n` with a rounding mode) and `clamp`
//! is [`saturate_i128`] (an overflow mode). The product is formed in `i128`, so no intermediate
//! can overflow for any 64-bit accumulator; there is no float anywhere. The simulator and the
//! RTL mirror exactly this function.

use serde::{Deserialize, Serialize};

use super::format::{BITS_RANGE, M0_MIN, SHIFT_RANGE};
use super::rounding::{resolve, saturate_i128, shift_round_i128, Discarded, Overflow, Rounding};
use super::QuantError;

/// The parameters of one requantization (one output channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Requant {
    /// `M0`: 31-bit fixed-point multiplier in `[2^30, 2^31)`, or 0.
    pub m0: i32,
    /// `s`: the product is shifted right by `31 + s`.
    pub shift: i32,
    /// `z`: the output zero point, added after rounding.
    pub zero_point: i32,
    /// Output width `W` and signedness.
    pub bits: u32,
    pub signed: bool,
    pub rounding: Rounding,
    pub overflow: Overflow,
}

impl Requant {
    /// The output codes' range `[lo, hi]` (SAT clamps to it).
    pub fn code_range(&self) -> (i64, i64) {
        if self.signed {
            (-(1i64 << (self.bits - 1)), (1i64 << (self.bits - 1)) - 1)
        } else {
            (0, (1i64 << self.bits) - 1)
        }
    }

    /// Checks the ranges [`requantize`] relies on.
    pub fn validate(&self) -> Result<(), QuantError> {
        let bad = |msg: String| Err(QuantError::Format(format!("requantization: {msg}")));
        if !BITS_RANGE.contains(&self.bits) {
            return bad(format!("output width {} not in 2..=16", self.bits));
        }
        if self.m0 != 0 && self.m0 < M0_MIN {
            return bad(format!("multiplier {} not 0 or in [2^30, 2^31)", self.m0));
        }
        if !SHIFT_RANGE.contains(&self.shift) {
            return bad(format!(
                "shift {} outside {}..={}",
                self.shift,
                SHIFT_RANGE.start(),
                SHIFT_RANGE.end()
            ));
        }
        Ok(())
    }

    /// `clamp(round((acc + bias) · M0, 31 + s) + z)`; see [`requantize`].
    pub fn apply(&self, acc: i64, bias: i64) -> i64 {
        requantize(acc, bias, self)
    }
}

/// The requantization of the number contract: `clamp(round((acc + bias) · M0, 31 + s) + z)`.
///
/// All intermediates are `i128`: `|acc + bias| < 2^64` and `M0 < 2^31`, so the product stays
/// below `2^95`. The parameters are expected to satisfy [`Requant::validate`] (in particular
/// `31 + s` in `0..=95`); an out-of-range shift panics rather than computing something else.
pub fn requantize(acc: i64, bias: i64, p: &Requant) -> i64 {
    let sum = i128::from(acc) + i128::from(bias);
    let prod = sum * i128::from(p.m0);
    let total = 31 + p.shift;
    let total = u32::try_from(total).expect("requantize: 31 + shift must be >= 0 (validate)");
    let rounded = shift_round_i128(prod, total, p.rounding);
    let y = rounded + i128::from(p.zero_point);
    saturate_i128(y, p.bits, p.signed, p.overflow) as i64
}

/// [`requantize`] on `i64` when the product fits (`|acc + bias| < 2^31`, shift at most 62): the
/// integer reference's per-output step. Same result for every input (property-tested); other
/// cases take the `i128` path.
#[inline]
pub fn requantize_fast(acc: i64, bias: i64, p: &Requant) -> i64 {
    let total = 31 + p.shift;
    match acc.checked_add(bias) {
        Some(sum) if sum.unsigned_abs() < 1 << 31 && (1..=62).contains(&total) => {
            // |prod| < 2^62, so adding half an LSB cannot overflow.
            let prod = sum * i64::from(p.m0);
            let half = 1i64 << (total - 1);
            if p.rounding == Rounding::Rnd && p.overflow == Overflow::Sat {
                // The default pair, without the general mode dispatch: floor(x + 1/2), clamp.
                let y = ((prod + half) >> total) + i64::from(p.zero_point);
                let (lo, hi) = p.code_range();
                return y.clamp(lo, hi);
            }
            let q = prod >> total;
            let rem = prod - (q << total);
            let rest = if rem == 0 {
                Discarded::Zero
            } else if rem < half {
                Discarded::BelowHalf
            } else if rem == half {
                Discarded::Half
            } else {
                Discarded::AboveHalf
            };
            let y = resolve(i128::from(q), rest, p.rounding) + i128::from(p.zero_point);
            saturate_i128(y, p.bits, p.signed, p.overflow) as i64
        }
        // Wider sums (i-GELU's `q·(q_1 + erf)`) in the default modes: the product in i128
        // (|sum| < 2^64, M0 < 2^31), then the same floor(x + 1/2) and clamp, without the general
        // mode dispatch of `requantize`.
        _ if p.rounding == Rounding::Rnd
            && p.overflow == Overflow::Sat
            && (1..=126).contains(&total) =>
        {
            let prod = (i128::from(acc) + i128::from(bias)) * i128::from(p.m0);
            let y = ((prod + (1i128 << (total - 1))) >> total) + i128::from(p.zero_point);
            let (lo, hi) = p.code_range();
            y.clamp(i128::from(lo), i128::from(hi)) as i64
        }
        _ => requantize(acc, bias, p),
    }
}

/// The worst-case accumulator width for `K` products of a `w_x`-bit and a `w_w`-bit operand:
/// `W_x + W_w + ceil(log2 K)`.
///
/// Each product fits in `W_x + W_w` bits (signed × signed needs one bit less except for
/// `min · min`, which the bound covers), and a sum of `K` of them grows by at most
/// `ceil(log2 K)` bits. With this width no accumulation can overflow; a narrower accumulator
/// must name an overflow mode. `K = 0` or `1` adds nothing.
pub fn acc_bits(w_x: u32, w_w: u32, k: u64) -> u32 {
    let growth = if k <= 1 {
        0
    } else {
        64 - (k - 1).leading_zeros()
    };
    w_x + w_w + growth
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(m0: i32, shift: i32, zero_point: i32, bits: u32, signed: bool) -> Requant {
        Requant {
            m0,
            shift,
            zero_point,
            bits,
            signed,
            rounding: Rounding::Rnd,
            overflow: Overflow::Sat,
        }
    }

    #[test]
    fn requantize_by_hand() {
        // M0 = 2^30, s = 2: multiplier 2^30 · 2^-33 = 1/8.
        let r = p(1 << 30, 2, 0, 8, true);
        r.validate().unwrap();
        assert_eq!(requantize(80, 0, &r), 10);
        assert_eq!(requantize(76, 0, &r), 10); // 9.5 → 10 (RND: ties toward +inf)
        assert_eq!(requantize(-76, 0, &r), -9); // -9.5 → -9
        assert_eq!(requantize(70, 6, &r), 10); // bias is added before scaling
        assert_eq!(requantize(10_000, 0, &r), 127); // saturates
        let conv = Requant {
            rounding: Rounding::RndConv,
            ..r
        };
        assert_eq!(requantize(76, 0, &conv), 10);
        assert_eq!(requantize(68, 0, &conv), 8); // 8.5 → 8
                                                 // zero point is added after rounding, then the clamp applies: uint8, z = 128.
        let u = p(1 << 30, 2, 128, 8, false);
        assert_eq!(requantize(-76, 0, &u), 119);
        assert_eq!(requantize(-10_000, 0, &u), 0);
        let wrap = Requant {
            overflow: Overflow::Wrap,
            ..u
        };
        assert_eq!(requantize(8 * 128, 0, &wrap), 0); // 128 + 128 = 256 wraps to 0
                                                      // Multiplier above one: s = -4, M0 = 0.75 · 2^31: 0.75 · 16 = 12.
        let big = p(3 << 29, -4, 0, 16, true);
        assert_eq!(requantize(100, 0, &big), 1200);
        // M0 = 0: all outputs are the zero point.
        assert_eq!(requantize(i64::MAX, i64::MAX, &p(0, 0, -3, 4, true)), -3);
    }

    #[test]
    fn extreme_accumulators_do_not_overflow() {
        let r = p(i32::MAX, -31, 0, 16, true);
        assert_eq!(requantize(i64::MAX, i64::MAX, &r), 32767);
        assert_eq!(requantize(i64::MIN, i64::MIN, &r), -32768);
        // -2^64 · (2^31 - 1) / 2^95 = -1 + 2^-31: rounds to -1.
        let r = p(i32::MAX, 64, 0, 16, true);
        assert_eq!(requantize(i64::MIN, i64::MIN, &r), -1);
    }

    #[test]
    fn validate_rejects_bad_parameters() {
        assert!(p(5, 0, 0, 8, true).validate().is_err());
        assert!(p(1 << 30, -32, 0, 8, true).validate().is_err());
        assert!(p(1 << 30, 0, 0, 17, true).validate().is_err());
    }

    #[test]
    fn accumulator_width() {
        assert_eq!(acc_bits(8, 8, 0), 16);
        assert_eq!(acc_bits(8, 8, 1), 16);
        assert_eq!(acc_bits(8, 8, 2), 17);
        assert_eq!(acc_bits(8, 8, 3), 18);
        assert_eq!(acc_bits(8, 8, 4), 18);
        assert_eq!(acc_bits(8, 8, 784), 26); // ceil(log2 784) = 10
        assert_eq!(acc_bits(4, 4, 1024), 18);
        assert_eq!(acc_bits(4, 4, 1025), 19);
        // The bound holds: K products of two int8 minimums fit a signed acc_bits-wide integer.
        for k in [1u64, 2, 3, 100, 4096] {
            let worst = k as i128 * 128 * 128;
            let w = acc_bits(8, 8, k);
            assert!(worst < (1i128 << (w - 1)), "k = {k}");
        }
    }

    /// The formula evaluated independently: `(acc + b) · M0 / 2^(31+s)` as an exact rational
    /// `num / den`, rounded by comparing twice the remainder with the denominator, then
    /// clamped or wrapped by explicit cases.
    fn reference(acc: i64, bias: i64, r: &Requant) -> i128 {
        let num = (i128::from(acc) + i128::from(bias)) * i128::from(r.m0);
        let den = 1i128 << (31 + r.shift);
        let (fl, rem) = (num.div_euclid(den), num.rem_euclid(den));
        let twice = 2 * rem;
        let neg = num < 0;
        let rounded = match r.rounding {
            _ if rem == 0 => fl,
            Rounding::Trn => fl,
            Rounding::TrnZero => fl + i128::from(neg),
            _ if twice < den => fl,
            _ if twice > den => fl + 1,
            Rounding::Rnd => fl + 1,
            Rounding::RndMinInf => fl,
            Rounding::RndZero => fl + i128::from(neg),
            Rounding::RndInf => fl + i128::from(!neg),
            Rounding::RndConv => fl + (fl & 1),
        };
        let y = rounded + i128::from(r.zero_point);
        let (lo, hi) = if r.signed {
            (-(1i128 << (r.bits - 1)), (1i128 << (r.bits - 1)) - 1)
        } else {
            (0, (1i128 << r.bits) - 1)
        };
        let sym_lo = if r.signed { -hi } else { lo };
        match r.overflow {
            Overflow::Sat => y.clamp(lo, hi),
            Overflow::SatSym => y.clamp(sym_lo, hi),
            Overflow::SatZero if y < lo || y > hi => 0,
            Overflow::SatZero => y,
            Overflow::Wrap => {
                let m = 1i128 << r.bits;
                let w = y.rem_euclid(m);
                if r.signed && w > hi {
                    w - m
                } else {
                    w
                }
            }
        }
    }

    fn params() -> impl Strategy<Value = Requant> {
        (
            prop_oneof![Just(0i32), M0_MIN..=i32::MAX],
            SHIFT_RANGE,
            any::<i16>(),
            BITS_RANGE,
            any::<bool>(),
            0usize..7,
            0usize..4,
        )
            .prop_map(|(m0, shift, z, bits, signed, mi, oi)| Requant {
                m0,
                shift,
                zero_point: i32::from(z),
                bits,
                signed,
                rounding: Rounding::ALL[mi],
                overflow: Overflow::ALL[oi],
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn requantize_matches_exact_rational(
            acc in prop_oneof![any::<i64>(), -(1i64 << 24)..(1i64 << 24)],
            bias in prop_oneof![any::<i64>(), -(1i64 << 20)..(1i64 << 20)],
            r in params(),
        ) {
            prop_assert_eq!(i128::from(requantize(acc, bias, &r)), reference(acc, bias, &r));
        }

        /// Exact ties are where rounding modes differ: force `(acc + b) · M0` to be an odd
        /// multiple of half the divisor.
        #[test]
        fn requantize_matches_exact_rational_on_ties(
            k in -(1i64 << 20)..(1i64 << 20), shift in 0i32..8, r in params(),
        ) {
            let r = Requant { m0: 1 << 30, shift, ..r }; // M0 · 2^-(31+s) = 2^-(s+1)
            let acc = (2 * k + 1) << shift; // (acc · 2^30) / 2^(31+s) = k + 1/2
            prop_assert_eq!(i128::from(requantize(acc, 0, &r)), reference(acc, 0, &r));
        }
    }

    proptest! {
        #[test]
        fn fast_requantize_equals_the_i128_definition(
            acc in prop_oneof![-(1i64 << 34)..(1i64 << 34), -(1i64 << 60)..(1i64 << 60)],
            bias in -(1i64 << 20)..(1i64 << 20),
            m0 in (1i32 << 30)..i32::MAX, shift in -31i32..90, z in -100i32..100,
            bits in 2u32..17, signed in any::<bool>(), r in 0usize..7, o in 0usize..4,
        ) {
            let rounding = [Rounding::Rnd, Rounding::RndZero, Rounding::RndMinInf, Rounding::RndInf, Rounding::RndConv, Rounding::Trn, Rounding::TrnZero][r];
            let overflow = [Overflow::Sat, Overflow::SatZero, Overflow::SatSym, Overflow::Wrap][o];
            let p = Requant { m0, shift, zero_point: z, bits, signed, rounding, overflow };
            prop_assert_eq!(requantize_fast(acc, bias, &p), requantize(acc, bias, &p));
        }
    }
}
