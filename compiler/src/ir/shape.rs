//! Static shape inference with symbolic dimensions.
//!
//! A symbolic dimension (`N`, `batch`) flows through the graph as a name; products of symbols
//! and numbers (what Flatten and Reshape make) are written `N*16`. `?` stands for a dimension that
//! depends on data this pass cannot see. `run` binds the real sizes later, so a symbol here never
//! limits what can execute.

use super::graph::{Graph, OpId};
use super::op::{AutoPad, ConvAttrs, Op, PoolAttrs, WindowAttrs};
use super::shape_transformer as st;
use super::types::{Dim, TensorType};
use crate::error::ShapeError;
use crate::tensor::{DType, Tensor};

/// What shape inference answers: a value or why the op's inputs or attributes do not fit.
pub type ShapeResult<T> = std::result::Result<T, ShapeError>;

/// A product of dimensions: a known factor times a sorted list of symbols.
#[derive(Clone, Debug, PartialEq)]
struct Prod {
    k: usize,
    syms: Vec<String>,
}

fn prod(dims: &[Dim]) -> Prod {
    let mut p = Prod { k: 1, syms: vec![] };
    for d in dims {
        match d {
            // Saturating: a product past usize (a hostile Reshape to [2^62, 2^62]) must reach
            // the element limit's refusal, not overflow here.
            Dim::Known(n) => p.k = p.k.saturating_mul(*n),
            Dim::Sym(s) => p.syms.extend(s.split('*').map(|x| x.to_string())),
        }
    }
    // A symbol spelled as a number after splitting ("N*16") folds back into k.
    let mut syms = Vec::new();
    for s in p.syms {
        match s.parse::<usize>() {
            Ok(n) => p.k = p.k.saturating_mul(n),
            Err(_) => syms.push(s),
        }
    }
    syms.sort();
    Prod { k: p.k, syms }
}

fn to_dim(p: &Prod) -> Dim {
    if p.syms.is_empty() {
        return Dim::Known(p.k);
    }
    if p.syms.iter().any(|s| s == "?") {
        return Dim::Sym("?".into());
    }
    let mut parts = p.syms.clone();
    if p.k != 1 {
        parts.push(p.k.to_string());
    }
    Dim::Sym(parts.join("*"))
}

fn unknown() -> Dim {
    Dim::Sym("?".into())
}

/// Broadcasts two shapes the ONNX (numpy) way.
pub fn broadcast(a: &[Dim], b: &[Dim]) -> ShapeResult<Vec<Dim>> {
    let r = a.len().max(b.len());
    let mut out = Vec::with_capacity(r);
    for i in 0..r {
        let da = if i + a.len() >= r {
            Some(&a[i + a.len() - r])
        } else {
            None
        };
        let db = if i + b.len() >= r {
            Some(&b[i + b.len() - r])
        } else {
            None
        };
        let d = match (da, db) {
            (Some(x), None) | (None, Some(x)) => x.clone(),
            (Some(x), Some(y)) => match (x, y) {
                (Dim::Known(1), o) | (o, Dim::Known(1)) => o.clone(),
                (Dim::Known(p), Dim::Known(q)) if p == q => x.clone(),
                (Dim::Known(p), Dim::Known(q)) => {
                    return Err(ShapeError::Broadcast {
                        a: a.to_vec(),
                        b: b.to_vec(),
                        p: *p,
                        q: *q,
                    })
                }
                (Dim::Sym(_), _) if x == y => x.clone(),
                (Dim::Known(_), Dim::Sym(_)) => x.clone(),
                (Dim::Sym(_), _) => y.clone(),
            },
            (None, None) => unreachable!("i < max rank"),
        };
        out.push(d);
    }
    Ok(out)
}

pub(crate) fn norm_axis(axis: i64, rank: usize) -> ShapeResult<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(ShapeError::Axis { axis, rank });
    }
    Ok(a as usize)
}

