//! Per-layer ROMs (stored codes, side tables, requantization parameters), the DRAM address map
//! and the Verilog header of `localparam`s.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use systole_hw::{Accelerator, Dataflow};

use super::rom::Rom;
use crate::fxir::{Coding, GemmStage, Program, Stage};
use crate::schedule::{elem_bytes, Schedule, Work};
use crate::{Error, Result};

/// Where one array layer's data sits in the ROMs.
#[derive(Debug, Clone, Serialize)]
pub struct LayerRoms {
    /// Program stage index.
    pub stage: usize,
    pub name: String,
    /// First word of the layer in every weight bank, and its number of words per bank.
    pub weights_first_word: usize,
    pub weights_words: usize,
    /// The layer's own ROM files (codes as stored, side tables, requantization parameters).
    pub files: Vec<String>,
    pub n: usize,
    pub k: usize,
    pub coding: String,
    pub relu: bool,
}

/// A tensor's region in DRAM (batch-major codes, one element per `elem_bytes`).
#[derive(Debug, Clone, Serialize)]
pub struct DramRegion {
    pub tensor: usize,
    pub name: String,
    pub base: u64,
    pub bytes: u64,
}

/// Regions are 64-byte aligned, in tensor order.
pub fn dram_map(p: &Program, batch: usize) -> Vec<DramRegion> {
    let mut base = 0u64;
    p.tensors
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let bytes = batch as u64 * t.len() as u64 * elem_bytes(t);
            let r = DramRegion {
                tensor: i,
                name: t.name.clone(),
                base,
                bytes,
            };
            base += bytes.div_ceil(64) * 64;
            r
        })
        .collect()
}

pub(super) fn bits_for(values: impl Iterator<Item = i64>) -> u32 {
    let m = values
        .map(|v| if v < 0 { !v } else { v })
        .max()
        .unwrap_or(0);
    (65 - m.leading_zeros()).max(2)
}

pub(super) fn layer_files(
    files: &mut BTreeMap<String, Vec<u8>>,
    stage_index: usize,
    st: &Stage,
    g: &GemmStage,
    first: usize,
    words: usize,
) -> Result<LayerRoms> {
    let stem = format!("rom/L{stage_index}");
    let mut names = Vec::new();
    let mut put = |name: String, r: Rom| {
        files.insert(name.clone(), r.mem().into_bytes());
        names.push(name);
    };
    let bits = g.weights.coding.code_bits();
    let codes: Vec<i64> = g.weights.codes.iter().map(|&c| i64::from(c)).collect();
    // Sub-byte codes are packed into 32-bit words; wider ones take a word each.
    let r = if bits < 8 {
        Rom::packed(bits, 32, &codes)
    } else {
        Rom::from_signed(bits, codes)
    };
    put(format!("{stem}_codes.mem"), r);
    match &g.weights.coding {
        Coding::Codebook {
            table_bits, table, ..
        } => put(
            format!("{stem}_codebook.mem"),
            Rom::from_signed(*table_bits, table.iter().map(|&v| i64::from(v))),
        ),
        Coding::Group {
            mult_bits, mults, ..
        } => put(
            format!("{stem}_group_mults.mem"),
            Rom::from_signed(*mult_bits + 1, mults.iter().map(|&v| i64::from(v))),
        ),
        Coding::Fp8 { shifts, .. } | Coding::Block { shifts, .. } => put(
            format!("{stem}_shifts.mem"),
            Rom::from_signed(8, shifts.iter().map(|&v| i64::from(v))),
        ),
        Coding::Int { .. } | Coding::Pow2 { .. } => {}
    }
    let bias_bits = bits_for(g.bias.iter().copied()).max(g.acc_bits);
    if bias_bits > 64 {
        // `bits_for` of i64 values is at most 64 and `validate` bounds `acc_bits` to 2..=64.
        return Err(Error::internal(format!(
            "layer '{}': bias ROM of {bias_bits} bits, wider than 64",
            st.name
        )));
    }
    put(
        format!("{stem}_bias.mem"),
        Rom::from_signed(bias_bits, g.bias.iter().copied()),
    );
    put(
        format!("{stem}_mult.mem"),
        Rom::from_signed(32, g.requant.iter().map(|r| i64::from(r.m0))),
    );
    put(
        format!("{stem}_shift.mem"),
        Rom::from_signed(8, g.requant.iter().map(|r| i64::from(r.shift))),
    );
    put(
        format!("{stem}_zero.mem"),
        Rom::from_signed(17, g.requant.iter().map(|r| i64::from(r.zero_point))),
    );
    Ok(LayerRoms {
        stage: stage_index,
        name: st.name.clone(),
        weights_first_word: first,
        weights_words: words,
        files: names,
        n: g.n,
        k: g.k,
        coding: g.weights.coding.label(),
        relu: g.relu,
    })
}

