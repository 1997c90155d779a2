//! The one error type of `systole-flow`.
//!
//! Errors of the crates below pass through unchanged ([`FlowError::Compiler`],
//! [`FlowError::Sim`]); the flow's own variants name the input, file, stage or budget a user can
//! act on. The CLI renders them and exits with status 2.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The compiler refused the model, the data or a program.
    #[error(transparent)]
    Compiler(#[from] systole_compiler::Error),
    /// The simulator refused the program, its schedule or the description.
    #[error(transparent)]
    Sim(#[from] systole_sim::SimError),
    /// A format, mode or allocation entry the number contract cannot represent.
    #[error(transparent)]
    Quant(#[from] systole_compiler::quant::QuantError),
    /// Calibration refused its data (shape, type, values); the caller names the data.
    #[error("calibration data: {source}")]
    Calibration { source: systole_compiler::Error },
    /// An allocation (weight formats, or with `acts` activation formats, per layer) naming a
    /// layer the program does not have.
    #[error("{}no layer '{layer}'; the layers are {layers:?}", if *acts { "acts: " } else { "" })]
    AllocLayer {
        acts: bool,
        layer: String,
        layers: Vec<String>,
    },
    /// An allocation whose format for a layer does not parse.
    #[error("{}layer '{layer}': {msg}", if *acts { "acts: " } else { "" })]
    AllocFormat {
        acts: bool,
        layer: String,
        msg: String,
    },
    /// No allocation of the candidates meets the budget; `smallest` is the cheapest one's cost,
    /// in the budget's units.
    #[error("infeasible; the smallest achievable is {smallest}")]
    Infeasible { smallest: String },
    /// Two outputs compared element by element have different shapes.
    #[error("output shape {got:?} but the reference's is {want:?}")]
    Shape { got: Vec<usize>, want: Vec<usize> },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A sentence set's text that is not one (before its file is known; `read` names it).
    #[error("sentence set: {msg}")]
    Sentences { msg: String },
    /// A file whose content the flow cannot use (a tokenizer, a sentence set).
    #[error("{}: {msg}", path.display())]
    File { path: PathBuf, msg: String },
    /// Data given by the user (labels, sentences, token ids) that the flow cannot use.
    #[error("input '{name}': {msg}")]
    Input { name: String, msg: String },
    /// A tensor of the wrong shape or type for what the flow does with it.
    #[error("tensor '{name}': {msg}")]
    Tensor { name: String, msg: String },
    /// A model or program the flow cannot take (an encoder without the expected inputs, a model
    /// without outputs).
    #[error("model: {msg}")]
    Model { msg: String },
    /// A budget that does not parse.
    #[error("budget '{spec}': {msg}")]
    Budget { spec: String, msg: String },
    /// Drawing a chart failed.
    #[error("plot: {msg}")]
    Plot { msg: String },
    /// A sweep given bad input: an empty or contradictory space, a shard out of range, shards
    /// of different spaces, results in the output directory without `--resume`.
    #[error("{msg}")]
    Sweep { msg: String },
}

pub type Result<T, E = FlowError> = std::result::Result<T, E>;
