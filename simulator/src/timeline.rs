//! Memory timing around the array: DMA over a DRAM link, double-buffered SRAM, stalls.
//!
//! Both engines time a layer with this one model; they differ only in where each fold's compute
//! cycles come from (measured register by register, or the closed form). The model:
//!
//! * the DMA has a read channel (DRAM → ifmap/filter buffers) and a write channel (ofmap →
//!   DRAM), as AXI does; each moves `dram.bytes_per_cycle` and a transfer of `b > 0` bytes takes
//!   `latency + ceil(b / bytes_per_cycle)` cycles; transfers on a channel run one after another
//!   in program order;
//! * a double-buffered buffer lets the loads of fold `j` start once fold `j - 2` has finished
//!   (its half is free); a single-buffered one waits for fold `j - 1`;
//! * fold `j` starts when fold `j - 1` has ended and both its loads are in; while it waits the
//!   array is stalled (every register holds, so numerics do not change);
//! * finished outputs go out on the write channel after their fold; the layer ends when the last
//!   fold and the last store are done. Layers run one after another;
//! * vector and copy stages store and forward: read, compute, write, one after another.
//!
//! Not modelled (stated in `docs/simulator.md`): SRAM bank conflicts, back-pressure of a full
//! ofmap buffer on the array, overlap between layers.

use systole_hw::{Accelerator, Operand};

/// What one fold needs from memory and how long it computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepCost {
    pub load_ifmap: u64,
    pub load_filter: u64,
    pub compute: u64,
    /// Cycles the SRAM ports need for the fold's accesses; the fold lasts the longer of the two.
    pub sram: u64,
    pub store: u64,
}

/// The timing of one layer, cycles from its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerTime {
    pub cycles: u64,
    pub compute: u64,
    /// `cycles - compute`: waiting for DMA or for SRAM ports.
    pub stall: u64,
    /// The part of `stall` spent waiting for SRAM ports (folds stretched past their compute).
    pub sram_stall: u64,
    /// When each fold's compute started and ended.
    pub fold_start: Vec<u64>,
    pub fold_end: Vec<u64>,
}

/// Cycles of one DMA transfer of `bytes`.
pub fn transfer(hw: &Accelerator, bytes: u64) -> u64 {
    if bytes == 0 {
        return 0;
    }
    // Saturating: a description's bandwidth is at least 1/1024 byte per cycle, but a schedule's
    // byte counts come from a file; a count that no u64 holds must stay the largest, never wrap
    // to a small one that a sweep would rank best. (`as u64` saturates on its own.)
    u64::from(hw.dram.latency_cycles)
        .saturating_add((bytes as f64 / hw.dram.bytes_per_cycle).ceil() as u64)
}

/// Times the folds of one array layer.
pub fn array_layer(hw: &Accelerator, steps: &[StepCost]) -> LayerTime {
    let depth = |op: Operand| {
        if hw.buffers.for_operand(op).double_buffered {
            2
        } else {
            1
        }
    };
    let (d_if, d_fi) = (depth(Operand::Ifmap), depth(Operand::Filter));
    let mut read_free = 0u64;
    let mut write_free = 0u64;
    let mut prev_end = 0u64;
    let mut fold_start = Vec::with_capacity(steps.len());
    let mut fold_end: Vec<u64> = Vec::with_capacity(steps.len());
    let freed = |ends: &[u64], j: usize, d: usize| if j >= d { ends[j - d] } else { 0 };
    let mut compute = 0u64;
    let mut sram_stall = 0u64;
    for (j, s) in steps.iter().enumerate() {
        let mut ready = prev_end;
        for (bytes, d) in [(s.load_ifmap, d_if), (s.load_filter, d_fi)] {
            if bytes > 0 {
                let start = read_free.max(freed(&fold_end, j, d));
                read_free = start.saturating_add(transfer(hw, bytes));
                ready = ready.max(read_free);
            }
        }
        let end = ready.saturating_add(s.compute.max(s.sram));
        sram_stall = sram_stall.saturating_add(s.sram.saturating_sub(s.compute));
        fold_start.push(ready);
        fold_end.push(end);
        compute = compute.saturating_add(s.compute);
        prev_end = end;
        if s.store > 0 {
            write_free = write_free.max(end).saturating_add(transfer(hw, s.store));
        }
    }
    let cycles = prev_end.max(write_free);
    LayerTime {
        cycles,
        compute,
        stall: cycles.saturating_sub(compute),
        sram_stall,
        fold_start,
        fold_end,
    }
}

