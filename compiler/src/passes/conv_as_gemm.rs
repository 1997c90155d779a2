//! Pass `conv-as-gemm`: records each convolution's GEMM view (im2col parameters). The patch
//! matrix is never built; the scheduler tiles this view onto the array.

use crate::error::Result;
use crate::ir::op::{Im2col, Op};
use crate::ir::Graph;

pub fn run(g: &mut Graph) -> Result<()> {
    for id in g.node_ids() {
        let n = g.node(id);
        let Op::Conv(c) = &n.op else { continue };
        let (Some(w), Some(y)) = (
            n.inputs
                .get(1)
                .copied()
                .flatten()
                .and_then(|v| g.value(v).ty.concrete()),
            g.value(n.outputs[0]).ty.shape.clone(),
        ) else {
            continue;
        };
        let spatial: Option<usize> = y.iter().skip(2).map(|d| d.known()).product();
        let Some(npix) = spatial else { continue };
        let group = c.group.max(1);
        let view = Im2col {
            m: w[0] / group,
            k: w[1..].iter().product(),
            n: npix,
            groups: group,
        };
        if let Op::Conv(c) = &mut g.node_mut(id).op {
            c.im2col = Some(view);
        }
    }
    Ok(())
}