/// Output spatial size of sliding window `w` (conv or pool) along spatial axis `axis` of an
/// input of size `input` there.
///
/// Every sum and product is checked: attributes come from the file, and pads of 2^63 − 1 used
/// to wrap `input + pads` to a small span, giving a plausible shape and a run of zeros with
/// exit 0. An overflow is refused naming the attribute.
pub fn window_out(input: usize, w: &WindowAttrs, axis: usize) -> ShapeResult<usize> {
    let nd = w.kernel.len();
    let kernel = w.kernel[axis];
    let stride = w.strides.get(axis).copied().unwrap_or(1);
    let dilation = w.dilations.get(axis).copied().unwrap_or(1);
    let pad_begin = w.pads.get(axis).copied().unwrap_or(0);
    let pad_end = w.pads.get(axis + nd).copied().unwrap_or(0);
    let (auto_pad, ceil_mode) = (w.auto_pad, w.ceil_mode);
    let eff = (kernel.max(1) - 1)
        .checked_mul(dilation)
        .and_then(|e| e.checked_add(1))
        .ok_or_else(|| {
            ShapeError::Attributes(format!(
                "attributes 'kernel_shape' {kernel} and 'dilations' {dilation}: the window's \
                 extent overflows a 64-bit size"
            ))
        })?;
    let stride = stride.max(1);
    match auto_pad {
        AutoPad::SameUpper | AutoPad::SameLower => Ok(input.div_ceil(stride)),
        AutoPad::Valid => {
            if input < eff {
                return Err(ShapeError::Attributes(format!(
                    "window {eff} is larger than the input {input}"
                )));
            }
            Ok((input - eff) / stride + 1)
        }
        AutoPad::NotSet => {
            let span = input
                .checked_add(pad_begin)
                .and_then(|s| s.checked_add(pad_end))
                .ok_or_else(|| {
                    ShapeError::Attributes(format!(
                        "attribute 'pads' [{pad_begin}, {pad_end}]: the padded input \
                         ({input} + pads) overflows a 64-bit size"
                    ))
                })?;
            if span < eff {
                return Err(ShapeError::Attributes(format!(
                    "window {eff} is larger than the padded input {span}"
                )));
            }
            let mut out = if ceil_mode {
                (span - eff).div_ceil(stride) + 1
            } else {
                (span - eff) / stride + 1
            };
            // A window that would start entirely in the end padding is dropped (ONNX, PyTorch).
            if ceil_mode && (out - 1) * stride >= input + pad_begin {
                out -= 1;
            }
            Ok(out)
        }
    }
}

fn spatial_out(x: &[Dim], w: &WindowAttrs) -> ShapeResult<Vec<Dim>> {
    let sp = x.len().saturating_sub(2);
    if w.kernel.len() != sp {
        return Err(ShapeError::Attributes(format!(
            "kernel_shape has {} dims but the input has {} spatial dims",
            w.kernel.len(),
            sp
        )));
    }
    let mut out = Vec::new();
    for i in 0..sp {
        match x[2 + i].known() {
            None => out.push(unknown()),
            Some(n) => out.push(Dim::Known(window_out(n, w, i)?)),
        }
    }
    Ok(out)
}

fn conv_shape(c: &ConvAttrs, x: &[Dim], w: &[Dim]) -> ShapeResult<Vec<Dim>> {
    if x.len() < 3 || w.len() != x.len() {
        return Err(ShapeError::InputShapes(format!(
            "Conv wants X of rank ≥ 3 and W of the same rank; got {x:?} and {w:?}"
        )));
    }
    let kernel: Vec<usize> = if c.kernel_shape.is_empty() {
        w[2..]
            .iter()
            .map(|d| {
                d.known()
                    .ok_or_else(|| ShapeError::InputShapes("W has a symbolic kernel size".into()))
            })
            .collect::<Result<_, _>>()?
    } else {
        // The attribute is optional and must agree with W: a kernel_shape of 5 over a 3×3 W
        // used to pass `inspect` and fail only at run time.
        if c.kernel_shape.len() != w.len() - 2
            || c.kernel_shape
                .iter()
                .zip(&w[2..])
                .any(|(k, d)| d.known().is_some_and(|d| d != *k))
        {
            return Err(ShapeError::Attributes(format!(
                "attribute 'kernel_shape' {:?} disagrees with W's spatial dimensions {:?}",
                c.kernel_shape,
                &w[2..]
            )));
        }
        c.kernel_shape.clone()
    };
    if let (Some(cx), Some(cw)) = (x[1].known(), w[1].known()) {
        if cx != cw * c.group {
            return Err(ShapeError::InputShapes(format!(
                "input has {cx} channels but W expects {} ({} per group × group {})",
                cw * c.group,
                cw,
                c.group
            )));
        }
    }
    let mut out = vec![x[0].clone(), w[0].clone()];
    out.extend(spatial_out(x, &c.window(&kernel))?);
    Ok(out)
}

