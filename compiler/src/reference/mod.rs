//! CPU reference kernels. `float` defines what a model computes before quantization (checked
//! against onnxruntime); the integer reference, the oracle of every later stage, joins it here.
pub mod float;
pub mod int;
pub mod interp;
