//! Lowering: graph IR + calibration + a quantization configuration → the fixed-point program.
//!
//! Walks the graph in topological order and turns each op into stages of the fixed-point IR:
//! Conv and Gemm become array stages (weights quantized by `quant::weights`, bias folded with the
//! input zero point, one requantizer per output channel, activation fused), MaxPool and Relu
//! vector stages, Transpose/Reshape/Flatten layout stages, a final Softmax the integer softmax.
//! Each array stage's output gets the activation format its calibration statistics call for.

mod config;
mod dynamic;
pub mod encoder;
mod gemm;
pub mod hls4ml;

pub use config::{LayerChoice, Prune, QuantConfig};
pub use gemm::check_finite_bias;

use std::collections::BTreeMap;

use crate::fxir::{LayoutOp, Program, Stage, StageKind, TensorId, TensorInfo, VectorOp, Window};
use crate::ir::op::{Activation, UnaryOp};
use crate::ir::{Dim, Graph, Op, QuantAnnot, ValueId};
use crate::quant::calibrate::{Calibration, TensorStats};
use crate::quant::spec::ActSpec;
use crate::quant::threshold::threshold;
use crate::quant::{quantize_multiplier, Format, QuantError};
use crate::reference::float::spatial;
use crate::{Error, Result};

/// The ops the quantizer lowers today.
pub const LOWERABLE: &str = "Conv (2-D, group 1, ReLU fused or none), Gemm/MatMul with a constant \
weight, MaxPool (2-D), Relu, Transpose, Reshape, Flatten, Softmax (last axis)";

struct Lowering<'a> {
    g: &'a Graph,
    cal: &'a Calibration,
    cfg: &'a QuantConfig,
    tensors: Vec<TensorInfo>,
    stages: Vec<Stage>,
    map: BTreeMap<ValueId, TensorId>,
    /// Encoder mode: the graph takes integer inputs (token ids, a mask), batch bound to 1.
    encoder: bool,
    /// Nodes a fused pattern already lowered.
    skip: std::collections::BTreeSet<crate::ir::OpId>,
    /// Values computed from the attention mask alone, with the mask's input tensor.
    masks: BTreeMap<ValueId, TensorId>,
    /// Scores with the mask bias added: the mask tensor the softmax applies.
    masked: BTreeMap<ValueId, TensorId>,
    /// `--dynamic`: the (codes, exponents) read for a tensor in rows of a length.
    dyn_inputs: BTreeMap<(TensorId, usize), (TensorId, TensorId)>,
}

fn node_err(node: &str, op: &str, msg: impl Into<String>) -> Error {
    Error::Node {
        node: node.into(),
        op: op.into(),
        msg: msg.into(),
    }
}

/// Per-sample shape of a graph value: every dimension but the leading batch must be known.
fn sample_shape(g: &Graph, v: ValueId) -> Result<Vec<usize>> {
    let val = g.value(v);
    let dims = val.ty.shape.as_ref().ok_or_else(|| Error::Tensor {
        name: val.name.clone(),
        msg: "shape unknown; the quantizer needs every shape but the batch".into(),
    })?;
    let mut out = Vec::new();
    for (i, d) in dims.iter().enumerate().skip(1) {
        match d {
            Dim::Known(n) => out.push(*n),
            Dim::Sym(s) => {
                return Err(Error::Tensor {
                    name: val.name.clone(),
                    msg: format!("axis {i} is symbolic ('{s}'); only the batch (axis 0) may be"),
                })
            }
        }
    }
    Ok(out)
}

impl QuantConfig {
    /// The activation format for a tensor with these statistics.
    pub fn act_format(&self, spec: ActSpec, s: Option<&TensorStats>) -> Result<Format> {
        match spec {
            ActSpec::ApFixed(a) => Ok(Format::binary_point(a.signed, a.bits, a.frac_bits())),
            ActSpec::Int { bits } => {
                let signed = s.is_none_or(|s| s.min < 0.0);
                let levels = if signed {
                    (1u32 << (bits - 1)) - 1
                } else {
                    (1u32 << bits) - 1
                };
                let t = s.map(|s| threshold(s, self.method, levels)).unwrap_or(0.0);
                let step = if t > 0.0 { t / f64::from(levels) } else { 1.0 };
                let at = || "activation step".to_string();
                let (m0, shift) = quantize_multiplier(step)
                    .map_err(|source| Error::Scale { at: at(), source })?;
                if m0 == 0 {
                    return Err(Error::Scale {
                        at: at(),
                        source: QuantError::Multiplier {
                            real: step,
                            msg: "too small to encode".into(),
                        },
                    });
                }
                Ok(Format::affine(signed, bits, m0, shift, 0))
            }
        }
    }
}

