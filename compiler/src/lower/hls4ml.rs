//! hls4ml-compatible lowering: the program hls4ml's C emulation computes for a precision config
//! (`ap_fixed` types per layer for weight, bias, accumulator, result and ReLU result), so the
//! integer reference can be compared with `hls_model.predict()` bit for bit.
//!
//! The semantics mirrored (docs/hls4ml.md, from hls4ml 1.3's `nnet_dense_latency.h` and
//! `nnet_activation.h`): the input is cast to the input type; weights and biases are cast to
//! their types; products are exact; the accumulator starts at the bias and adds each product in
//! the accumulator type; the sum is cast once to the result type; a ReLU with its own type gives
//! `x > 0 ? cast(x) : 0`. A final Softmax is left out (hls4ml's is a lookup table): the program
//! ends at the logits. Accumulators with fewer fraction bits than the products (per-product
//! rounding) and narrowed saturating accumulators are refused; a narrowed wrapping one is exact
//! in any order and is kept.

use serde::Deserialize;

use super::gemm::{build, Requantization};
use super::{sample_shape, LOWERABLE};
use crate::fxir::{Program, Stage, StageKind, TensorId, TensorInfo, VectorOp};
use crate::ir::op::Activation;
use crate::ir::{Graph, Op};
use crate::quant::spec::{parse_ap_fixed, ApFixed, WeightSpec};
use crate::quant::weights::quantize_weights;
use crate::quant::{Format, Overflow};
use crate::{Error, Result};

/// One Dense layer's types, as `scripts/hls4ml-oracle.py` writes them (`systole_view`).
#[derive(Debug, Clone, Deserialize)]
pub struct Hls4mlLayer {
    #[serde(default)]
    pub name: Option<String>,
    pub op: String,
    pub weight: String,
    pub bias: String,
    pub accum: String,
    pub result: String,
    #[serde(default)]
    pub relu_result: Option<String>,
}

/// A precision file: the input type and the Dense layers in order.
#[derive(Debug, Clone, Deserialize)]
pub struct Hls4mlPrecision {
    pub input: String,
    pub layers: Vec<Hls4mlLayer>,
}

#[derive(Deserialize)]
struct Wrapped {
    systole_view: Hls4mlPrecision,
}

impl Hls4mlPrecision {
    /// Reads `{"input": …, "layers": [...]}`, bare or under `"systole_view"`.
    pub fn from_json(text: &str) -> Result<Hls4mlPrecision> {
        if let Ok(w) = serde_json::from_str::<Wrapped>(text) {
            return Ok(w.systole_view);
        }
        serde_json::from_str(text).map_err(Error::Hls4mlJson)
    }
}

/// A layer type: at most 16 bits, except accumulators (at most 64).
fn ty(what: &str, s: &str) -> Result<ApFixed> {
    let max = if what == "accum" { 64 } else { 16 };
    match parse_ap_fixed(s, max) {
        Ok(Some(a)) => Ok(a),
        _ => Err(Error::Hls4ml { msg: format!("{what} '{s}' is not an ap_fixed<W,I[,Q[,O]]> or ap_ufixed type of at most {max} bits") }),
    }
}

fn format_of(a: &ApFixed) -> Format {
    Format::binary_point(a.signed, a.bits, a.frac_bits())
}

