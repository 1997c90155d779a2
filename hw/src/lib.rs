//! Accelerator descriptions for Systole: what array, buffers and memory a design has.
//!
//! Descriptions are RON files (`hw/presets/*.ron`) so a hardware engineer edits them by hand and
//! the compiler, simulator and sizing sweeps all read one definition.
pub mod description;
pub mod error;

pub use description::{Accelerator, Dataflow};
pub use error::HwError;