impl Lowering<'_> {
    fn add_tensor(&mut self, name: &str, shape: Vec<usize>, format: Format) -> TensorId {
        self.tensors.push(TensorInfo {
            name: name.to_string(),
            shape,
            format,
        });
        TensorId(self.tensors.len() - 1)
    }

    fn input_of(&self, node: &str, op: &str, v: Option<ValueId>) -> Result<TensorId> {
        v.and_then(|v| self.map.get(&v).copied()).ok_or_else(|| {
            node_err(
                node,
                op,
                "its input is not an activation the quantizer produced",
            )
        })
    }

    /// The activation format of a layer's output. Logits feeding a Softmax keep 16 bits unless
    /// the layer was given a format: the integer exp needs a step well below ln 2, and the
    /// ranking the softmax preserves should not hinge on a 4-bit code.
    fn act_for_output(&self, layer: &str, out: ValueId) -> ActSpec {
        if let Some(a) = self.cfg.layers.get(layer).and_then(|c| c.acts) {
            return a;
        }
        let feeds_softmax = self
            .g
            .consumers(out)
            .iter()
            .any(|(id, _)| matches!(self.g.node(*id).op, Op::Softmax { .. }));
        match self.cfg.acts {
            ActSpec::Int { bits } if feeds_softmax => ActSpec::Int { bits: bits.max(16) },
            a => self.wide(a),
        }
    }

    /// The format of activation `v`: the one a QDQ model fixed for it (absorb-qdq), else the
    /// calibrated one for `spec`.
    fn act_format_of(&self, v: ValueId, spec: ActSpec) -> Result<Format> {
        if let Some(QuantAnnot::Act {
            scale,
            zero_point,
            bits,
            signed,
        }) = &self.g.value(v).quant
        {
            let (m0, shift) =
                quantize_multiplier(f64::from(*scale)).map_err(|e| Error::Tensor {
                    name: self.g.value(v).name.clone(),
                    msg: format!("QDQ scale: {e}"),
                })?;
            return Ok(Format::affine(*signed, *bits, m0, shift, *zero_point));
        }
        self.cfg
            .act_format(spec, self.stats(v))
            .map_err(|e| match e {
                Error::Scale { at, source } => Error::Scale {
                    at: format!("tensor '{}': {at}", self.g.value(v).name),
                    source,
                },
                e => e,
            })
    }

    fn stats(&self, v: ValueId) -> Option<&TensorStats> {
        self.cal.stats.get(&self.g.value(v).name)
    }

    fn push(&mut self, name: &str, kind: StageKind, inputs: Vec<TensorId>, output: TensorId) {
        self.stages.push(Stage {
            name: name.to_string(),
            kind,
            inputs,
            output,
        });
    }

    /// A stage that keeps its input's format (layout, pooling, relu).
    fn passthrough(
        &mut self,
        node: &str,
        kind: StageKind,
        x: TensorId,
        out: ValueId,
    ) -> Result<()> {
        let shape = sample_shape(self.g, out)?;
        let f = self.tensors[x.0].format;
        let y = self.add_tensor(&self.g.value(out).name.clone(), shape, f);
        self.push(node, kind, vec![x], y);
        self.map.insert(out, y);
        Ok(())
    }

    fn lower_node(&mut self, id: crate::ir::OpId) -> Result<()> {
        let n = self.g.node(id).clone();
        let op = n.op.name();
        let out = n.outputs[0];
        if self.encoder && self.lower_encoder_node(id, &n)? {
            return Ok(());
        }
        match &n.op {
            Op::Conv(_) | Op::Gemm(_) | Op::MatMul { .. } => gemm::lower(self, &n),
            Op::MaxPool(a) => {
                let x = self.input_of(&n.name, op, n.inputs[0])?;
                let xs = self.tensors[x.0].shape.clone();
                if xs.len() != 3 || a.kernel_shape.len() != 2 {
                    return Err(node_err(
                        &n.name,
                        op,
                        "only 2-D max pooling (NCHW) is lowered",
                    ));
                }
                let geo = spatial::resolve(op, &xs[1..], &a.window())
                    .map_err(|e| node_err(&n.name, op, e.0))?;
                let window = to_window(xs[0], &geo);
                self.passthrough(
                    &n.name,
                    StageKind::Vector(VectorOp::MaxPool { window }),
                    x,
                    out,
                )
            }
            Op::Unary(UnaryOp::Relu) => {
                let x = self.input_of(&n.name, op, n.inputs[0])?;
                self.passthrough(&n.name, StageKind::Vector(VectorOp::Relu), x, out)
            }
            Op::Transpose { perm } => {
                let x = self.input_of(&n.name, op, n.inputs[0])?;
                let rank = self.tensors[x.0].shape.len() + 1;
                let perm: Vec<usize> = if perm.is_empty() {
                    (0..rank).rev().collect()
                } else {
                    perm.clone()
                };
                if perm.first() != Some(&0) {
                    return Err(node_err(
                        &n.name,
                        op,
                        format!("perm {perm:?} moves the batch axis"),
                    ));
                }
                let perm = perm[1..].iter().map(|&a| a - 1).collect();
                self.passthrough(
                    &n.name,
                    StageKind::Layout(LayoutOp::Transpose { perm }),
                    x,
                    out,
                )
            }
            Op::Reshape { .. } | Op::Flatten { .. } | Op::Squeeze | Op::Unsqueeze => {
                let x = self.input_of(&n.name, op, n.inputs[0])?;
                let batch_kept = matches!(&self.g.value(out).ty.shape, Some(d) if !d.is_empty() && (!matches!(d[0], Dim::Known(_)) || (self.encoder && d[0] == Dim::Known(1))));
                if !batch_kept {
                    return Err(node_err(
                        &n.name,
                        op,
                        "the output's first axis must stay the batch",
                    ));
                }
                self.passthrough(&n.name, StageKind::Layout(LayoutOp::Reshape), x, out)
            }
            Op::Softmax { axis, .. } => {
                let x = self.input_of(&n.name, op, n.inputs[0])?;
                let xs = self.tensors[x.0].shape.clone();
                let rank = xs.len() as i64 + 1;
                if (*axis + rank) % rank != rank - 1 {
                    return Err(node_err(
                        &n.name,
                        op,
                        "only a softmax over the last axis is lowered",
                    ));
                }
                let s = self.tensors[x.0].format.step();
                let (a, b, c) = (0.3585f64, 1.353f64, 0.344f64);
                let q_ln2 = (std::f64::consts::LN_2 / s).floor() as i64;
                let kind = VectorOp::Softmax {
                    q_ln2,
                    q_b: (b / s).floor() as i64,
                    q_c: (c / (a * s * s)).floor() as i64,
                    row: *xs.last().unwrap_or(&1),
                };
                if q_ln2 < 1 {
                    return Err(node_err(&n.name, op, format!("input step {s} is above ln 2; give the preceding layer more activation bits")));
                }
                let f = Format::binary_point(false, 16, 16);
                let y = self.add_tensor(&self.g.value(out).name.clone(), xs, f);
                self.push(&n.name, StageKind::Vector(kind), vec![x], y);
                self.map.insert(out, y);
                Ok(())
            }
            _ => Err(node_err(
                &n.name,
                op,
                format!("the quantizer cannot lower this op yet; it lowers {LOWERABLE}"),
            )),
        }
    }
}

