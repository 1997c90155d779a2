//! FPGA resources of a design: DSPs (with packing), block RAMs for the buffers, LUTs and
//! flip-flops for the PEs, skew registers, requantizers, vector unit and controller.
//!
//! The model is structural: it counts what `hw/rtl/` instantiates (a PE holds a streamed
//! register, a stationary or moving operand register and a partial sum; a row's operands are
//! skewed by delay lines; one fold controller) and maps each piece onto the family's
//! primitives. The per-bit coefficients of LUT logic and the controller's constant are the few
//! figures measured with Yosys (`scripts/rtl-synth.sh`); `docs/cost-models.md` gives their
//! derivation and the validation table against Yosys's counts.

use serde::Serialize;

use super::parts::{Family, Part};
use crate::{Accelerator, Dataflow};

/// Resources of a design or of one of its parts, in the part's units (`bram` in 18 Kb halves on
/// Xilinx or 4 Kb EBRs on iCE40; `large_ram` in UltraRAMs or SPRAMs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    pub lut: u64,
    pub ff: u64,
    pub dsp: u64,
    pub bram: u64,
    pub large_ram: u64,
}

impl std::ops::Add for Resources {
    type Output = Resources;
    fn add(self, o: Resources) -> Resources {
        Resources {
            lut: self.lut + o.lut,
            ff: self.ff + o.ff,
            dsp: self.dsp + o.dsp,
            bram: self.bram + o.bram,
            large_ram: self.large_ram + o.large_ram,
        }
    }
}

impl Resources {
    /// `(name, used, available)` for each resource of `part`.
    pub fn against(&self, part: &Part) -> [(&'static str, u64, u64); 5] {
        [
            ("lut", self.lut, part.lut),
            ("ff", self.ff, part.ff),
            ("dsp", self.dsp, part.dsp),
            ("bram", self.bram, part.bram),
            ("large_ram", self.large_ram, part.large_ram),
        ]
    }

    /// The largest fraction of any resource of `part` used (above 1 when it does not fit).
    pub fn utilization(&self, part: &Part) -> f64 {
        self.against(part)
            .iter()
            .map(|&(_, used, have)| match (used, have) {
                (0, _) => 0.0,
                (_, 0) => f64::INFINITY,
                (u, h) => u as f64 / h as f64,
            })
            .fold(0.0, f64::max)
    }
}

/// The array core as the RTL is parameterised (`systole_fold` + `systole_array` + PEs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Core {
    pub rows: u64,
    pub cols: u64,
    pub dataflow: Dataflow,
    pub in_bits: u64,
    pub w_bits: u64,
    pub acc_bits: u64,
}

impl Core {
    pub fn of(hw: &Accelerator) -> Core {
        Core {
            rows: hw.rows as u64,
            cols: hw.cols as u64,
            dataflow: hw.dataflow,
            in_bits: u64::from(hw.input_bits),
            w_bits: u64::from(hw.weight_bits),
            acc_bits: u64::from(hw.acc_bits),
        }
    }

    fn pes(&self) -> u64 {
        self.rows * self.cols
    }

    /// PEs that add a product to an incoming or held sum: every PE for OS; for WS/IS the top
    /// row receives zero, so synthesis drops its adder.
    fn adder_pes(&self) -> u64 {
        match self.dataflow {
            Dataflow::OutputStationary => self.pes(),
            _ => (self.rows - 1) * self.cols,
        }
    }
}

/// Operand widths at or below which a multiplier goes to LUTs rather than a DSP (a 4×4 product
/// is a few LUTs; a DSP would waste most of its 25×18 multiplier).
pub const LUT_MULT_MAX_BITS: u64 = 4;

/// Figures of one family's fabric, measured or from the vendor's user guide.
struct Fabric {
    /// DSP multiplier operand widths (UG479: 25×18; UG579: 27×18; SB_MAC16: 16×16).
    dsp_a: u64,
    dsp_b: u64,
    /// Two int8 MACs sharing an operand per DSP (WP486, DSP48E2 only).
    packs_int8: bool,
    /// The DSP holds the stationary operand (B register) and the partial sum (P register with
    /// its post-adder), as Yosys's `xilinx_dsp` packs them; SB_MAC16 keeps neither here.
    dsp_absorbs_regs: bool,
    /// LUTs per bit² of a LUT multiplier and per bit of an adder.
    lut_per_mult_bit2: f64,
    lut_per_add_bit: f64,
    /// Other LUTs per PE (operand sign extension, enables).
    lut_per_pe: f64,
    /// LUTs per bit of the array's edge operands (zero gating of the memory outputs).
    lut_per_edge_bit: f64,
    /// The fold controller and glue: LUTs and flip-flops.
    ctrl_lut: u64,
    ctrl_ff: u64,
}

