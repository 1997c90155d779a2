//! Systolic-array simulators for Systole. The exact (per PE, per cycle) engine and the memory
//! model arrive with the simulator issue; today this crate holds the analytical compute-cycle
//! model of one GEMM fold, the formula the exact engine will be checked against.
pub mod analytical;
