//! The design space of a sweep: axes read from RON, every combination one design point,
//! enumerated in a fixed mixed-radix order so that a point's index names it on every machine.

use serde::{Deserialize, Serialize};
use systole_hw::description::{
    MAX_BUFFER_KIB, MAX_CLOCK_MHZ, MAX_DRAM_BYTES_PER_CYCLE, MAX_DRAM_LATENCY_CYCLES,
    MAX_VECTOR_LANES, MIN_CLOCK_MHZ, MIN_DRAM_BYTES_PER_CYCLE,
};
use systole_hw::{Accelerator, Buffer, Buffers, Dataflow, Dram, MAX_ARRAY_SIDE};

use crate::error::{FlowError, Result};

/// One bit-width allocation: formats as `systole quantize` reads them (`--weights`, `--acts`),
/// or, with `avg_bits`, the quantizer's per-layer allocation under that budget (`--budget
/// avg-bits=X`) over `candidates` (default: `systole quantize`'s candidate list).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bits {
    pub weights: String,
    pub acts: String,
    #[serde(default)]
    pub avg_bits: Option<f64>,
    #[serde(default)]
    pub candidates: Option<String>,
}

/// `systole quantize --candidates`' default.
pub const DEFAULT_CANDIDATES: &str = "int2,int3,int4,int5,int6,int8";

impl Bits {
    /// `w<weights>/a<acts>`, e.g. `wint4/aint8`, or `avg<X>/a<acts>` for a budget.
    pub fn label(&self) -> String {
        match self.avg_bits {
            Some(x) => format!("avg{x}/a{}", self.acts),
            None => format!("w{}/a{}", self.weights, self.acts),
        }
    }
}

fn default_batch() -> usize {
    1
}
fn default_latency() -> u32 {
    100
}
fn default_lanes() -> u32 {
    16
}

/// A sweep space (`hw/sweeps/*.ron`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Space {
    pub name: String,
    pub rows: Vec<usize>,
    pub cols: Vec<usize>,
    pub dataflow: Vec<Dataflow>,
    /// Size of each of the ifmap, filter and ofmap buffers, KiB.
    pub buffer_kib: Vec<u64>,
    /// Bit-width allocations; empty: the program's own (a `.sysq` input).
    #[serde(default)]
    pub bits: Vec<Bits>,
    pub clock_mhz: Vec<f64>,
    pub dram_bytes_per_cycle: Vec<f64>,
    #[serde(default = "default_latency")]
    pub dram_latency_cycles: u32,
    #[serde(default = "default_lanes")]
    pub vector_lanes: u32,
    /// Samples per inference run (the array's M is batch × pixels).
    #[serde(default = "default_batch")]
    pub batch: usize,
}

/// One design point: the index and the value of every axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub index: u64,
    /// Index into [`Space::bits`] (0 when the program's own widths are used).
    pub alloc: usize,
    pub rows: usize,
    pub cols: usize,
    pub dataflow: Dataflow,
    pub buffer_kib: u64,
    pub clock_mhz: f64,
    pub dram_bytes_per_cycle: f64,
}

fn bad(msg: String) -> FlowError {
    FlowError::Sweep { msg }
}

fn axis<T: PartialEq + std::fmt::Debug>(
    name: &str,
    v: &[T],
    ok: impl Fn(&T) -> bool,
    limit: &str,
) -> Result<()> {
    if v.is_empty() {
        return Err(bad(format!(
            "axis '{name}' is empty: list at least one value"
        )));
    }
    for (i, x) in v.iter().enumerate() {
        if !ok(x) {
            return Err(bad(format!("axis '{name}': {x:?} is not in {limit}")));
        }
        if v[..i].contains(x) {
            return Err(bad(format!("axis '{name}' lists {x:?} twice")));
        }
    }
    Ok(())
}

impl Space {
    /// Parses and validates; `origin` names the file in messages.
    pub fn from_ron(text: &str, origin: &str) -> Result<Space> {
        let s: Space = ron::from_str(text)
            .map_err(|e| bad(format!("{origin}: not a valid sweep space: {e}")))?;
        s.validate().map_err(|e| bad(format!("{origin}: {e}")))?;
        Ok(s)
    }

