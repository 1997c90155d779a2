//! The per-layer geometry table of `systole_params.vh`, for the whole-program RTL
//! (`hw/rtl/systole_top.v`).
//!
//! The RTL's controller picks a layer's fields by the layer number it reads from the instruction
//! ROM, so each field is one packed `localparam` vector `LT_<FIELD>` of `NUM_LAYERS × 32` bits,
//! layer `i` at `[i*32 +: 32]` (a constant multiplexer in hardware; Verilog-2005 has no parameter
//! arrays). Layers a field does not apply to hold 0. Readable per-layer `localparam`s
//! (`L<i>_C`, `L<i>_KH`, …) repeat the convolution geometry for people.

use std::fmt::Write;

use systole_hw::{Accelerator, Dataflow, Operand};

use super::params::{bits_for, DramRegion, LayerRoms};
use crate::fxir::{LayoutOp, Program, StageKind, TensorId, VectorOp, Window};
use crate::schedule::{elem_bytes, Schedule, Work};

/// `KIND` codes of the table (0: nothing on the accelerator: host, view).
pub mod kind {
    pub const ARRAY: u32 = 1;
    pub const MAXPOOL: u32 = 2;
    pub const COPY: u32 = 3;
}

/// Field names, in the order of [`Row::values`].
const FIELDS: [&str; 39] = [
    "KIND",
    "IN_BASE",
    "OUT_BASE",
    "IN_LEN",
    "OUT_LEN",
    "C",
    "H",
    "W",
    "KH",
    "KW",
    "SH",
    "SW",
    "PH",
    "PW",
    "DH",
    "DW",
    "OH",
    "OW",
    "N",
    "K",
    "ZX",
    "IN_BYTES",
    "OUT_BYTES",
    "OUT_BITS",
    "OUT_SIGNED",
    "A_SIGNED",
    "RELU",
    "BIAS_W",
    "PBASE",
    "WROM_BASE",
    "FLOOR",
    "TP_D0",
    "TP_D1",
    "TP_D2",
    "TP_D3",
    "TP_S0",
    "TP_S1",
    "TP_S2",
    "TP_S3",
];

#[derive(Clone)]
struct Row(Vec<i64>);

impl Default for Row {
    fn default() -> Row {
        Row(vec![0; FIELDS.len()])
    }
}

impl Row {
    fn set(&mut self, f: &str, v: i64) {
        if let Some(i) = FIELDS.iter().position(|x| *x == f) {
            self.0[i] = v;
        }
    }
    fn window(&mut self, w: &Window) {
        for (f, v) in [
            ("C", w.channels),
            ("H", w.input[0]),
            ("W", w.input[1]),
            ("KH", w.kernel[0]),
            ("KW", w.kernel[1]),
            ("SH", w.strides[0]),
            ("SW", w.strides[1]),
            ("PH", w.pad_begin[0]),
            ("PW", w.pad_begin[1]),
            ("DH", w.dilations[0]),
            ("DW", w.dilations[1]),
            ("OH", w.output[0]),
            ("OW", w.output[1]),
        ] {
            self.set(f, v as i64);
        }
    }
}

/// The tensor whose DRAM bytes `t` is: a reshape's output is a view of its input.
fn storage(p: &Program, mut t: TensorId) -> TensorId {
    for _ in 0..p.stages.len() {
        match p.stages.iter().find(|s| s.output == t) {
            Some(st) if matches!(st.kind, StageKind::Layout(LayoutOp::Reshape)) => {
                t = st.inputs[0];
            }
            _ => break,
        }
    }
    t
}

