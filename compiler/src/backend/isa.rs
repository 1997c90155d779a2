//! The instruction ROM: [`Schedule::instructions`] in a fixed-width 128-bit encoding
//! (`docs/isa.md`). Fields are checked against their widths; a schedule that does not fit names
//! the layer and the field.

use systole_hw::VectorOp;

use crate::schedule::{Instr, Schedule, Work};
use crate::{Error, Result};

/// Bits per instruction word.
pub const INSTR_BITS: u32 = 128;

/// Operation codes (bits 127..124).
pub mod op {
    pub const END: u8 = 0;
    pub const LAYER: u8 = 1;
    pub const LD_IFMAP: u8 = 2;
    pub const LD_FILTER: u8 = 3;
    pub const FOLD: u8 = 4;
    pub const STORE: u8 = 5;
    pub const VECTOR: u8 = 6;
    pub const COPY: u8 = 7;
    pub const HOST: u8 = 8;
    pub const SYNC: u8 = 9;
}

/// FOLD flag: add onto earlier partial sums.
pub const FLAG_ACCUMULATE: u8 = 1;
/// FOLD flag: the fold finishes its outputs (a STORE follows).
pub const FLAG_FINISH: u8 = 2;

/// Vector op numbers in the VECTOR instruction.
pub fn vector_code(v: VectorOp) -> u8 {
    match v {
        VectorOp::Relu => 0,
        VectorOp::Relu6 => 1,
        VectorOp::Sigmoid => 2,
        VectorOp::Tanh => 3,
        VectorOp::MaxPool => 4,
        VectorOp::AvgPool => 5,
        VectorOp::Add => 6,
        VectorOp::Mul => 7,
        VectorOp::Requantize => 8,
        VectorOp::Softmax => 9,
        VectorOp::LayerNorm => 10,
        VectorOp::Gelu => 11,
        VectorOp::RowMax => 12,
    }
}

/// A decoded instruction word (for tests, tools and the docs' examples).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub op: u8,
    pub flags: u8,
    pub layer: u16,
    /// Opcode-specific fields, in the order of `docs/isa.md`.
    pub f: [u64; 6],
}

/// Field layout: (lsb, width) of the six opcode-specific fields per opcode.
fn layout(opcode: u8) -> &'static [(u32, u32)] {
    match opcode {
        // m_start, m_len, k_start, k_len, n_start, n_len
        op::FOLD => &[(84, 24), (64, 20), (48, 16), (35, 13), (19, 16), (6, 13)],
        // step, bytes
        op::LD_IFMAP | op::LD_FILTER | op::STORE => &[(84, 24), (44, 40)],
        // vector op, elements
        op::VECTOR => &[(100, 8), (60, 40)],
        // bytes
        op::COPY => &[(68, 40)],
        // steps in the layer
        op::LAYER => &[(84, 24)],
        _ => &[],
    }
}

const FIELD_NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// The names of an opcode's fields, in the order of [`Word::f`] (`docs/isa.md`).
pub fn field_names(opcode: u8) -> &'static [&'static str] {
    match opcode {
        op::FOLD => &["m_start", "m_len", "k_start", "k_len", "n_start", "n_len"],
        op::LD_IFMAP | op::LD_FILTER | op::STORE => &["step", "bytes"],
        op::VECTOR => &["vector_op", "elements"],
        op::COPY => &["bytes"],
        op::LAYER => &["steps"],
        _ => &FIELD_NAMES[..0],
    }
}

impl Word {
    /// The 128-bit word, or [`Error::FieldWidth`] naming a field too narrow for its value.
    pub fn encode(&self) -> Result<u128> {
        if self.layer >= 1 << 12 {
            return Err(Error::FieldWidth {
                field: "layer index".into(),
                value: u64::from(self.layer),
                bits: 12,
            });
        }
        let mut w = (u128::from(self.op & 0xf) << 124)
            | (u128::from(self.flags & 0xf) << 120)
            | (u128::from(self.layer) << 108);
        for (i, &(lsb, width)) in layout(self.op).iter().enumerate() {
            let v = self.f[i];
            if width < 64 && v >> width != 0 {
                return Err(Error::FieldWidth {
                    field: format!("field {}", field_names(self.op)[i]),
                    value: v,
                    bits: width,
                });
            }
            w |= u128::from(v) << lsb;
        }
        Ok(w)
    }

