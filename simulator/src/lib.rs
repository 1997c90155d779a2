//! Systolic-array simulators for Systole.
//!
//! * [`fast`]: the analytical per-layer engine (SCALE-Sim 3.0's compute model in closed form);
//! * [`exact`]: a per-cycle, per-PE engine of one GEMM, bit-exact and cycle-equal to `fast`;
//! * [`scalesim`]: SCALE-Sim's config and topology files in, its report files out;
//! * [`model`]: a whole quantized program over the scheduler's plan, with [`timeline`]'s memory
//!   timing, [`energy`]'s per-access table and a check against the integer reference.
//! * [`rtl`]: builds and runs the whole-program RTL (`hw/rtl/systole_top.v`) on a build
//!   directory under Icarus Verilog or Verilator and reads back its tensors and cycles.
//! * [`vcd`]: a streaming VCD (waveform) writer for the exact engine's registers.
//! * [`rtl`]: builds and runs the Verilog of `hw/rtl/` on a build directory (iverilog, Verilator);
//! * [`verify`]: reference vs exact simulator vs RTL on one build directory, layer by layer.
//!
//! `docs/simulator.md` describes the cycle model and where Systole differs from SCALE-Sim.
pub mod energy;
pub mod error;
pub mod exact;
pub mod fast;
pub mod model;
pub mod rtl;
pub mod scalesim;
pub mod timeline;
pub mod vcd;
pub mod verify;

pub use error::{Result, SimError};