fn fabric(f: Family) -> Fabric {
    match f {
        Family::Xilinx7 | Family::UltraScalePlus => Fabric {
            dsp_a: if f == Family::Xilinx7 { 25 } else { 27 },
            dsp_b: 18,
            packs_int8: f == Family::UltraScalePlus,
            dsp_absorbs_regs: true,
            lut_per_mult_bit2: 1.15,
            lut_per_add_bit: 1.0,
            lut_per_pe: 1.0,
            lut_per_edge_bit: 0.5,
            ctrl_lut: 60,
            ctrl_ff: 15,
        },
        Family::Ice40Up => Fabric {
            dsp_a: 16,
            dsp_b: 16,
            packs_int8: false,
            dsp_absorbs_regs: false,
            lut_per_mult_bit2: 2.2,
            lut_per_add_bit: 0.78,
            lut_per_pe: 10.0,
            lut_per_edge_bit: 0.0,
            ctrl_lut: 195,
            ctrl_ff: 71,
        },
    }
}

/// DSP tiles for an `a × b` multiply (operands swapped to the cheaper orientation).
fn dsp_tiles(fab: &Fabric, a: u64, b: u64) -> u64 {
    let t = |x: u64, y: u64| x.div_ceil(fab.dsp_a) * y.div_ceil(fab.dsp_b);
    t(a, b).min(t(b, a))
}

/// DSPs one `in_bits × w_bits` multiplier takes on `family`, as `(numerator, denominator)`: 0
/// when both operands are narrow enough for LUTs, ½ when two int8 products share a DSP48E2
/// (WP486), else the tiles of the widened product. The streamed operand gains one bit so
/// unsigned activations multiply correctly, as in the PE. Shared by the array core and the
/// layer-parallel DSP budget of `systole quantize --budget dsp=N`.
pub fn dsps_per_multiplier(family: Family, in_bits: u64, w_bits: u64) -> (u64, u64) {
    let fab = fabric(family);
    if in_bits <= LUT_MULT_MAX_BITS && w_bits <= LUT_MULT_MAX_BITS {
        (0, 1)
    } else if fab.packs_int8 && in_bits <= 8 && w_bits <= 8 {
        (1, 2)
    } else {
        (dsp_tiles(&fab, in_bits + 1, w_bits), 1)
    }
}

/// The resources of the array core (PEs, skew registers, controller) on `part`, with at most
/// `dsp_budget` DSPs: PEs that do not get one multiply in LUTs.
pub fn core(c: &Core, part: &Part, dsp_budget: u64) -> Resources {
    let fab = fabric(part.family);
    // The PE widens the streamed operand by one bit so unsigned activations multiply correctly.
    let (ma, mb) = (c.in_bits + 1, c.w_bits);
    let (dsp_num, dsp_den) = dsps_per_multiplier(part.family, c.in_bits, c.w_bits);
    let dsp_pes = dsp_budget
        .saturating_mul(dsp_den)
        .checked_div(dsp_num)
        .unwrap_or(0)
        .min(c.pes());
    let lut_pes = c.pes() - dsp_pes;
    let absorbs = fab.dsp_absorbs_regs && c.acc_bits <= 48;
    // Share of the adder PEs among DSP PEs (same proportion as the PEs themselves).
    let adders = c.adder_pes() as f64;
    let dsp_share = dsp_pes as f64 / c.pes() as f64;
    let mut lut = fab.ctrl_lut as f64 + fab.lut_per_pe * c.pes() as f64;
    lut += fab.lut_per_edge_bit * (c.rows * c.in_bits + c.cols * c.w_bits) as f64;
    lut += fab.lut_per_mult_bit2 * (ma * mb) as f64 * lut_pes as f64;
    let fabric_adders = if absorbs {
        adders * (1.0 - dsp_share)
    } else {
        adders
    };
    lut += fab.lut_per_add_bit * c.acc_bits as f64 * fabric_adders;
    let pe_ff_full = c.in_bits + c.w_bits + c.acc_bits;
    let pe_ff_dsp = if absorbs { c.in_bits } else { pe_ff_full };
    let mut ff = fab.ctrl_ff + dsp_pes * pe_ff_dsp + lut_pes * pe_ff_full;
    // Skew delay lines: row r of the streamed operand waits r cycles; for OS column c of the
    // moving operand waits c cycles.
    ff += c.in_bits * c.rows * (c.rows - 1) / 2;
    if c.dataflow == Dataflow::OutputStationary {
        ff += c.w_bits * c.cols * (c.cols - 1) / 2;
    }
    Resources {
        lut: lut.round() as u64,
        ff,
        dsp: (dsp_pes * dsp_num).div_ceil(dsp_den),
        bram: 0,
        large_ram: 0,
    }
}

