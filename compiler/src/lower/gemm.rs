//! Lowering of Conv, Gemm and MatMul into array stages.

use super::{fused_relu, node_err, sample_shape, to_window, Lowering};
use crate::fxir::{GemmStage, StageKind, Window};
use crate::ir::{Node, Op, QuantAnnot};
use crate::quant::adaround::adaround_int;
use crate::quant::gptq::gptq_weights;
use crate::quant::spec::{ActSpec, WeightSpec};
use crate::quant::weights::quantize_weights;
use crate::quant::{acc_bits, quantize_multiplier, Format, Overflow, Requant};
use crate::reference::float::spatial;
use crate::{Error, Result};

pub(super) fn lower(l: &mut Lowering<'_>, n: &Node) -> Result<()> {
    let op = n.op.name();
    let err = |msg: String| node_err(&n.name, op, msg);
    let x = l.input_of(&n.name, op, n.inputs[0])?;
    let xs = l.tensors[x.0].shape.clone();
    // --dynamic: one exponent per sample (the whole input is the row).
    let (x, exps) = if l.cfg.dynamic {
        let (q, e) = l.dynamic_input(&n.name, x, xs.iter().product())?;
        (q, Some(e))
    } else {
        (x, None)
    };
    let konst = |i: usize, what: &str| -> Result<Option<Vec<f32>>> {
        match n.inputs.get(i).copied().flatten() {
            None => Ok(None),
            Some(v) => match l.g.const_of(v) {
                Some(t) => Ok(Some(t.to_f32_vec())),
                None => Err(err(format!(
                    "{what} must be a constant (an initializer) to be quantized"
                ))),
            },
        }
    };
    let wv = n
        .inputs
        .get(1)
        .copied()
        .flatten()
        .and_then(|v| l.g.const_of(v))
        .map(|t| t.shape.clone());
    let (w_real, b_real, nn, k, conv, relu): (
        Vec<f32>,
        Vec<f32>,
        usize,
        usize,
        Option<Window>,
        bool,
    ) = match &n.op {
        Op::Conv(a) => {
            let w = konst(1, "the weight")?.ok_or_else(|| err("no weight".into()))?;
            let ws = wv.unwrap_or_default();
            if a.group != 1 || ws.len() != 4 || xs.len() != 3 {
                return Err(err(format!(
                    "only 2-D convolutions with group 1 are lowered (group {}, weight {:?})",
                    a.group, ws
                )));
            }
            let kernel = if a.kernel_shape.is_empty() {
                ws[2..].to_vec()
            } else {
                a.kernel_shape.clone()
            };
            let geo = spatial::resolve(op, &xs[1..], &a.window(&kernel)).map_err(|e| err(e.0))?;
            let nn = ws[0];
            let k = ws[1] * ws[2] * ws[3];
            let b = konst(2, "the bias")?.unwrap_or_else(|| vec![0.0; nn]);
            (
                w,
                b,
                nn,
                k,
                Some(to_window(xs[0], &geo)),
                fused_relu(&n.name, op, a.act)?,
            )
        }
        Op::Gemm(a) => {
            if a.trans_a || xs.len() != 1 {
                return Err(err(
                    "only Gemm of a [batch, K] activation without transA is lowered".into(),
                ));
            }
            let b = konst(1, "B")?.ok_or_else(|| err("no B".into()))?;
            let bs = wv.unwrap_or_default();
            if bs.len() != 2 {
                return Err(err(format!("B has shape {bs:?}, expected 2-D")));
            }
            let (k, nn) = if a.trans_b {
                (bs[1], bs[0])
            } else {
                (bs[0], bs[1])
            };
            // Weights [n][k], alpha folded in.
            let mut w = vec![0f32; nn * k];
            for c in 0..nn {
                for j in 0..k {
                    let v = if a.trans_b {
                        b[c * k + j]
                    } else {
                        b[j * nn + c]
                    };
                    w[c * k + j] = a.alpha * v;
                }
            }
            let bias = match konst(2, "C")? {
                None => vec![0.0; nn],
                Some(c) if c.len() == nn => c.iter().map(|v| a.beta * v).collect(),
                Some(c) if c.len() == 1 => vec![a.beta * c[0]; nn],
                Some(c) => {
                    return Err(err(format!(
                        "C has {} values; only a per-column bias ({nn}) is lowered",
                        c.len()
                    )))
                }
            };
            (w, bias, nn, k, None, fused_relu(&n.name, op, a.act)?)
        }
        Op::MatMul { act } => {
            let b = konst(1, "B")?.ok_or_else(|| err("no B".into()))?;
            let bs = wv.unwrap_or_default();
            if bs.len() != 2 || xs.len() != 1 {
                return Err(err(
                    "only MatMul of a [batch, K] activation by a constant [K, N] is lowered".into(),
                ));
            }
            let (k, nn) = (bs[0], bs[1]);
            let mut w = vec![0f32; nn * k];
            for c in 0..nn {
                for j in 0..k {
                    w[c * k + j] = b[j * nn + c];
                }
            }
            (
                w,
                vec![0.0; nn],
                nn,
                k,
                None,
                fused_relu(&n.name, op, *act)?,
            )
        }
        _ => unreachable!("gemm::lower called for {op}"),
    };
    if let Some(v) = n.inputs.get(2).copied().flatten() {
        check_finite_bias(&n.name, op, &l.g.value(v).name, &b_real)?;
    }
    let mut w_real = w_real;
    // The positions pruning removed (with every weight that was already zero): GPTQ and
    // AdaRound keep them at zero, so the sparsity pattern survives rounding.
    let pruned: Option<Vec<bool>> = l.cfg.prune_for(&n.name).map(|p| {
        p.apply(&mut w_real, k);
        w_real.iter().map(|&x| x == 0.0).collect()
    });
    let out = n.outputs[0];
    let out_shape = sample_shape(l.g, out)?;
    let act = l.act_for_output(&n.name, out);
    let yf = l.act_format_of(out, act)?;
    let xf = l.tensors[x.0].format;
    let spec = l.cfg.weights_for(&n.name);
    let overridden = l
        .cfg
        .layers
        .get(&n.name)
        .is_some_and(|c| c.weights.is_some())
        || l.cfg.prune_for(&n.name).is_some();
    let fixed = match (&n.op, overridden) {
        (Op::Gemm(a), false) if a.alpha != 1.0 => None,
        (_, false) => fixed_weights(l, n, nn, k),
        _ => None,
    };
    let weights = match fixed {
        Some(w) => w,
        None => match (spec, l.cal.hessians.get(&n.name)) {
            (_, Some(h)) if l.cfg.gptq && h.xtx.len() == k * k => gptq_weights(
                &w_real,
                nn,
                k,
                spec,
                l.cfg.per_channel,
                &h.xtx,
                pruned.as_deref(),
            )
            .map_err(|e| err(format!("weights: {e}")))?,
            (WeightSpec::Int { bits }, Some(h)) if l.cfg.adaround && h.xtx.len() == k * k => {
                adaround_int(
                    &w_real,
                    nn,
                    k,
                    bits,
                    l.cfg.per_channel,
                    h,
                    pruned.as_deref(),
                )
            }
            (_, _) if l.cfg.adaround && !matches!(spec, WeightSpec::Int { .. }) => {
                return Err(err(adaround_refusal(spec)))
            }
            _ => quantize_weights(&w_real, nn, k, spec, l.cfg.per_channel)
                .map_err(|e| err(format!("weights: {e}")))?,
        },
    };
    // Bias correction: the quantized layer's expected output error E[x]·(W − Ŵ) goes into the bias.
    let b_real: Vec<f32> = match l.cal.hessians.get(&n.name) {
        Some(h) if l.cfg.bias_correction && h.sum.len() == k => {
            let mean = h.mean();
            let dec = weights.decode();
            (0..nn)
                .map(|c| {
                    let e: f64 = (0..k)
                        .map(|j| {
                            mean[j]
                                * (f64::from(w_real[c * k + j])
                                    - f64::from(dec[c * k + j]) * weights.scales[c])
                        })
                        .sum();
                    (f64::from(b_real[c]) + e) as f32
                })
                .collect()
        }
        _ => b_real,
    };
    let (rounding, overflow) = match act {
        ActSpec::ApFixed(a) => (a.rounding, a.overflow),
        ActSpec::Int { .. } => (l.cfg.rounding, Overflow::Sat),
    };
    let rq = Requantization {
        x: &xf,
        y: &yf,
        rounding,
        overflow,
    };
    let mut stage =
        build(&n.name, weights, &b_real, rq, relu, conv).map_err(|e| err(e.to_string()))?;
    if exps.is_some() {
        stage.make_dynamic(&xf);
    }
    let y = l.add_tensor(&l.g.value(out).name.clone(), out_shape, yf);
    l.push(
        &n.name,
        StageKind::Gemm(stage),
        std::iter::once(x).chain(exps).collect(),
        y,
    );
    l.map.insert(out, y);
    Ok(())
}

