//! The whole-program RTL (`hw/rtl/systole_top.v`) on a build directory: builds its testbench
//! (`hw/rtl/tb/top_tb.v`) with Icarus Verilog or Verilator, runs it on the host's input codes and
//! reads back every tensor the accelerator wrote and every layer's start cycle and cycle count,
//! so they can be compared with the integer reference and the exact simulator
//! (`simulator/tests/rtl_top.rs`, `docs/rtl.md`). Nothing here computes a result: tensors come
//! from the final DRAM image and cycles from the testbench's report.

mod image;
mod support;
mod tool;

use std::collections::BTreeMap;
use std::path::Path;

use systole_compiler::fxir::Program;
use systole_compiler::schedule::Schedule;
use systole_hw::Accelerator;

use crate::error::{Result, SimError};

pub use support::supported;
pub use tool::sources;

/// The Verilog simulator that runs the testbench.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RtlTool {
    Iverilog,
    Verilator,
}

impl RtlTool {
    pub fn name(self) -> &'static str {
        match self {
            RtlTool::Iverilog => "iverilog",
            RtlTool::Verilator => "verilator",
        }
    }
}

/// One schedule layer as the RTL ran it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtlLayer {
    pub index: usize,
    pub start_cycle: u64,
    pub cycles: u64,
}

/// The result of [`run`].
#[derive(Clone, Debug)]
pub struct RtlRun {
    pub tool: RtlTool,
    /// One per schedule layer, in order.
    pub layers: Vec<RtlLayer>,
    pub total_cycles: u64,
    /// Codes of every tensor the accelerator wrote, by program tensor index
    /// (`fxir::Program.tensors`), decoded to the integer reference's layout (sample-major, as
    /// `reference::int` produces).
    pub tensors: BTreeMap<usize, Vec<i32>>,
    pub build_seconds: f64,
    pub run_seconds: f64,
}

fn io(path: &Path, source: std::io::Error) -> SimError {
    SimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Builds the RTL for `build_dir` with `tool` in `work` (a scratch directory the caller owns)
/// and runs it on `input_codes` (the host quantizer's output codes, reference layout, all
/// samples of the batch).
pub fn run(
    build_dir: &Path,
    p: &Program,
    s: &Schedule,
    hw: &Accelerator,
    input_codes: &[i32],
    tool: RtlTool,
    work: &Path,
) -> Result<RtlRun> {
    supported(p, Some((s, hw)), "the RTL")?;
    std::fs::create_dir_all(work).map_err(|e| io(work, e))?;
    // The testbench runs in `work` and reads the ROMs by the paths written into
    // systole_init.vh, so both directories must be absolute (`verify --work rel/`).
    let work = &work.canonicalize().map_err(|e| io(work, e))?;
    let build_dir = &build_dir.canonicalize().map_err(|e| io(build_dir, e))?;
    let vh_path = build_dir.join("systole_params.vh");
    let vh = systole_hw::fsio::read_input_string(&vh_path).map_err(|e| io(&vh_path, e))?;
    let bytes = image::param(&vh, "DRAM_BYTES").ok_or_else(|| SimError::RtlTool {
        tool: tool.name(),
        msg: format!(
            "{}: no DRAM_BYTES (a build from an older Systole? compile again)",
            vh_path.display()
        ),
    })? as usize;
    let write = |name: &str, text: String| {
        let f = work.join(name);
        systole_hw::fsio::write_atomic(&f, text.as_bytes()).map_err(|e| io(&f, e))
    };
    write(
        "systole_init.vh",
        image::init_include(tool, build_dir, p, s, &vh)?,
    )?;
    write("dram_in.hex", image::dram_in(p, s, input_codes, bytes)?)?;
    let _ = std::fs::remove_file(work.join("report.txt"));
    let (cmd, build_seconds) = tool::build(tool, build_dir, work)?;
    let run_seconds = tool::run(tool, &cmd, work)?;
    let read = |name: &str| {
        let f = work.join(name);
        systole_hw::fsio::read_input_string(&f).map_err(|e| io(&f, e))
    };
    let (layers, total_cycles) = image::report(&read("report.txt")?, s.layers.len(), tool)?;
    let tensors = image::written_tensors(p, s, &read("dram_out.hex")?, tool)?;
    Ok(RtlRun {
        tool,
        layers,
        total_cycles,
        tensors,
        build_seconds,
        run_seconds,
    })
}
