//! The flows of Systole: what a verb of the CLI does, as library calls the CLI and the tests share.
//!
//! The compiler (`systole-compiler`) holds the IR, the passes, the quantizer's maths, the kernels,
//! the scheduler and the backend; the simulator (`systole-sim`) the engines and the RTL runner.
//! This crate drives them:
//!
//! * [`load`]: a model through the frontend and the pass pipeline (for quantization, with the
//!   passes that keep a QDQ model's own scales);
//! * [`eval`]: the float and integer references on data, top-1 against labels, two outputs
//!   compared, the Wilson interval of a top-1;
//! * [`quantize`]: calibrate, apply an allocation or search a budget, lower, score; what a
//!   `.sysq` records; [`ladder`]: the Pareto ladder of a budget search;
//! * [`sensitivity`]: each layer's error with only its format changed; [`profile`]: that table,
//!   the activation thresholds and their plots;
//! * [`text`]: sentence encoders (tokenizer, embeddings, pooling, sentence sets, retrieval, the
//!   encoder's calibration and quantization);
//! * [`plot`]: SVG charts; [`simplots`]: the charts of a simulation;
//! * [`sweep`]: design-space sweeps (quantize per allocation, schedule, simulate, cost, Pareto).
pub mod error;
pub mod eval;
pub mod ladder;
pub mod load;
pub mod plot;
pub mod profile;
pub mod quantize;
pub mod sensitivity;
pub mod simplots;
pub mod sweep;
pub mod text;

pub use error::{FlowError, Result};