/// Why `--adaround` refuses `spec`: AdaRound learns a floor-or-ceiling choice on a uniform
/// integer grid (`intB`), which the other formats' grids (powers of two, codebooks, FP8, groups,
/// blocks, binary points with their own rounding mode) are not; quantizing them by
/// round-to-nearest instead would ignore the flag without a word.
pub(crate) fn adaround_refusal(spec: WeightSpec) -> String {
    format!(
        "--adaround rounds intB weight formats only, not --weights {spec}; use --gptq (every format) or drop --adaround"
    )
}

/// Refuses a bias with a NaN or infinite value. Folding converts the bias to accumulator units
/// with a saturating float-to-integer cast, which turns NaN into 0 and ±Inf into ±2^40: the
/// quantized model would then compute a number where the float model outputs NaN. NaN and
/// infinite weights are refused the same way by `quant::weights::quantize_weights`.
pub fn check_finite_bias(node: &str, op: &str, init: &str, bias: &[f32]) -> Result<()> {
    match bias.iter().position(|b| !b.is_finite()) {
        None => Ok(()),
        Some(i) => Err(node_err(
            node,
            op,
            format!(
                "bias initializer '{init}': value [{i}] is {}; expected a finite number",
                bias[i]
            ),
        )),
    }
}

/// The weights a QDQ model fixed (absorb-qdq), laid out `[n][k]`, if the weight input carries them
/// with one scale per output channel (or one per tensor).
fn fixed_weights(l: &Lowering<'_>, n: &Node, nn: usize, k: usize) -> Option<crate::fxir::Weights> {
    let v = n.inputs.get(1).copied().flatten()?;
    let Some(QuantAnnot::Weight {
        codes,
        scales,
        axis,
        bits,
    }) = &l.g.value(v).quant
    else {
        return None;
    };
    // Where the output channel sits in the stored tensor: axis 0 for Conv [O, ...] and Gemm
    // with transB ([n, k]); axis 1 for MatMul and Gemm without transB ([k, n]).
    let n_axis = match &n.op {
        Op::Gemm(a) if !a.trans_b => 1,
        Op::MatMul { .. } => 1,
        _ => 0,
    };
    let per_channel = scales.len() == nn && *axis == n_axis;
    if !(per_channel || scales.len() == 1) || codes.len() != nn * k || *bits > 16 {
        return None;
    }
    let layout: Vec<i32> = if n_axis == 0 {
        codes.clone()
    } else {
        (0..nn * k).map(|i| codes[(i % k) * nn + i / k]).collect()
    };
    let sc: Vec<f64> = (0..nn)
        .map(|c| f64::from(scales[if per_channel { c } else { 0 }]))
        .collect();
    Some(crate::fxir::Weights {
        n: nn,
        k,
        coding: crate::fxir::Coding::Int {
            bits: (*bits).max(2),
        },
        codes: layout,
        scales: sc,
    })
}

