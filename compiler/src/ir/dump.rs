//! The stable text form of the graph IR: what `--dump-after` prints and snapshots compare.
//!
//! Ops appear in the deterministic topological order of [`Graph::topo_order`]; constants of up
//! to eight elements are printed in full, larger ones by shape and fingerprint, so a snapshot
//! moves exactly when a weight or a shape does.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::graph::{Graph, QuantAnnot, ValueId, ValueKind};
use crate::tensor::Tensor;

fn const_text(t: &Tensor) -> String {
    if t.len() <= 8 {
        let vals: Vec<String> = (0..t.len())
            .map(|i| {
                if t.dtype().is_float() {
                    format!("{}", t.data.get_f64(i))
                } else {
                    format!("{}", t.data.get_i64(i))
                }
            })
            .collect();
        format!("[{}]", vals.join(", "))
    } else {
        format!("#{:016x}", t.fingerprint())
    }
}

fn vname(g: &Graph, v: ValueId) -> String {
    format!("%{}", g.value(v).name)
}

/// A value's type, with the quantization a QDQ model fixed for it (`absorb-qdq`).
fn ty_text(g: &Graph, v: ValueId) -> String {
    let val = g.value(v);
    match &val.quant {
        None => val.ty.to_string(),
        Some(QuantAnnot::Act {
            scale,
            zero_point,
            bits,
            signed,
        }) => format!(
            "{} @q({}{bits} scale={scale:e} z={zero_point})",
            val.ty,
            if *signed { 'i' } else { 'u' }
        ),
        Some(QuantAnnot::Weight {
            scales, axis, bits, ..
        }) => format!(
            "{} @q(i{bits} {} scales on axis {axis})",
            val.ty,
            scales.len()
        ),
    }
}

/// Renders the graph as stable text.
pub fn dump(g: &Graph) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "graph \"{}\" opset {}", g.name, g.opset);
    for &i in &g.inputs {
        let _ = writeln!(s, "  input  {}: {}", vname(g, i), ty_text(g, i));
    }
    // Constants in first-use order.
    let order = g.topo_order().unwrap_or_else(|_| g.node_ids());
    let mut seen = BTreeSet::new();
    let mut consts = Vec::new();
    for id in &order {
        for v in g.node(*id).inputs.iter().flatten() {
            if g.const_of(*v).is_some() && seen.insert(*v) {
                consts.push(*v);
            }
        }
    }
    for v in g.outputs.iter() {
        if g.const_of(*v).is_some() && seen.insert(*v) {
            consts.push(*v);
        }
    }
    for v in consts {
        if let ValueKind::Const(t) = &g.value(v).kind {
            let _ = writeln!(
                s,
                "  const  {}: {} = {}",
                vname(g, v),
                ty_text(g, v),
                const_text(t)
            );
        }
    }
    for id in order {
        let n = g.node(id);
        let outs: Vec<String> = n
            .outputs
            .iter()
            .map(|&o| format!("{}: {}", vname(g, o), ty_text(g, o)))
            .collect();
        let ins: Vec<String> = n
            .inputs
            .iter()
            .map(|i| match i {
                Some(v) => vname(g, *v),
                None => "_".to_string(),
            })
            .collect();
        let attrs = n.op.attrs_text();
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" {{{}}}", attrs.join(", "))
        };
        let _ = writeln!(
            s,
            "  {} = {}({}){}  # {}",
            outs.join(", "),
            n.op.name(),
            ins.join(", "),
            attrs,
            n.name
        );
    }
    for &o in &g.outputs {
        let _ = writeln!(s, "  output {}: {}", vname(g, o), g.value(o).ty);
    }
    s
}
