//! Placeholder for the RTL co-simulation driver (being written on branch `rtltop`): the types
//! `verify` compares against. Replaced by the real module when it lands.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use systole_compiler::fxir::Program;
use systole_compiler::schedule::Schedule;
use systole_hw::Accelerator;

use crate::error::{Result, SimError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

pub struct RtlLayer {
    pub index: usize,
    pub start_cycle: u64,
    pub cycles: u64,
}

pub struct RtlRun {
    pub tool: RtlTool,
    pub layers: Vec<RtlLayer>,
    pub total_cycles: u64,
    pub tensors: BTreeMap<usize, Vec<i32>>,
    pub build_seconds: f64,
    pub run_seconds: f64,
}

pub fn supported(_p: &Program, _s: &Schedule, _hw: &Accelerator) -> Result<()> {
    Err(SimError::Shape {
        what: "the whole-program RTL is not built yet".into(),
    })
}

pub fn run(
    _build_dir: &Path,
    p: &Program,
    s: &Schedule,
    hw: &Accelerator,
    _input_codes: &[i32],
    _tool: RtlTool,
    _work: &Path,
) -> Result<RtlRun> {
    supported(p, s, hw)?;
    Err(SimError::Shape {
        what: "the whole-program RTL is not built yet".into(),
    })
}
