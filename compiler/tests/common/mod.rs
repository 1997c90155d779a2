//! Helpers shared by the compiler's integration tests: a model loaded and optimized, and
//! quantized with a configuration. They are the compiler calls `systole_flow::load` and
//! `systole_flow::quantize` make, written here because the compiler's tests cannot use the flow
//! crate (it depends on the compiler).
#![allow(dead_code)]

use std::path::Path;

use systole_compiler::frontend::load_model;
use systole_compiler::fxir::Program;
use systole_compiler::ir::Graph;
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::passes::{run_pipeline, PipelineOptions};
use systole_compiler::quant::calibrate::{calibrate, collect_hessians, Calibration};
use systole_compiler::{Result, Tensor};

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
