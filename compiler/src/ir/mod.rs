//! The graph IR: ONNX semantics on a petgraph `StableGraph`, with typed ops and shaped tensors.
pub mod dump;
pub mod graph;
pub mod op;
pub mod shape;
mod shape_transformer;
pub mod types;
pub mod validate;

pub use graph::{Graph, Node, OpId, QuantAnnot, Value, ValueId, ValueKind};
pub use op::Op;
pub use types::{Dim, TensorType};
