//! Model statistics for `inspect`: op counts, parameters and multiply-accumulates per layer.
//!
//! MACs are per inference: symbolic dimensions (the batch) count as 1.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ir::op::Op;
use crate::ir::{Graph, OpId};

#[derive(Debug, Clone, Serialize)]
pub struct NodeStats {
    pub name: String,
    pub op: String,
    /// Output types as text (`f32[N,16,8,8]`).
    pub outputs: Vec<String>,
    /// Elements of the constant float inputs (weights and biases).
    pub params: u64,
    pub macs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelStats {
    pub name: String,
    pub opset: i64,
    pub inputs: Vec<(String, String)>,
    pub outputs: Vec<(String, String)>,
    pub nodes: usize,
    /// Op type → count (after any passes that ran).
    pub ops: BTreeMap<String, usize>,
    pub params: u64,
    pub macs: u64,
    pub layers: Vec<NodeStats>,
}

fn numel(dims: &[usize]) -> u64 {
    dims.iter().map(|&d| d as u64).product()
}

/// MACs of one op per inference, where its shapes are known.
pub fn macs(g: &Graph, id: OpId) -> u64 {
    let n = g.node(id);
    let shape_of = |i: usize| -> Option<Vec<usize>> {
        let v = n.inputs.get(i).copied().flatten()?;
        let s = g.value(v).ty.shape.as_ref()?;
        Some(s.iter().map(|d| d.known().unwrap_or(1)).collect())
    };
    let out: Option<Vec<usize>> = g
        .value(n.outputs[0])
        .ty
        .shape
        .as_ref()
        .map(|s| s.iter().map(|d| d.known().unwrap_or(1)).collect());
    let Some(out) = out else { return 0 };
    match &n.op {
        Op::Conv(_) => {
            let Some(w) = shape_of(1) else { return 0 };
            // Each output element sums in_channels/group × kernel area products.
            numel(&out) * numel(&w[1..]).max(1)
        }
        Op::Gemm(a) => {
            let Some(x) = shape_of(0) else { return 0 };
            let k = if a.trans_a { x.first() } else { x.get(1) };
            numel(&out) * k.copied().unwrap_or(0) as u64
        }
        Op::MatMul { .. } => {
            let Some(x) = shape_of(0) else { return 0 };
            numel(&out) * x.last().copied().unwrap_or(0) as u64
        }
        _ => 0,
    }
}

/// Elements of a float weight: a constant, or a ConstantOfShape fill (how some exporters and the
/// ONNX `light` models write weights before folding).
fn weight_elements(g: &Graph, v: crate::ir::ValueId) -> Option<u64> {
    if let Some(t) = g.const_of(v) {
        return t.dtype().is_float().then_some(t.len() as u64);
    }
    let val = g.value(v);
    let p = val.producer?;
    match g.node(p).op {
        Op::ConstantOfShape { .. } if val.ty.dtype.is_float() => Some(numel(&val.ty.concrete()?)),
        _ => None,
    }
}

pub fn model_stats(g: &Graph) -> ModelStats {
    let order = g.topo_order().unwrap_or_else(|_| g.node_ids());
    let mut ops = BTreeMap::new();
    let mut layers = Vec::new();
    let mut counted = BTreeSet::new();
    let (mut params, mut total_macs) = (0u64, 0u64);
    for id in order {
        let n = g.node(id);
        *ops.entry(n.op.name().to_string()).or_insert(0) += 1;
        let mut p = 0;
        for v in n.inputs.iter().flatten() {
            if let Some(k) = weight_elements(g, *v) {
                if counted.insert(*v) {
                    p += k;
                }
            }
        }
        let m = macs(g, id);
        params += p;
        total_macs += m;
        layers.push(NodeStats {
            name: n.name.clone(),
            op: n.op.name().to_string(),
            outputs: n
                .outputs
                .iter()
                .map(|&o| g.value(o).ty.to_string())
                .collect(),
            params: p,
            macs: m,
        });
    }
    let io = |ids: &[crate::ir::ValueId]| {
        ids.iter()
            .map(|&i| (g.value(i).name.clone(), g.value(i).ty.to_string()))
            .collect()
    };
    ModelStats {
        name: g.name.clone(),
        opset: g.opset,
        inputs: io(&g.inputs),
        outputs: io(&g.outputs),
        nodes: g.node_count(),
        ops,
        params,
        macs: total_macs,
        layers,
    }
}
