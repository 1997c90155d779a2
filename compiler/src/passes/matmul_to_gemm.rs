//! Pass `matmul-to-gemm`: `Add(MatMul(A, W), b)` with a 2-D A, constant 2-D W and a constant
//! per-column b becomes `Gemm(A, W, b)`. Exporters (skl2onnx, tf2onnx, PyTorch for Linear with
//! 3-D inputs) emit the pair; the array and its bias ROM want one layer.

use crate::error::Result;
use crate::ir::op::{BinaryOp, GemmAttrs, Op};
use crate::ir::Graph;

pub fn run(g: &mut Graph) -> Result<()> {
    for id in g.node_ids() {
        let Some(n) = g.try_node(id) else { continue };
        if !matches!(n.op, Op::Binary(BinaryOp::Add)) {
            continue;
        }
        let (Some(l), Some(r)) = (n.inputs[0], n.inputs[1]) else {
            continue;
        };
        // The bias may be on either side.
        let (mm_out, bias) = if g.const_of(r).is_some() {
            (l, r)
        } else {
            (r, l)
        };
        let Some(b) = g.const_of(bias) else { continue };
        let Some(p) = g.value(mm_out).producer else {
            continue;
        };
        let pn = g.node(p);
        if !matches!(pn.op, Op::MatMul { act: None }) {
            continue;
        }
        let (Some(a), Some(w)) = (pn.inputs[0], pn.inputs[1]) else {
            continue;
        };
        let Some(wt) = g.const_of(w) else { continue };
        let a_rank = g.value(a).ty.rank();
        let ncols = if wt.rank() == 2 {
            wt.shape[1]
        } else {
            continue;
        };
        let per_col =
            b.len() == ncols && b.shape.iter().rev().skip(1).all(|&d| d == 1) && b.rank() <= 2;
        if a_rank != Some(2) || !per_col || b.dtype() != wt.dtype() {
            continue;
        }
        if g.consumers(mm_out).len() != 1 || g.outputs.contains(&mm_out) {
            continue;
        }
        let y = n.outputs[0];
        let bias_flat = crate::tensor::Tensor {
            shape: vec![ncols],
            data: b.data.clone(),
        };
        let bid = g.add_const(format!("{}.bias", g.node(p).name), bias_flat);
        g.remove_node(id);
        let node = g.node_mut(p);
        node.op = Op::Gemm(GemmAttrs {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: false,
            act: None,
        });
        node.inputs = vec![Some(a), Some(w), Some(bid)];
        node.outputs = vec![y];
        g.value_mut(mm_out).producer = None;
        g.rebuild_edges();
    }
    Ok(())
}
