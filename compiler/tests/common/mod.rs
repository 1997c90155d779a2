//! Helpers shared by the compiler's integration tests: a model loaded and optimized, and
//! quantized with a configuration. They are the library's own functions, which the flow crate
//! calls too; re-exported here under the names the tests use.
#![allow(dead_code)]

#[allow(unused_imports)] // not every test binary uses both
pub use systole_compiler::lower::calibrate_and_lower as quantize;
#[allow(unused_imports)]
pub use systole_compiler::passes::load_optimized;
