//! Pass `remove-identity`: drops ops that compute nothing at inference: Identity, Dropout,
//! a Cast to the type it already has, and a Reshape whose output type equals its input's.

use crate::error::Result;
use crate::ir::graph::ValueKind;
use crate::ir::op::{Op, UnaryOp};
use crate::ir::{Graph, OpId};

fn is_noop(g: &Graph, id: OpId) -> bool {
    let n = g.node(id);
    let Some(x) = n.inputs.first().copied().flatten() else {
        return false;
    };
    let same_type = g.value(x).ty == g.value(n.outputs[0]).ty
        && !g.value(x).ty.shape.as_ref().is_some_and(|s| {
            s.iter()
                .any(|d| d.known().is_none() && d.to_string() == "?")
        });
    match &n.op {
        Op::Unary(UnaryOp::Identity) => true,
        Op::Dropout => n.outputs.len() == 1,
        Op::Cast { to } => *to == g.value(x).ty.dtype,
        Op::Reshape { .. } => same_type,
        _ => false,
    }
}

pub fn run(g: &mut Graph) -> Result<()> {
    for id in g.node_ids() {
        if !is_noop(g, id) {
            continue;
        }
        let n = g.node(id);
        let (x, y) = (n.inputs[0].expect("checked in is_noop"), n.outputs[0]);
        if !g.outputs.contains(&y) {
            g.remove_node(id);
            g.replace_all_uses(y, x);
            continue;
        }
        // y is a graph output: keep its name by making x's producer write y directly,
        // when x is an intermediate used only here.
        let single_use = g.consumers(x).len() == 1 && !g.outputs.contains(&x);
        if let (ValueKind::Intermediate, Some(p), true) =
            (&g.value(x).kind, g.value(x).producer, single_use)
        {
            g.remove_node(id);
            let ty = g.value(x).ty.clone();
            for o in g.node_mut(p).outputs.iter_mut() {
                if *o == x {
                    *o = y;
                }
            }
            g.value_mut(y).ty = ty;
            g.value_mut(x).producer = None;
            g.rebuild_edges();
        }
    }
    Ok(())
}
