//! The runtime description of quantized numbers: one definition shared by the quantizer, the
//! integer reference, the simulator and the backend.
//!
//! A format is plain data (serde), not a type parameter, because it is chosen per layer at run
//! time (by calibration and bit allocation) and written to `.sysq` files. A value is stored as an
//! integer code `q` of `bits` bits and stands for a real number by one of two [`Scale`]s:
//!
//! - binary point (`ap_fixed<W, I>` with `F = W - I`): `real = q · 2^-F`;
//! - affine: `real = (q - z) · M0 · 2^(-31-s)`, with `M0` a 31-bit integer multiplier, so that
//!   rescaling needs an integer multiply and a shift, never a float.

use serde::{Deserialize, Serialize};

use super::rounding::{resolve, saturate_i128, Discarded, Overflow, Rounding};
use super::QuantError;

/// Widths accepted for weights and activations. Below 2 bits a signed format has no magnitude;
/// above 16 the array's multipliers and the 64-bit accumulator bound stop being meaningful.
pub const BITS_RANGE: std::ops::RangeInclusive<u32> = 2..=16;

/// Accepted affine shifts `s`: the requantization shift `31 + s` is then in `0..=95`, a right
/// shift of an `i128` product, and the representable multipliers span about `2^-96 ..= 2^31`.
pub const SHIFT_RANGE: std::ops::RangeInclusive<i32> = -31..=64;

/// Accepted binary-point positions: generous, but `2^±F` stays exact in `f64`.
pub const FRAC_BITS_RANGE: std::ops::RangeInclusive<i32> = -64..=64;

/// The smallest nonzero multiplier `M0`: a normalized 31-bit fixed-point value in `[0.5, 1)`.
pub const M0_MIN: i32 = 1 << 30;

/// How an integer code maps to a real number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scale {
    /// `real = q · 2^-frac_bits` (Qm.n / `ap_fixed`). `frac_bits` may exceed the width or be
    /// negative, as ap_fixed's `I` may be.
    BinaryPoint { frac_bits: i32 },
    /// `real = (q - zero_point) · multiplier · 2^(-31 - shift)`. `multiplier` is `M0`, a 31-bit
    /// fixed-point fraction in `[2^30, 2^31)` (i.e. `[0.5, 1)`), or 0 for an all-zero tensor; see
    /// [`quantize_multiplier`].
    Affine {
        multiplier: i32,
        shift: i32,
        zero_point: i32,
    },
}

/// Which elements of a tensor share one [`Scale`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Granularity {
    /// One scale for the whole tensor.
    PerTensor,
    /// One scale per index along `axis` (the output channel of a weight).
    PerChannel { axis: usize },
    /// One scale per `size` consecutive elements along `axis` (the reduction axis), as in
    /// `int4:g32`: finer than per channel, so low-bit weights keep their outliers local.
    PerGroup { axis: usize, size: usize },
}

/// The format of a single quantizer: width, signedness and one scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Format {
    pub signed: bool,
    /// Total bits `W`, sign included.
    pub bits: u32,
    pub scale: Scale,
}

/// The format of a whole tensor: a [`Format`] per channel or group, with how they are laid out.
///
/// `scales` holds one entry for [`Granularity::PerTensor`], and one per channel or group
/// otherwise (in row-major order of the scaled positions); all entries have the same kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TensorFormat {
    pub signed: bool,
    pub bits: u32,
    pub granularity: Granularity,
    pub scales: Vec<Scale>,
}

fn err(msg: impl Into<String>) -> QuantError {
    QuantError::Format(msg.into())
}

fn validate_bits(bits: u32) -> Result<(), QuantError> {
    if BITS_RANGE.contains(&bits) {
        Ok(())
    } else {
        Err(err(format!(
            "{bits} bits; weights and activations take {} to {} bits",
            BITS_RANGE.start(),
            BITS_RANGE.end()
        )))
    }
}

impl Format {
    /// Signed binary-point format `ap_fixed<bits, bits - frac_bits>`.
    pub fn binary_point(signed: bool, bits: u32, frac_bits: i32) -> Format {
        Format {
            signed,
            bits,
            scale: Scale::BinaryPoint { frac_bits },
        }
    }

