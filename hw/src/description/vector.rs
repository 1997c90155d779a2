//! The vector unit beside the array: elementwise and reduction ops on its outputs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::Invalid;

/// Most lanes a vector unit may have.
pub const MAX_VECTOR_LANES: u32 = 4096;
/// Most cycles one op may take per group of `lanes` elements.
pub const MAX_OP_CYCLES: u32 = 4096;

/// An operation the vector unit can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VectorOp {
    Relu,
    Relu6,
    Sigmoid,
    Tanh,
    MaxPool,
    AvgPool,
    Add,
    Mul,
    Requantize,
    Softmax,
    LayerNorm,
    Gelu,
    /// A max-reduction of `|x − z|` over a row with a leading-zero count at its end: the
    /// per-row exponent of dynamic quantization, one op per input element.
    RowMax,
}

/// The vector (post-processing) unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorUnit {
    /// Elements processed per cycle.
    #[serde(default = "default_lanes")]
    pub lanes: u32,
    /// Operations it supports; a layer needing another one is refused by the scheduler.
    #[serde(default = "default_ops")]
    pub ops: Vec<VectorOp>,
    /// Cycles per op for each group of `lanes` elements, unless `op_cycles` says otherwise.
    #[serde(default = "one")]
    pub cycles_per_op: u32,
    /// Per-op exceptions to `cycles_per_op`, e.g. `{Softmax: 4}`.
    #[serde(default)]
    pub op_cycles: BTreeMap<VectorOp, u32>,
}

fn default_lanes() -> u32 {
    16
}
fn default_ops() -> Vec<VectorOp> {
    vec![VectorOp::Relu, VectorOp::Requantize]
}
fn one() -> u32 {
    1
}

impl Default for VectorUnit {
    /// 16 lanes, ReLU and requantization, one cycle each.
    fn default() -> Self {
        VectorUnit {
            lanes: default_lanes(),
            ops: default_ops(),
            cycles_per_op: one(),
            op_cycles: BTreeMap::new(),
        }
    }
}

impl VectorUnit {
    pub fn supports(&self, op: VectorOp) -> bool {
        self.ops.contains(&op)
    }

    /// Cycles `op` takes per group of `lanes` elements, or `None` if it is not supported.
    pub fn cycles_for(&self, op: VectorOp) -> Option<u32> {
        self.supports(op)
            .then(|| *self.op_cycles.get(&op).unwrap_or(&self.cycles_per_op))
    }

    /// Cycles to apply `op` to `elements` values, or `None` if it is not supported.
    pub fn cycles_for_elements(&self, op: VectorOp, elements: u64) -> Option<u64> {
        let per = u64::from(self.cycles_for(op)?);
        Some(elements.div_ceil(u64::from(self.lanes)) * per)
    }

    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        if self.lanes == 0 || self.lanes > MAX_VECTOR_LANES {
            return Err(Invalid::new(
                "vector.lanes",
                format!("{} is not in 1..={MAX_VECTOR_LANES}", self.lanes),
            ));
        }
        for (i, op) in self.ops.iter().enumerate() {
            if self.ops[..i].contains(op) {
                return Err(Invalid::new(
                    format!("vector.ops[{i}]"),
                    format!("{op:?} is listed twice"),
                ));
            }
        }
        let in_range = |c: u32| (1..=MAX_OP_CYCLES).contains(&c);
        if !in_range(self.cycles_per_op) {
            return Err(Invalid::new(
                "vector.cycles_per_op",
                format!("{} is not in 1..={MAX_OP_CYCLES}", self.cycles_per_op),
            ));
        }
        for (op, &c) in &self.op_cycles {
            let field = format!("vector.op_cycles.{op:?}");
            if !self.supports(*op) {
                return Err(Invalid::new(field, format!("{op:?} is not in vector.ops")));
            }
            if !in_range(c) {
                return Err(Invalid::new(
                    field,
                    format!("{c} is not in 1..={MAX_OP_CYCLES}"),
                ));
            }
        }
        Ok(())
    }
}
