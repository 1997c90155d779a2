//! On-chip SRAM buffers and the DRAM behind them.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// Largest single buffer: 1 GiB, in KiB.
pub const MAX_BUFFER_KIB: u64 = 1 << 20;
/// Most banks one buffer may have.
pub const MAX_BANKS: u32 = 1024;
/// Most ports one bank may have.
pub const MAX_PORTS: u32 = 4;
/// Widest SRAM word, in bits.
pub const MAX_WORD_BITS: u32 = 8192;
/// Widest DRAM interface, in bytes per cycle.
pub const MAX_DRAM_BYTES_PER_CYCLE: f64 = 65_536.0;
/// Narrowest DRAM interface: one byte every 1024 cycles. Below it the cycle counts of a real
/// layer leave `u64` (1e-15 B/cycle makes one 4 KiB load take 4e18 cycles) and wrapped to small
/// numbers, so a sweep ranked such a design best; nothing physical is that slow (a 1 MHz SPI
/// flash moves about a byte per cycle of a 10 MHz array).
pub const MIN_DRAM_BYTES_PER_CYCLE: f64 = 1.0 / 1024.0;
/// Longest DRAM latency, in cycles.
pub const MAX_DRAM_LATENCY_CYCLES: u32 = 1_000_000;

/// One SRAM buffer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buffer {
    /// Capacity in KiB (1024 bytes), all banks together, both halves if double-buffered.
    pub size_kib: u64,
    /// Independent banks; each holds `size / banks`.
    #[serde(default = "one")]
    pub banks: u32,
    /// Ports per bank (1 = single-ported: a read or a write per cycle).
    #[serde(default = "one")]
    pub ports: u32,
    /// Width of one word (one access of one port), in bits.
    #[serde(default = "default_word_bits")]
    pub word_bits: u32,
    /// Split in two halves so DMA fills one while the array reads the other.
    #[serde(default = "yes")]
    pub double_buffered: bool,
}

fn one() -> u32 {
    1
}
fn default_word_bits() -> u32 {
    64
}
fn yes() -> bool {
    true
}

impl Buffer {
    /// A buffer of `size_kib` with the defaults for everything else.
    pub fn kib(size_kib: u64) -> Buffer {
        Buffer {
            size_kib,
            banks: one(),
            ports: one(),
            word_bits: default_word_bits(),
            double_buffered: yes(),
        }
    }

    /// Capacity in bytes.
    pub fn bytes(&self) -> u64 {
        self.size_kib * 1024
    }

    /// Bytes one tile may use: half the buffer when double-buffered.
    pub fn usable_bytes(&self) -> u64 {
        if self.double_buffered {
            self.bytes() / 2
        } else {
            self.bytes()
        }
    }

    /// Words in the whole buffer.
    pub fn words(&self) -> u64 {
        self.bytes() * 8 / u64::from(self.word_bits)
    }

    /// Words in one bank.
    pub fn words_per_bank(&self) -> u64 {
        self.words() / u64::from(self.banks)
    }

    /// Peak bytes per cycle over all banks and ports.
    pub fn peak_bytes_per_cycle(&self) -> u64 {
        u64::from(self.banks) * u64::from(self.ports) * u64::from(self.word_bits / 8)
    }

    pub(crate) fn validate(&self, at: &str) -> Result<(), Invalid> {
        let f = |leaf: &str| format!("{at}.{leaf}");
        if self.size_kib == 0 || self.size_kib > MAX_BUFFER_KIB {
            return Err(Invalid::new(
                f("size_kib"),
                format!(
                    "{} KiB is not in 1..={MAX_BUFFER_KIB} KiB (limit MAX_BUFFER_KIB, 1 GiB)",
                    self.size_kib
                ),
            ));
        }
        if self.banks == 0 || self.banks > MAX_BANKS {
            return Err(Invalid::new(
                f("banks"),
                format!("{} is not in 1..={MAX_BANKS}", self.banks),
            ));
        }
        if self.ports == 0 || self.ports > MAX_PORTS {
            return Err(Invalid::new(
                f("ports"),
                format!("{} is not in 1..={MAX_PORTS}", self.ports),
            ));
        }
        let w = self.word_bits;
        if !(8..=MAX_WORD_BITS).contains(&w) || !w.is_multiple_of(8) {
            return Err(Invalid::new(
                f("word_bits"),
                format!("{w} is not a whole number of bytes in 8..={MAX_WORD_BITS} bits"),
            ));
        }
        let bank_bytes = self.bytes() / u64::from(self.banks);
        let word_bytes = u64::from(w / 8);
        if !self.bytes().is_multiple_of(u64::from(self.banks))
            || !bank_bytes.is_multiple_of(word_bytes)
        {
            return Err(Invalid::new(
                f("banks"),
                format!(
                    "{} KiB does not split into {} banks of whole {w}-bit words",
                    self.size_kib, self.banks
                ),
            ));
        }
        if self.double_buffered && self.words_per_bank() < 2 {
            return Err(Invalid::new(
                f("double_buffered"),
                "each bank needs at least two words to be split in halves".into(),
            ));
        }
        Ok(())
    }
}

