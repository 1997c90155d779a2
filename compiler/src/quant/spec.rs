//! Format strings as users type them (`--weights int4:g32`, `--acts ap_fixed<8,3,RND,SAT>`) and
//! as allocation files store them. Parsing and printing round-trip.

use std::fmt;
use std::str::FromStr;

use super::{Overflow, QuantError, Rounding};
use crate::fxir::Fp8Kind;

/// Every weight format string, for error messages and `--help`.
pub const WEIGHT_FORMATS: &str = "int2..int16 (e.g. int8), intB:gG (per-group, e.g. int4:g32), \
pow2:B (power-of-two), kmeans:B or kmeans:B:ch (weight sharing, per layer or per channel), \
fp8e4m3, fp8e5m2, mx:B:gG (shared exponent per group, e.g. mx:8:g32), ap_fixed<W,I[,Q[,O]]>";

/// Every activation format string.
pub const ACT_FORMATS: &str =
    "int2..int16 (e.g. int8; unsigned when the tensor is never negative), ap_fixed<W,I[,Q[,O]]>, ap_ufixed<W,I[,Q[,O]]>";

/// An `ap_fixed<W, I, Q, O>` type: `W` bits, `I` of them integer bits (sign included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApFixed {
    /// `ap_fixed` (true) or `ap_ufixed` (false).
    pub signed: bool,
    pub bits: u32,
    pub int_bits: i32,
    pub rounding: Rounding,
    pub overflow: Overflow,
}

impl ApFixed {
    pub fn frac_bits(&self) -> i32 {
        self.bits as i32 - self.int_bits
    }
}

/// How a layer's weights are stored and decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightSpec {
    Int { bits: u32 },
    Group { bits: u32, group: usize },
    Pow2 { bits: u32 },
    KMeans { bits: u32, per_channel: bool },
    Fp8(Fp8Kind),
    Mx { bits: u32, group: usize },
    ApFixed(ApFixed),
}

/// How a layer's activations are quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActSpec {
    Int { bits: u32 },
    ApFixed(ApFixed),
}

fn bad(what: &str, s: &str, valid: &str) -> QuantError {
    QuantError::Format(format!("unknown {what} format '{s}'; valid: {valid}"))
}

/// Weight codes are two's-complement operands of the array (`decode_one`, the bound of
/// `validate`, the ROMs), so an `ap_ufixed` weight type has no encoding: it used to be accepted
/// and then fail deep in lowering ("weight code 254 outside -128..=127"). Refused by name
/// instead; a signed `ap_fixed` with one more bit holds the same range.
pub(crate) fn unsigned_weights(s: &str) -> QuantError {
    QuantError::Format(format!(
        "unsigned weight format '{s}' is not supported (weight codes are signed); \
         use ap_fixed<W+1,I+1> for the same range, or one of: {WEIGHT_FORMATS}"
    ))
}

fn bits_in(s: &str, lo: u32, hi: u32) -> Option<u32> {
    let b: u32 = s.parse().ok()?;
    (lo..=hi).contains(&b).then_some(b)
}

fn group_of(s: &str) -> Option<usize> {
    let g: usize = s.strip_prefix('g')?.parse().ok()?;
    (g >= 1).then_some(g)
}

/// Parses `ap_fixed<W,I[,Q[,O]]>` / `ap_ufixed<…>` with `W` in `2..=max_bits` (16 for weights and
/// activations, up to 64 for hls4ml accumulator types); `None` if `s` is not such a type.
pub fn parse_ap_fixed(s: &str, max_bits: u32) -> Result<Option<ApFixed>, QuantError> {
    let (signed, rest) = match (s.strip_prefix("ap_fixed<"), s.strip_prefix("ap_ufixed<")) {
        (Some(r), _) => (true, r),
        (_, Some(r)) => (false, r),
        _ => return Ok(None),
    };
    let Some(body) = rest.strip_suffix('>') else {
        return Ok(None);
    };
    let parts: Vec<&str> = body.split(',').map(str::trim).collect();
    let fail = || {
        QuantError::Format(format!(
            "'{s}': expected ap_fixed<W,I[,Q[,O]]> with W in 2..=16"
        ))
    };
    if parts.len() < 2 || parts.len() > 4 {
        return Err(fail());
    }
    let bits = bits_in(parts[0], 2, max_bits).ok_or_else(fail)?;
    let int_bits: i32 = parts[1].parse().map_err(|_| fail())?;
    // ap_fixed's defaults are AP_TRN and AP_WRAP; the AP_ prefix is optional here.
    let strip = |p: &str| p.strip_prefix("AP_").unwrap_or(p).to_string();
    let rounding = match parts.get(2) {
        Some(p) => strip(p).parse()?,
        None => Rounding::Trn,
    };
    let overflow = match parts.get(3) {
        Some(p) => strip(p).parse()?,
        None => Overflow::Wrap,
    };
    Ok(Some(ApFixed {
        signed,
        bits,
        int_bits,
        rounding,
        overflow,
    }))
}

