//! What a whole-model simulation reports, per layer and in total, as a table, CSV and JSON.

use std::fmt::Write;

use serde::Serialize;
use systole_hw::Dataflow;

use crate::energy::EnergyTable;

/// Bytes read from and written to one on-chip buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    pub reads: u64,
    pub writes: u64,
}

/// Per-buffer SRAM traffic of a layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Sram {
    pub ifmap: Traffic,
    pub filter: Traffic,
    pub ofmap: Traffic,
}

impl Sram {
    pub fn bytes(&self) -> u64 {
        [self.ifmap, self.filter, self.ofmap]
            .iter()
            .map(|t| t.reads + t.writes)
            .sum()
    }
}

/// One program stage on the accelerator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerReport {
    pub name: String,
    pub stage: usize,
    /// `array`, `vector`, `dma`, `view` or `host`.
    pub unit: &'static str,
    /// `attention`, `ffn`, `gemm` or `other` ([`super::Category`]).
    pub category: &'static str,
    /// First cycle of the layer (layers run one after another).
    pub start_cycle: u64,
    pub cycles: u64,
    /// Cycles the unit was busy (array folds, vector ops).
    pub compute_cycles: u64,
    /// `cycles - compute_cycles`: waiting for the DMA or for SRAM ports.
    pub stall_cycles: u64,
    /// The part of `stall_cycles` where folds waited for SRAM ports.
    pub sram_stall_cycles: u64,
    pub folds: u64,
    pub macs: u64,
    /// `macs / (cycles · rows · cols)`.
    pub utilization: f64,
    /// Mean over folds of mapped PEs / all PEs.
    pub mapping_efficiency: f64,
    pub sram: Sram,
    pub dram_read_bytes: u64,
    pub dram_write_bytes: u64,
    pub energy_pj: f64,
    /// Exact engine: whether the layer's output equals the integer reference's (None: the fast
    /// engine, whose numerics are the reference's).
    pub equal: Option<bool>,
}

/// The layers of one [`super::Category`] together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CategoryReport {
    pub category: &'static str,
    pub layers: usize,
    pub cycles: u64,
    pub compute_cycles: u64,
    pub stall_cycles: u64,
    pub macs: u64,
    /// `cycles / total_cycles`.
    pub share: f64,
    /// `macs / (cycles · rows · cols)`: the array's use while these layers run.
    pub utilization: f64,
}

impl CategoryReport {
    /// One entry per category present in `layers`, in [`super::Category::ALL`] order.
    pub fn of(layers: &[LayerReport], pes: f64) -> Vec<CategoryReport> {
        let total: u64 = layers.iter().map(|l| l.cycles).fold(0, u64::saturating_add);
        super::Category::ALL
            .iter()
            .filter_map(|c| {
                let ls: Vec<&LayerReport> =
                    layers.iter().filter(|l| l.category == c.name()).collect();
                if ls.is_empty() {
                    return None;
                }
                let sum = |f: fn(&LayerReport) -> u64| {
                    ls.iter().map(|l| f(l)).fold(0u64, u64::saturating_add)
                };
                let (cycles, macs) = (sum(|l| l.cycles), sum(|l| l.macs));
                Some(CategoryReport {
                    category: c.name(),
                    layers: ls.len(),
                    cycles,
                    compute_cycles: sum(|l| l.compute_cycles),
                    stall_cycles: sum(|l| l.stall_cycles),
                    macs,
                    share: cycles as f64 / total.max(1) as f64,
                    utilization: macs as f64 / (cycles.max(1) as f64 * pes),
                })
            })
            .collect()
    }
}

/// The first element where the simulated numerics differ from the integer reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub layer: String,
    pub tensor: String,
    /// `[sample, index within the sample]`.
    pub index: [usize; 2],
    pub expected: i32,
    pub got: i32,
    /// Cycle at which the simulator produced the value (end of the fold that finished it).
    pub cycle: u64,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "layer '{}': tensor '{}' differs at sample {} index {}: reference {}, simulator {} \
             (cycle {})",
            self.layer,
            self.tensor,
            self.index[0],
            self.index[1],
            self.expected,
            self.got,
            self.cycle
        )
    }
}