/// How an array layer's accumulator becomes output codes: the input's format (its step and zero
/// point scale the accumulator and fold into the bias), the output's format, and the
/// requantizer's rounding and overflow modes.
#[derive(Clone, Copy, Debug)]
pub struct Requantization<'a> {
    pub x: &'a Format,
    pub y: &'a Format,
    pub rounding: crate::quant::Rounding,
    pub overflow: Overflow,
}

/// Per output channel `c` of `weights`: the real bias and the input zero point folded into
/// accumulator units (`round(b[c] / (S_x · S_w[c])) - z_x · Σ_k w[c][k]`), and the requantizer
/// of `S_x · S_w[c] / S_y`. `what` names a channel in errors ("channel", "column").
pub(super) fn fold_bias_and_requant(
    name: &str,
    what: &str,
    weights: &crate::fxir::Weights,
    bias_real: &[f32],
    rq: Requantization,
) -> Result<(Vec<i64>, Vec<Requant>)> {
    let Requantization {
        x: xf,
        y: yf,
        rounding,
        overflow,
    } = rq;
    let (nn, k) = (weights.n, weights.k);
    let dec = weights.decode();
    let (sx, sy, zx) = (xf.step(), yf.step(), xf.zero_point());
    let mut bias = Vec::with_capacity(nn);
    let mut requant = Vec::with_capacity(nn);
    for c in 0..nn {
        let sw = weights.scales[c];
        let wsum: i64 = dec[c * k..(c + 1) * k].iter().map(|&v| i64::from(v)).sum();
        let b = (f64::from(bias_real[c]) / (sx * sw)).round_ties_even();
        // Float → int `as` saturates; a bias beyond 2^40 accumulator units is a model problem.
        let b = (b as i64).clamp(-(1 << 40), 1 << 40);
        bias.push(b - zx * wsum);
        let (m0, shift) = quantize_multiplier(sx * sw / sy).map_err(|source| Error::Scale {
            at: format!("{name}: {what} {c}"),
            source,
        })?;
        requant.push(Requant {
            m0,
            shift,
            zero_point: yf.zero_point() as i32,
            bits: yf.bits,
            signed: yf.signed,
            rounding,
            overflow,
        });
    }
    Ok((bias, requant))
}