    /// Every axis non-empty, without repeats and inside the description's limits; the product
    /// at most `--max-sweep-points` (`systole_hw::limits::MAX_SWEEP_POINTS`).
    pub fn validate(&self) -> Result<()> {
        let side = |x: &usize| (1..=MAX_ARRAY_SIDE).contains(x);
        let side_lim = format!("1..={MAX_ARRAY_SIDE}");
        axis("rows", &self.rows, side, &side_lim)?;
        axis("cols", &self.cols, side, &side_lim)?;
        axis("dataflow", &self.dataflow, |_| true, "")?;
        axis(
            "buffer_kib",
            &self.buffer_kib,
            |x| (1..=MAX_BUFFER_KIB).contains(x),
            &format!("1..={MAX_BUFFER_KIB}"),
        )?;
        axis(
            "clock_mhz",
            &self.clock_mhz,
            |x| (MIN_CLOCK_MHZ..=MAX_CLOCK_MHZ).contains(x),
            &format!("[{MIN_CLOCK_MHZ}, {MAX_CLOCK_MHZ}] MHz"),
        )?;
        axis(
            "dram_bytes_per_cycle",
            &self.dram_bytes_per_cycle,
            |x| (MIN_DRAM_BYTES_PER_CYCLE..=MAX_DRAM_BYTES_PER_CYCLE).contains(x),
            &format!("[{MIN_DRAM_BYTES_PER_CYCLE}, {MAX_DRAM_BYTES_PER_CYCLE}] bytes/cycle"),
        )?;
        for (i, b) in self.bits.iter().enumerate() {
            if self.bits[..i].contains(b) {
                return Err(bad(format!("axis 'bits' lists {} twice", b.label())));
            }
        }
        if self.dram_latency_cycles > MAX_DRAM_LATENCY_CYCLES {
            return Err(bad(format!(
                "dram_latency_cycles {} is not in 0..={MAX_DRAM_LATENCY_CYCLES}",
                self.dram_latency_cycles
            )));
        }
        if !(1..=MAX_VECTOR_LANES).contains(&self.vector_lanes) {
            return Err(bad(format!(
                "vector_lanes {} is not in 1..={MAX_VECTOR_LANES}",
                self.vector_lanes
            )));
        }
        if !(1..=systole_compiler::schedule::MAX_BATCH).contains(&self.batch) {
            return Err(bad(format!(
                "batch {} is not in 1..={}",
                self.batch,
                systole_compiler::schedule::MAX_BATCH
            )));
        }
        if self.name.trim().is_empty() {
            return Err(bad("name is blank".into()));
        }
        // The name becomes the default output directory `sweep-NAME`: a '/' (or '\\', or a
        // NUL) would put it elsewhere (`../../x` writes outside the working directory), so it
        // must be one plain path component. Refused rather than rewritten, so the directory is
        // always the name the user reads in the file.
        if self.name.contains(['/', '\\', '\0']) || self.name == "." || self.name == ".." {
            return Err(bad(format!(
                "field 'name': {:?} is not a plain name: it names the output directory \
                 sweep-NAME, so it must not contain '/' or '\\' (nor be '.' or '..')",
                self.name
            )));
        }
        let n = self
            .radices()
            .iter()
            .fold(1u128, |a, &r| a.saturating_mul(r as u128));
        systole_hw::limits::MAX_SWEEP_POINTS
            .check(n)
            .map_err(|m| bad(format!("the space has {m}")))
    }

    /// Lengths of the axes, outermost first: bits, rows, cols, dataflow, buffer, clock, DRAM.
    fn radices(&self) -> [usize; 7] {
        [
            self.bits.len().max(1),
            self.rows.len(),
            self.cols.len(),
            self.dataflow.len(),
            self.buffer_kib.len(),
            self.clock_mhz.len(),
            self.dram_bytes_per_cycle.len(),
        ]
    }

    /// Number of design points.
    pub fn len(&self) -> u64 {
        self.radices().iter().map(|&r| r as u64).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The point with index `i` (< [`Space::len`]); the last axis varies fastest.
    pub fn point(&self, i: u64) -> Point {
        let r = self.radices();
        let mut d = [0usize; 7];
        let mut rest = i;
        for k in (0..7).rev() {
            d[k] = (rest % r[k] as u64) as usize;
            rest /= r[k] as u64;
        }
        Point {
            index: i,
            alloc: d[0],
            rows: self.rows[d[1]],
            cols: self.cols[d[2]],
            dataflow: self.dataflow[d[3]],
            buffer_kib: self.buffer_kib[d[4]],
            clock_mhz: self.clock_mhz[d[5]],
            dram_bytes_per_cycle: self.dram_bytes_per_cycle[d[6]],
        }
    }
}

/// Bytes of `bits` rounded up to a whole word of at least 8 and at most the description's
/// widest word.
fn word_bits(bits: u64) -> u32 {
    let w = bits.div_ceil(8) * 8;
    w.clamp(8, u64::from(systole_hw::description::MAX_WORD_BITS)) as u32
}

impl Point {
    /// The accelerator of this point: operand buffers one array edge wide (so one access feeds
    /// a row or column of PEs), an ofmap buffer one row of partial sums wide, all dual-ported
    /// and double-buffered, as the presets are (`docs/hardware-model.md`).
    pub fn accelerator(
        &self,
        s: &Space,
        input_bits: u32,
        weight_bits: u32,
        acc_bits: u32,
    ) -> Accelerator {
        let mut hw = Accelerator::new(
            &format!("sweep-{}", self.index),
            self.rows,
            self.cols,
            self.dataflow,
            self.clock_mhz,
        );
        hw.input_bits = input_bits;
        hw.weight_bits = weight_bits;
        hw.acc_bits = acc_bits;
        let edge = self.rows.max(self.cols) as u64;
        let buf = |bits: u64| Buffer {
            size_kib: self.buffer_kib,
            banks: 1,
            ports: 2,
            word_bits: word_bits(bits),
            double_buffered: true,
        };
        hw.buffers = Buffers::Separate {
            ifmap: buf(edge * u64::from(input_bits)),
            filter: buf(edge * u64::from(weight_bits)),
            ofmap: buf(self.cols as u64 * u64::from(acc_bits)),
        };
        hw.dram = Dram {
            bytes_per_cycle: self.dram_bytes_per_cycle,
            latency_cycles: s.dram_latency_cycles,
        };
        hw.vector.lanes = s.vector_lanes;
        hw.vector.ops = vec![
            systole_hw::VectorOp::Relu,
            systole_hw::VectorOp::MaxPool,
            systole_hw::VectorOp::Add,
            systole_hw::VectorOp::Requantize,
        ];
        hw
    }
}

/// FNV-1a, 64 bits: a stable hash of a run's inputs so shards of different runs are told
/// apart (not a security hash; collisions need deliberate effort).
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // Separate the parts so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