    /// Affine format with multiplier `M0`, shift `s` and zero point `z`.
    pub fn affine(signed: bool, bits: u32, multiplier: i32, shift: i32, zero_point: i32) -> Format {
        Format {
            signed,
            bits,
            scale: Scale::Affine {
                multiplier,
                shift,
                zero_point,
            },
        }
    }

    /// Checks every field against what the integer path can execute exactly.
    pub fn validate(&self) -> Result<(), QuantError> {
        validate_bits(self.bits)?;
        match self.scale {
            Scale::BinaryPoint { frac_bits } => {
                if !FRAC_BITS_RANGE.contains(&frac_bits) {
                    return Err(err(format!(
                        "frac_bits {frac_bits} outside {}..={}",
                        FRAC_BITS_RANGE.start(),
                        FRAC_BITS_RANGE.end()
                    )));
                }
            }
            Scale::Affine {
                multiplier,
                shift,
                zero_point,
            } => {
                if multiplier != 0 && multiplier < M0_MIN {
                    return Err(err(format!(
                        "multiplier {multiplier} must be 0 or in [2^30, 2^31) (a normalized \
                         31-bit fraction; see quantize_multiplier)"
                    )));
                }
                if !SHIFT_RANGE.contains(&shift) {
                    return Err(err(format!(
                        "shift {shift} outside {}..={}",
                        SHIFT_RANGE.start(),
                        SHIFT_RANGE.end()
                    )));
                }
                let z = i64::from(zero_point);
                if z < self.min_int() || z > self.max_int() {
                    return Err(err(format!(
                        "zero point {zero_point} outside the {}-bit {} range [{}, {}]",
                        self.bits,
                        if self.signed { "signed" } else { "unsigned" },
                        self.min_int(),
                        self.max_int()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Smallest code: `-2^(W-1)` signed, 0 unsigned (the two's complement range; `SAT_SYM`
    /// narrows it by one when it saturates).
    pub fn min_int(&self) -> i64 {
        if self.signed {
            -(1i64 << (self.bits - 1))
        } else {
            0
        }
    }

    /// Largest code: `2^(W-1) - 1` signed, `2^W - 1` unsigned.
    pub fn max_int(&self) -> i64 {
        if self.signed {
            (1i64 << (self.bits - 1)) - 1
        } else {
            (1i64 << self.bits) - 1
        }
    }

    /// The zero point `z` (0 for binary point).
    pub fn zero_point(&self) -> i64 {
        match self.scale {
            Scale::BinaryPoint { .. } => 0,
            Scale::Affine { zero_point, .. } => i64::from(zero_point),
        }
    }

    /// The real value of one LSB.
    pub fn step(&self) -> f64 {
        match self.scale {
            Scale::BinaryPoint { frac_bits } => pow2(-frac_bits),
            Scale::Affine {
                multiplier, shift, ..
            } => f64::from(multiplier) * pow2(-31 - shift),
        }
    }

    /// Quantizes a real number: `clamp(round(x / step) + z)` with the given modes.
    ///
    /// The only float-touching quantizer, used by calibration and weight quantization; everything
    /// downstream works on the codes. For binary point `x · 2^F` is exact, so rounding sees the
    /// true value and ties are honored exactly; for affine, `x · 2^(31+s) / M0` has one float
    /// rounding. Non-finite inputs (which calibration rejects earlier): NaN gives the zero point,
    /// ±∞ the saturated extremes whatever the mode; a zero step (`M0 = 0`) gives the zero point.
    pub fn quantize_f64(&self, x: f64, rounding: Rounding, overflow: Overflow) -> i64 {
        self.quantizer(rounding, overflow).apply(x)
    }

    /// The real number a code stands for: `(q - z) · step`.
    pub fn dequantize(&self, q: i64) -> f64 {
        (q - self.zero_point()) as f64 * self.step()
    }

    /// [`Format::quantize_f64`] with its per-format constants computed once, for whole tensors.
    pub fn quantizer(&self, rounding: Rounding, overflow: Overflow) -> Quantizer {
        let (mul, div) = match self.scale {
            Scale::BinaryPoint { frac_bits } => (pow2(frac_bits), None),
            Scale::Affine { multiplier: 0, .. } => (0.0, Some(0.0)),
            Scale::Affine {
                multiplier, shift, ..
            } => (pow2(31 + shift), Some(f64::from(multiplier))),
        };
        Quantizer {
            f: *self,
            mul,
            div,
            rounding,
            overflow,
        }
    }
}

/// A format's quantizer with its constants precomputed (see [`Format::quantize_f64`]).
#[derive(Clone, Copy, Debug)]
pub struct Quantizer {
    f: Format,
    mul: f64,
    /// `None` for binary point; `Some(0.0)` for a zero step (every input gives the zero point).
    div: Option<f64>,
    rounding: Rounding,
    overflow: Overflow,
}

impl Quantizer {
    #[inline]
    pub fn apply(&self, x: f64) -> i64 {
        let f = &self.f;
        let z = f.zero_point();
        if x.is_nan() {
            return z;
        }
        if x.is_infinite() {
            return if x > 0.0 { f.max_int() } else { f.min_int() };
        }
        let v = match self.div {
            None => x * self.mul,
            Some(0.0) => return z,
            Some(d) => x * self.mul / d,
        };
        let q = round_f64(v, self.rounding) + i128::from(z);
        saturate_i128(q, f.bits, f.signed, self.overflow) as i64
    }
}

impl TensorFormat {
    /// Checks the width, every scale, and that the scales agree with the granularity.
    pub fn validate(&self) -> Result<(), QuantError> {
        validate_bits(self.bits)?;
        match (self.granularity, self.scales.len()) {
            (_, 0) => return Err(err("no scales")),
            (Granularity::PerTensor, n) if n != 1 => {
                return Err(err(format!(
                    "per-tensor format with {n} scales, expected 1"
                )))
            }
            (Granularity::PerGroup { size: 0, .. }, _) => {
                return Err(err("per-group format with group size 0"))
            }
            _ => {}
        }
        let affine = matches!(self.scales[0], Scale::Affine { .. });
        for i in 0..self.scales.len() {
            if matches!(self.scales[i], Scale::Affine { .. }) != affine {
                return Err(err(format!(
                    "scale {i} mixes binary-point and affine scales in one tensor"
                )));
            }
            self.element(i)
                .validate()
                .map_err(|e| err(format!("scale {i}: {e}")))?;
        }
        Ok(())
    }

    /// The quantizer of channel or group `i`.
    pub fn element(&self, i: usize) -> Format {
        Format {
            signed: self.signed,
            bits: self.bits,
            scale: self.scales[i],
        }
    }
}

/// `2^e` exactly (for |e| <= 1022).
fn pow2(e: i32) -> f64 {
    f64::powi(2.0, e)
}

/// Rounds a finite float to an integer with an ap_fixed mode, exactly (no double rounding).
fn round_f64(v: f64, mode: Rounding) -> i128 {
    // Beyond 2^100 every f64 is an integer and the value overflows any format: clamp so the
    // conversion and the overflow mode stay well defined.
    const LIMIT: f64 = 1.2676506002282294e30; // 2^100
    let v = v.clamp(-LIMIT, LIMIT);
    // Floor by truncation where an i64 holds it (x86-64's baseline has no `roundsd`, so
    // `f64::floor` is a library call; this loop quantizes every input element). Exact: the
    // truncation of a finite v is an integer-valued f64, one above the floor only when v < 0 is
    // not an integer.
    let f = if v.abs() < 9.0e18 {
        let t = v as i64 as f64;
        if t > v {
            t - 1.0
        } else {
            t
        }
    } else {
        v.floor()
    };
    let rest = if v == f {
        Discarded::Zero
    } else {
        // v is not an integer, so |f| < 2^52 and f + 0.5 is exact.
        match v.partial_cmp(&(f + 0.5)) {
            Some(std::cmp::Ordering::Less) => Discarded::BelowHalf,
            Some(std::cmp::Ordering::Equal) => Discarded::Half,
            _ => Discarded::AboveHalf,
        }
    };
    resolve(f as i128, rest, mode)
}

/// Encodes a real rescale factor as `real = m0 · 2^(-31 - s)` with `m0` in `[2^30, 2^31)`.
///
/// This is gemmlowp/TFLite's `QuantizeMultiplier` (normalize the mantissa into `[0.5, 1)`, round
/// it to 31 bits, renormalize if rounding reached 1.0), with one difference of convention: the
/// returned shift is the number's *right* shift `s` of the number contract
/// (`y = round(x · M0, 31 + s)`), which is TFLite's `shift` negated. Relative error is at most
/// 2^-31 / 0.5 = 2^-30.
///
/// `0.0` (an all-zero tensor) and values too small to matter (below about `2^-96`, where `s`
/// would exceed [`SHIFT_RANGE`]) encode as `(0, 0)`. Negative, non-finite or too large
/// (`>= 2^31`) values are errors.
pub fn quantize_multiplier(real: f64) -> Result<(i32, i32), QuantError> {
    let fail = |msg: &str| QuantError::Multiplier {
        real,
        msg: msg.to_string(),
    };
    if !real.is_finite() {
        return Err(fail("not finite"));
    }
    if real < 0.0 {
        return Err(fail("negative (a scale is always positive)"));
    }
    let bits = real.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if real == 0.0 || biased == 0 {
        // zero or subnormal: far below SHIFT_RANGE
        return Ok((0, 0));
    }
    // real = frac · 2^e with frac in [0.5, 1) (frexp).
    let frac = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    let mut e = biased - 1022;
    let mut m0 = (frac * 2147483648.0).round() as i64; // exact product; ties away from zero
    if m0 == 1 << 31 {
        m0 >>= 1;
        e += 1;
    }
    let s = -e;
    if s > *SHIFT_RANGE.end() {
        return Ok((0, 0));
    }
    if s < *SHIFT_RANGE.start() {
        return Err(fail("too large: at most 2^31 is encodable"));
    }
    Ok((m0 as i32, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn validate_rejects_out_of_range_fields_with_clear_errors() {
        let bad = |f: Format, needle: &str| {
            let e = f.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "'{e}' should mention '{needle}'");
        };
        bad(Format::binary_point(true, 1, 0), "2 to 16 bits");
        bad(Format::binary_point(true, 17, 0), "17 bits");
        bad(Format::binary_point(true, 8, 200), "frac_bits 200");
        bad(Format::affine(true, 8, 12345, 0, 0), "multiplier 12345");
        bad(Format::affine(true, 8, M0_MIN, 100, 0), "shift 100");
        bad(Format::affine(true, 8, M0_MIN, 0, 128), "zero point 128");
        bad(Format::affine(false, 8, M0_MIN, 0, -1), "zero point -1");
        for bits in BITS_RANGE {
            Format::binary_point(true, bits, 3).validate().unwrap();
            Format::affine(false, bits, 0, 0, 0).validate().unwrap();
            Format::affine(true, bits, i32::MAX, -31, -1)
                .validate()
                .unwrap();
        }
    }

    #[test]
    fn integer_ranges() {
        let s4 = Format::binary_point(true, 4, 0);
        let u4 = Format::binary_point(false, 4, 0);
        let s16 = Format::binary_point(true, 16, 0);
        assert_eq!((s4.min_int(), s4.max_int()), (-8, 7));
        assert_eq!((u4.min_int(), u4.max_int()), (0, 15));
        assert_eq!((s16.min_int(), s16.max_int()), (-32768, 32767));
    }

    #[test]
    fn quantize_binary_point_by_hand() {
        // ap_fixed<8, 4>: F = 4, step 1/16. 0.53125 = 8.5 / 16 is a tie.
        let f = Format::binary_point(true, 8, 4);
        assert_eq!(f.quantize_f64(0.53125, Rounding::Rnd, Overflow::Sat), 9);
        assert_eq!(f.quantize_f64(0.53125, Rounding::RndConv, Overflow::Sat), 8);
        assert_eq!(f.quantize_f64(-0.53125, Rounding::Rnd, Overflow::Sat), -8);
        assert_eq!(
            f.quantize_f64(-0.53125, Rounding::RndInf, Overflow::Sat),
            -9
        );
        assert_eq!(f.quantize_f64(-0.5, Rounding::Trn, Overflow::Sat), -8);
        assert_eq!(f.quantize_f64(-0.51, Rounding::Trn, Overflow::Sat), -9);
        assert_eq!(f.quantize_f64(-0.51, Rounding::TrnZero, Overflow::Sat), -8);
        assert_eq!(f.quantize_f64(100.0, Rounding::Rnd, Overflow::Sat), 127);
        assert_eq!(
            f.quantize_f64(-100.0, Rounding::Rnd, Overflow::SatSym),
            -127
        );
        assert_eq!(f.quantize_f64(-100.0, Rounding::Rnd, Overflow::SatZero), 0);
        // 8.0 = 128 / 16 wraps to -128.
        assert_eq!(f.quantize_f64(8.0, Rounding::Rnd, Overflow::Wrap), -128);
        assert_eq!(f.dequantize(-8), -0.5);
        // Negative frac_bits: step 4 (ap_fixed<4, 6>).
        let g = Format::binary_point(true, 4, -2);
        assert_eq!(g.quantize_f64(10.0, Rounding::RndConv, Overflow::Sat), 2);
        assert_eq!(g.dequantize(3), 12.0);
    }

    #[test]
    fn quantize_affine_by_hand() {
        // uint8 with scale 0.5 (M0 = 2^30, s = 0: 2^30 · 2^-31) and zero point 128.
        let f = Format::affine(false, 8, M0_MIN, 0, 128);
        assert_eq!(f.step(), 0.5);
        assert_eq!(f.quantize_f64(0.0, Rounding::Rnd, Overflow::Sat), 128);
        assert_eq!(f.quantize_f64(1.25, Rounding::Rnd, Overflow::Sat), 131); // 2.5 → 3
        assert_eq!(f.quantize_f64(1.25, Rounding::RndConv, Overflow::Sat), 130);
        assert_eq!(f.quantize_f64(-64.0, Rounding::Rnd, Overflow::Sat), 0);
        assert_eq!(f.quantize_f64(-100.0, Rounding::Rnd, Overflow::Sat), 0);
        assert_eq!(f.quantize_f64(100.0, Rounding::Rnd, Overflow::Sat), 255);
        assert_eq!(f.dequantize(131), 1.5);
        // M0 = 0: an all-zero tensor; everything is the zero point, no division by zero.
        let z = Format::affine(true, 8, 0, 0, 3);
        assert_eq!(z.quantize_f64(5.0, Rounding::Rnd, Overflow::Sat), 3);
        assert_eq!(z.dequantize(100), 0.0);
    }

    #[test]
    fn non_finite_inputs_do_not_panic() {
        let f = Format::affine(true, 8, M0_MIN, 0, 5);
        assert_eq!(f.quantize_f64(f64::NAN, Rounding::Rnd, Overflow::Wrap), 5);
        assert_eq!(
            f.quantize_f64(f64::INFINITY, Rounding::Rnd, Overflow::Wrap),
            127
        );
        assert_eq!(
            f.quantize_f64(f64::NEG_INFINITY, Rounding::Rnd, Overflow::Wrap),
            -128
        );
        assert_eq!(f.quantize_f64(1e300, Rounding::Rnd, Overflow::Sat), 127);
    }

    #[test]
    fn quantize_multiplier_by_hand() {
        assert_eq!(quantize_multiplier(0.5).unwrap(), (1 << 30, 0));
        assert_eq!(quantize_multiplier(1.0).unwrap(), (1 << 30, -1));
        assert_eq!(quantize_multiplier(0.25).unwrap(), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.0).unwrap(), (0, 0));
        assert_eq!(quantize_multiplier(1e-40).unwrap(), (0, 0));
        // Rounding the mantissa up to 1.0 renormalizes: just below 1 becomes 1.
        assert_eq!(quantize_multiplier(1.0 - 1e-12).unwrap(), (1 << 30, -1));
        assert!(quantize_multiplier(-1.0).is_err());
        assert!(quantize_multiplier(f64::NAN).is_err());
        assert!(quantize_multiplier(2f64.powi(31)).is_err());
        quantize_multiplier(2f64.powi(31) * 0.75).unwrap();
    }

    #[test]
    fn tensor_format_validation() {
        let bp = Scale::BinaryPoint { frac_bits: 4 };
        let af = Scale::Affine {
            multiplier: M0_MIN,
            shift: 3,
            zero_point: 0,
        };
        let tf = |granularity, scales: Vec<Scale>| TensorFormat {
            signed: true,
            bits: 4,
            granularity,
            scales,
        };
        tf(Granularity::PerTensor, vec![bp]).validate().unwrap();
        tf(Granularity::PerChannel { axis: 0 }, vec![af; 3])
            .validate()
            .unwrap();
        let e = |t: TensorFormat| t.validate().unwrap_err().to_string();
        assert!(e(tf(Granularity::PerTensor, vec![bp, bp])).contains("expected 1"));
        assert!(e(tf(Granularity::PerTensor, vec![])).contains("no scales"));
        assert!(e(tf(Granularity::PerChannel { axis: 0 }, vec![bp, af])).contains("mixes"));
        assert!(e(tf(Granularity::PerGroup { axis: 1, size: 0 }, vec![bp])).contains("size 0"));
        let mut bad = tf(Granularity::PerGroup { axis: 1, size: 32 }, vec![af; 2]);
        bad.scales[1] = Scale::Affine {
            multiplier: 1,
            shift: 0,
            zero_point: 0,
        };
        assert!(e(bad).contains("scale 1"));
    }

    #[test]
    fn serde_is_plain_data() {
        let t = TensorFormat {
            signed: false,
            bits: 8,
            granularity: Granularity::PerGroup { axis: 1, size: 32 },
            scales: vec![Scale::Affine {
                multiplier: M0_MIN,
                shift: 2,
                zero_point: 7,
            }],
        };
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"kind\":\"per_group\"") && json.contains("\"kind\":\"affine\""));
        assert_eq!(serde_json::from_str::<TensorFormat>(&json).unwrap(), t);
    }

    proptest! {
        #[test]
        fn multiplier_reconstructs_real(mant in 1.0f64..2.0, e in -60i32..30) {
            let real = mant * 2f64.powi(e);
            let (m0, s) = quantize_multiplier(real).unwrap();
            prop_assert!((M0_MIN..=i32::MAX).contains(&m0));
            prop_assert!(SHIFT_RANGE.contains(&s));
            let back = f64::from(m0) * 2f64.powi(-31 - s);
            prop_assert!((back - real).abs() <= real * 2f64.powi(-30), "{} -> {}", real, back);
        }

        /// The float path agrees with the integer path wherever the input is exactly
        /// representable: quantizing `r · 2^-src` to `F` fraction bits is `shift_round` by
        /// `src - F` then `saturate`.
        #[test]
        fn float_path_matches_integer_path(
            r in -(1i64 << 40)..(1i64 << 40),
            src in 0i32..20,
            f in -4i32..12,
            bits in BITS_RANGE,
            signed in any::<bool>(),
            mi in 0usize..7,
            oi in 0usize..4,
        ) {
            prop_assume!(f < src);
            let (mode, ov) = (Rounding::ALL[mi], Overflow::ALL[oi]);
            let fmt = Format::binary_point(signed, bits, f);
            let x = r as f64 * pow2(-src);
            let want = super::super::saturate(
                super::super::shift_round(r, (src - f) as u32, mode), bits, signed, ov);
            prop_assert_eq!(fmt.quantize_f64(x, mode, ov), want);
        }

        #[test]
        fn dequantize_then_quantize_is_identity(
            bits in BITS_RANGE, signed in any::<bool>(), f in -8i32..16,
            m in any::<i32>(), s in -8i32..8, z in any::<i32>(), frac in 0.0f64..1.0,
            mi in 0usize..5,
        ) {
            let mode = Rounding::ALL[mi]; // the nearest modes: affine has one float rounding
            let bp = Format::binary_point(signed, bits, f);
            let m0 = M0_MIN | (m & (M0_MIN - 1));
            let mut af = Format::affine(signed, bits, m0, s, 0);
            let span = (af.max_int() - af.min_int() + 1) as i32;
            af.scale = Scale::Affine { multiplier: m0, shift: s, zero_point: af.min_int() as i32 + z.rem_euclid(span) };
            for fmt in [bp, af] {
                fmt.validate().unwrap();
                let q = fmt.min_int() + ((fmt.max_int() - fmt.min_int()) as f64 * frac) as i64;
                prop_assert_eq!(fmt.quantize_f64(fmt.dequantize(q), mode, Overflow::Sat), q);
            }
        }
    }
}
