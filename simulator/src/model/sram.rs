//! SRAM port bandwidth during a fold: how many cycles the buffers need to serve it.
//!
//! Each buffer serves `banks × ports` word accesses per cycle (banks interleaved perfectly; which
//! address lands in which bank is not modelled). During a fold the array reads its operands one
//! vector per cycle (a vector of `len` elements costs `ceil(len · bytes / word_bytes)` words),
//! writes partial sums into the ofmap buffer (and reads them back when accumulating), and the
//! DMA writes the fold's loads and reads its stores on the same ports. When the words exceed
//! what the ports give in the fold's compute cycles, the fold stretches: those extra cycles are
//! reported as SRAM stalls. A unified scratchpad's operands share its ports.

use systole_compiler::schedule::{ArrayWork, Step};
use systole_hw::{Accelerator, Buffer, Buffers, Dataflow};

fn words(b: &Buffer, vectors: u64, elems: u64, bytes: u64) -> u64 {
    vectors * (elems * bytes).div_ceil(u64::from(b.word_bits / 8).max(1))
}

fn flat(b: &Buffer, bytes: u64) -> u64 {
    bytes.div_ceil(u64::from(b.word_bits / 8).max(1))
}

/// Minimum cycles the buffers need for step `s` (0 when it has no traffic).
pub(crate) fn cycles(hw: &Accelerator, w: &ArrayWork, s: &Step) -> u64 {
    let (m, k, n) = (s.m.len as u64, s.k.len as u64, s.n.len as u64);
    let (a, wb, acc) = (w.act_bytes, w.weight_bytes, w.acc_bytes);
    let ifmap = hw.buffers.for_operand(systole_hw::Operand::Ifmap);
    let filter = hw.buffers.for_operand(systole_hw::Operand::Filter);
    let ofmap = hw.buffers.for_operand(systole_hw::Operand::Ofmap);
    // Array accesses per buffer: (vectors, elements per vector).
    let (if_v, fi_v, of_v) = match hw.dataflow {
        Dataflow::WeightStationary => ((m, k), (k, n), (m, n)),
        Dataflow::OutputStationary => ((k, m), (k, n), (m, n)),
        Dataflow::InputStationary => ((k, m), (n, k), (n, m)),
    };
    let acc_passes = if s.accumulate { 2 } else { 1 };
    let t_if = words(ifmap, if_v.0, if_v.1, a) + flat(ifmap, s.load_ifmap);
    let t_fi = words(filter, fi_v.0, fi_v.1, wb) + flat(filter, s.load_filter);
    let t_of = acc_passes * words(ofmap, of_v.0, of_v.1, acc) + flat(ofmap, s.store);
    let need = |b: &Buffer, total: u64| total.div_ceil(u64::from(b.banks * b.ports).max(1));
    match &hw.buffers {
        Buffers::Separate { .. } => need(ifmap, t_if)
            .max(need(filter, t_fi))
            .max(need(ofmap, t_of)),
        Buffers::Unified {
            shared,
            accumulator: Some(accb),
        } => need(shared, t_if + t_fi).max(need(accb, t_of)),
        Buffers::Unified {
            shared,
            accumulator: None,
        } => need(shared, t_if + t_fi + t_of),
    }
}
