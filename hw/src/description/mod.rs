//! The accelerator description: array, number widths, SRAM buffers, DRAM, vector unit, clock.
//!
//! Plain data read from RON with unknown fields refused, then [`Accelerator::validate`]d so that
//! every limit is checked before anything is sized from it.

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::HwError;

mod array;
mod memory;
mod ronpath;
mod vector;

pub use array::{
    Dataflow, MAX_ACC_BITS, MAX_ARRAY_SIDE, MAX_CLOCK_MHZ, MAX_OPERAND_BITS, MIN_CLOCK_MHZ,
};
pub use memory::{
    Buffer, Buffers, Dram, Operand, MAX_BANKS, MAX_BUFFER_KIB, MAX_DRAM_BYTES_PER_CYCLE,
    MAX_DRAM_LATENCY_CYCLES, MAX_PORTS, MAX_WORD_BITS, MIN_DRAM_BYTES_PER_CYCLE,
};
pub use vector::{VectorOp, VectorUnit, MAX_OP_CYCLES, MAX_VECTOR_LANES};

/// Largest description file read, in bytes (refused before reading).
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Longest accelerator name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// A validation failure inside the crate: the dotted field path and what is wrong.
#[derive(Debug)]
pub(crate) struct Invalid {
    field: String,
    msg: String,
}

impl Invalid {
    pub(crate) fn new(field: impl Into<String>, msg: String) -> Invalid {
        Invalid {
            field: field.into(),
            msg,
        }
    }
}

/// One accelerator design. Units are in the field names; defaults and limits are in
/// `docs/hardware-model.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accelerator {
    pub name: String,
    /// PE rows (the reduction dimension for a weight-stationary GEMM).
    pub rows: usize,
    /// PE columns.
    pub cols: usize,
    #[serde(default)]
    pub dataflow: Dataflow,
    /// Clock in MHz, for latency and throughput figures.
    pub clock_mhz: f64,
    /// Width of an input (activation) operand, in bits.
    #[serde(default = "array::default_operand_bits")]
    pub input_bits: u32,
    /// Width of a weight operand, in bits.
    #[serde(default = "array::default_operand_bits")]
    pub weight_bits: u32,
    /// Width of the accumulator in each PE, in bits.
    #[serde(default = "array::default_acc_bits")]
    pub acc_bits: u32,
    #[serde(default)]
    pub buffers: Buffers,
    #[serde(default)]
    pub dram: Dram,
    #[serde(default)]
    pub vector: VectorUnit,
}

impl Accelerator {
    /// A description with the given array and clock and the defaults for everything else.
    pub fn new(name: &str, rows: usize, cols: usize, dataflow: Dataflow, clock_mhz: f64) -> Self {
        Accelerator {
            name: name.into(),
            rows,
            cols,
            dataflow,
            clock_mhz,
            input_bits: array::default_operand_bits(),
            weight_bits: array::default_operand_bits(),
            acc_bits: array::default_acc_bits(),
            buffers: Buffers::default(),
            dram: Dram::default(),
            vector: VectorUnit::default(),
        }
    }

    /// Parses and validates; errors name `path` and the field.
    pub fn from_ron_str(text: &str, path: &Path) -> Result<Accelerator, HwError> {
        let a: Accelerator = ron::from_str(text).map_err(|e| {
            let mut at = ronpath::field_at(text, e.span.start.line, e.span.start.col);
            if let ron::Error::MissingStructField { field, .. } = &e.code {
                at = Some(at.map_or(field.to_string(), |a| format!("{a}.{field}")));
            }
            let at = at.map(|f| format!("field '{f}': ")).unwrap_or_default();
            HwError::Parse {
                path: path.to_path_buf(),
                msg: format!("{}: {at}{}", e.span.start, e.code),
            }
        })?;
        a.check().map_err(|i| a.field_error(i, Some(path)))?;
        Ok(a)
    }

    /// Reads, parses and validates a description file.
    pub fn load(path: &Path) -> Result<Accelerator, HwError> {
        let io = |source| HwError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::metadata(path).map_err(io)?.len();
        if bytes > MAX_FILE_BYTES {
            return Err(HwError::TooLarge {
                path: path.to_path_buf(),
                bytes,
                limit: MAX_FILE_BYTES,
            });
        }
        // The bounded reader refuses a FIFO or a device (whose metadata says 0 bytes, so the
        // check above passes it) and stops at the limit if the file grows meanwhile.
        let bytes = crate::fsio::read_limited(path, MAX_FILE_BYTES, None).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|_| HwError::Parse {
            path: path.to_path_buf(),
            msg: "not UTF-8 text, expected a RON description".into(),
        })?;
        Accelerator::from_ron_str(&text, path)
    }

    /// Pretty RON that [`Accelerator::from_ron_str`] reads back to an equal value.
    pub fn to_ron_string(&self) -> String {
        let cfg = ron::ser::PrettyConfig::new().struct_names(false);
        ron::ser::to_string_pretty(self, cfg).expect("a description always serializes")
    }

    /// Checks every field, naming the first one that is out of range.
    pub fn validate(&self) -> Result<(), HwError> {
        self.check().map_err(|i| self.field_error(i, None))
    }

    fn field_error(&self, i: Invalid, path: Option<&Path>) -> HwError {
        HwError::Field {
            path: path.map(Path::to_path_buf),
            name: self.name.clone(),
            field: i.field,
            msg: i.msg,
        }
    }

    fn check(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() || self.name.len() > MAX_NAME_LEN {
            return Err(Invalid::new(
                "name",
                format!("must be 1..={MAX_NAME_LEN} bytes and not blank"),
            ));
        }
        array::check_side("rows", self.rows)?;
        array::check_side("cols", self.cols)?;
        array::check_clock(self.clock_mhz)?;
        array::check_widths(self.input_bits, self.weight_bits, self.acc_bits)?;
        self.buffers.validate()?;
        self.dram.validate()?;
        self.vector.validate()
    }

    /// Processing elements in the array.
    pub fn pes(&self) -> u64 {
        self.rows as u64 * self.cols as u64
    }

    /// Multiply-accumulates per cycle with every PE busy.
    pub fn peak_macs_per_cycle(&self) -> u64 {
        self.pes()
    }

    /// Multiply-accumulates per second with every PE busy.
    pub fn peak_macs_per_second(&self) -> f64 {
        self.pes() as f64 * self.clock_mhz * 1e6
    }

    /// Seconds per cycle.
    pub fn cycle_seconds(&self) -> f64 {
        1.0 / (self.clock_mhz * 1e6)
    }

    /// Bytes of the buffer that holds `op`.
    pub fn buffer_bytes(&self, op: Operand) -> u64 {
        self.buffers.for_operand(op).bytes()
    }

    /// Words of the buffer that holds `op`.
    pub fn buffer_words(&self, op: Operand) -> u64 {
        self.buffers.for_operand(op).words()
    }

    /// All on-chip SRAM, in bytes.
    pub fn sram_bytes(&self) -> u64 {
        self.buffers.total_bytes()
    }

    /// DRAM bandwidth in bytes per second.
    pub fn dram_bytes_per_second(&self) -> f64 {
        self.dram.bytes_per_cycle * self.clock_mhz * 1e6
    }
}

#[cfg(test)]
mod tests;
