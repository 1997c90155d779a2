//! The graph container: ops as petgraph nodes, tensors in an arena of values.
//!
//! Ops live in a `StableGraph` so that passes can delete nodes without renumbering the others
//! (dumps and error messages keep their ids). Values (tensors) live in a plain `Vec` arena behind
//! [`ValueId`]: ONNX lets one tensor feed many consumers and also be a graph output, which an
//! edge-per-tensor representation would duplicate. Edges (producer → consumer, weighted by the
//! value) are derived from node inputs and kept in sync by the mutating methods, so petgraph's
//! algorithms (topological order, cycle detection) work on them.

use petgraph::stable_graph::{NodeIndex, StableGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

use super::op::Op;
use super::types::TensorType;
use crate::tensor::Tensor;

/// Handle of a value (tensor) in [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValueId(pub u32);

/// Handle of an op node in [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub NodeIndex);

impl OpId {
    pub fn index(self) -> usize {
        self.0.index()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    /// A graph input, supplied at run time.
    Input,
    /// A constant: an initializer, a Constant node, or the result of folding.
    Const(Tensor),
    /// Produced by an op.
    Intermediate,
}

/// A quantization the model itself fixed (QDQ pairs from a quantizer or a QAT export), which
/// the quantizer must honour exactly instead of calibrating.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantAnnot {
    /// An activation quantized per tensor: `real = (q - zero_point) · scale`.
    Act {
        scale: f32,
        zero_point: i32,
        bits: u32,
        signed: bool,
    },
    /// A constant whose values are `codes · scales[i]` along `axis` (zero point removed).
    Weight {
        codes: Vec<i32>,
        scales: Vec<f32>,
        axis: usize,
        bits: u32,
    },
}

#[derive(Clone, Debug)]
pub struct Value {
    pub name: String,
    pub ty: TensorType,
    pub kind: ValueKind,
    pub producer: Option<OpId>,
    pub quant: Option<QuantAnnot>,
}

#[derive(Clone, Debug)]
pub struct Node {
    /// The ONNX node name (or a generated `op_N` when the model left it empty).
    pub name: String,
    pub op: Op,
    /// ONNX order; `None` for an absent optional input.
    pub inputs: Vec<Option<ValueId>>,
    pub outputs: Vec<ValueId>,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub name: String,
    /// Opset of the default ONNX domain the model was imported at.
    pub opset: i64,
    g: StableGraph<Node, ValueId>,
    values: Vec<Value>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

impl Graph {
    pub fn new(name: impl Into<String>, opset: i64) -> Graph {
        Graph {
            name: name.into(),
            opset,
            ..Default::default()
        }
    }

    pub fn add_value(
        &mut self,
        name: impl Into<String>,
        ty: TensorType,
        kind: ValueKind,
    ) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(Value {
            name: name.into(),
            ty,
            kind,
            producer: None,
            quant: None,
        });
        id
    }

    pub fn add_const(&mut self, name: impl Into<String>, t: Tensor) -> ValueId {
        let ty = TensorType::known(t.dtype(), &t.shape);
        self.add_value(name, ty, ValueKind::Const(t))
    }

    /// Adds an op; its outputs' producer is set and edges from its inputs' producers are added.
    pub fn add_node(&mut self, node: Node) -> OpId {
        let outputs = node.outputs.clone();
        let inputs: Vec<ValueId> = node.inputs.iter().flatten().copied().collect();
        let id = OpId(self.g.add_node(node));
        for o in outputs {
            self.values[o.0 as usize].producer = Some(id);
        }
        for i in inputs {
            if let Some(p) = self.values[i.0 as usize].producer {
                self.g.add_edge(p.0, id.0, i);
            }
        }
        id
    }

    /// Removes an op. Its outputs lose their producer; consumers must have been rewired first.
    pub fn remove_node(&mut self, id: OpId) -> Option<Node> {
        let node = self.g.remove_node(id.0)?;
        for o in &node.outputs {
            let v = &mut self.values[o.0 as usize];
            if v.producer == Some(id) {
                v.producer = None;
            }
        }
        Some(node)
    }

    pub fn node(&self, id: OpId) -> &Node {
        &self.g[id.0]
    }

    pub fn try_node(&self, id: OpId) -> Option<&Node> {
        self.g.node_weight(id.0)
    }

    /// Mutable access to a node. Call [`Graph::rebuild_edges`] after changing its inputs.
    pub fn node_mut(&mut self, id: OpId) -> &mut Node {
        &mut self.g[id.0]
    }

    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.0 as usize]
    }

    pub fn value_mut(&mut self, id: ValueId) -> &mut Value {
        &mut self.values[id.0 as usize]
    }

    pub fn values_len(&self) -> usize {
        self.values.len()
    }

    pub fn value_ids(&self) -> impl Iterator<Item = ValueId> {
        (0..self.values.len() as u32).map(ValueId)
    }

    pub fn const_of(&self, id: ValueId) -> Option<&Tensor> {
        match &self.values[id.0 as usize].kind {
            ValueKind::Const(t) => Some(t),
            _ => None,
        }
    }

    /// Node ids in index order (stable across removals).
    pub fn node_ids(&self) -> Vec<OpId> {
        let mut v: Vec<OpId> = self.g.node_indices().map(OpId).collect();
        v.sort();
        v
    }

    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// Consumers of a value as (op, input slot), in node order.
    ///
    /// A produced value is looked up through its producer's out-edges, which carry the value:
    /// the cost is the producer's fan-out, not the graph's size. A full scan per lookup made
    /// `fuse-activation` quadratic (a 40,000-node chain took 30 s, 150,000 nodes hung). Values
    /// without a producer (graph inputs, constants) have no edges and are found by a scan.
    pub fn consumers(&self, v: ValueId) -> Vec<(OpId, usize)> {
        let nodes: Vec<OpId> = match self.live_producer(v) {
            Some(p) => {
                let mut t: Vec<OpId> = self
                    .g
                    .edges_directed(p.0, Direction::Outgoing)
                    .filter(|e| *e.weight() == v)
                    .map(|e| OpId(e.target()))
                    .collect();
                t.sort();
                t.dedup();
                t
            }
            None => self.node_ids(),
        };
        let mut out = Vec::new();
        for id in nodes {
            for (slot, i) in self.g[id.0].inputs.iter().enumerate() {
                if *i == Some(v) {
                    out.push((id, slot));
                }
            }
        }
        out
    }

    /// The producer of `v` when it is still in the graph.
    fn live_producer(&self, v: ValueId) -> Option<OpId> {
        self.value(v).producer.filter(|p| self.g.contains_node(p.0))
    }

    /// Use counts of every value (op inputs plus graph outputs), computed in one sweep.
    pub fn use_counts(&self) -> HashMap<ValueId, usize> {
        let mut m = HashMap::new();
        for n in self.g.node_weights() {
            for i in n.inputs.iter().flatten() {
                *m.entry(*i).or_insert(0) += 1;
            }
        }
        for o in &self.outputs {
            *m.entry(*o).or_insert(0) += 1;
        }
        m
    }

    /// Points every use of `old` (op inputs and graph outputs) at `new`, updating only the edges
    /// of the ops that read `old`.
    pub fn replace_all_uses(&mut self, old: ValueId, new: ValueId) {
        let mut readers: Vec<OpId> = self.consumers(old).into_iter().map(|(c, _)| c).collect();
        readers.dedup();
        let from = self.live_producer(new);
        for c in readers {
            let stale: Vec<_> = self
                .g
                .edges_directed(c.0, Direction::Incoming)
                .filter(|e| *e.weight() == old)
                .map(|e| e.id())
                .collect();
            for e in stale {
                self.g.remove_edge(e);
            }
            let mut uses = 0;
            for i in self.g[c.0].inputs.iter_mut() {
                if *i == Some(old) {
                    *i = Some(new);
                    uses += 1;
                }
            }
            if let Some(p) = from {
                for _ in 0..uses {
                    self.g.add_edge(p.0, c.0, new);
                }
            }
        }
        for o in self.outputs.iter_mut() {
            if *o == old {
                *o = new;
            }
        }
    }

    /// The producer of `x` when `x` feeds exactly one op and is not a graph output: the
    /// condition under which a pass may merge that op into the producer.
    pub fn sole_producer(&self, x: ValueId) -> Option<OpId> {
        let p = self.value(x).producer?;
        (self.consumers(x).len() == 1 && !self.outputs.contains(&x)).then_some(p)
    }

    /// Removes op `id`, which reads `x` and writes `y`, and makes `x`'s producer write `y`
    /// instead: how fusion and folding passes merge an op into the one before it while the
    /// value downstream ops and graph outputs refer to keeps its id and name.
    pub fn absorb_into_producer(&mut self, id: OpId, x: ValueId, y: ValueId) {
        let Some(p) = self.live_producer(x) else {
            return;
        };
        // The readers of `y` move from `id` to `p`; only their edges change.
        let moved: Vec<(NodeIndex, ValueId)> = self
            .g
            .edges_directed(id.0, Direction::Outgoing)
            .map(|e| (e.target(), *e.weight()))
            .collect();
        self.remove_node(id);
        for o in self.node_mut(p).outputs.iter_mut() {
            if *o == x {
                *o = y;
            }
        }
        self.value_mut(x).producer = None;
        self.value_mut(y).producer = Some(p);
        for (t, w) in moved {
            if w == y {
                self.g.add_edge(p.0, t, y);
            }
        }
    }

    /// Recomputes the producer → consumer edges from node inputs.
    pub fn rebuild_edges(&mut self) {
        self.g.clear_edges();
        let ids = self.node_ids();
        for id in &ids {
            for o in self.g[id.0].outputs.clone() {
                self.values[o.0 as usize].producer = Some(*id);
            }
        }
        for id in ids {
            let ins: Vec<ValueId> = self.g[id.0].inputs.iter().flatten().copied().collect();
            for i in ins {
                if let Some(p) = self.values[i.0 as usize].producer {
                    if self.g.contains_node(p.0) {
                        self.g.add_edge(p.0, id.0, i);
                    }
                }
            }
        }
    }

    /// [`Graph::topo_order`] of a graph that was validated (the frontend refuses a cycle): a
    /// cycle here was made by a pass, so it is an internal error naming the ops on it.
    pub fn validated_order(&self) -> crate::Result<Vec<OpId>> {
        self.topo_order().map_err(|cycle| {
            let names: Vec<&str> = cycle.iter().map(|c| self.node(*c).name.as_str()).collect();
            crate::Error::internal(format!(
                "graph '{}' has a cycle through nodes {names:?}",
                self.name
            ))
        })
    }

    /// Ops in a deterministic topological order (Kahn's algorithm, smallest index first), or the
    /// ops on a cycle if there is one.
    pub fn topo_order(&self) -> Result<Vec<OpId>, Vec<OpId>> {
        let mut indeg: HashMap<NodeIndex, usize> = HashMap::new();
        for n in self.g.node_indices() {
            indeg.insert(n, self.g.edges_directed(n, Direction::Incoming).count());
        }
        let mut ready: BTreeSet<NodeIndex> = indeg
            .iter()
            .filter(|(_, &d)| d == 0)
            .map(|(&n, _)| n)
            .collect();
        let mut order = Vec::with_capacity(indeg.len());
        while let Some(n) = ready.pop_first() {
            order.push(OpId(n));
            for e in self.g.edges_directed(n, Direction::Outgoing) {
                let t = e.target();
                if let Some(d) = indeg.get_mut(&t) {
                    *d -= 1;
                    if *d == 0 {
                        ready.insert(t);
                    }
                }
            }
        }
        if order.len() == self.g.node_count() {
            Ok(order)
        } else {
            let done: BTreeSet<NodeIndex> = order.iter().map(|o| o.0).collect();
            let mut rest: Vec<OpId> = self
                .g
                .node_indices()
                .filter(|n| !done.contains(n))
                .map(OpId)
                .collect();
            rest.sort();
            Err(rest)
        }
    }

    /// Number of edges, for validation and tests.
    pub fn edge_count(&self) -> usize {
        self.g.edge_count()
    }

    /// Finds a value by name (linear: for tests, the CLI and error messages).
    pub fn find_value(&self, name: &str) -> Option<ValueId> {
        self.values
            .iter()
            .position(|v| v.name == name)
            .map(|i| ValueId(i as u32))
    }

    /// The underlying petgraph, for analyses that want graph algorithms.
    pub fn petgraph(&self) -> &StableGraph<Node, ValueId> {
        &self.g
    }
}
