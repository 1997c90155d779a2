//! Pass `fuse-activation`: moves an activation into the Conv, Gemm or MatMul that feeds it,
//! so the array applies it as results leave the accumulators.

use crate::error::Result;
use crate::ir::op::{Activation, Op, UnaryOp};
use crate::ir::{Graph, OpId};

fn as_activation(g: &Graph, id: OpId) -> Option<Activation> {
    let n = g.node(id);
    Some(match &n.op {
        Op::Unary(UnaryOp::Relu) => Activation::Relu,
        Op::Unary(UnaryOp::Sigmoid) => Activation::Sigmoid,
        Op::Unary(UnaryOp::Tanh) => Activation::Tanh,
        Op::LeakyRelu { alpha } => Activation::LeakyRelu { alpha: *alpha },
        Op::Clip => {
            let bound = |i: usize, default: f32| -> Option<f32> {
                match n.inputs.get(i).copied().flatten() {
                    None => Some(default),
                    Some(v) => {
                        let t = g.const_of(v)?;
                        (t.len() == 1).then(|| t.data.get_f64(0) as f32)
                    }
                }
            };
            Activation::Clip {
                min: bound(1, f32::NEG_INFINITY)?,
                max: bound(2, f32::INFINITY)?,
            }
        }
        _ => return None,
    })
}

pub fn run(g: &mut Graph) -> Result<()> {
    for id in g.node_ids() {
        let Some(n) = g.try_node(id) else { continue };
        let Some(act) = as_activation(g, id) else {
            continue;
        };
        let (Some(x), y) = (n.inputs[0], n.outputs[0]) else {
            continue;
        };
        if g.value(x).ty.dtype != crate::tensor::DType::F32 {
            continue;
        }
        let Some(p) = g.sole_producer(x) else {
            continue;
        };
        let slot = match &mut g.node_mut(p).op {
            Op::Conv(c) if c.act.is_none() => &mut c.act,
            Op::Gemm(a) if a.act.is_none() => &mut a.act,
            Op::MatMul { act } if act.is_none() => act,
            _ => continue,
        };
        *slot = Some(act);
        g.absorb_into_producer(id, x, y);
    }
    Ok(())
}