fn ident(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// What one compile builds: the program, its schedule, and the accelerator it is for.
#[derive(Clone, Copy)]
pub(super) struct Design<'a> {
    pub p: &'a Program,
    pub s: &'a Schedule,
    pub hw: &'a Accelerator,
}

/// Where a build puts the program's data: each array layer's ROMs and each tensor's DRAM region.
#[derive(Clone, Copy)]
pub(super) struct Layout<'a> {
    pub layers: &'a [LayerRoms],
    pub dram: &'a [DramRegion],
}

/// `systole_params.vh` for design `d` laid out as `l`, with `banks` weight ROMs of `wrom_depth`
/// words and an instruction ROM of `instrs` words.
pub(super) fn header(
    d: Design,
    l: Layout,
    wrom_depth: usize,
    banks: usize,
    instrs: usize,
) -> String {
    let Design { p, s, hw } = d;
    let Layout { layers, dram } = l;
    let clog2 = |n: usize| (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "// systole_params.vh: {} scheduled on {} ({}x{}, batch {}). Generated by Systole; do not edit.",
        p.name, s.hw, s.rows, s.cols, s.batch
    );
    let mut lp = |name: &str, v: String, why: &str| {
        let _ = writeln!(o, "localparam {name} = {v}; // {why}");
    };
    lp("ARRAY_ROWS", s.rows.to_string(), "PE rows");
    lp("ARRAY_COLS", s.cols.to_string(), "PE columns");
    let df = match s.dataflow {
        Dataflow::WeightStationary => 0,
        Dataflow::OutputStationary => 1,
        Dataflow::InputStationary => 2,
    };
    lp("DATAFLOW", df.to_string(), "0 WS, 1 OS, 2 IS");
    lp("IN_W", hw.input_bits.to_string(), "activation operand bits");
    lp("W_W", hw.weight_bits.to_string(), "weight operand bits");
    lp("ACC_W", hw.acc_bits.to_string(), "accumulator bits");
    lp("BATCH", s.batch.to_string(), "samples per run");
    lp(
        "INSTR_W",
        super::isa::INSTR_BITS.to_string(),
        "instruction bits",
    );
    lp("INSTR_DEPTH", instrs.to_string(), "instruction ROM words");
    lp(
        "INSTR_ADDR_W",
        clog2(instrs).to_string(),
        "instruction ROM address bits",
    );
    lp("WROM_BANKS", banks.to_string(), "weight ROM banks");
    lp(
        "WROM_DEPTH",
        wrom_depth.to_string(),
        "words per weight bank",
    );
    lp(
        "WROM_ADDR_W",
        clog2(wrom_depth).to_string(),
        "weight bank address bits",
    );
    lp("NUM_LAYERS", s.layers.len().to_string(), "schedule layers");
    lp(
        "DRAM_BW",
        format!("{}", hw.dram.bytes_per_cycle),
        "DRAM bytes per cycle (information)",
    );
    lp(
        "DRAM_LATENCY",
        hw.dram.latency_cycles.to_string(),
        "DRAM latency in cycles",
    );
    for l in layers {
        let id = format!("L{}", l.stage);
        lp(&format!("{id}_N"), l.n.to_string(), &l.name);
        lp(&format!("{id}_K"), l.k.to_string(), "reduction length");
        lp(
            &format!("{id}_WROM_BASE"),
            l.weights_first_word.to_string(),
            "first word in each weight bank",
        );
        lp(
            &format!("{id}_WROM_WORDS"),
            l.weights_words.to_string(),
            "words per bank",
        );
        lp(
            &format!("{id}_RELU"),
            (l.relu as u8).to_string(),
            "fused ReLU",
        );
    }
    for r in dram {
        lp(
            &format!("T{}_DRAM_BASE", r.tensor),
            r.base.to_string(),
            &format!("{} ({} bytes)", ident(&r.name), r.bytes),
        );
    }
    let arrays = s
        .layers
        .iter()
        .filter(|l| matches!(l.work, Work::Array(_)))
        .count();
    lp(
        "NUM_ARRAY_LAYERS",
        arrays.to_string(),
        "layers on the array",
    );
    super::layer_table::write(&mut o, p, s, hw, dram, layers);
    o
}
