//! ROM images in the four formats Verilog flows read, and sub-byte packing.
//!
//! A [`Rom`] is a list of words of one width (two's complement for signed contents). It renders
//! as `.mem` (`$readmemh`: one hex word per line), `.memb` (`$readmemb`), Xilinx `.coe`
//! (`memory_initialization_radix=16`) and Intel `.mif` (`WIDTH`, `DEPTH`, hex address and data).
//! Every format is fixed width, upper-case free and newline terminated, so outputs are
//! byte-identical across runs.

use std::fmt::Write;

/// One ROM: `width`-bit words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rom {
    pub width: u32,
    pub words: Vec<u64>,
}

impl Rom {
    /// Words from signed values, two's complement in `width` bits (the caller checked ranges).
    pub fn from_signed(width: u32, values: impl IntoIterator<Item = i64>) -> Rom {
        let mask = mask(width);
        Rom {
            width,
            words: values.into_iter().map(|v| (v as u64) & mask).collect(),
        }
    }

    /// Packs `bits`-bit codes (two's complement) into `width`-bit words, `width / bits` codes
    /// per word, first code in the least significant bits; the last word is zero-padded.
    pub fn packed(bits: u32, width: u32, codes: &[i64]) -> Rom {
        let per = (width / bits).max(1) as usize;
        let m = mask(bits);
        let words = codes
            .chunks(per)
            .map(|ch| {
                ch.iter().enumerate().fold(0u64, |w, (i, &c)| {
                    w | (((c as u64) & m) << (i as u32 * bits))
                })
            })
            .collect();
        Rom { width, words }
    }

    fn hex_digits(&self) -> usize {
        self.width.div_ceil(4) as usize
    }

    /// `$readmemh` text.
    pub fn mem(&self) -> String {
        let d = self.hex_digits();
        let mut o = String::with_capacity(self.words.len() * (d + 1));
        for w in &self.words {
            let _ = writeln!(o, "{w:0d$x}");
        }
        o
    }

    /// `$readmemb` text.
    pub fn memb(&self) -> String {
        let d = self.width as usize;
        let mut o = String::with_capacity(self.words.len() * (d + 1));
        for w in &self.words {
            let _ = writeln!(o, "{w:0d$b}");
        }
        o
    }

    /// Xilinx coefficient file (Block Memory Generator).
    pub fn coe(&self) -> String {
        let d = self.hex_digits();
        let mut o =
            String::from("memory_initialization_radix=16;\nmemory_initialization_vector=\n");
        for (i, w) in self.words.iter().enumerate() {
            let end = if i + 1 == self.words.len() { ';' } else { ',' };
            let _ = writeln!(o, "{w:0d$x}{end}");
        }
        if self.words.is_empty() {
            o.push_str(";\n");
        }
        o
    }

    /// Intel memory initialization file.
    pub fn mif(&self) -> String {
        let d = self.hex_digits();
        let a = (usize::BITS - self.words.len().max(1).leading_zeros())
            .div_ceil(4)
            .max(1) as usize;
        let mut o = format!(
            "WIDTH={};\nDEPTH={};\nADDRESS_RADIX=HEX;\nDATA_RADIX=HEX;\nCONTENT BEGIN\n",
            self.width,
            self.words.len().max(1)
        );
        for (i, w) in self.words.iter().enumerate() {
            let _ = writeln!(o, "  {i:0a$x} : {w:0d$x};");
        }
        if self.words.is_empty() {
            let _ = writeln!(o, "  {:0a$x} : {:0d$x};", 0, 0);
        }
        o.push_str("END;\n");
        o
    }

    /// Address bits needed for this ROM's depth (at least 1).
    pub fn addr_bits(&self) -> u32 {
        (usize::BITS - self.words.len().saturating_sub(1).leading_zeros()).max(1)
    }
}

fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::Rom;

    #[test]
    fn formats_render_twos_complement_words() {
        let r = Rom::from_signed(8, [1, -1, 127, -128]);
        assert_eq!(r.mem(), "01\nff\n7f\n80\n");
        assert_eq!(r.memb(), "00000001\n11111111\n01111111\n10000000\n");
        assert_eq!(
            r.coe(),
            "memory_initialization_radix=16;\nmemory_initialization_vector=\n01,\nff,\n7f,\n80;\n"
        );
        assert!(r.mif().contains("WIDTH=8;\nDEPTH=4;") && r.mif().contains("  3 : 80;\nEND;"));
        assert_eq!(r.addr_bits(), 2);
    }

    #[test]
    fn sub_byte_codes_pack_low_first() {
        // Four 4-bit codes into 16-bit words: -1, 2, 3, -8 → 0x83 2f (little end first).
        let r = Rom::packed(4, 16, &[-1, 2, 3, -8, 5]);
        assert_eq!(r.words, vec![0x832f, 0x0005]);
        // 3-bit codes in 8-bit words: two per word.
        assert_eq!(Rom::packed(3, 8, &[1, -1, 2]).words, vec![0b111_001, 0b010]);
    }
}
