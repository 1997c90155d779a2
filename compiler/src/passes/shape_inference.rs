//! Pass `infer-shapes`: gives every value a type from its producer's inputs.

use crate::error::{Error, Result};
use crate::ir::shape::infer;
use crate::ir::types::{Dim, TensorType};
use crate::ir::Graph;

/// Keeps what is known in either: inference wins, but a `?` it produced is filled from the
/// type the model declared (exporters often know output shapes that depend on data).
fn merge(inferred: TensorType, declared: &TensorType) -> TensorType {
    match (&inferred.shape, &declared.shape) {
        (None, Some(_)) if inferred.dtype == declared.dtype => declared.clone(),
        (Some(a), Some(b)) if a.len() == b.len() => TensorType {
            dtype: inferred.dtype,
            shape: Some(
                a.iter()
                    .zip(b)
                    .map(|(x, y)| match x {
                        Dim::Sym(s) if s == "?" => y.clone(),
                        _ => x.clone(),
                    })
                    .collect(),
            ),
        },
        _ => inferred,
    }
}

pub fn infer_all(g: &mut Graph) -> Result<()> {
    let order = g.validated_order()?;
    for id in order {
        let tys = infer(g, id).map_err(|source| {
            let n = g.node(id);
            Error::Shape {
                node: n.name.clone(),
                op: n.op.name().into(),
                source,
            }
        })?;
        let outs = g.node(id).outputs.clone();
        for (o, ty) in outs.into_iter().zip(tys) {
            let declared = g.value(o).ty.clone();
            let ty = merge(ty, &declared);
            // A shape computed from attributes or constants can be astronomically large
            // (a corrupt Reshape target, a huge ConstantOfShape): refuse it before a kernel
            // allocates it. Symbolic dimensions count as 1.
            if let Some(shape) = &ty.shape {
                let n = shape
                    .iter()
                    .map(|d| d.known().unwrap_or(1) as u128)
                    .fold(1u128, |a, b| a.saturating_mul(b));
                systole_hw::limits::MAX_TENSOR_ELEMENTS
                    .check(n)
                    .map_err(|m| Error::Tensor {
                        name: g.value(o).name.clone(),
                        msg: format!("shape {ty} (made by node '{}'): {m}", g.node(id).name),
                    })?;
            }
            g.value_mut(o).ty = ty;
        }
    }
    Ok(())
}
