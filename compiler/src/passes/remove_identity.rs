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
            // Rewire first: y's readers are then found through its producer's edges.
            g.replace_all_uses(y, x);
            g.remove_node(id);
            continue;
        }
        // y is a graph output: keep its name by making x's producer write y directly,
        // when x is an intermediate used only here.
        if g.value(x).kind == ValueKind::Intermediate && g.sole_producer(x).is_some() {
            let ty = g.value(x).ty.clone();
            g.absorb_into_producer(id, x, y);
            g.value_mut(y).ty = ty;
        }
    }
    Ok(())
}
