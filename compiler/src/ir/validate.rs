//! The graph verifier: run after the frontend and, in tests and with `--verify`, between passes.

use std::collections::HashSet;

use super::graph::{Graph, ValueKind};
use super::op::Op;
use crate::error::{Error, Result};

/// (minimum, maximum) number of inputs an op accepts.
fn arity(op: &Op) -> (usize, usize) {
    match op {
        Op::Gemm(_) => (2, 3),
        Op::MatMul { .. } | Op::Binary(_) | Op::Reshape { .. } | Op::Gather { .. } => (2, 2),
        Op::Unsqueeze | Op::Equal | Op::Expand => (2, 2),
        Op::Where => (3, 3),
        Op::QonnxQuant { .. } => (4, 4),
        Op::And | Op::GreaterOrEqual | Op::GatherNd { .. } => (2, 2),
        Op::Range => (3, 3),
        Op::Max => (1, usize::MAX),
        Op::LayerNormalization { .. } => (2, 3),
        Op::ReduceSum { .. } => (1, 2),
        Op::Conv(_) => (2, 3),
        Op::Clip => (1, 3),
        Op::BatchNormalization { .. } => (5, 5),
        Op::Sum | Op::Concat { .. } => (1, usize::MAX),
        Op::Dropout => (1, 3),
        Op::Squeeze => (1, 2),
        Op::Slice => (3, 5),
        Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. } => (2, 3),
        _ => (1, 1),
    }
}

impl Graph {
    /// Checks the structural invariants every pass relies on: handles in range, each value
    /// produced once, every input defined, outputs defined, no cycle, edges in sync, arities.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Graph { msg });
        let n_values = self.values_len();
        let mut produced = HashSet::new();
        for id in self.node_ids() {
            let n = self.node(id);
            let (lo, hi) = arity(&n.op);
            if n.inputs.len() < lo || n.inputs.len() > hi {
                return bad(format!(
                    "node '{}' ({}) has {} inputs; expected {}..={}",
                    n.name,
                    n.op.name(),
                    n.inputs.len(),
                    lo,
                    hi
                ));
            }
            for o in &n.outputs {
                if o.0 as usize >= n_values {
                    return bad(format!("node '{}' writes an unknown value {:?}", n.name, o));
                }
                if !produced.insert(*o) {
                    return bad(format!("value '{}' is produced twice", self.value(*o).name));
                }
                if self.value(*o).producer != Some(id) {
                    return bad(format!(
                        "value '{}' does not record its producer",
                        self.value(*o).name
                    ));
                }
            }
        }
        let mut edges = 0;
        for id in self.node_ids() {
            let n = self.node(id);
            for i in n.inputs.iter().flatten() {
                if i.0 as usize >= n_values {
                    return bad(format!("node '{}' reads an unknown value {:?}", n.name, i));
                }
                let v = self.value(*i);
                match (&v.kind, v.producer) {
                    (ValueKind::Input | ValueKind::Const(_), _) => {}
                    (ValueKind::Intermediate, Some(p)) if self.try_node(p).is_some() => edges += 1,
                    _ => {
                        return bad(format!(
                            "node '{}' reads '{}', which nothing produces",
                            n.name, v.name
                        ))
                    }
                }
            }
        }
        for o in &self.outputs {
            let v = self.value(*o);
            let defined = match v.kind {
                ValueKind::Intermediate => v.producer.is_some_and(|p| self.try_node(p).is_some()),
                _ => true,
            };
            if !defined {
                return bad(format!("graph output '{}' is not produced", v.name));
            }
        }
        if edges != self.edge_count() {
            return bad(format!(
                "{} edges but {} producer→consumer uses",
                self.edge_count(),
                edges
            ));
        }
        if let Err(cycle) = self.topo_order() {
            let names: Vec<&str> = cycle.iter().map(|c| self.node(*c).name.as_str()).collect();
            return bad(format!("cycle through nodes {names:?}"));
        }
        Ok(())
    }
}
