//! Stored weights and how they decode to the integers the array multiplies.
//!
//! A ROM holds `codes`; a small decoder between ROM and array turns each code into an integer
//! operand (`decode`). Uniform formats decode to themselves; the non-uniform and float formats
//! (power of two, k-means codebooks, FP8, shared-exponent blocks, per-group multipliers) decode
//! exactly, with integer operations only, so the array stays a uniform integer MAC array and the
//! format's cost shows up as ROM bits and operand width. The real weight is
//! `decode(code) · scales[c]` for output channel `c`.

use serde::{Deserialize, Serialize};

use crate::quant::{shift_round, Rounding};

/// The widest decoded operand the array accepts: wide enough to decode FP8 E4M3 exactly.
pub const MAX_OPERAND_BITS: u32 = 24;

/// FP8 variants (OCP 8-bit floating point).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fp8Kind {
    /// 4 exponent bits (bias 7), 3 mantissa bits, no infinities, max 448.
    E4M3,
    /// 5 exponent bits (bias 15), 2 mantissa bits, max 57344.
    E5M2,
}

impl Fp8Kind {
    pub fn mantissa_bits(self) -> u32 {
        match self {
            Fp8Kind::E4M3 => 3,
            Fp8Kind::E5M2 => 2,
        }
    }

    pub fn bias(self) -> i32 {
        match self {
            Fp8Kind::E4M3 => 7,
            Fp8Kind::E5M2 => 15,
        }
    }

    /// The largest finite magnitude's code (sign bit clear).
    pub fn max_code(self) -> u8 {
        match self {
            Fp8Kind::E4M3 => 0x7e, // S.1111.110 = 448
            Fp8Kind::E5M2 => 0x7b, // S.11110.11 = 57344
        }
    }

    /// A finite code as `(sign, integer significand, exponent)`: `±sig · 2^exp`, exactly.
    pub fn split(self, code: u8) -> (i64, i64, i32) {
        let m = self.mantissa_bits();
        let sign = if code & 0x80 != 0 { -1 } else { 1 };
        let e = i32::from((code & 0x7f) >> m);
        let frac = i64::from(code & ((1 << m) - 1));
        if e == 0 {
            (sign, frac, 1 - self.bias() - m as i32)
        } else {
            (sign, frac | (1 << m), e - self.bias() - m as i32)
        }
    }

    pub fn value(self, code: u8) -> f64 {
        let (s, sig, e) = self.split(code);
        (s * sig) as f64 * f64::powi(2.0, e)
    }
}

/// How stored codes become operands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "coding", rename_all = "snake_case")]
pub enum Coding {
    /// Symmetric integers of `bits` bits: the code is the operand.
    Int { bits: u32 },
    /// `bits`-bit integers in groups of `group` along the reduction axis, each group with an
    /// unsigned `mult_bits`-bit multiplier of the channel scale (two-level scaling):
    /// operand = code · mults[c][g].
    Group {
        bits: u32,
        group: usize,
        mult_bits: u32,
        mults: Vec<i32>,
    },
    /// Sign and exponent: code 0 is 0, code ±e (1 ≤ e < 2^(bits-1)) is ±2^(e-1).
    Pow2 { bits: u32 },
    /// Weight sharing: a code indexes a table of `2^bits` integer centroids (`table_bits` wide),
    /// one table per layer or one per output channel.
    Codebook {
        bits: u32,
        table_bits: u32,
        per_channel: bool,
        table: Vec<i32>,
    },
    /// FP8 codes (the raw byte); operand = value · 2^-shifts[c], rounded (RND) where the value
    /// has more precision than the channel's window of [`MAX_OPERAND_BITS`] bits.
    Fp8 { kind: Fp8Kind, shifts: Vec<i32> },
    /// Shared-exponent blocks (MX-style): `bits`-bit integer elements, one exponent per block
    /// of `group` along the reduction axis; operand = code · 2^shifts[c][b], or rounded right
    /// shift for negative shifts (blocks far below the channel's largest).
    Block {
        bits: u32,
        group: usize,
        shifts: Vec<i32>,
    },
}

/// The weights of one array stage, `[n][k]` row-major (output channel major).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    pub n: usize,
    pub k: usize,
    pub coding: Coding,
    pub codes: Vec<i32>,
    /// Real step of channel `c`'s decoded operands (information and requant derivation only).
    pub scales: Vec<f64>,
}

impl Coding {
    /// Bits per stored code.
    pub fn code_bits(&self) -> u32 {
        match self {
            Coding::Int { bits }
            | Coding::Group { bits, .. }
            | Coding::Pow2 { bits }
            | Coding::Codebook { bits, .. }
            | Coding::Block { bits, .. } => *bits,
            Coding::Fp8 { .. } => 8,
        }
    }

    /// Short name for dumps and reports, as the format strings spell it.
    pub fn label(&self) -> String {
        match self {
            Coding::Int { bits } => format!("int{bits}"),
            Coding::Group { bits, group, .. } => format!("int{bits}:g{group}"),
            Coding::Pow2 { bits } => format!("pow2:{bits}"),
            Coding::Codebook {
                bits, per_channel, ..
            } => format!("kmeans:{bits}{}", if *per_channel { ":ch" } else { "" }),
            Coding::Fp8 { kind, .. } => match kind {
                Fp8Kind::E4M3 => "fp8e4m3".into(),
                Fp8Kind::E5M2 => "fp8e5m2".into(),
            },
            Coding::Block { bits, group, .. } => format!("mx:{bits}:g{group}"),
        }
    }
}

