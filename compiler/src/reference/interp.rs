//! Runs a whole graph on the float reference kernels.
//!
//! Inputs are checked against the graph's declared types first (dtype, rank, fixed dims, and
//! symbolic dims bound consistently across inputs), so a wrong `.npy` is reported by name
//! instead of failing deep inside a kernel. Intermediates are freed after their last use.

use std::collections::{BTreeMap, HashMap};

use super::float;
use crate::error::{Error, Result};
use crate::ir::graph::{Node, ValueKind};
use crate::ir::{Dim, Graph, ValueId};
use crate::tensor::Tensor;

/// Checks the given inputs against the graph inputs and returns the bound symbolic dims.
pub fn bind_inputs(
    g: &Graph,
    inputs: &BTreeMap<String, Tensor>,
) -> Result<BTreeMap<String, usize>> {
    let mut binds: BTreeMap<String, usize> = BTreeMap::new();
    for name in inputs.keys() {
        if !g.inputs.iter().any(|&i| &g.value(i).name == name) {
            let names: Vec<&str> = g.inputs.iter().map(|&i| g.value(i).name.as_str()).collect();
            return Err(Error::Input {
                name: name.clone(),
                msg: format!("the model has no such input; its inputs are {names:?}"),
            });
        }
    }
    for &i in &g.inputs {
        let v = g.value(i);
        let t = inputs.get(&v.name).ok_or_else(|| Error::Input {
            name: v.name.clone(),
            msg: format!("no value given (expected {})", v.ty),
        })?;
        let err = |msg: String| Error::Input {
            name: v.name.clone(),
            msg,
        };
        if t.dtype() != v.ty.dtype {
            return Err(err(format!(
                "expected element type {}, got {}",
                v.ty.dtype,
                t.dtype()
            )));
        }
        let Some(shape) = &v.ty.shape else { continue };
        if shape.len() != t.rank() {
            return Err(err(format!(
                "expected rank {} ({}), got shape {:?}",
                shape.len(),
                v.ty,
                t.shape
            )));
        }
        for (ax, (d, &n)) in shape.iter().zip(&t.shape).enumerate() {
            match d {
                Dim::Known(k) if *k != n => {
                    return Err(err(format!(
                        "axis {ax} must be {k} ({}), got shape {:?}",
                        v.ty, t.shape
                    )))
                }
                Dim::Sym(s) if s != "?" => match binds.get(s) {
                    Some(&b) if b != n => {
                        return Err(err(format!("'{s}' is {b} from another input but {n} here")))
                    }
                    _ => {
                        binds.insert(s.clone(), n);
                    }
                },
                _ => {}
            }
        }
    }
    Ok(binds)
}

/// Runs the graph and returns every graph output by name.
pub fn run(g: &Graph, inputs: &BTreeMap<String, Tensor>) -> Result<BTreeMap<String, Tensor>> {
    run_profiled(g, inputs, &mut |_, _| {})
}

/// Like [`run`], calling `on_op(node name, seconds)` after each op: the per-layer profile of
/// `systole run --profile`.
pub fn run_profiled(
    g: &Graph,
    inputs: &BTreeMap<String, Tensor>,
    on_op: &mut dyn FnMut(&str, f64),
) -> Result<BTreeMap<String, Tensor>> {
    run_observed(g, inputs, &mut |n, _, secs| on_op(&n.name, secs))
}

/// Like [`run`], showing every op's outputs to `on_op(node, outputs, seconds)` before they are
/// stored: calibration streams activation statistics through it without keeping the tensors.
pub fn run_observed(
    g: &Graph,
    inputs: &BTreeMap<String, Tensor>,
    on_op: &mut dyn FnMut(&Node, &[Tensor], f64),
) -> Result<BTreeMap<String, Tensor>> {
    bind_inputs(g, inputs)?;
    let order = g.validated_order()?;
    let mut remaining: HashMap<ValueId, usize> = g.use_counts();
    let mut env: HashMap<ValueId, Tensor> = HashMap::new();
    for &i in &g.inputs {
        env.insert(i, inputs[&g.value(i).name].clone());
    }
    for id in order {
        let n = g.node(id);
        let mut args: Vec<Option<&Tensor>> = Vec::with_capacity(n.inputs.len());
        for i in &n.inputs {
            args.push(match i {
                None => None,
                Some(v) => Some(match &g.value(*v).kind {
                    ValueKind::Const(t) => t,
                    _ => env.get(v).ok_or_else(|| {
                        Error::internal(format!(
                            "'{}' read before it is computed (topological order)",
                            g.value(*v).name
                        ))
                    })?,
                }),
            });
        }
        let t0 = std::time::Instant::now();
        let outs = float::eval(&n.op, &args).map_err(|e| Error::Node {
            node: n.name.clone(),
            op: n.op.name().into(),
            msg: e.0,
        })?;
        on_op(n, &outs, t0.elapsed().as_secs_f64());
        let ins: Vec<ValueId> = n.inputs.iter().flatten().copied().collect();
        for (o, t) in n.outputs.iter().zip(outs) {
            env.insert(*o, t);
        }
        for v in ins {
            if let Some(c) = remaining.get_mut(&v) {
                *c -= 1;
                if *c == 0 && !g.outputs.contains(&v) {
                    env.remove(&v);
                }
            }
        }
    }
    let mut result = BTreeMap::new();
    for &o in &g.outputs {
        let v = g.value(o);
        let t = match &v.kind {
            ValueKind::Const(t) => t.clone(),
            _ => env
                .get(&o)
                .cloned()
                .ok_or_else(|| Error::internal(format!("output '{}' was not computed", v.name)))?,
        };
        result.insert(v.name.clone(), t);
    }
    Ok(result)
}
