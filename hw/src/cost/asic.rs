//! ASIC mode: area and energy per operation and per access from one documented table (Horowitz,
//! ISSCC 2014, 45 nm, 0.9 V), scaled to another node to first order.
//!
//! Why first order: the table is the one figure set architects share (Eyeriss and Timeloop
//! quote it), so designs compared at one node rank the same whatever the scaling; absolute
//! figures at another node are estimates. Area scales with the square of the feature size and
//! switching energy with `C·V²` (capacitance with the feature size, `V` from a per-node supply
//! table). `docs/cost-models.md` lists every figure and its source.

use serde::Serialize;

use crate::Accelerator;

/// The reference node of the table, nm.
pub const REF_NODE_NM: f64 = 45.0;
/// Supply at the reference node, V.
pub const REF_VDD: f64 = 0.9;

/// Nodes the scaling knows, with a typical core supply (V).
pub const NODES: &[(u32, f64)] = &[
    (7, 0.75),
    (12, 0.8),
    (16, 0.8),
    (22, 0.8),
    (28, 0.9),
    (40, 0.9),
    (45, 0.9),
    (65, 1.0),
    (90, 1.0),
    (130, 1.2),
];

/// Horowitz (ISSCC 2014), 45 nm: energies (pJ) and areas (µm²).
pub mod horowitz45 {
    /// 8-bit integer multiply, pJ.
    pub const MULT8_PJ: f64 = 0.2;
    /// 32-bit integer multiply, pJ.
    pub const MULT32_PJ: f64 = 3.1;
    /// 8-bit integer add, pJ.
    pub const ADD8_PJ: f64 = 0.03;
    /// 32-bit integer add, pJ.
    pub const ADD32_PJ: f64 = 0.1;
    /// 64-bit read of an 8 KB SRAM, pJ.
    pub const SRAM8K_64B_PJ: f64 = 10.0;
    /// 64-bit read of a 32 KB SRAM, pJ.
    pub const SRAM32K_64B_PJ: f64 = 20.0;
    /// 64-bit read of a 1 MB SRAM, pJ.
    pub const SRAM1M_64B_PJ: f64 = 100.0;
    /// 64-bit DRAM access, pJ (the middle of 1.3–2.6 nJ).
    pub const DRAM_64B_PJ: f64 = 1950.0;
    /// 8-bit multiplier area, µm².
    pub const MULT8_UM2: f64 = 282.0;
    /// 32-bit multiplier area, µm².
    pub const MULT32_UM2: f64 = 3495.0;
    /// 8-bit adder area, µm².
    pub const ADD8_UM2: f64 = 36.0;
    /// 32-bit adder area, µm².
    pub const ADD32_UM2: f64 = 137.0;
}

/// A D flip-flop at 45 nm, µm² (NanGate 45 nm Open Cell Library, DFF_X1: 4.522 µm²).
pub const DFF_UM2_45: f64 = 4.522;
/// A 6T SRAM bit cell at 45 nm, µm² (Intel 45 nm, Mistry et al., IEDM 2007: 0.346 µm²).
pub const SRAM_CELL_UM2_45: f64 = 0.346;
/// Fraction of an SRAM macro that is bit cells (decoders, sense amplifiers, I/O take the rest).
pub const SRAM_ARRAY_EFFICIENCY: f64 = 0.5;

/// Per-node factors of area and energy relative to the 45 nm table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Node {
    pub nm: u32,
    pub vdd: f64,
    pub area_scale: f64,
    pub energy_scale: f64,
}

impl Node {
    /// The node `nm` if the table knows it.
    pub fn new(nm: u32) -> Option<Node> {
        let &(_, vdd) = NODES.iter().find(|(n, _)| *n == nm)?;
        let s = f64::from(nm) / REF_NODE_NM;
        Some(Node {
            nm,
            vdd,
            area_scale: s * s,
            energy_scale: s * (vdd / REF_VDD).powi(2),
        })
    }