impl Weights {
    fn groups_per_row(&self, group: usize) -> usize {
        self.k.div_ceil(group.max(1))
    }

    /// The integer operand of element `(c, j)`; the one definition of every coding.
    pub fn decode_one(&self, c: usize, j: usize) -> i64 {
        let code = self.codes[c * self.k + j];
        match &self.coding {
            Coding::Int { .. } => i64::from(code),
            Coding::Group { group, mults, .. } => {
                let g = j / group;
                i64::from(code) * i64::from(mults[c * self.groups_per_row(*group) + g])
            }
            Coding::Pow2 { .. } => match code {
                0 => 0,
                e if e > 0 => 1i64 << (e - 1),
                e => -(1i64 << (-e - 1)),
            },
            Coding::Codebook {
                bits,
                per_channel,
                table,
                ..
            } => {
                let size = 1usize << bits;
                let base = if *per_channel { c * size } else { 0 };
                i64::from(table[base + code as usize])
            }
            Coding::Fp8 { kind, shifts } => {
                let (s, sig, e) = kind.split(code as u8);
                let sh = e - shifts[c];
                s * if sh >= 0 {
                    sig << sh
                } else {
                    shift_round(sig, (-sh) as u32, Rounding::Rnd)
                }
            }
            Coding::Block { group, shifts, .. } => {
                let sh = shifts[c * self.groups_per_row(*group) + j / group];
                let v = i64::from(code);
                if sh >= 0 {
                    v << sh
                } else {
                    shift_round(v, (-sh) as u32, Rounding::Rnd)
                }
            }
        }
    }

    /// All operands, `[n][k]`.
    pub fn decode(&self) -> Vec<i32> {
        let mut out = Vec::with_capacity(self.n * self.k);
        for c in 0..self.n {
            for j in 0..self.k {
                out.push(self.decode_one(c, j) as i32);
            }
        }
        out
    }

    /// The largest decoded magnitude: the `max|w|` of the accumulator bound.
    ///
    /// Computed on the `i64` operands, not on [`Weights::decode`]'s `i32`: a hand-edited shift
    /// that pushes an operand past 32 bits must show up here (and be refused by `validate`),
    /// not wrap to a small value.
    pub fn max_abs(&self) -> u64 {
        (0..self.n)
            .flat_map(|c| (0..self.k).map(move |j| (c, j)))
            .map(|(c, j)| self.decode_one(c, j).unsigned_abs())
            .max()
            .unwrap_or(0)
    }

    /// Signed width of the widest decoded operand (at least 2).
    pub fn operand_bits(&self) -> u32 {
        (65 - self.max_abs().leading_zeros()).max(2)
    }

    /// ROM bits: codes plus side tables (group multipliers, codebooks, exponents).
    pub fn storage_bits(&self) -> u64 {
        let codes = (self.n * self.k) as u64 * u64::from(self.coding.code_bits());
        let side = match &self.coding {
            Coding::Int { .. } | Coding::Pow2 { .. } => 0,
            Coding::Group {
                mult_bits, mults, ..
            } => mults.len() as u64 * u64::from(*mult_bits),
            Coding::Codebook {
                table_bits, table, ..
            } => table.len() as u64 * u64::from(*table_bits),
            Coding::Fp8 { .. } => 0,
            Coding::Block { shifts, .. } => shifts.len() as u64 * 8,
        };
        codes + side
    }

    /// Number of zero operands (pruned or quantized to zero).
    pub fn zeros(&self) -> usize {
        self.decode().iter().filter(|&&v| v == 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp8_codes_decode_to_their_values() {
        assert_eq!(Fp8Kind::E4M3.value(0x7e), 448.0);
        assert_eq!(Fp8Kind::E4M3.value(0x01), f64::powi(2.0, -9));
        assert_eq!(Fp8Kind::E4M3.value(0x38), 1.0);
        assert_eq!(Fp8Kind::E5M2.value(0x7b), 57344.0);
        assert_eq!(Fp8Kind::E5M2.value(0x3c), 1.0);
        assert_eq!(Fp8Kind::E5M2.value(0xbc), -1.0);
    }

    #[test]
    fn pow2_and_codebook_decode() {
        let w = Weights {
            n: 1,
            k: 4,
            coding: Coding::Pow2 { bits: 4 },
            codes: vec![0, 1, -3, 7],
            scales: vec![1.0],
        };
        assert_eq!(w.decode(), vec![0, 1, -4, 64]);
        assert_eq!(w.operand_bits(), 8);
        let cb = Weights {
            n: 2,
            k: 2,
            coding: Coding::Codebook {
                bits: 1,
                table_bits: 8,
                per_channel: true,
                table: vec![-5, 9, 3, -100],
            },
            codes: vec![1, 0, 0, 1],
            scales: vec![1.0, 1.0],
        };
        assert_eq!(cb.decode(), vec![9, -5, 3, -100]);
        assert_eq!(cb.storage_bits(), 4 + 4 * 8);
    }
}