impl FromStr for WeightSpec {
    type Err = QuantError;
    fn from_str(s: &str) -> Result<WeightSpec, QuantError> {
        if let Some(a) = parse_ap_fixed(s, 16)? {
            if !a.signed {
                return Err(unsigned_weights(s));
            }
            return Ok(WeightSpec::ApFixed(a));
        }
        let fail = || bad("weight", s, WEIGHT_FORMATS);
        let parts: Vec<&str> = s.split(':').collect();
        let spec = match parts.as_slice() {
            ["fp8e4m3"] => WeightSpec::Fp8(Fp8Kind::E4M3),
            ["fp8e5m2"] => WeightSpec::Fp8(Fp8Kind::E5M2),
            [p] if p.starts_with("int") => WeightSpec::Int {
                bits: bits_in(&p[3..], 2, 16).ok_or_else(fail)?,
            },
            [p, g] if p.starts_with("int") => WeightSpec::Group {
                bits: bits_in(&p[3..], 2, 16).ok_or_else(fail)?,
                group: group_of(g).ok_or_else(fail)?,
            },
            ["pow2", b] => WeightSpec::Pow2 {
                bits: bits_in(b, 2, 6).ok_or_else(fail)?,
            },
            ["kmeans", b] => WeightSpec::KMeans {
                bits: bits_in(b, 1, 8).ok_or_else(fail)?,
                per_channel: false,
            },
            ["kmeans", b, "ch"] => WeightSpec::KMeans {
                bits: bits_in(b, 1, 8).ok_or_else(fail)?,
                per_channel: true,
            },
            ["mx", b, g] => WeightSpec::Mx {
                bits: bits_in(b, 2, 8).ok_or_else(fail)?,
                group: group_of(g).ok_or_else(fail)?,
            },
            _ => return Err(fail()),
        };
        Ok(spec)
    }
}

impl FromStr for ActSpec {
    type Err = QuantError;
    fn from_str(s: &str) -> Result<ActSpec, QuantError> {
        if let Some(a) = parse_ap_fixed(s, 16)? {
            return Ok(ActSpec::ApFixed(a));
        }
        match s.strip_prefix("int").and_then(|b| bits_in(b, 2, 16)) {
            Some(bits) => Ok(ActSpec::Int { bits }),
            None => Err(bad("activation", s, ACT_FORMATS)),
        }
    }
}

impl fmt::Display for ApFixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ap_{}fixed<{},{},{},{}>",
            if self.signed { "" } else { "u" },
            self.bits,
            self.int_bits,
            self.rounding,
            self.overflow
        )
    }
}

impl fmt::Display for WeightSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightSpec::Int { bits } => write!(f, "int{bits}"),
            WeightSpec::Group { bits, group } => write!(f, "int{bits}:g{group}"),
            WeightSpec::Pow2 { bits } => write!(f, "pow2:{bits}"),
            WeightSpec::KMeans { bits, per_channel } => {
                write!(f, "kmeans:{bits}{}", if *per_channel { ":ch" } else { "" })
            }
            WeightSpec::Fp8(Fp8Kind::E4M3) => write!(f, "fp8e4m3"),
            WeightSpec::Fp8(Fp8Kind::E5M2) => write!(f, "fp8e5m2"),
            WeightSpec::Mx { bits, group } => write!(f, "mx:{bits}:g{group}"),
            WeightSpec::ApFixed(a) => write!(f, "{a}"),
        }
    }
}

impl fmt::Display for ActSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActSpec::Int { bits } => write!(f, "int{bits}"),
            ActSpec::ApFixed(a) => write!(f, "{a}"),
        }
    }
}

impl WeightSpec {
    /// Nominal bits per weight (code bits; side tables are counted by the stored weights).
    pub fn bits(&self) -> u32 {
        match self {
            WeightSpec::Int { bits }
            | WeightSpec::Group { bits, .. }
            | WeightSpec::Pow2 { bits }
            | WeightSpec::KMeans { bits, .. }
            | WeightSpec::Mx { bits, .. } => *bits,
            WeightSpec::Fp8(_) => 8,
            WeightSpec::ApFixed(a) => a.bits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_formats_round_trip() {
        for s in [
            "int8",
            "int4",
            "int2",
            "int16",
            "int4:g32",
            "pow2:4",
            "kmeans:4",
            "kmeans:3:ch",
            "fp8e4m3",
            "fp8e5m2",
            "mx:8:g32",
            "ap_fixed<8,3,RND,SAT>",
        ] {
            let w: WeightSpec = s.parse().unwrap();
            assert_eq!(w.to_string(), s);
        }
        let a: WeightSpec = "ap_fixed<6,2>".parse().unwrap();
        assert_eq!(a.to_string(), "ap_fixed<6,2,TRN,WRAP>");
    }

    #[test]
    fn unknown_formats_list_the_valid_ones() {
        for s in ["int1", "int17", "float8", "int4:32", "mx:8", "kmeans:9", ""] {
            let e = s.parse::<WeightSpec>().unwrap_err().to_string();
            assert!(e.contains("valid:") && e.contains("kmeans"), "{s}: {e}");
        }
        let e = "ap_ufixed<8,3>"
            .parse::<WeightSpec>()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unsigned weight format 'ap_ufixed<8,3>'") && e.contains("ap_fixed<W"),
            "{e}"
        );
        assert!("ap_ufixed<8,3>".parse::<ActSpec>().is_ok());
        let e = "ap_fixed<40,3>".parse::<ActSpec>().unwrap_err().to_string();
        assert!(e.contains("ap_fixed<W,I"), "{e}");
        assert!("int8".parse::<ActSpec>().is_ok());
        assert!("pow2:4".parse::<ActSpec>().is_err());
    }
}
