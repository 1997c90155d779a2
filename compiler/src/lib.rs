//! Systole's compiler: ONNX in, quantized fixed-point programs out.
//!
//! ```text
//! model.onnx ─frontend→ graph IR ─passes→ quant::calibrate ─lower→ fxir (fixed-point program) → .sysq
//!                          │                                        └─ reference::int runs it (the oracle)
//!                          └─ reference::float runs it (checked against onnxruntime)
//! ```
pub mod backend;
pub mod error;
pub mod files;
pub mod frontend;
pub mod fxir;
pub mod ir;
pub mod lower;
pub mod npy;
pub mod passes;
pub mod quant;
pub mod reference;
pub mod schedule;
pub mod stats;
pub mod sysq;
pub mod tensor;

pub use error::{Error, KernelError, Result, ShapeError};
pub use tensor::{DType, Data, Tensor};
