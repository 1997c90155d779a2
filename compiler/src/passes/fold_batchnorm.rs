//! Pass `fold-batchnorm`: folds an inference BatchNormalization into the Conv or Gemm that
//! feeds it, so the array computes the normalized output directly and no vector stage remains.
//!
//! With `s = scale / sqrt(var + eps)`: `W' = W · s` per output channel and
//! `b' = (b - mean) · s + bias`.

use crate::error::Result;
use crate::ir::graph::Node;
use crate::ir::op::{GemmAttrs, Op};
use crate::ir::{Graph, OpId};
use crate::tensor::Tensor;

struct Bn {
    s: Vec<f32>,
    shift: Vec<f32>, // bias - mean * s
}

fn bn_params(g: &Graph, n: &Node, eps: f32) -> Option<Bn> {
    let get = |i: usize| {
        g.const_of(n.inputs.get(i).copied().flatten()?)?
            .as_f32()
            .map(|v| v.to_vec())
    };
    let (scale, bias, mean, var) = (get(1)?, get(2)?, get(3)?, get(4)?);
    let c = scale.len();
    if [bias.len(), mean.len(), var.len()].iter().any(|&l| l != c) {
        return None;
    }
    let s: Vec<f32> = (0..c).map(|i| scale[i] / (var[i] + eps).sqrt()).collect();
    let shift = (0..c).map(|i| bias[i] - mean[i] * s[i]).collect();
    Some(Bn { s, shift })
}

fn fold_into_conv(g: &mut Graph, conv: OpId, bn: &Bn) -> Option<()> {
    let n = g.node(conv);
    let w = g.const_of(n.inputs[1]?)?.clone();
    let oc = *w.shape.first()?;
    if oc != bn.s.len() || n.outputs.len() != 1 {
        return None;
    }
    let per = w.len() / oc.max(1);
    let mut wv = w.as_f32()?.to_vec();
    for (i, x) in wv.iter_mut().enumerate() {
        *x *= bn.s[i / per];
    }
    let b: Vec<f32> = match n.inputs.get(2).copied().flatten() {
        Some(b) => g.const_of(b)?.as_f32()?.to_vec(),
        None => vec![0.0; oc],
    };
    if b.len() != oc {
        return None;
    }
    let nb: Vec<f32> = (0..oc).map(|i| b[i] * bn.s[i] + bn.shift[i]).collect();
    let name = g.node(conv).name.clone();
    let wid = g.add_const(
        format!("{name}.weight_bn"),
        Tensor::f32(w.shape.clone(), wv),
    );
    let bid = g.add_const(format!("{name}.bias_bn"), Tensor::f32(vec![oc], nb));
    let node = g.node_mut(conv);
    node.inputs.truncate(2);
    node.inputs[1] = Some(wid);
    node.inputs.push(Some(bid));
    Some(())
}

fn fold_into_gemm(g: &mut Graph, gemm: OpId, bn: &Bn) -> Option<()> {
    let n = g.node(gemm);
    let Op::Gemm(a) = n.op.clone() else {
        return None;
    };
    let b = g.const_of(n.inputs[1]?)?.clone();
    if b.rank() != 2 {
        return None;
    }
    let ncols = if a.trans_b { b.shape[0] } else { b.shape[1] };
    if ncols != bn.s.len() {
        return None;
    }
    let c: Vec<f32> = match n.inputs.get(2).copied().flatten() {
        None => vec![0.0; ncols],
        Some(c) => {
            let c = g.const_of(c)?;
            let v = c.as_f32()?;
            match c.len() {
                1 => vec![v[0]; ncols],
                l if l == ncols && c.shape.iter().rev().skip(1).all(|&d| d == 1) => v.to_vec(),
                _ => return None, // a per-row bias cannot fold per column
            }
        }
    };
    let mut bv = b.as_f32()?.to_vec();
    let k = b.len() / ncols;
    for (i, x) in bv.iter_mut().enumerate() {
        let col = if a.trans_b { i / k } else { i % ncols };
        *x *= bn.s[col];
    }
    let nc: Vec<f32> = (0..ncols)
        .map(|j| a.beta * c[j] * bn.s[j] + bn.shift[j])
        .collect();
    let name = g.node(gemm).name.clone();
    let bid = g.add_const(
        format!("{name}.weight_bn"),
        Tensor::f32(b.shape.clone(), bv),
    );
    let cid = g.add_const(format!("{name}.bias_bn"), Tensor::f32(vec![ncols], nc));
    let node = g.node_mut(gemm);
    node.inputs.truncate(2);
    node.inputs[1] = Some(bid);
    node.inputs.push(Some(cid));
    node.op = Op::Gemm(GemmAttrs { beta: 1.0, ..a });
    Some(())
}

pub fn run(g: &mut Graph) -> Result<()> {
    for id in g.node_ids() {
        let Some(n) = g.try_node(id) else { continue };
        let Op::BatchNormalization { epsilon } = n.op else {
            continue;
        };
        let (Some(x), y) = (n.inputs[0], n.outputs[0]) else {
            continue;
        };
        let Some(bn) = bn_params(g, n, epsilon) else {
            continue;
        };
        let Some(p) = g.sole_producer(x) else {
            continue;
        };
        let folded = match g.node(p).op {
            Op::Conv(ref c) if c.act.is_none() => fold_into_conv(g, p, &bn),
            Op::Gemm(ref a) if a.act.is_none() => fold_into_gemm(g, p, &bn),
            _ => None,
        };
        if folded.is_none() {
            continue;
        }
        // The producer now writes the BN's output value directly.
        g.absorb_into_producer(id, x, y);
    }
    Ok(())
}