/// Bits (sign included) of the largest accumulator `Σ x·w + bias` can reach: `K` products of
/// the largest input code and weight, plus the largest folded bias.
pub(super) fn bound_bits(xf: &Format, weights: &crate::fxir::Weights, bias: &[i64]) -> u32 {
    let xmax = u128::from(crate::fxir::validate_max_code(xf));
    let bmax = bias.iter().map(|b| b.unsigned_abs()).max().unwrap_or(0);
    let bound = weights.k as u128 * xmax * u128::from(weights.max_abs()) + u128::from(bmax);
    129 - bound.leading_zeros()
}

impl GemmStage {
    /// Marks the stage dynamic: its bias is added after the row's shift, outside the array, so
    /// the array's accumulator is sized for `Σ x·w` alone (the shifted sum is proven by
    /// `validate`).
    pub fn make_dynamic(&mut self, xf: &Format) {
        self.dynamic = true;
        self.acc_bits = acc_bits(xf.bits, self.weights.operand_bits(), self.k as u64)
            .max(bound_bits(xf, &self.weights, &[]))
            .min(64);
    }
}

/// Builds an array stage from quantized weights: folds the bias and the input zero point, derives
/// each channel's requantizer `S_x · S_w[c] / S_y` (`rq`), and sizes the accumulator for the
/// worst case.
pub fn build(
    name: &str,
    weights: crate::fxir::Weights,
    bias_real: &[f32],
    rq: Requantization,
    relu: bool,
    conv: Option<Window>,
) -> Result<GemmStage> {
    let (nn, k) = (weights.n, weights.k);
    let xf = rq.x;
    let (bias, requant) = fold_bias_and_requant(name, "channel", &weights, bias_real, rq)?;
    // Worst-case width: the contract's W_x + W_w + ceil(log2 K), widened if the bias needs it.
    let acc = acc_bits(xf.bits, weights.operand_bits(), k as u64)
        .max(bound_bits(xf, &weights, &bias))
        .min(64);
    Ok(GemmStage {
        n: nn,
        k,
        conv,
        weights,
        bias,
        acc_bits: acc,
        acc_overflow: None,
        requant,
        relu,
        dynamic: false,
    })
}