pub(crate) fn to_window(channels: usize, geo: &spatial::Geometry) -> Window {
    Window {
        channels,
        input: [geo.input[0], geo.input[1]],
        kernel: [geo.kernel[0], geo.kernel[1]],
        strides: [geo.strides[0], geo.strides[1]],
        dilations: [geo.dilations[0], geo.dilations[1]],
        pad_begin: [geo.pad_begin[0], geo.pad_begin[1]],
        output: [geo.output[0], geo.output[1]],
    }
}

/// Calibrates `g` on `calib` (batches of 64), collects the Hessians GPTQ, AdaRound and bias
/// correction need, and lowers it with `cfg`: the one composition of calibration and lowering,
/// used by the flows and by the crates' tests (which cannot depend on the flow crate).
pub fn calibrate_and_lower(
    g: &Graph,
    calib: &crate::Tensor,
    cfg: &QuantConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Program, Calibration)> {
    let mut cal = crate::quant::calibrate::calibrate(g, calib, 64, progress)?;
    if cfg.gptq || cfg.adaround || cfg.bias_correction {
        cal.hessians = crate::quant::calibrate::collect_hessians(g, calib, 64)?;
    }
    let p = lower(g, &cal, cfg)?;
    Ok((p, cal))
}

/// Lowers `g` (after the pass pipeline) with calibration statistics `cal`.
pub fn lower(g: &Graph, cal: &Calibration, cfg: &QuantConfig) -> Result<Program> {
    if !g.inputs.is_empty() && g.inputs.iter().all(|&i| !g.value(i).ty.dtype.is_float()) {
        return lower_encoder(g, cal, cfg);
    }
    let [input] = g.inputs.as_slice() else {
        return Err(Error::Model {
            msg: format!("{} inputs; the quantizer takes one", g.inputs.len()),
        });
    };
    let [output] = g.outputs.as_slice() else {
        return Err(Error::Model {
            msg: format!("{} outputs; the quantizer takes one", g.outputs.len()),
        });
    };
    let mut l = Lowering {
        g,
        cal,
        cfg,
        tensors: Vec::new(),
        stages: Vec::new(),
        map: BTreeMap::new(),
        encoder: false,
        skip: Default::default(),
        masks: BTreeMap::new(),
        masked: BTreeMap::new(),
        dyn_inputs: BTreeMap::new(),
    };
    let in_name = g.value(*input).name.clone();
    let in_shape = sample_shape(g, *input)?;
    let f = l.act_format_of(*input, l.wide(cfg.acts))?;
    let t = l.add_tensor(&format!("{in_name}.q"), in_shape.clone(), f);
    l.push(
        "quantize-input",
        StageKind::Quantize {
            rounding: cfg.rounding,
            overflow: crate::quant::Overflow::Sat,
        },
        vec![],
        t,
    );
    l.map.insert(*input, t);
    let order = g.validated_order()?;
    for id in order {
        l.lower_node(id)?;
    }
    let out = *l.map.get(output).ok_or_else(|| Error::Model {
        msg: format!(
            "output '{}' is not computed by a lowered stage",
            g.value(*output).name
        ),
    })?;
    let p = Program {
        name: g.name.clone(),
        input_name: in_name,
        input_shape: in_shape,
        tensors: l.tensors,
        stages: l.stages,
        output: out,
        output_name: g.value(*output).name.clone(),
        int_inputs: Vec::new(),
    };
    p.validate()?;
    Ok(p)
}

