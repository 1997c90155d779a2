//! Accelerator descriptions for Systole: what array, buffers and memory a design has.
//!
//! Descriptions are RON files (`hw/presets/*.ron`) so a hardware engineer edits them by hand and
//! the compiler, simulator and sizing sweeps all read one definition. `docs/hardware-model.md`
//! lists every field, its unit, default and limit.
pub mod cost;
pub mod description;
pub mod error;
pub mod fsio;
pub mod limits;
pub mod presets;
pub mod testing;

pub use description::{
    Accelerator, Buffer, Buffers, Dataflow, Dram, Operand, VectorOp, VectorUnit, MAX_ARRAY_SIDE,
};
pub use error::HwError;