/// Block RAMs for one memory of `depth` words of `width` bits with `ports` accesses per cycle:
/// `(bram, large_ram)`. A block gives one read and one write port (simple dual port), so two
/// accesses per cycle fit one copy and more are served by copies. The aspect ratio is the one
/// that needs the fewest blocks (UG473: an 18 Kb RAM is 512×36 … 16K×1 in SDP mode; iCE40 EBR
/// 256×16 … 2048×2). Large RAMs (UG573 URAM288 4K×72; iCE40 SPRAM 16K×16, single port) take a
/// memory of at least half their size when the part has them.
pub fn ram_blocks(part: &Part, width: u64, depth: u64, ports: u64) -> (u64, u64) {
    if width == 0 || depth == 0 {
        return (0, 0);
    }
    let copies = ports.div_ceil(2).max(1);
    let bits = width * depth;
    // Block shapes (depth, width) and the large RAM's (depth, width, ports).
    type Shapes = &'static [(u64, u64)];
    let (shapes, large): (Shapes, Option<(u64, u64, u64)>) = match part.family {
        Family::Ice40Up => (
            &[(256, 16), (512, 8), (1024, 4), (2048, 2)],
            Some((16384, 16, 1)),
        ),
        Family::Xilinx7 | Family::UltraScalePlus => (
            &[
                (512, 36),
                (1024, 18),
                (2048, 9),
                (4096, 4),
                (8192, 2),
                (16384, 1),
            ],
            Some((4096, 72, 2)),
        ),
    };
    if let Some((d, w, large_ports)) = large {
        if part.large_ram > 0 && bits * 2 >= d * w && ports <= large_ports.max(2) {
            let n = width.div_ceil(w) * depth.div_ceil(d);
            let copies = if large_ports == 1 { ports } else { copies };
            return (0, n * copies);
        }
    }
    let n = shapes
        .iter()
        .map(|&(d, w)| width.div_ceil(w) * depth.div_ceil(d))
        .min()
        .unwrap_or(0);
    (n * copies, 0)
}

/// A design's resources on a part, by component.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FpgaEstimate {
    pub part: &'static str,
    pub total: Resources,
    /// `(component, resources)`: `array`, `buffers`, `requantizers`, `vector`.
    pub parts: Vec<(&'static str, Resources)>,
    /// The largest fraction of a resource used.
    pub utilization: f64,
}

/// The resources of `hw` on `part`. Requantizers (one per array column, a 32-bit multiplier
/// each: the number contract's 31-bit `M0`) and the vector unit are counted but not in the RTL
/// yet, so they are not validated against Yosys.
pub fn estimate(hw: &Accelerator, part: &'static Part) -> FpgaEstimate {
    let c = Core::of(hw);
    let fab = fabric(part.family);
    let array = core(&c, part, part.dsp);
    // Buffers: each bank of each buffer.
    let mut buffers = Resources::default();
    for (_, b) in hw.buffers.named() {
        let depth = b.words_per_bank();
        let (bram, large) = ram_blocks(part, u64::from(b.word_bits), depth, u64::from(b.ports));
        buffers.bram += bram * u64::from(b.banks);
        buffers.large_ram += large * u64::from(b.banks);
    }
    // Requantizers at the array edge: ACC_W × 32 multiply, round, shift, clamp.
    let n_rq = c.cols;
    let rq_tiles = dsp_tiles(&fab, c.acc_bits, 32);
    let spare = part.dsp.saturating_sub(array.dsp);
    let rq_dsp = (spare / rq_tiles.max(1)).min(n_rq);
    let rq_lut_mult = n_rq - rq_dsp;
    let requant = Resources {
        lut: (3 * c.acc_bits * n_rq)
            + (fab.lut_per_mult_bit2 * (c.acc_bits * 32) as f64) as u64 * rq_lut_mult,
        ff: 2 * c.acc_bits * n_rq,
        dsp: rq_dsp * rq_tiles,
        bram: 0,
        large_ram: 0,
    };
    // Vector unit: per lane a compare/add and a pipeline register of an operand.
    let lanes = hw.vector.lanes as u64;
    let vector = Resources {
        lut: 16 * lanes,
        ff: 16 * lanes,
        dsp: 0,
        bram: 0,
        large_ram: 0,
    };
    let total = array + buffers + requant + vector;
    FpgaEstimate {
        part: part.name,
        total,
        utilization: total.utilization(part),
        parts: vec![
            ("array", array),
            ("buffers", buffers),
            ("requantizers", requant),
            ("vector", vector),
        ],
    }
}

/// The resource that binds when `r` does not fit `part`: `(name, used, available)` of the most
/// over-used one, or `None` when everything fits.
pub fn binding(r: &Resources, part: &Part) -> Option<(&'static str, u64, u64)> {
    r.against(part)
        .into_iter()
        .filter(|&(_, used, have)| used > have)
        .max_by(|a, b| {
            let f = |x: &(&str, u64, u64)| x.1 as f64 / x.2.max(1) as f64;
            f(a).total_cmp(&f(b))
        })
}