    /// Known nodes, for error messages.
    pub fn names() -> String {
        NODES
            .iter()
            .map(|(n, _)| format!("asic:{n}nm"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Energy (pJ) of one MAC of `a`-bit by `b`-bit operands into an `acc`-bit sum: the multiplier
/// scales with the product of the widths (array multiplier), the adder with its width.
pub fn mac_pj(a: u32, b: u32, acc: u32, node: &Node) -> f64 {
    let mult = horowitz45::MULT8_PJ * f64::from(a * b) / 64.0;
    let add = horowitz45::ADD32_PJ * f64::from(acc) / 32.0;
    (mult + add) * node.energy_scale
}

/// Energy (pJ) per byte of an access to an SRAM of `bytes`, interpolated log-log through the
/// 8 KB, 32 KB and 1 MB points (about `√size`).
pub fn sram_byte_pj(bytes: u64, node: &Node) -> f64 {
    let kb = (bytes as f64 / 1024.0).max(1.0);
    let pts = [
        (8.0f64, horowitz45::SRAM8K_64B_PJ),
        (32.0, horowitz45::SRAM32K_64B_PJ),
        (1024.0, horowitz45::SRAM1M_64B_PJ),
    ];
    let (lo, hi) = if kb <= 32.0 {
        (pts[0], pts[1])
    } else {
        (pts[1], pts[2])
    };
    let t = (kb.ln() - lo.0.ln()) / (hi.0.ln() - lo.0.ln());
    let e64 = (lo.1.ln() + t * (hi.1.ln() - lo.1.ln())).exp();
    e64 / 8.0 * node.energy_scale
}

/// Energy (pJ) per byte of DRAM traffic; off-chip, so not scaled by the logic node.
pub fn dram_byte_pj() -> f64 {
    horowitz45::DRAM_64B_PJ / 8.0
}

/// Energy (pJ) of one requantization: an `acc × 32` multiply, an add and a shift.
pub fn requant_pj(acc: u32, node: &Node) -> f64 {
    (horowitz45::MULT32_PJ * f64::from(acc) / 32.0 + 2.0 * horowitz45::ADD32_PJ) * node.energy_scale
}

/// Silicon area of a design, mm², by component.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AsicArea {
    pub node_nm: u32,
    pub pes_mm2: f64,
    pub sram_mm2: f64,
    pub requant_mm2: f64,
    pub total_mm2: f64,
}

/// The area of `hw` at `node`: PEs (multiplier, adder, operand and sum registers), SRAM (bit
/// cells over the array efficiency), one requantizer per column. Controller, DMA and vector unit
/// are small next to these and not counted.
pub fn area(hw: &Accelerator, node: &Node) -> AsicArea {
    let (a, b, acc) = (hw.input_bits, hw.weight_bits, hw.acc_bits);
    let mult = horowitz45::MULT8_UM2 * f64::from(a * b) / 64.0;
    let add = horowitz45::ADD32_UM2 * f64::from(acc) / 32.0;
    let regs = DFF_UM2_45 * f64::from(a + b + acc);
    let pe_um2 = (mult + add + regs) * node.area_scale;
    let sram_um2 =
        hw.sram_bytes() as f64 * 8.0 * SRAM_CELL_UM2_45 / SRAM_ARRAY_EFFICIENCY * node.area_scale;
    let rq_um2 = (horowitz45::MULT32_UM2 * f64::from(acc) / 32.0 + 2.0 * horowitz45::ADD32_UM2)
        * node.area_scale;
    let pes_mm2 = hw.pes() as f64 * pe_um2 / 1e6;
    let sram_mm2 = sram_um2 / 1e6;
    let requant_mm2 = hw.cols as f64 * rq_um2 / 1e6;
    AsicArea {
        node_nm: node.nm,
        pes_mm2,
        sram_mm2,
        requant_mm2,
        total_mm2: pes_mm2 + sram_mm2 + requant_mm2,
    }
}
