//! Helpers shared by the simulator's integration tests: the repository root, the bundled data,
//! a model loaded and quantized (the compiler's own functions, which the flow crate calls too),
//! and whether the RTL tools are installed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use systole_compiler::npy::read_npy;
use systole_compiler::Tensor;

/// The repository root (the simulator crate's parent).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A bundled array of `models/data`.
pub fn data(f: &str) -> Tensor {
    read_npy(&repo().join("models/data").join(f)).unwrap()
}

/// The library's own loader and quantizer (the flow crate calls the same two).
#[allow(unused_imports)] // not every test binary uses both
pub use systole_compiler::lower::calibrate_and_lower as quantize;
#[allow(unused_imports)]
pub use systole_compiler::passes::load_optimized;

pub fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the tools are there; panics when they are missing and oracles are required.
pub fn tools_present(tools: &[(&str, &str)]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(t, a)| !have(t, a))
        .map(|(t, _)| *t)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{} not found: install them (apt-get install iverilog verilator yosys, or scripts/test.sh)",
        missing.join(", ")
    );
    systole_hw::testing::oracle_missing("an RTL simulator", &msg);
    false
}
