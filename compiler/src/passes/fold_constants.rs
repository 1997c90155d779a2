//! Pass `fold-constants`: evaluates with the float reference every op whose inputs are all
//! constant, and turns `Shape` of a statically shaped value into a constant. Exporters wrap
//! reshapes and weights in such chains (Shape→Gather→Concat, ConstantOfShape).

use crate::error::{Error, Result};
use crate::ir::graph::ValueKind;
use crate::ir::op::Op;
use crate::ir::Graph;
use crate::reference::float;
use crate::tensor::Tensor;

fn shape_const(g: &Graph, id: crate::ir::OpId) -> Option<Tensor> {
    let n = g.node(id);
    let Op::Shape { start, end } = &n.op else {
        return None;
    };
    let dims = g
        .value(n.inputs.first().copied().flatten()?)
        .ty
        .concrete()?;
    let r = dims.len() as i64;
    let fix = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let (s, e) = (fix(*start), fix(end.unwrap_or(r)));
    let v: Vec<i64> = dims[s..e.max(s)].iter().map(|&d| d as i64).collect();
    Some(Tensor::i64(vec![v.len()], v))
}

/// Folds to a fixed point: a folded reshape target makes the reshaped value's shape concrete
/// only after shapes are re-inferred, and then a `Shape` of it can fold in turn (transformer
/// attention blocks chain Shape → Gather → Concat → Reshape → Shape several times).
pub fn run(g: &mut Graph) -> Result<()> {
    while fold_once(g)? {
        super::shape_inference::infer_all(g)?;
    }
    Ok(())
}

/// One sweep in topological order; true when anything folded.
fn fold_once(g: &mut Graph) -> Result<bool> {
    let order = g.validated_order()?;
    let mut changed = false;
    for id in order {
        let n = g.node(id);
        let outs: Vec<Tensor> = if let Some(t) = shape_const(g, id) {
            vec![t]
        } else {
            let ins: Option<Vec<Option<&Tensor>>> = n
                .inputs
                .iter()
                .map(|i| match i {
                    None => Some(None),
                    Some(v) => g.const_of(*v).map(Some),
                })
                .collect();
            let Some(ins) = ins else { continue };
            match float::eval(&n.op, &ins) {
                Ok(o) => o,
                Err(e) => {
                    return Err(Error::Node {
                        node: n.name.clone(),
                        op: n.op.name().into(),
                        msg: e.0,
                    })
                }
            }
        };
        let out_ids = n.outputs.clone();
        if outs.len() < out_ids.len() {
            continue; // an output the kernel does not compute (Dropout mask): keep the op.
        }
        for (o, t) in out_ids.into_iter().zip(outs) {
            let v = g.value_mut(o);
            v.ty = crate::ir::TensorType::known(t.dtype(), &t.shape);
            v.kind = ValueKind::Const(t);
            v.producer = None;
        }
        g.remove_node(id);
        changed = true;
    }
    if changed {
        g.rebuild_edges();
    }
    Ok(changed)
}
