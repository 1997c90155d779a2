//! Model importers. ONNX is the one format; its protobuf types are generated at build time by
//! protox + prost from `compiler/proto/onnx.proto`.
pub mod attrs;
pub mod onnx;
pub mod ops;
pub mod proto;
pub mod tensor_proto;

pub use onnx::{load_model, load_model_bytes};