fn pool_shape(p: &PoolAttrs, x: &[Dim]) -> ShapeResult<Vec<Dim>> {
    if x.len() < 3 {
        return Err(ShapeError::InputShapes(format!(
            "pooling wants rank ≥ 3; got {x:?}"
        )));
    }
    let mut out = vec![x[0].clone(), x[1].clone()];
    out.extend(spatial_out(x, &p.window())?);
    Ok(out)
}

fn matmul_shape(a: &[Dim], b: &[Dim]) -> ShapeResult<Vec<Dim>> {
    if a.is_empty() || b.is_empty() {
        return Err(ShapeError::InputShapes(
            "MatMul inputs must have rank ≥ 1".into(),
        ));
    }
    let a2: Vec<Dim> = if a.len() == 1 {
        vec![Dim::Known(1), a[0].clone()]
    } else {
        a.to_vec()
    };
    let b2: Vec<Dim> = if b.len() == 1 {
        vec![b[0].clone(), Dim::Known(1)]
    } else {
        b.to_vec()
    };
    let (ka, kb) = (&a2[a2.len() - 1], &b2[b2.len() - 2]);
    if let (Some(x), Some(y)) = (ka.known(), kb.known()) {
        if x != y {
            return Err(ShapeError::InputShapes(format!(
                "inner dimensions differ: {a:?} · {b:?}"
            )));
        }
    }
    let mut out = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
    if a.len() > 1 {
        out.push(a2[a2.len() - 2].clone());
    }
    if b.len() > 1 {
        out.push(b2[b2.len() - 1].clone());
    }
    Ok(out)
}

fn reshape_shape(x: &[Dim], target: &[i64], allowzero: bool) -> ShapeResult<Vec<Dim>> {
    let mut out = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 => {
                if infer_at.replace(i).is_some() {
                    return Err(ShapeError::Attributes(
                        "more than one -1 in the target shape".into(),
                    ));
                }
                out.push(Dim::Known(1));
            }
            0 if !allowzero => out.push(x.get(i).cloned().ok_or_else(|| {
                ShapeError::Attributes(format!(
                    "0 at position {i} copies a dimension the input lacks"
                ))
            })?),
            t if t < 0 => {
                return Err(ShapeError::Attributes(format!(
                    "invalid target dimension {t}"
                )))
            }
            t => out.push(Dim::Known(t as usize)),
        }
    }
    let pin = prod(x);
    if let Some(at) = infer_at {
        let pout = prod(&out);
        let mut syms = pin.syms.clone();
        for s in &pout.syms {
            match syms.iter().position(|x| x == s) {
                Some(p) => {
                    syms.remove(p);
                }
                None => {
                    out[at] = unknown();
                    return Ok(out);
                }
            }
        }
        if pout.k == 0 || !pin.k.is_multiple_of(pout.k) {
            return Err(ShapeError::Attributes(format!(
                "cannot reshape {x:?} to {target:?}"
            )));
        }
        out[at] = to_dim(&Prod {
            k: pin.k / pout.k,
            syms,
        });
    } else {
        let pout = prod(&out);
        if pin.syms.is_empty() && pout.syms.is_empty() && pin.k != pout.k {
            return Err(ShapeError::Attributes(format!(
                "cannot reshape {x:?} ({} elements) to {target:?}",
                pin.k
            )));
        }
    }
    Ok(out)
}

