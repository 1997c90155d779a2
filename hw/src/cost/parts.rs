//! FPGA part presets: the resources a design may use and a typical clock for it.
//!
//! The counts are the vendors' data-sheet figures (sources per part in `docs/cost-models.md`);
//! the clock is the one a systolic array of DSP-based PEs typically closes timing at on the
//! part, an assumption stated in the same document, not a data-sheet maximum.

use serde::Serialize;

/// The kind of fabric, which decides how multipliers, adders and RAMs map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Family {
    /// Lattice iCE40 UltraPlus: LUT4 + carry, SB_MAC16 (16×16), 4 Kb EBR, 256 Kb SPRAM.
    Ice40Up,
    /// Xilinx 7 series: LUT6 + CARRY4, DSP48E1 (25×18), 18/36 Kb block RAM.
    Xilinx7,
    /// Xilinx UltraScale+: LUT6 + CARRY8, DSP48E2 (27×18), 18/36 Kb block RAM, 288 Kb UltraRAM.
    UltraScalePlus,
}

/// One FPGA part.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Part {
    pub name: &'static str,
    /// The device as the vendor names it.
    pub device: &'static str,
    pub family: Family,
    pub lut: u64,
    pub ff: u64,
    pub dsp: u64,
    /// Small block RAMs, in the family's unit: 18 Kb halves of a RAMB36 (Xilinx) or 4 Kb EBRs
    /// (iCE40).
    pub bram: u64,
    /// Large RAMs: 288 Kb UltraRAMs (UltraScale+) or 256 Kb SPRAMs (iCE40 UltraPlus).
    pub large_ram: u64,
    /// Typical achieved clock of a DSP-based systolic array on this part, MHz.
    pub typical_mhz: f64,
    /// Where the counts come from.
    pub source: &'static str,
}

/// Every known part, smallest first.
pub const PARTS: &[Part] = &[
    Part {
        name: "ice40-up5k",
        device: "Lattice iCE40UP5K",
        family: Family::Ice40Up,
        lut: 5280,
        ff: 5280,
        dsp: 8,
        bram: 30,
        large_ram: 4,
        typical_mhz: 48.0,
        source: "Lattice FPGA-DS-02008 (iCE40 UltraPlus Family Data Sheet)",
    },
    Part {
        name: "artix7-100t",
        device: "Xilinx XC7A100T",
        family: Family::Xilinx7,
        lut: 63_400,
        ff: 126_800,
        dsp: 240,
        bram: 270,
        large_ram: 0,
        typical_mhz: 200.0,
        source: "Xilinx DS180 (7 Series FPGAs Data Sheet: Overview)",
    },
    Part {
        name: "zu3eg",
        device: "Xilinx XCZU3EG",
        family: Family::UltraScalePlus,
        lut: 70_560,
        ff: 141_120,
        dsp: 360,
        bram: 432,
        large_ram: 0,
        typical_mhz: 300.0,
        source: "Xilinx DS891 (Zynq UltraScale+ MPSoC Data Sheet: Overview), EG devices table",
    },
    Part {
        name: "zu9eg",
        device: "Xilinx XCZU9EG",
        family: Family::UltraScalePlus,
        lut: 274_080,
        ff: 548_160,
        dsp: 2520,
        bram: 1824,
        large_ram: 0,
        typical_mhz: 300.0,
        source: "Xilinx DS891 (Zynq UltraScale+ MPSoC Data Sheet: Overview), EG devices table",
    },
    Part {
        name: "alveo-u250",
        device: "Xilinx Alveo U250 (XCU250)",
        family: Family::UltraScalePlus,
        lut: 1_728_000,
        ff: 3_456_000,
        dsp: 12_288,
        bram: 5376,
        large_ram: 1280,
        typical_mhz: 300.0,
        source: "Xilinx DS962 (Alveo U200 and U250 Data Center Accelerator Cards Data Sheet)",
    },
];

/// The part called `name`, or `None`.
pub fn find(name: &str) -> Option<&'static Part> {
    PARTS.iter().find(|p| p.name == name)
}

/// Names of every known part, for error messages.
pub fn names() -> String {
    PARTS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}