/// Lowers an encoder whose inputs are integer (token ids, attention mask, token types), bound to
/// batch 1 and a fixed sequence: every input becomes an integer program input; the output is
/// the graph's one float output of rank 3 (token embeddings), others are ignored (pooling is
/// the host's, on the dequantized token embeddings).
fn lower_encoder(g: &Graph, cal: &Calibration, cfg: &QuantConfig) -> Result<Program> {
    let mut g = g.clone();
    let out = g
        .outputs
        .iter()
        .copied()
        .find(|&o| {
            let t = &g.value(o).ty;
            t.dtype.is_float() && t.rank() == Some(3)
        })
        .ok_or_else(|| Error::Model {
            msg: "an encoder with integer inputs needs a float [batch, sequence, hidden] output (token embeddings)".into(),
        })?;
    g.outputs = vec![out];
    crate::passes::dce::run(&mut g)?;
    let g = &g;
    let mut l = Lowering {
        g,
        cal,
        cfg,
        tensors: Vec::new(),
        stages: Vec::new(),
        map: BTreeMap::new(),
        encoder: true,
        skip: Default::default(),
        masks: BTreeMap::new(),
        masked: BTreeMap::new(),
        dyn_inputs: BTreeMap::new(),
    };
    let mut int_inputs = Vec::new();
    for &i in &g.inputs {
        let v = g.value(i);
        let shape = sample_shape(g, i)?;
        // Ids feed a Gather; anything else (the attention mask) is 0/1.
        let gathers = g
            .consumers(i)
            .iter()
            .any(|(id, _)| matches!(g.node(*id).op, Op::Gather { .. }));
        let f = if gathers {
            Format::binary_point(true, 16, 0)
        } else {
            Format::binary_point(false, 2, 0)
        };
        let t = l.add_tensor(&v.name, shape, f);
        l.map.insert(i, t);
        if !gathers {
            l.masks.insert(i, t);
        }
        int_inputs.push(crate::fxir::IntInput {
            name: v.name.clone(),
            tensor: t,
        });
    }
    let order = g.validated_order()?;
    for id in order {
        l.lower_node(id)?;
    }
    let o = *l.map.get(&out).ok_or_else(|| Error::Model {
        msg: format!(
            "output '{}' is not computed by a lowered stage",
            g.value(out).name
        ),
    })?;
    let p = Program {
        name: g.name.clone(),
        input_name: String::new(),
        input_shape: Vec::new(),
        tensors: l.tensors,
        stages: l.stages,
        output: o,
        output_name: g.value(out).name.clone(),
        int_inputs,
    };
    p.validate()?;
    Ok(p)
}

/// The output activation of a fused op, if the quantizer can apply it.
pub(crate) fn fused_relu(node: &str, op: &str, act: Option<Activation>) -> Result<bool> {
    match act {
        None => Ok(false),
        Some(Activation::Relu) => Ok(true),
        Some(a) => Err(node_err(
            node,
            op,
            format!("fused activation {a:?} is not lowered yet (ReLU is)"),
        )),
    }
}
