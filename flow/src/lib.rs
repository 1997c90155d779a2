//! The flows of Systole: what a verb of the CLI does, as library calls the CLI and the tests share.
//!
//! The compiler (`systole-compiler`) holds the IR, the passes, the quantizer's maths, the kernels,
//! the scheduler and the backend; the simulator (`systole-sim`) the engines and the RTL runner.
//! This crate drives them: loading and evaluating models, sensitivity analysis and profiling,
//! sentence encoders (`text`), plots, and design-space sweeps.
pub mod error;
pub mod flow;
pub mod plot;
pub mod profile;
pub mod sensitivity;
pub mod sweep;
pub mod text;

pub use error::{FlowError, Result};