/// Output shape of a Slice with constant starts and ends. Axes outside the rank, a repeated
/// axis, a step of 0 and lists of different lengths are refused, as onnxruntime refuses them:
/// an unknown shape here let the run fail later with a less precise message.
fn slice_shape(x: &[Dim], consts: &[Option<&Tensor>]) -> ShapeResult<Vec<Dim>> {
    let (Some(starts), Some(ends)) = (
        consts.get(1).copied().flatten(),
        consts.get(2).copied().flatten(),
    ) else {
        return Ok(vec![unknown(); x.len()]);
    };
    let starts = starts.to_i64_vec();
    let ends = ends.to_i64_vec();
    let axes: Vec<i64> = match consts.get(3).copied().flatten() {
        Some(a) => a.to_i64_vec(),
        None => (0..starts.len() as i64).collect(),
    };
    let steps: Vec<i64> = match consts.get(4).copied().flatten() {
        Some(s) => s.to_i64_vec(),
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(ShapeError::Attributes(format!(
            "inputs 'starts', 'ends', 'axes' and 'steps' have {}, {}, {} and {} values, \
             expected one each per sliced axis",
            starts.len(),
            ends.len(),
            axes.len(),
            steps.len()
        )));
    }
    let mut out = x.to_vec();
    let mut seen = vec![false; x.len()];
    for (j, &ax) in axes.iter().enumerate() {
        let a = norm_axis(ax, x.len())
            .map_err(|e| ShapeError::Attributes(format!("input 'axes': {e}")))?;
        if std::mem::replace(&mut seen[a], true) {
            return Err(ShapeError::Attributes(format!(
                "input 'axes' names axis {ax} twice"
            )));
        }
        let Some(n) = x[a].known() else {
            out[a] = unknown();
            continue;
        };
        let n = n as i64;
        let step = steps.get(j).copied().unwrap_or(1);
        if step == 0 {
            return Err(ShapeError::Attributes(format!(
                "input 'steps' is 0 for axis {ax}, expected a non-zero step"
            )));
        }
        let clampi = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
        let (mut s, mut e) = (starts[j], ends[j]);
        if s < 0 {
            s += n;
        }
        if e < 0 {
            e += n;
        }
        // In i128: a step of -2^63 cannot be negated in i64, nor `e - s + step - 1` summed.
        let step = i128::from(step);
        let len = if step > 0 {
            let (s, e) = (clampi(s, 0, n), clampi(e, 0, n));
            if e > s {
                (i128::from(e - s) + step - 1) / step
            } else {
                0
            }
        } else {
            let (s, e) = (clampi(s, 0, n - 1), clampi(e, -1, n - 1));
            if s > e {
                (i128::from(s - e) - step - 1) / (-step)
            } else {
                0
            }
        };
        out[a] = Dim::Known(len as usize);
    }
    Ok(out)
}

/// A quantizer's scales: positive and finite (a scale of 0 divides by zero, a negative one
/// flips the sign of every value).
fn check_scales(v: &[f32]) -> ShapeResult<()> {
    match v.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
        Some(i) => Err(ShapeError::InputShapes(format!(
            "input 'scale' element {i} is {}; expected a positive, finite scale",
            v[i]
        ))),
        None => Ok(()),
    }
}

