//! Helpers shared by the simulator's integration tests: the repository root, the bundled data,
//! a model loaded and quantized (the compiler calls `systole_flow::load` and
//! `systole_flow::quantize` make: the simulator's tests cannot use the flow crate, which depends
//! on the simulator), and whether the RTL tools are installed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use systole_compiler::frontend::load_model;
use systole_compiler::fxir::Program;
use systole_compiler::ir::Graph;
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::npy::read_npy;
use systole_compiler::passes::{run_pipeline, PipelineOptions};
use systole_compiler::quant::calibrate::{calibrate, collect_hessians, Calibration};
use systole_compiler::{Result, Tensor};

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

/// Loads an ONNX model and runs the whole pass pipeline on it.
pub fn load_optimized(path: &Path) -> Result<Graph> {
    let mut g = load_model(path)?;
    run_pipeline(&mut g, &PipelineOptions::default(), |_, _| {})?;
    Ok(g)
}

/// Calibrates `g` on `calib` (batches of 64) and lowers it with `cfg`.
pub fn quantize(
    g: &Graph,
    calib: &Tensor,
    cfg: &QuantConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Program, Calibration)> {
    let mut cal = calibrate(g, calib, 64, progress)?;
    if cfg.gptq || cfg.adaround || cfg.bias_correction {
        cal.hessians = collect_hessians(g, calib, 64)?;
    }
    let p = lower(g, &cal, cfg)?;
    Ok((p, cal))
}

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
