//! The one error type of `systole-sim`. Every variant but [`SimError::Internal`] names what the
//! user must fix: the file and line, the section and key of a config, the column of a topology
//! row, or the tensor and sizes of a GEMM. [`SimError::Internal`] (and a compiler error that is
//! internal, [`SimError::is_internal`]) is a broken invariant of Systole: the CLI exits 70.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A SCALE-Sim `.cfg` file: a missing section or key, or a value that does not parse.
    #[error("{}: [{section}]{}: {msg}", at(file, *line), key.as_ref().map(|k| format!(" key '{k}'")).unwrap_or_default())]
    Config {
        file: PathBuf,
        /// 1-based line (of the key, or of the section header when the key is missing, or 0
        /// when the section itself is missing).
        line: usize,
        section: String,
        key: Option<String>,
        msg: String,
    },
    /// A SCALE-Sim topology `.csv` file: a row with too few fields or a bad value.
    #[error("{}:{line}: {}{msg}", file.display(), column.as_ref().map(|c| format!("column '{c}': ")).unwrap_or_default())]
    Topology {
        file: PathBuf,
        line: usize,
        column: Option<String>,
        msg: String,
    },
    /// Work whose estimated memory is above `--max-memory-bytes`, refused before allocating;
    /// `msg` names the size, the limit and the flag.
    #[error("{what}: {msg}")]
    Memory { what: String, msg: String },
    /// A GEMM given to an engine with a size of 0.
    #[error("GEMM sizes m={m}, k={k}, n={n}: every size must be at least 1")]
    GemmSizes { m: usize, k: usize, n: usize },
    /// A GEMM operand (`A` is `m×k`, `B` is `k×n`) whose length is not its matrix's.
    #[error("GEMM operand {operand}: {len} elements for a {rows}×{cols} matrix ({} expected)", rows * cols)]
    GemmOperand {
        operand: &'static str,
        len: usize,
        rows: usize,
        cols: usize,
    },
    /// A schedule made for another array (size or dataflow) than the description it is run on.
    #[error("schedule for a {rows}x{cols} {dataflow:?} array, the description '{hw}' is {hw_rows}x{hw_cols} {hw_dataflow:?}")]
    WrongArray {
        rows: usize,
        cols: usize,
        dataflow: systole_hw::Dataflow,
        hw: String,
        hw_rows: usize,
        hw_cols: usize,
        hw_dataflow: systole_hw::Dataflow,
    },
    /// The program, its schedule or its input (from the compiler crate).
    #[error(transparent)]
    Compiler(#[from] systole_compiler::Error),
    /// A waveform request that cannot be honoured: a PE outside the array, a bad `--vcd-pes`
    /// spec, a clock or bit width out of range, time going backwards between layers.
    #[error("VCD: {msg}")]
    Vcd { msg: String },
    /// A program whose stages the backend and the RTL do not take yet (encoder stages, integer
    /// inputs, dynamic quantization), refused before scheduling; `msg` names the stage and the
    /// verb that asked.
    #[error("model: {msg}")]
    RtlProgram { msg: String },
    /// A program, schedule or description the whole-program RTL cannot run, naming the layer
    /// (or `-` for the whole design), the field and what the RTL supports.
    #[error("RTL: layer '{layer}': {field}: {msg}")]
    RtlUnsupported {
        layer: String,
        field: String,
        msg: String,
    },
    /// Building or running the RTL simulator failed, or its outputs did not parse.
    #[error("RTL ({tool}): {msg}")]
    RtlTool { tool: &'static str, msg: String },
    /// Writing the VCD stream failed (disk full, closed pipe).
    #[error("writing the VCD: {source}")]
    VcdWrite { source: std::io::Error },
    /// An invariant of Systole broken (a checked schedule whose step does not fit, an output no
    /// stage produced): no input reaches it, so it is a bug. `what` says which and where.
    #[error("internal error (a bug in systole; please report it): {what}")]
    Internal { what: String },
}

impl SimError {
    /// An invariant failure inside Systole (here or in the compiler) rather than bad input.
    pub fn is_internal(&self) -> bool {
        match self {
            SimError::Internal { .. } => true,
            SimError::Compiler(e) => e.is_internal(),
            _ => false,
        }
    }

    /// A [`SimError::Internal`] saying `what`.
    pub fn internal(what: impl Into<String>) -> SimError {
        SimError::Internal { what: what.into() }
    }
}

/// `FILE:LINE`, or `FILE` when the line is 0 (the thing is missing from the whole file).
fn at(file: &std::path::Path, line: usize) -> String {
    if line == 0 {
        file.display().to_string()
    } else {
        format!("{}:{line}", file.display())
    }
}

pub type Result<T> = std::result::Result<T, SimError>;