/// Lowers `g` (after the pass pipeline) with hls4ml's arithmetic for `prec`.
pub fn lower_hls4ml(g: &Graph, prec: &Hls4mlPrecision) -> Result<Program> {
    let [input] = g.inputs.as_slice() else {
        return Err(Error::Model {
            msg: "the hls4ml mode takes models with one input".into(),
        });
    };
    let mut tensors: Vec<TensorInfo> = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    let in_ty = ty("input", &prec.input)?;
    let in_shape = sample_shape(g, *input)?;
    tensors.push(TensorInfo {
        name: format!("{}.q", g.value(*input).name),
        shape: in_shape.clone(),
        format: format_of(&in_ty),
    });
    stages.push(Stage {
        name: "quantize-input".into(),
        kind: StageKind::Quantize {
            rounding: in_ty.rounding,
            overflow: in_ty.overflow,
        },
        inputs: vec![],
        output: TensorId(0),
    });
    let mut cur = TensorId(0);
    let mut cur_value = *input;
    let mut layers = prec.layers.iter();
    let order = g.validated_order()?;
    for id in order {
        let n = g.node(id).clone();
        let op = n.op.name();
        if n.inputs.first().copied().flatten() != Some(cur_value) {
            return Err(Error::Node {
                node: n.name.clone(),
                op: op.into(),
                msg: "the hls4ml mode takes a chain of Dense layers".into(),
            });
        }
        let (w, bias, k, nn, act) = match &n.op {
            Op::Gemm(a) if !a.trans_a && a.alpha == 1.0 && a.beta == 1.0 => {
                let b = n.inputs.get(1).copied().flatten().and_then(|v| g.const_of(v)).ok_or_else(|| Error::Node { node: n.name.clone(), op: op.into(), msg: "B must be a constant".into() })?;
                let (k, nn) = if a.trans_b { (b.shape[1], b.shape[0]) } else { (b.shape[0], b.shape[1]) };
                let bv = b.to_f32_vec();
                let w: Vec<f32> = (0..nn * k).map(|i| { let (c, j) = (i / k, i % k); if a.trans_b { bv[c * k + j] } else { bv[j * nn + c] } }).collect();
                let bias = n.inputs.get(2).copied().flatten().and_then(|v| g.const_of(v)).map(|t| t.to_f32_vec()).unwrap_or_else(|| vec![0.0; nn]);
                if bias.len() != nn {
                    return Err(Error::Node { node: n.name.clone(), op: op.into(), msg: "only a per-column bias is lowered".into() });
                }
                (w, bias, k, nn, a.act)
            }
            Op::Softmax { .. } if g.outputs.contains(&n.outputs[0]) => {
                // hls4ml's softmax is a lookup table: compare the logits.
                continue;
            }
            _ => return Err(Error::Node { node: n.name.clone(), op: op.into(), msg: format!("not lowered in hls4ml mode (Dense layers with an optional ReLU and a final Softmax are; the general quantizer lowers {LOWERABLE})") }),
        };
        let layer = layers.next().ok_or_else(|| Error::Hls4ml {
            msg: format!(
                "no entry for Dense layer '{}' (the file lists {})",
                n.name,
                prec.layers.len()
            ),
        })?;
        if layer.op != "dense" {
            return Err(Error::Hls4ml {
                msg: format!("layer {:?} is '{}', expected 'dense'", layer.name, layer.op),
            });
        }
        let (wt, bt, at, rt) = (
            ty("weight", &layer.weight)?,
            ty("bias", &layer.bias)?,
            ty("accum", &layer.accum)?,
            ty("result", &layer.result)?,
        );
        let xf = tensors[cur.0].format;
        let weights = quantize_weights(&w, nn, k, WeightSpec::ApFixed(wt), false)?;
        // The bias, cast to its type first (then exact in the accumulator, checked below).
        let bf = format_of(&bt);
        let bias_cast: Vec<f32> = bias
            .iter()
            .map(|&b| bf.dequantize(bf.quantize_f64(f64::from(b), bt.rounding, bt.overflow)) as f32)
            .collect();
        let f_prod = xf_frac(&xf) + wt.frac_bits();
        if at.frac_bits() < f_prod || bt.frac_bits() > f_prod {
            return Err(Error::Hls4ml { msg: format!("layer {:?}: accum {} has fewer fraction bits than the products ({f_prod}) or the bias has more; per-product rounding is not modelled", layer.name, layer.accum) });
        }
        let yf = format_of(&rt);
        let rq = Requantization {
            x: &xf,
            y: &yf,
            rounding: rt.rounding,
            overflow: rt.overflow,
        };
        let mut stage = build(&n.name, weights, &bias_cast, rq, false, None)?;
        // The accumulator's integer range in product units.
        let acc_range = at.bits as i32 - (at.frac_bits() - f_prod);
        if (acc_range as u32) < stage.acc_bits {
            if at.overflow != Overflow::Wrap {
                return Err(Error::Hls4ml { msg: format!("layer {:?}: accum {} is narrower than the worst case and saturates; order-dependent saturation is not modelled", layer.name, layer.accum) });
            }
            stage.acc_bits = acc_range.max(2) as u32;
            stage.acc_overflow = Some(Overflow::Wrap);
        }
        let out_value = n.outputs[0];
        let shape = sample_shape(g, out_value)?;
        tensors.push(TensorInfo {
            name: format!("{}.result", n.name),
            shape: shape.clone(),
            format: yf,
        });
        let y = TensorId(tensors.len() - 1);
        stages.push(Stage {
            name: n.name.clone(),
            kind: StageKind::Gemm(stage),
            inputs: vec![cur],
            output: y,
        });
        cur = y;
        match (act, &layer.relu_result) {
            (None, None) => {}
            (Some(Activation::Relu), Some(r)) => {
                let r = ty("relu_result", r)?;
                tensors.push(TensorInfo {
                    name: g.value(out_value).name.clone(),
                    shape,
                    format: format_of(&r),
                });
                let z = TensorId(tensors.len() - 1);
                stages.push(Stage {
                    name: format!("{}.relu", n.name),
                    kind: StageKind::Vector(VectorOp::ReluCast {
                        rounding: r.rounding,
                        overflow: r.overflow,
                    }),
                    inputs: vec![cur],
                    output: z,
                });
                cur = z;
            }
            (a, r) => {
                return Err(Error::Hls4ml {
                    msg: format!(
                        "layer {:?}: the model's activation is {a:?} but relu_result is {r:?}",
                        layer.name
                    ),
                })
            }
        }
        cur_value = out_value;
    }
    if layers.next().is_some() {
        return Err(Error::Hls4ml {
            msg: "more layers than the model's Dense layers".into(),
        });
    }
    let p = Program {
        name: g.name.clone(),
        input_name: g.value(*input).name.clone(),
        input_shape: in_shape,
        output_name: tensors[cur.0].name.clone(),
        tensors,
        stages,
        output: cur,
        int_inputs: Vec::new(),
    };
    p.validate()?;
    Ok(p)
}

fn xf_frac(f: &Format) -> i32 {
    match f.scale {
        crate::quant::Scale::BinaryPoint { frac_bits } => frac_bits,
        crate::quant::Scale::Affine { .. } => 0,
    }
}
