//! The one error type of the compiler crate.
//!
//! Every variant but [`Error::Internal`] names what a user can act on: the file, the node (by its
//! ONNX name), the field or tensor, and what was expected. The CLI renders these and exits with
//! status 2. [`Error::Internal`] is a broken invariant of Systole itself (a pass that left an
//! inconsistent graph, a kernel handed mismatched lengths by our own lowering): the CLI says it
//! is a bug and exits with status 70 ([`Error::is_internal`]).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid ONNX model: {msg}")]
    Decode { path: PathBuf, msg: String },
    #[error(
        "node '{node}': unsupported op {domain}::{op_type} (opset {opset}); supported: {supported}"
    )]
    UnsupportedOp {
        node: String,
        op_type: String,
        domain: String,
        opset: i64,
        supported: String,
    },
    #[error("model: {msg}")]
    Model { msg: String },
    #[error("node '{node}' ({op}): attribute '{attr}': {msg}")]
    Attr {
        node: String,
        op: String,
        attr: String,
        msg: String,
    },
    #[error("node '{node}' ({op}): {msg}")]
    Node {
        node: String,
        op: String,
        msg: String,
    },
    /// Shape inference refused node `node` (`op`): its inputs' shapes or its attributes.
    #[error("node '{node}' ({op}): {source}")]
    Shape {
        node: String,
        op: String,
        #[source]
        source: ShapeError,
    },
    #[error("tensor '{name}': {msg}")]
    Tensor { name: String, msg: String },
    #[error("input '{name}': {msg}")]
    Input { name: String, msg: String },
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error(transparent)]
    Quant(#[from] crate::quant::QuantError),
    /// An accelerator description that does not load (its message names the file).
    #[error(transparent)]
    Hw(#[from] systole_hw::HwError),
    /// A graph that breaks a structural rule of the IR (an arity, a value produced twice, an
    /// input never defined, a cycle): a model that is not a well-formed graph.
    #[error("IR invalid: {msg}")]
    Graph { msg: String },
    /// A fixed-point program (a `.sysq` file, or what the lowering made) that breaks a rule of its
    /// structure or of the number contract; `at` names the stage, tensor or input.
    #[error("IR invalid: fixed-point program: {at}: {msg}")]
    Program { at: String, msg: String },
    /// A scale the lowering cannot encode as `M0 · 2^-s`: a channel's requantizer, an activation
    /// step; `at` names the layer and channel or the tensor.
    #[error("{at}: {source}")]
    Scale {
        at: String,
        #[source]
        source: crate::quant::QuantError,
    },
    /// An hls4ml precision file that is not JSON of the expected form (`serde_json`'s message,
    /// with line and column).
    #[error(transparent)]
    Hls4mlJson(serde_json::Error),
    /// An hls4ml precision that does not fit the model (a missing or extra layer, a type that is
    /// not `ap_fixed`) or asks for arithmetic the hls4ml lowering does not model.
    #[error("hls4ml precision: {msg}")]
    Hls4ml { msg: String },
    /// A value given to a library call (from a flag or a file) outside its range.
    #[error("{what} {value} is not in {range}")]
    OutOfRange {
        what: &'static str,
        value: String,
        range: String,
    },
    /// A value wider than the instruction-word field that holds it (`docs/isa.md`).
    #[error("{field} = {value} does not fit {bits} bits")]
    FieldWidth {
        field: String,
        value: u64,
        bits: u32,
    },
    /// A `--bind NAME=N` that does not parse; `msg` says which part is wrong.
    #[error("'{spec}': {msg}")]
    Bind { spec: String, msg: String },
    /// Data whose length is not the number of elements of the shape it is given.
    #[error("shape {shape:?} holds {expected} elements but {given} were given")]
    ElementCount {
        shape: Vec<usize>,
        expected: usize,
        given: usize,
    },
    /// A schedule (from a build directory) that does not belong to its program as a whole;
    /// a problem of one layer is [`Error::Schedule`].
    #[error("schedule for '{hw}': {msg}")]
    ScheduleMismatch { hw: String, msg: String },
    /// An invariant of Systole broken: no input a user can give reaches it, so it is a bug.
    /// `what` says which invariant and where.
    #[error("internal error (a bug in systole; please report it): {what}")]
    Internal { what: String },
    /// A ROM of the build is deeper than the ROMs' address width reaches.
    #[error("ROM {rom} is {words} words deep; {addr_bits} address bits reach {reach} words")]
    RomTooDeep {
        rom: String,
        words: u64,
        addr_bits: u32,
        reach: u128,
    },
    /// The program does not fit the accelerator (widths, buffers, vector ops).
    #[error("layer '{layer}' on '{hw}': {msg}")]
    Schedule {
        layer: String,
        hw: String,
        msg: String,
    },
}

impl Error {
    /// An invariant failure inside Systole, [`Error::Internal`], rather than bad input.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Internal { .. })
    }

    /// An [`Error::Internal`] saying `what`.
    pub fn internal(what: impl Into<String>) -> Error {
        Error::Internal { what: what.into() }
    }
}

/// Why shape inference refused an op, before `passes::shape_inference` names the node
/// ([`Error::Shape`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeError {
    /// A required input that the node does not have.
    #[error("input {0} is missing")]
    MissingInput(usize),
    /// Two shapes that do not broadcast the ONNX (numpy) way; `p` and `q` are the first sizes
    /// that differ.
    #[error("shapes {a:?} and {b:?} do not broadcast ({p} vs {q})")]
    Broadcast {
        a: Vec<crate::ir::Dim>,
        b: Vec<crate::ir::Dim>,
        p: usize,
        q: usize,
    },
    /// An axis (an attribute or a constant input) outside the input's rank.
    #[error("axis {axis} is out of range for rank {rank}")]
    Axis { axis: i64, rank: usize },
    /// Inputs the op cannot combine: a rank too low or unequal, inner dimensions or channel
    /// counts that differ, a symbolic kernel, a condition that is not bool. The message shows
    /// the shapes.
    #[error("{0}")]
    InputShapes(String),
    /// An attribute or constant shape input that the input cannot take: a window larger than the
    /// (padded) input or whose size overflows, a reshape, expand or ConstantOfShape target, a
    /// permutation, squeeze axes. The message names the attribute and its value.
    #[error("{0}")]
    Attributes(String),
}

/// Error from a single kernel, before the interpreter attaches the node it ran for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct KernelError(pub String);

impl KernelError {
    pub fn new(msg: impl Into<String>) -> KernelError {
        KernelError(msg.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