/// Infers the output types of op `id` from its input types and any constant inputs.
pub fn infer(g: &Graph, id: OpId) -> ShapeResult<Vec<TensorType>> {
    let node = g.node(id);
    let tys: Vec<Option<&TensorType>> = node
        .inputs
        .iter()
        .map(|i| i.map(|v| &g.value(v).ty))
        .collect();
    let consts: Vec<Option<&Tensor>> = node
        .inputs
        .iter()
        .map(|i| i.and_then(|v| g.const_of(v)))
        .collect();
    let ty = |i: usize| -> ShapeResult<&TensorType> {
        tys.get(i)
            .copied()
            .flatten()
            .ok_or(ShapeError::MissingInput(i))
    };
    let shp = |i: usize| -> ShapeResult<Option<&Vec<Dim>>> { Ok(ty(i)?.shape.as_ref()) };
    let same = |dtype: DType, s: Option<&Vec<Dim>>| TensorType {
        dtype,
        shape: s.cloned(),
    };

    // A quantizer whose scale is a vector (one per channel of `axis`), not a scalar.
    let per_axis = tys
        .get(1)
        .copied()
        .flatten()
        .and_then(|t| t.shape.as_ref())
        .is_some_and(|s| s.iter().any(|d| d.known() != Some(1)));
    let out = match &node.op {
        Op::Unary(_) | Op::LeakyRelu { .. } | Op::Clip | Op::Dropout | Op::Lrn { .. } => {
            same(ty(0)?.dtype, shp(0)?)
        }
        Op::Softmax { axis, .. } => {
            if let Some(x) = shp(0)? {
                norm_axis(*axis, x.len())?;
            }
            same(ty(0)?.dtype, shp(0)?)
        }
        Op::BatchNormalization { .. } => {
            // scale, B, mean and var: one value per channel (axis 1).
            if let Some(c) = shp(0)?.and_then(|x| x.get(1)).and_then(Dim::known) {
                for (i, name) in [(1, "scale"), (2, "B"), (3, "mean"), (4, "var")] {
                    if let Some(p) = tys.get(i).copied().flatten().and_then(|t| t.shape.as_ref()) {
                        let n = p
                            .iter()
                            .map(Dim::known)
                            .try_fold(1usize, |a, d| d.map(|d| a.saturating_mul(d)));
                        if p.len() != 1 || n.is_some_and(|n| n != c) {
                            let dims: Vec<String> = p.iter().map(ToString::to_string).collect();
                            return Err(ShapeError::InputShapes(format!(
                                "input '{name}' has shape [{}]; expected [{c}], one value per \
                                 channel",
                                dims.join(", ")
                            )));
                        }
                    }
                }
            }
            same(ty(0)?.dtype, shp(0)?)
        }
        Op::QuantizeLinear { axis } | Op::DequantizeLinear { axis } if per_axis => {
            // A per-axis scale: the axis must be one of the input's.
            if let Some(x) = shp(0)? {
                norm_axis(*axis, x.len())?;
            }
            if let (Op::QuantizeLinear { .. }, Some(sc)) =
                (&node.op, consts.get(1).copied().flatten())
            {
                check_scales(&sc.to_f32_vec())?;
            }
            match &node.op {
                Op::QuantizeLinear { .. } => {
                    let dt = tys.get(2).copied().flatten().map_or(DType::U8, |z| z.dtype);
                    same(dt, shp(0)?)
                }
                _ => same(DType::F32, shp(0)?),
            }
        }
        Op::QuantizeLinear { .. } => {
            if let Some(sc) = consts.get(1).copied().flatten() {
                check_scales(&sc.to_f32_vec())?;
            }
            let dt = match tys.get(2).copied().flatten() {
                Some(z) => z.dtype,
                None => DType::U8,
            };
            same(dt, shp(0)?)
        }
        Op::DequantizeLinear { .. } => same(DType::F32, shp(0)?),
        Op::QonnxQuant { .. } => same(DType::F32, shp(0)?),
        Op::Binary(_) | Op::Sum => {
            let dtype = ty(0)?.dtype;
            let mut acc: Option<Vec<Dim>> = shp(0)?.cloned();
            for i in 1..node.inputs.len() {
                acc = match (acc, shp(i)?) {
                    (Some(a), Some(b)) => Some(broadcast(&a, b)?),
                    _ => None,
                };
            }
            TensorType { dtype, shape: acc }
        }
        Op::Gemm(gm) => {
            let (a, b) = (shp(0)?, shp(1)?);
            let shape = match (a, b) {
                (Some(a), Some(b)) => {
                    if a.len() != 2 || b.len() != 2 {
                        return Err(ShapeError::InputShapes(format!(
                            "Gemm wants 2-D A and B; got {a:?} and {b:?}"
                        )));
                    }
                    let (m, ka) = if gm.trans_a {
                        (&a[1], &a[0])
                    } else {
                        (&a[0], &a[1])
                    };
                    let (kb, n) = if gm.trans_b {
                        (&b[1], &b[0])
                    } else {
                        (&b[0], &b[1])
                    };
                    if let (Some(x), Some(y)) = (ka.known(), kb.known()) {
                        if x != y {
                            return Err(ShapeError::InputShapes(format!(
                                "inner dimensions differ: {x} vs {y}"
                            )));
                        }
                    }
                    Some(vec![m.clone(), n.clone()])
                }
                _ => None,
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::MatMul { .. } => {
            let shape = match (shp(0)?, shp(1)?) {
                (Some(a), Some(b)) => Some(matmul_shape(a, b)?),
                _ => None,
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Conv(c) => {
            let shape = match (shp(0)?, shp(1)?) {
                (Some(x), Some(w)) => Some(conv_shape(c, x, w)?),
                _ => None,
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::MaxPool(p) | Op::AveragePool(p) => {
            let shape = match shp(0)? {
                Some(x) => Some(pool_shape(p, x)?),
                None => None,
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::GlobalAveragePool => {
            let shape = shp(0)?.map(|x| {
                let mut s = x[..2.min(x.len())].to_vec();
                s.extend(std::iter::repeat_n(
                    Dim::Known(1),
                    x.len().saturating_sub(2),
                ));
                s
            });
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Flatten { axis } => {
            let shape = match shp(0)? {
                Some(x) => {
                    let r = x.len() as i64;
                    let a = if *axis < 0 { axis + r } else { *axis };
                    if a < 0 || a > r {
                        return Err(ShapeError::Axis {
                            axis: *axis,
                            rank: r as usize,
                        });
                    }
                    let a = a as usize;
                    Some(vec![to_dim(&prod(&x[..a])), to_dim(&prod(&x[a..]))])
                }
                None => None,
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Reshape { allowzero } => {
            let shape = match (shp(0)?, consts.get(1).copied().flatten()) {
                (Some(x), Some(t)) => Some(reshape_shape(x, &t.to_i64_vec(), *allowzero)?),
                (_, Some(t)) if !t.to_i64_vec().iter().any(|&d| d <= 0) => Some(
                    t.to_i64_vec()
                        .iter()
                        .map(|&d| Dim::Known(d as usize))
                        .collect(),
                ),
                (_, _) => match ty(1)?.concrete() {
                    Some(s) if s.len() == 1 => Some(vec![unknown(); s[0]]),
                    _ => None,
                },
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Transpose { perm } => {
            let shape = match shp(0)? {
                Some(x) => {
                    let perm: Vec<usize> = if perm.is_empty() {
                        (0..x.len()).rev().collect()
                    } else {
                        perm.clone()
                    };
                    let mut seen = vec![false; x.len()];
                    if perm.len() != x.len()
                        || perm
                            .iter()
                            .any(|&p| p >= x.len() || std::mem::replace(&mut seen[p], true))
                    {
                        return Err(ShapeError::Attributes(format!(
                            "perm {perm:?} is not a permutation of the {} axes",
                            x.len()
                        )));
                    }
                    Some(perm.iter().map(|&p| x[p].clone()).collect())
                }
                None => None,
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Concat { axis } => {
            let mut shapes = Vec::new();
            for i in 0..node.inputs.len() {
                shapes.push(shp(i)?);
            }
            let shape = if shapes.iter().all(|s| s.is_some()) {
                let first = shapes[0].cloned().unwrap_or_default();
                let a = norm_axis(*axis, first.len())?;
                let mut along = Prod { k: 0, syms: vec![] };
                let mut all_known = true;
                for s in shapes.iter().flatten() {
                    if s.len() != first.len() {
                        return Err(ShapeError::InputShapes(format!(
                            "inputs have different ranks: {first:?} and {s:?}"
                        )));
                    }
                    if let Some(j) = (0..s.len()).find(|&j| {
                        j != a && matches!((s[j].known(), first[j].known()), (Some(p), Some(q)) if p != q)
                    }) {
                        return Err(ShapeError::InputShapes(format!(
                            "inputs {first:?} and {s:?} differ on axis {j}; only the concatenation \
                             axis {a} may differ"
                        )));
                    }
                    match s[a].known() {
                        Some(n) => along.k += n,
                        None => all_known = false,
                    }
                }
                let mut out = first.clone();
                out[a] = if all_known {
                    Dim::Known(along.k)
                } else {
                    unknown()
                };
                Some(out)
            } else {
                None
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Squeeze => {
            let shape = match shp(0)? {
                Some(x) => match node.inputs.get(1).copied().flatten() {
                    None => {
                        if x.iter().any(|d| d.known().is_none()) {
                            None
                        } else {
                            Some(x.iter().filter(|d| d.known() != Some(1)).cloned().collect())
                        }
                    }
                    Some(_) => match consts.get(1).copied().flatten() {
                        Some(axes) => {
                            let ax: Vec<usize> = axes
                                .to_i64_vec()
                                .iter()
                                .map(|&a| norm_axis(a, x.len()))
                                .collect::<Result<_, _>>()?;
                            for &a in &ax {
                                if let Some(n) = x[a].known() {
                                    if n != 1 {
                                        return Err(ShapeError::Attributes(format!(
                                            "cannot squeeze axis {a} of size {n}"
                                        )));
                                    }
                                }
                            }
                            Some(
                                x.iter()
                                    .enumerate()
                                    .filter(|(i, _)| !ax.contains(i))
                                    .map(|(_, d)| d.clone())
                                    .collect(),
                            )
                        }
                        None => None,
                    },
                },
                None => None,
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Unsqueeze => {
            let shape =
                match (shp(0)?, consts.get(1).copied().flatten()) {
                    (Some(x), Some(axes)) => {
                        let r = x.len() + axes.len();
                        let mut ax: Vec<usize> = axes
                            .to_i64_vec()
                            .iter()
                            .map(|&a| norm_axis(a, r))
                            .collect::<Result<_, _>>()?;
                        ax.sort();
                        let mut out = Vec::with_capacity(r);
                        let mut it = x.iter();
                        for i in 0..r {
                            if ax.contains(&i) {
                                out.push(Dim::Known(1));
                            } else {
                                out.push(it.next().cloned().ok_or_else(|| {
                                    ShapeError::Attributes("repeated axes".into())
                                })?);
                            }
                        }
                        Some(out)
                    }
                    _ => None,
                };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Shape { start, end } => {
            let shape = ty(0)?.rank().map(|r| {
                let r = r as i64;
                let fix = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r);
                let s = fix(*start);
                let e = fix(end.unwrap_or(r));
                vec![Dim::Known((e - s).max(0) as usize)]
            });
            TensorType {
                dtype: DType::I64,
                shape,
            }
        }
        Op::Gather { axis } => {
            let shape = match (shp(0)?, shp(1)?) {
                (Some(d), Some(i)) => {
                    let a = norm_axis(*axis, d.len())?;
                    let mut out = d[..a].to_vec();
                    out.extend(i.iter().cloned());
                    out.extend(d[a + 1..].iter().cloned());
                    Some(out)
                }
                _ => None,
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Slice => {
            let shape = shp(0)?.map(|x| slice_shape(x, &consts)).transpose()?;
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Cast { to } => same(*to, shp(0)?),
        Op::Equal | Op::And | Op::GreaterOrEqual => {
            st::broadcast_all(DType::Bool, &[shp(0)?, shp(1)?])?
        }
        Op::IsNaN => same(DType::Bool, shp(0)?),
        Op::Max => {
            let shapes = (0..node.inputs.len())
                .map(&shp)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            st::broadcast_all(ty(0)?.dtype, &shapes)?
        }
        // Its length depends on the values; constant folding gives it a shape once they are known.
        Op::Range => TensorType {
            dtype: ty(0)?.dtype,
            shape: None,
        },
        Op::GatherNd { batch_dims } => {
            let shape = match (shp(0)?, shp(1)?) {
                (Some(d), Some(i)) => match i.last() {
                    Some(Dim::Known(r)) if batch_dims + r <= d.len() => {
                        let mut out = i[..i.len() - 1].to_vec();
                        out.extend(d[batch_dims + r..].iter().cloned());
                        Some(out)
                    }
                    _ => None,
                },
                _ => None,
            };
            TensorType {
                dtype: ty(0)?.dtype,
                shape,
            }
        }
        Op::Where => {
            if ty(0)?.dtype != DType::Bool {
                return Err(ShapeError::InputShapes(format!(
                    "the condition is {}; expected bool",
                    ty(0)?.dtype
                )));
            }
            st::broadcast_all(ty(1)?.dtype, &[shp(0)?, shp(1)?, shp(2)?])?
        }
        Op::Expand => st::expand(ty(0)?, consts.get(1).copied().flatten(), ty(1)?)?,
        Op::LayerNormalization { axis, .. } => {
            return st::layer_norm(ty(0)?, *axis, node.outputs.len())
        }
        Op::ReduceSum {
            keepdims,
            noop_with_empty_axes,
        } => {
            let axes = match node.inputs.get(1).copied().flatten() {
                None => Some(None),
                Some(_) => consts.get(1).copied().flatten().map(Some),
            };
            st::reduce(ty(0)?, axes, *keepdims, *noop_with_empty_axes)?
        }
        Op::ConstantOfShape { value } => {
            let shape = match consts.first().copied().flatten() {
                Some(t) => {
                    let v = t.to_i64_vec();
                    if v.iter().any(|&d| d < 0) {
                        return Err(ShapeError::Attributes(format!(
                            "negative dimension in {v:?}"
                        )));
                    }
                    Some(v.iter().map(|&d| Dim::Known(d as usize)).collect())
                }
                None => match ty(0)?.concrete() {
                    Some(s) if s.len() == 1 => Some(vec![unknown(); s[0]]),
                    _ => None,
                },
            };
            TensorType {
                dtype: value.dtype(),
                shape,
            }
        }
    };
    let mut outs = vec![out];
    if matches!(node.op, Op::Dropout) && node.outputs.len() > 1 {
        outs.push(TensorType {
            dtype: DType::Bool,
            shape: outs[0].shape.clone(),
        });
    }
    Ok(outs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: &[&str]) -> Vec<Dim> {
        v.iter()
            .map(|s| match s.parse::<usize>() {
                Ok(n) => Dim::Known(n),
                Err(_) => Dim::Sym(s.to_string()),
            })
            .collect()
    }

    #[test]
    fn broadcast_handles_symbols_and_ones() {
        assert_eq!(
            broadcast(&d(&["N", "1", "4"]), &d(&["3", "1"])).unwrap(),
            d(&["N", "3", "4"])
        );
        assert!(broadcast(&d(&["2"]), &d(&["3"])).is_err());
    }

    #[test]
    fn reshape_infers_minus_one_through_a_symbol() {
        assert_eq!(
            reshape_shape(&d(&["N", "16", "2", "2"]), &[-1, 64], false).unwrap(),
            d(&["N", "64"])
        );
        assert_eq!(
            reshape_shape(&d(&["N", "16", "2", "2"]), &[0, -1], false).unwrap(),
            d(&["N", "64"])
        );
        assert_eq!(
            reshape_shape(&d(&["2", "6"]), &[3, -1], false).unwrap(),
            d(&["3", "4"])
        );
        assert!(reshape_shape(&d(&["2", "6"]), &[5, -1], false).is_err());
    }

    #[test]
    fn pool_window_with_ceil_mode_drops_window_in_padding() {
        let out = |input, kernel, stride, dilation, auto_pad, ceil_mode| {
            let w = WindowAttrs {
                kernel: &[kernel],
                strides: &[stride],
                dilations: &[dilation],
                pads: &[0, 0],
                auto_pad,
                ceil_mode,
            };
            window_out(input, &w, 0).unwrap()
        };
        // ONNX maxpool_2d_ceil: 4x4, k=3, s=2 → 2x2.
        assert_eq!(out(4, 3, 2, 1, AutoPad::NotSet, true), 2);
        assert_eq!(out(5, 2, 2, 1, AutoPad::NotSet, true), 3);
        assert_eq!(out(5, 3, 2, 1, AutoPad::SameUpper, false), 3);
        assert_eq!(out(8, 3, 1, 2, AutoPad::Valid, false), 4);
    }

    #[test]
    fn matmul_promotes_vectors() {
        assert_eq!(
            matmul_shape(&d(&["3"]), &d(&["3", "4"])).unwrap(),
            d(&["4"])
        );
        assert_eq!(
            matmul_shape(&d(&["B", "2", "3"]), &d(&["3", "4"])).unwrap(),
            d(&["B", "2", "4"])
        );
        assert!(matmul_shape(&d(&["2", "3"]), &d(&["2", "4"])).is_err());
    }
}
