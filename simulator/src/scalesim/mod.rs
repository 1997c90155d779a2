//! SCALE-Sim 3.0 interop: its `.cfg` and topology files in, its three report files out, with the
//! per-layer figures of the fast engine (ideal memory: no stalls).

pub mod cfg;
pub mod report;
pub mod topology;

pub use cfg::{dataflow_name, ScaleConfig};
pub use report::{run, write_reports, LayerReport, ScaleRun};
pub use topology::{Layer, Topology};
