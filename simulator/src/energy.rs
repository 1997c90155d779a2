//! Energy per operation and per access, for the simulator's reports.
//!
//! One documented table (45 nm, 0.9 V) from M. Horowitz, "Computing's energy problem (and what we
//! can do about it)", ISSCC 2014, the figures architects quote (Eyeriss, Timeloop's examples):
//! 8-bit integer multiply 0.2 pJ, 32-bit integer add 0.1 pJ, 32-bit multiply 3.1 pJ; a 64-bit
//! read of an 8 KB SRAM 10 pJ, of a 32 KB SRAM 20 pJ; DRAM 1.3–2.6 nJ per 64-bit access.
//! Systole's reports are relative figures for comparing designs at one node, not sign-off
//! numbers; the cost models of the sizing work scale them by node (`docs/cost-models.md`).

use serde::Serialize;

/// Picojoules per event.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EnergyTable {
    /// One MAC: an operand-width multiply (8-bit: 0.2 pJ) and a 32-bit accumulate (0.1 pJ).
    pub mac_pj: f64,
    /// One byte read from or written to an on-chip buffer (32 KB SRAM: 20 pJ per 64 bits).
    pub sram_byte_pj: f64,
    /// One byte moved to or from DRAM (the middle of 1.3–2.6 nJ per 64 bits).
    pub dram_byte_pj: f64,
    /// One requantization at the array edge (a 32-bit multiply, 3.1 pJ, plus add and shift).
    pub requant_pj: f64,
    /// One element through the vector unit (compare or add class, 32 bits).
    pub vector_elem_pj: f64,
}

impl EnergyTable {
    /// The 45 nm table above.
    pub const HOROWITZ_45NM: EnergyTable = EnergyTable {
        mac_pj: 0.3,
        sram_byte_pj: 2.5,
        dram_byte_pj: 244.0,
        requant_pj: 3.3,
        vector_elem_pj: 0.1,
    };
}
