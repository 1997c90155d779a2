//! The instruction ROM as a readable listing: one line per 128-bit word with its address, its hex
//! and its fields decoded by name (`docs/isa.md`). It reads the words alone, not the schedule, so
//! it shows what the ROM holds, including bits that no field of the opcode covers.

use std::fmt::Write;

use systole_hw::VectorOp;

use super::isa::{field_names, op, vector_code, Word, FLAG_ACCUMULATE, FLAG_FINISH};

/// Every vector op, so that a `vector_op` code can be named.
const VECTOR_OPS: [VectorOp; 13] = [
    VectorOp::Relu,
    VectorOp::Relu6,
    VectorOp::Sigmoid,
    VectorOp::Tanh,
    VectorOp::MaxPool,
    VectorOp::AvgPool,
    VectorOp::Add,
    VectorOp::Mul,
    VectorOp::Requantize,
    VectorOp::Softmax,
    VectorOp::LayerNorm,
    VectorOp::Gelu,
    VectorOp::RowMax,
];

/// The name of an opcode as `docs/isa.md` spells it, or `None` for an unused opcode.
pub fn mnemonic(opcode: u8) -> Option<&'static str> {
    Some(match opcode {
        op::END => "END",
        op::LAYER => "LAYER",
        op::LD_IFMAP => "LD_IFMAP",
        op::LD_FILTER => "LD_FILTER",
        op::FOLD => "FOLD",
        op::STORE => "STORE",
        op::VECTOR => "VECTOR",
        op::COPY => "COPY",
        op::HOST => "HOST",
        op::SYNC => "SYNC",
        _ => return None,
    })
}

/// The vector op a `vector_op` field names, if any.
pub fn vector_op(code: u64) -> Option<VectorOp> {
    VECTOR_OPS
        .into_iter()
        .find(|&v| u64::from(vector_code(v)) == code)
}

/// One word decoded: mnemonic, layer, then each field as `name=value`; FOLD's flags by name;
/// `stray=0x…` for set bits that no field of the opcode covers.
pub fn disassemble(w: u128) -> String {
    let d = Word::decode(w);
    let mut s = match mnemonic(d.op) {
        Some(m) => format!("{m:<9} L{:<3}", d.layer),
        None => format!("op{:<7} L{:<3}", d.op, d.layer),
    };
    for (name, v) in field_names(d.op).iter().zip(d.f) {
        let _ = write!(s, " {name}={v}");
        if d.op == op::VECTOR && *name == "vector_op" {
            match vector_op(v) {
                Some(o) => {
                    let _ = write!(s, " ({o:?})");
                }
                None => s.push_str(" (unknown)"),
            }
        }
    }
    if d.flags != 0 {
        let mut names = Vec::new();
        let mut rest = d.flags;
        if d.op == op::FOLD {
            for (bit, name) in [(FLAG_ACCUMULATE, "ACCUMULATE"), (FLAG_FINISH, "FINISH")] {
                if rest & bit != 0 {
                    names.push(name.to_string());
                    rest &= !bit;
                }
            }
        }
        if rest != 0 {
            names.push(format!("{rest:#x}"));
        }
        let _ = write!(s, " flags={}", names.join("|"));
    }
    // Bits outside the opcode's fields: what a decoder that trusts the layout would drop.
    let stray = match d.encode() {
        Ok(again) => w ^ again,
        Err(_) => 0,
    };
    if stray != 0 {
        let _ = write!(s, " stray={stray:#x}");
    }
    s.trim_end().to_string()
}

/// The listing of `words`: `address  hex  disassembly`, one line per word.
pub fn listing(words: &[u128]) -> String {
    let mut s = String::new();
    for (i, &w) in words.iter().enumerate() {
        let _ = writeln!(s, "{i:04}  {w:032x}  {}", disassemble(w));
    }
    s
}

/// Reads `rom/instructions.mem` text (one hex word per line) back into words; `None` names no
/// line, it only says the text is not a hex ROM.
pub fn parse_rom(text: &str) -> Option<Vec<u128>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| u128::from_str_radix(l.trim(), 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vector_code_names_one_op() {
        for (i, v) in VECTOR_OPS.into_iter().enumerate() {
            assert_eq!(u64::from(vector_code(v)), i as u64);
            assert_eq!(vector_op(i as u64), Some(v));
        }
        assert_eq!(vector_op(13), None);
    }

    #[test]
    fn words_disassemble_with_named_fields() {
        let fold = Word {
            op: op::FOLD,
            flags: FLAG_ACCUMULATE | FLAG_FINISH,
            layer: 3,
            f: [0, 16, 32, 16, 0, 8],
        };
        assert_eq!(
            disassemble(fold.encode().unwrap()),
            "FOLD      L3   m_start=0 m_len=16 k_start=32 k_len=16 n_start=0 n_len=8 flags=ACCUMULATE|FINISH"
        );
        let vec = Word {
            op: op::VECTOR,
            flags: 0,
            layer: 2,
            f: [4, 1024, 0, 0, 0, 0],
        };
        assert_eq!(
            disassemble(vec.encode().unwrap()),
            "VECTOR    L2   vector_op=4 (MaxPool) elements=1024"
        );
        assert_eq!(disassemble(0), "END       L0");
        // A SYNC with a bit set where SYNC has no field, and an unused opcode.
        let sync = (u128::from(op::SYNC) << 124) | 1;
        assert_eq!(disassemble(sync), "SYNC      L0   stray=0x1");
        assert_eq!(disassemble(0xc << 124), "op12      L0");
        let l = listing(&[fold.encode().unwrap(), 0]);
        assert_eq!(l.lines().count(), 2);
        assert!(
            l.starts_with("0000  43003000000000100020008000000200  FOLD"),
            "{l}"
        );
        assert_eq!(parse_rom(&l.replace(' ', "")), None);
        assert_eq!(parse_rom("0\n1f\n"), Some(vec![0, 0x1f]));
    }
}