/// A whole-model run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimReport {
    pub program: String,
    pub hw: String,
    /// `exact` or `fast`.
    pub engine: &'static str,
    pub batch: usize,
    pub rows: usize,
    pub cols: usize,
    pub dataflow: Dataflow,
    pub clock_mhz: f64,
    pub layers: Vec<LayerReport>,
    /// Cycles, MACs and utilization per layer category (attention, ffn, gemm, other).
    pub categories: Vec<CategoryReport>,
    pub total_cycles: u64,
    pub compute_cycles: u64,
    pub stall_cycles: u64,
    pub macs: u64,
    pub utilization: f64,
    pub dram_read_bytes: u64,
    pub dram_write_bytes: u64,
    pub energy_pj: f64,
    /// `total_cycles` at the clock.
    pub latency_s: f64,
    /// `batch / latency_s`.
    pub inferences_per_s: f64,
    /// Exact engine: every layer equal to the reference.
    pub equal: Option<bool>,
    pub mismatch: Option<Mismatch>,
    pub energy_table: EnergyTable,
}

impl SimReport {
    /// A fixed-width table, one row per layer plus the total.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "{:<34} {:>6} {:>11} {:>10} {:>10} {:>6} {:>6} {:>11} {:>6}",
            "layer", "unit", "cycles", "compute", "stall", "util%", "map%", "dram B", "equal"
        );
        for l in &self.layers {
            let _ = writeln!(
                o,
                "{:<34} {:>6} {:>11} {:>10} {:>10} {:>6.1} {:>6.1} {:>11} {:>6}",
                clip(&l.name, 34),
                l.unit,
                l.cycles,
                l.compute_cycles,
                l.stall_cycles,
                100.0 * l.utilization,
                100.0 * l.mapping_efficiency,
                l.dram_read_bytes + l.dram_write_bytes,
                match l.equal {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "-",
                }
            );
        }
        let _ = writeln!(
            o,
            "{:<34} {:>6} {:>11} {:>10} {:>10} {:>6.1} {:>6} {:>11}",
            "total",
            "",
            self.total_cycles,
            self.compute_cycles,
            self.stall_cycles,
            100.0 * self.utilization,
            "",
            self.dram_read_bytes + self.dram_write_bytes
        );
        for c in &self.categories {
            let _ = writeln!(
                o,
                "{:<34} {:>6} {:>11} {:>10} {:>10} {:>6.1} {:>6} {:>11}",
                format!(
                    "  {} {:.1}% ({} layers)",
                    c.category,
                    100.0 * c.share,
                    c.layers
                ),
                "",
                c.cycles,
                c.compute_cycles,
                c.stall_cycles,
                100.0 * c.utilization,
                "",
                ""
            );
        }
        let _ = writeln!(
            o,
            "{} on {} ({}x{} {:?}, {} MHz), {} engine, batch {}: {:.3} ms, {:.1} inferences/s, \
             {:.3} uJ",
            self.program,
            self.hw,
            self.rows,
            self.cols,
            self.dataflow,
            self.clock_mhz,
            self.engine,
            self.batch,
            self.latency_s * 1e3,
            self.inferences_per_s,
            self.energy_pj * 1e-6
        );
        o
    }

    /// CSV, one row per layer (the header names the columns).
    pub fn csv(&self) -> String {
        let mut o = String::from(
            "layer,stage,unit,category,start_cycle,cycles,compute_cycles,stall_cycles,sram_stall_cycles,folds,macs,\
             utilization,mapping_efficiency,ifmap_sram_reads,ifmap_sram_writes,\
             filter_sram_reads,filter_sram_writes,ofmap_sram_reads,ofmap_sram_writes,\
             dram_read_bytes,dram_write_bytes,energy_pj,equal\n",
        );
        for l in &self.layers {
            let s = &l.sram;
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&l.name),
                l.stage,
                l.unit,
                l.category,
                l.start_cycle,
                l.cycles,
                l.compute_cycles,
                l.stall_cycles,
                l.sram_stall_cycles,
                l.folds,
                l.macs,
                l.utilization,
                l.mapping_efficiency,
                s.ifmap.reads,
                s.ifmap.writes,
                s.filter.reads,
                s.filter.writes,
                s.ofmap.reads,
                s.ofmap.writes,
                l.dram_read_bytes,
                l.dram_write_bytes,
                l.energy_pj,
                l.equal.map_or(String::new(), |e| e.to_string())
            );
        }
        o
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(n - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
