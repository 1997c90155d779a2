//! Systole's compiler: ONNX in, quantized fixed-point programs out.
//!
//! ```text
//! model.onnx ─frontend→ graph IR ─passes→ quant (number contract today; calibration, lowering, schedule: later)
//!                          └─ reference::float runs it (checked against onnxruntime)
//! ```
pub mod error;
pub mod frontend;
pub mod ir;
pub mod npy;
pub mod passes;
pub mod quant;
pub mod reference;
pub mod stats;
pub mod tensor;

pub use error::{Error, KernelError, Result};
pub use tensor::{DType, Data, Tensor};