/// Which operand a buffer serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    Ifmap,
    Filter,
    Ofmap,
}

/// How the on-chip SRAM is organised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Buffers {
    /// One buffer per operand, as SCALE-Sim models it.
    Separate {
        ifmap: Buffer,
        filter: Buffer,
        ofmap: Buffer,
    },
    /// One scratchpad for every operand (Gemmini's scratchpad, a unified buffer), optionally
    /// with a separate accumulator memory that receives the outputs at accumulator width.
    Unified {
        shared: Buffer,
        #[serde(default)]
        accumulator: Option<Buffer>,
    },
}

impl Default for Buffers {
    /// 64 KiB each for ifmap, filter and ofmap, with the `Buffer` defaults.
    fn default() -> Self {
        Buffers::Separate {
            ifmap: Buffer::kib(64),
            filter: Buffer::kib(64),
            ofmap: Buffer::kib(64),
        }
    }
}

impl Buffers {
    /// The buffer that holds `op`.
    pub fn for_operand(&self, op: Operand) -> &Buffer {
        match (self, op) {
            (Buffers::Separate { ifmap, .. }, Operand::Ifmap) => ifmap,
            (Buffers::Separate { filter, .. }, Operand::Filter) => filter,
            (Buffers::Separate { ofmap, .. }, Operand::Ofmap) => ofmap,
            (
                Buffers::Unified {
                    accumulator: Some(a),
                    ..
                },
                Operand::Ofmap,
            ) => a,
            (Buffers::Unified { shared, .. }, _) => shared,
        }
    }

    /// Every physical buffer with its field name, in file order.
    pub fn named(&self) -> Vec<(&'static str, &Buffer)> {
        match self {
            Buffers::Separate {
                ifmap,
                filter,
                ofmap,
            } => vec![("ifmap", ifmap), ("filter", filter), ("ofmap", ofmap)],
            Buffers::Unified {
                shared,
                accumulator,
            } => {
                let mut v = vec![("shared", shared)];
                if let Some(a) = accumulator {
                    v.push(("accumulator", a));
                }
                v
            }
        }
    }

    /// All on-chip SRAM, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.named().iter().map(|(_, b)| b.bytes()).sum()
    }

    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        for (name, b) in self.named() {
            b.validate(&format!("buffers.{name}"))?;
        }
        Ok(())
    }
}

/// Off-chip memory as the DMA sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dram {
    /// Sustained bandwidth in bytes per accelerator clock cycle (may be fractional).
    #[serde(default = "default_dram_bw")]
    pub bytes_per_cycle: f64,
    /// Cycles from a request to its first byte.
    #[serde(default = "default_dram_latency")]
    pub latency_cycles: u32,
}

fn default_dram_bw() -> f64 {
    16.0
}
fn default_dram_latency() -> u32 {
    100
}

impl Default for Dram {
    fn default() -> Self {
        Dram {
            bytes_per_cycle: default_dram_bw(),
            latency_cycles: default_dram_latency(),
        }
    }
}

impl Dram {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        let bw = self.bytes_per_cycle;
        if !(bw.is_finite() && (MIN_DRAM_BYTES_PER_CYCLE..=MAX_DRAM_BYTES_PER_CYCLE).contains(&bw))
        {
            return Err(Invalid::new(
                "dram.bytes_per_cycle",
                format!(
                    "{bw} is not in [{MIN_DRAM_BYTES_PER_CYCLE}, {MAX_DRAM_BYTES_PER_CYCLE}] \
                     bytes/cycle (limits MIN_/MAX_DRAM_BYTES_PER_CYCLE: 1/1024 to 64 KiB)"
                ),
            ));
        }
        if self.latency_cycles > MAX_DRAM_LATENCY_CYCLES {
            return Err(Invalid::new(
                "dram.latency_cycles",
                format!(
                    "{} is more than {MAX_DRAM_LATENCY_CYCLES} cycles",
                    self.latency_cycles
                ),
            ));
        }
        Ok(())
    }
}