/// A vector or copy stage, store and forward: the read channel brings `in_bytes` into the
/// unit's buffer, the unit is busy for `compute` cycles, then the write channel takes `out_bytes`
/// back. The phases follow one another because an output may need any input (a pooling window,
/// a transpose), which is how the RTL's vector unit (`hw/rtl/systole_vector.v`) runs them.
pub fn store_and_forward(
    hw: &Accelerator,
    in_bytes: u64,
    compute: u64,
    out_bytes: u64,
) -> LayerTime {
    let cycles = transfer(hw, in_bytes)
        .saturating_add(compute)
        .saturating_add(transfer(hw, out_bytes));
    LayerTime {
        cycles,
        compute,
        stall: cycles.saturating_sub(compute),
        sram_stall: 0,
        fold_start: Vec::new(),
        fold_end: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use systole_hw::Dataflow;

    fn hw(bw: f64, lat: u32) -> Accelerator {
        let mut h = Accelerator::new("t", 4, 4, Dataflow::WeightStationary, 100.0);
        h.dram.bytes_per_cycle = bw;
        h.dram.latency_cycles = lat;
        h
    }

    fn step(load: u64, compute: u64, store: u64) -> StepCost {
        StepCost {
            load_ifmap: load,
            load_filter: 0,
            compute,
            sram: 0,
            store,
        }
    }

    #[test]
    fn fast_memory_hides_behind_compute_after_the_first_load() {
        // 10 cycles per load, 100 per fold: only the first load and the last store show.
        let t = array_layer(&hw(10.0, 0), &[step(100, 100, 0); 3]);
        assert_eq!(t.fold_start, vec![10, 110, 210]);
        assert_eq!((t.cycles, t.compute, t.stall), (310, 300, 10));
        let t = array_layer(&hw(10.0, 0), &[step(100, 100, 50), step(100, 100, 50)]);
        assert_eq!(t.cycles, 10 + 200 + 5);
    }

    #[test]
    fn slow_memory_stalls_every_fold() {
        // 5 + 100 cycles per load, 10 per fold: the DMA is the bottleneck.
        let t = array_layer(&hw(1.0, 5), &[step(100, 10, 0); 3]);
        assert_eq!(t.fold_start, vec![105, 210, 315]);
        assert_eq!(t.cycles, 325);
        assert_eq!(t.stall, 325 - 30);
    }

    #[test]
    fn single_buffering_serialises_load_and_compute() {
        let mut h = hw(10.0, 0);
        if let systole_hw::Buffers::Separate { ifmap, .. } = &mut h.buffers {
            ifmap.double_buffered = false;
        }
        let t = array_layer(&h, &[step(100, 100, 0); 3]);
        // Each load waits for the previous fold: 10 + 100, then 10 + 100, ...
        assert_eq!(t.fold_start, vec![10, 120, 230]);
        assert_eq!(t.cycles, 330);
    }

    #[test]
    fn busy_sram_ports_stretch_the_fold() {
        let mut s = step(100, 100, 0);
        s.sram = 130;
        let t = array_layer(&hw(10.0, 0), &[s; 2]);
        assert_eq!(t.fold_start, vec![10, 140]);
        assert_eq!((t.cycles, t.compute, t.sram_stall), (270, 200, 60));
    }

    #[test]
    fn store_and_forward_adds_read_compute_and_write() {
        // (3 + 50) + 20 + (3 + 5)
        let t = store_and_forward(&hw(2.0, 3), 100, 20, 10);
        assert_eq!((t.cycles, t.stall), (81, 61));
    }
}