    pub fn decode(w: u128) -> Word {
        let opcode = (w >> 124) as u8 & 0xf;
        let mut f = [0u64; 6];
        for (i, &(lsb, width)) in layout(opcode).iter().enumerate() {
            f[i] = ((w >> lsb) & ((1u128 << width) - 1)) as u64;
        }
        Word {
            op: opcode,
            flags: (w >> 120) as u8 & 0xf,
            layer: ((w >> 108) & 0xfff) as u16,
            f,
        }
    }
}

/// The schedule as instruction words, ending with END.
pub fn encode(s: &Schedule) -> Result<Vec<u128>> {
    let mut out = Vec::new();
    let mut layer = 0usize;
    let word = |op: u8, flags: u8, layer: usize, f: &[u64]| {
        let mut a = [0u64; 6];
        a[..f.len()].copy_from_slice(f);
        Word {
            op,
            flags,
            layer: layer.min(u16::MAX as usize) as u16,
            f: a,
        }
    };
    for ins in s.instructions() {
        let w = match ins {
            Instr::Layer { index } => {
                layer = index;
                let steps = match &s.layers[index].work {
                    Work::Array(a) => a.steps.len() as u64,
                    _ => 0,
                };
                word(op::LAYER, 0, layer, &[steps])
            }
            Instr::LoadIfmap { step, bytes } => word(op::LD_IFMAP, 0, layer, &[step as u64, bytes]),
            Instr::LoadFilter { step, bytes } => {
                word(op::LD_FILTER, 0, layer, &[step as u64, bytes])
            }
            Instr::Fold { step } => {
                let Work::Array(a) = &s.layers[layer].work else {
                    return Err(Error::internal(format!(
                        "instruction ROM: a fold in layer {layer} '{}', which has no array work",
                        s.layers[layer].name
                    )));
                };
                let st = &a.steps[step];
                let flags = ((st.accumulate as u8) * FLAG_ACCUMULATE)
                    | (((st.store > 0) as u8) * FLAG_FINISH);
                word(
                    op::FOLD,
                    flags,
                    layer,
                    &[
                        st.m.start as u64,
                        st.m.len as u64,
                        st.k.start as u64,
                        st.k.len as u64,
                        st.n.start as u64,
                        st.n.len as u64,
                    ],
                )
            }
            Instr::Store { step, bytes } => word(op::STORE, 0, layer, &[step as u64, bytes]),
            Instr::Vector { op: v, elements } => {
                word(op::VECTOR, 0, layer, &[u64::from(vector_code(v)), elements])
            }
            Instr::Copy { bytes } => word(op::COPY, 0, layer, &[bytes]),
            Instr::Host => word(op::HOST, 0, layer, &[]),
            Instr::Sync => word(op::SYNC, 0, layer, &[]),
        };
        out.push(w.encode().map_err(|e| Error::Schedule {
            layer: s.layers[layer].name.clone(),
            hw: s.hw.clone(),
            msg: format!("instruction ROM: {e}"),
        })?);
    }
    out.push(word(op::END, 0, 0, &[]).encode().unwrap_or(0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_refuse_wide_fields() {
        let w = Word {
            op: op::FOLD,
            flags: FLAG_ACCUMULATE | FLAG_FINISH,
            layer: 7,
            f: [(1 << 24) - 1, 1 << 19, 65535, 4096, 3, 4096],
        };
        assert_eq!(Word::decode(w.encode().unwrap()), w);
        let wide = Word {
            f: [1 << 24, 0, 0, 0, 0, 0],
            ..w
        };
        let e = wide.encode().unwrap_err();
        assert!(matches!(&e, Error::FieldWidth { bits: 24, .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "field m_start = 16777216 does not fit 24 bits"
        );
        let v = Word {
            op: op::VECTOR,
            flags: 0,
            layer: 2,
            f: [4, 1 << 39, 0, 0, 0, 0],
        };
        assert_eq!(Word::decode(v.encode().unwrap()), v);
    }
}