pub(super) fn write(
    o: &mut String,
    p: &Program,
    s: &Schedule,
    hw: &Accelerator,
    dram: &[DramRegion],
    roms: &[LayerRoms],
) {
    let base = |t: TensorId| dram.get(storage(p, t).0).map_or(0, |r| r.base as i64);
    let mut rows = vec![Row::default(); s.layers.len()];
    let mut pbase = 0i64;
    let (mut max_t, mut max_store, mut vbuf, mut kmax) = (1usize, 1u64, 1u64, 1usize);
    let mut max_out = 1usize;
    let mut human = String::new();
    for (i, (l, st)) in s.layers.iter().zip(&p.stages).enumerate() {
        let r = &mut rows[i];
        let out = p.tensor(st.output);
        r.set("OUT_BASE", base(st.output));
        r.set("OUT_LEN", out.len() as i64);
        r.set("OUT_BYTES", elem_bytes(out) as i64);
        r.set("OUT_BITS", i64::from(out.format.bits));
        r.set("OUT_SIGNED", i64::from(out.format.signed));
        if let Some(&x) = st.inputs.first() {
            let xi = p.tensor(x);
            r.set("IN_BASE", base(x));
            r.set("IN_LEN", xi.len() as i64);
            r.set("IN_BYTES", elem_bytes(xi) as i64);
            r.set("ZX", xi.format.zero_point());
            r.set("A_SIGNED", i64::from(xi.format.signed));
            r.set("FLOOR", xi.format.min_int());
        }
        match (&l.work, &st.kind) {
            (Work::Array(w), StageKind::Gemm(g)) => {
                r.set("KIND", i64::from(kind::ARRAY));
                match &g.conv {
                    Some(win) => r.window(win),
                    None => {
                        // A plain GEMM is a 1×1 convolution over a 1×1 image of K channels.
                        for (f, v) in [("C", g.k), ("H", 1), ("W", 1)] {
                            r.set(f, v as i64);
                        }
                        for f in ["KH", "KW", "SH", "SW", "DH", "DW", "OH", "OW"] {
                            r.set(f, 1);
                        }
                    }
                }
                r.set("N", g.n as i64);
                r.set("K", g.k as i64);
                r.set("RELU", i64::from(g.relu));
                r.set(
                    "BIAS_W",
                    i64::from(bits_for(g.bias.iter().copied()).max(g.acc_bits)),
                );
                r.set("PBASE", pbase);
                max_out = max_out.max(w.m * w.n);
                let wbase = roms
                    .iter()
                    .find(|x| x.stage == i)
                    .map_or(0, |x| x.weights_first_word);
                r.set("WROM_BASE", wbase as i64);
                pbase += g.n as i64;
                for x in &w.steps {
                    let t = match s.dataflow {
                        Dataflow::WeightStationary => x.m.len,
                        Dataflow::OutputStationary => x.k.len,
                        Dataflow::InputStationary => x.n.len,
                    };
                    max_t = max_t.max(t);
                    max_store = max_store.max(x.store);
                }
                if let Some(win) = &g.conv {
                    let _ = writeln!(
                        human,
                        "// L{i}: conv C={} H={} W={} kernel {}x{} stride {}x{} pad {}x{} \
                         dilation {}x{} -> {}x{}",
                        win.channels,
                        win.input[0],
                        win.input[1],
                        win.kernel[0],
                        win.kernel[1],
                        win.strides[0],
                        win.strides[1],
                        win.pad_begin[0],
                        win.pad_begin[1],
                        win.dilations[0],
                        win.dilations[1],
                        win.output[0],
                        win.output[1]
                    );
                }
            }
            (Work::Vector(v), StageKind::Vector(VectorOp::MaxPool { window })) => {
                r.set("KIND", i64::from(kind::MAXPOOL));
                r.window(window);
                vbuf = vbuf.max(v.in_bytes).max(v.out_bytes);
                kmax = kmax.max(window.kernel[0]).max(window.kernel[1]);
            }
            (Work::Copy { bytes }, StageKind::Layout(LayoutOp::Transpose { perm })) => {
                r.set("KIND", i64::from(kind::COPY));
                vbuf = vbuf.max(*bytes);
                let shape = &p.tensor(st.inputs[0]).shape;
                if perm.len() <= 4 && shape.len() == perm.len() {
                    // Output dims (padded to 4 at the front with 1s) and, for each, the
                    // stride of the input element it walks.
                    let mut strides = vec![1i64; shape.len()];
                    for d in (0..shape.len().saturating_sub(1)).rev() {
                        strides[d] = strides[d + 1] * shape[d + 1] as i64;
                    }
                    let pad = 4 - perm.len();
                    for (j, &a) in perm.iter().enumerate() {
                        r.set(&format!("TP_D{}", pad + j), shape[a] as i64);
                        r.set(&format!("TP_S{}", pad + j), strides[a]);
                    }
                    for j in 0..pad {
                        r.set(&format!("TP_D{j}"), 1);
                    }
                }
            }
            _ => {}
        }
    }
    let mut lp = |name: &str, v: String, why: &str| {
        let _ = writeln!(o, "localparam {name} = {v}; // {why}");
    };
    let bpc = hw.dram.bytes_per_cycle;
    let bpc_int = if bpc.fract() == 0.0 && (1.0..=4096.0).contains(&bpc) {
        bpc as i64
    } else {
        0
    };
    lp(
        "DRAM_BPC",
        bpc_int.to_string(),
        "DRAM bytes per cycle as an integer (0: not an integer, the RTL refuses)",
    );
    let dram_end = dram
        .last()
        .map_or(0, |r| r.base + r.bytes.div_ceil(64) * 64);
    lp(
        "DRAM_BYTES",
        dram_end.max(64).to_string(),
        "DRAM image bytes",
    );
    let db = |op: Operand| u8::from(hw.buffers.for_operand(op).double_buffered).to_string();
    lp(
        "IFMAP_DB",
        db(Operand::Ifmap),
        "ifmap buffer double-buffered",
    );
    lp(
        "FILTER_DB",
        db(Operand::Filter),
        "filter buffer double-buffered",
    );
    lp(
        "MAX_T",
        max_t.to_string(),
        "longest streamed length of a fold",
    );
    lp(
        "MAX_STORE_BYTES",
        max_store.to_string(),
        "largest STORE of a fold",
    );
    lp(
        "MAX_OUT_ELEMS",
        max_out.to_string(),
        "most outputs of one array layer (the output queue's bound: stores may lag the folds)",
    );
    lp(
        "PARAM_DEPTH",
        pbase.max(1).to_string(),
        "requantization parameter words (all layers)",
    );
    lp(
        "VBUF_BYTES",
        vbuf.to_string(),
        "vector-unit buffer bytes (largest input)",
    );
    lp(
        "VEC_LANES",
        hw.vector.lanes.to_string(),
        "vector-unit lanes",
    );
    let cpo = hw
        .vector
        .cycles_for(systole_hw::VectorOp::MaxPool)
        .unwrap_or(1);
    lp(
        "VEC_MAXPOOL_CPO",
        cpo.to_string(),
        "vector-unit cycles per group of lanes, MaxPool",
    );
    lp("POOL_KMAX", kmax.to_string(), "largest pooling window side");
    o.push_str(&human);
    let n = s.layers.len().max(1);
    for (fi, f) in FIELDS.iter().enumerate() {
        let vals: Vec<String> = (0..n)
            .rev()
            .map(|i| {
                let v = rows.get(i).map_or(0, |r| r.0[fi]);
                format!("32'h{:08x}", v as u32)
            })
            .collect();
        let _ = writeln!(
            o,
            "localparam [{}:0] LT_{f} = {{{}}};",
            n * 32 - 1,
            vals.join(", ")
        );
    }
}
