//! Lowering of a transformer encoder (BERT/MiniLM, bound to a fixed sequence length and a batch
//! of one) into the integer stages of docs/transformers.md: the embedding lookup of integer
//! ids, the row-major linear layers (bias fused), activation × activation matmuls (a following
//! scalar `Div`/`Mul` fused into the requantizer), residual and constant adds, integer
//! LayerNorm, i-GELU (recognized from `x·0.5·(1 + erf(x/√2))`), and the masked integer softmax
//! (the mask chain `Unsqueeze → Cast → Sub → Mul` and its `Add` into the scores become the
//! softmax's second input).
//!
//! Activation widths: a tensor some array stage reads gets the configured activation bits (A8);
//! a tensor only the vector unit reads (residual sums, LayerNorm inputs, GELU inputs, attention
//! scores, the final token embeddings) gets at least 16 bits.

use super::{node_err, sample_shape, Lowering};
use crate::fxir::{EmbedStage, MatMulStage, StageKind, TensorId, VectorOp, Weights};
use crate::ir::op::{BinaryOp, UnaryOp};
use crate::ir::{Node, Op, OpId, ValueId};
use crate::quant::adaround::adaround_int;
use crate::quant::gptq::gptq_weights;
use crate::quant::spec::{ActSpec, WeightSpec};
use crate::quant::weights::quantize_weights;
use crate::quant::{quantize_multiplier, Format, Overflow, Requant, Rounding};
use crate::Result;

/// Fraction bits of the add multipliers and constants.
pub const ADD_SHIFT: u32 = 24;
/// Fraction bits of LayerNorm's γ and β.
pub const LN_FRAC: u32 = 16;
/// I-BERT's i-GELU constants: `erf(x) ≈ sgn(x)·(1 − A·(min(|x|, R) − R)²)`.
pub const GELU_A: f64 = 0.2888;
pub const GELU_R: f64 = 1.769;

impl Lowering<'_> {
    /// The activation format of encoder value `v` (see the module note on widths).
    fn enc_format(&self, v: ValueId) -> Result<Format> {
        let by_array = self.read_by_static_array(v);
        let spec = match self.cfg.acts {
            ActSpec::Int { bits } if !by_array => ActSpec::Int { bits: bits.max(16) },
            a => a,
        };
        self.act_format_of(v, spec)
    }

    fn konst(&self, v: Option<ValueId>) -> Option<&crate::tensor::Tensor> {
        v.and_then(|v| self.g.const_of(v))
    }

    fn scalar(&self, v: Option<ValueId>) -> Option<f64> {
        self.konst(v)
            .filter(|t| t.len() == 1)
            .map(|t| f64::from(t.to_f32_vec()[0]))
    }

    /// The scalar constant operand (either side) of `n` when `n` is the binary op `op`.
    fn binary_with_scalar(&self, n: &Node, op: BinaryOp) -> Option<f64> {
        if n.op != Op::Binary(op) {
            return None;
        }
        self.scalar(n.inputs[1])
            .or_else(|| self.scalar(n.inputs[0]))
    }

    /// The only consumer of `v`, if exactly one node reads it and it is not a graph output.
    fn sole_consumer(&self, v: ValueId) -> Option<(OpId, &Node)> {
        let c = self.g.consumers(v);
        if c.len() != 1 || self.g.outputs.contains(&v) {
            return None;
        }
        Some((c[0].0, self.g.node(c[0].0)))
    }

    fn out_tensor(&mut self, v: ValueId, f: Format) -> Result<TensorId> {
        let shape = sample_shape(self.g, v)?;
        let name = self.g.value(v).name.clone();
        let t = self.add_tensor(&name, shape, f);
        self.map.insert(v, t);
        Ok(t)
    }

    /// Encoder-specific ops; `Ok(false)` when `n` is not one of them.
    pub(super) fn lower_encoder_node(&mut self, id: OpId, n: &Node) -> Result<bool> {
        let op = n.op.name();
        if self.skip.contains(&id) {
            return Ok(true);
        }
        // The attention-mask chain: every activation input is mask-derived, the rest constants.
        let acts: Vec<ValueId> = n
            .inputs
            .iter()
            .flatten()
            .copied()
            .filter(|v| self.g.const_of(*v).is_none())
            .collect();
        if !acts.is_empty() && acts.iter().all(|v| self.masks.contains_key(v)) {
            let m = self.masks[&acts[0]];
            for o in &n.outputs {
                self.masks.insert(*o, m);
            }
            return Ok(true);
        }
        let out = n.outputs[0];
        match &n.op {
            Op::Gather { axis: 0 } => {
                let (Some(table), Some(ids)) = (self.konst(n.inputs[0]), n.inputs[1]) else {
                    return Ok(false);
                };
                let Some(&idt) = self.map.get(&ids) else {
                    return Err(node_err(
                        &n.name,
                        op,
                        "the indices are not an integer program input",
                    ));
                };
                if table.rank() != 2 {
                    return Err(node_err(
                        &n.name,
                        op,
                        "only a 2-D embedding table is lowered",
                    ));
                }
                let (rows, dim) = (table.shape[0], table.shape[1]);
                let vals = table.to_f32_vec();
                let absmax = vals.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
                let bits = match self.cfg.weights_for(&n.name) {
                    WeightSpec::Int { bits } => bits.max(8),
                    _ => 8,
                };
                let levels = f64::from((1u32 << (bits - 1)) - 1);
                let (m0, shift) =
                    quantize_multiplier(if absmax > 0.0 { absmax / levels } else { 1.0 })
                        .map_err(|e| node_err(&n.name, op, e.to_string()))?;
                let f = Format::affine(true, bits, m0, shift, 0);
                let table: Vec<i32> = vals
                    .iter()
                    .map(|&v| f.quantize_f64(f64::from(v), Rounding::Rnd, Overflow::Sat) as i32)
                    .collect();
                let y = self.out_tensor(out, f)?;
                self.push(
                    &n.name,
                    StageKind::Embed(EmbedStage { rows, dim, table }),
                    vec![idt],
                    y,
                );
                Ok(true)
            }
            Op::MatMul { act: None } => {
                if self.konst(n.inputs[1]).is_some() {
                    self.linear(n).map(|_| true)
                } else {
                    self.act_matmul(n).map(|_| true)
                }
            }
            Op::Binary(BinaryOp::Add) => self.add(n).map(|_| true),
            // ONNX's Gelu op: i-GELU approximates erf; the tanh form is within 1e-3 of it.
            Op::Unary(UnaryOp::Gelu | UnaryOp::GeluTanh) => match n.inputs[0] {
                Some(x) => self.gelu(n, x, out).map(|_| true),
                None => Err(node_err(&n.name, op, "needs an input")),
            },
            Op::Binary(BinaryOp::Div) => match self.gelu_pattern(n) {
                Some((x, last, nodes)) => {
                    self.skip.extend(nodes);
                    self.gelu(n, x, last).map(|_| true)
                }
                None => Ok(false),
            },
            Op::LayerNormalization { axis, epsilon } => {
                let x = self.input_of(&n.name, op, n.inputs[0])?;
                let xi = self.tensors[x.0].clone();
                let rank = xi.shape.len() as i64 + 1;
                if (*axis + rank) % rank != rank - 1 {
                    return Err(node_err(
                        &n.name,
                        op,
                        "only a LayerNorm over the last axis is lowered",
                    ));
                }
                let row = *xi.shape.last().unwrap_or(&1);
                let gamma = self
                    .konst(n.inputs[1])
                    .map(|t| t.to_f32_vec())
                    .ok_or_else(|| node_err(&n.name, op, "the scale must be a constant"))?;
                let beta = match n.inputs.get(2).copied().flatten() {
                    None => vec![0.0; row],
                    Some(v) => self
                        .g
                        .const_of(v)
                        .map(|t| t.to_f32_vec())
                        .ok_or_else(|| node_err(&n.name, op, "the bias must be a constant"))?,
                };
                if gamma.len() != row || beta.len() != row {
                    return Err(node_err(
                        &n.name,
                        op,
                        format!(
                            "γ/β of {} and {} values for rows of {row}",
                            gamma.len(),
                            beta.len()
                        ),
                    ));
                }
                let yf = self.enc_format(out)?;
                let sy = yf.step();
                let scale = f64::from(1u32 << LN_FRAC);
                let gq = gamma
                    .iter()
                    .map(|&v| (f64::from(v) / sy * scale).round() as i64)
                    .collect();
                let bq = beta
                    .iter()
                    .map(|&v| (f64::from(v) / sy * scale).round() as i64)
                    .collect();
                let sx = xi.format.step();
                let h = row as f64;
                let eps = (h * h * f64::from(*epsilon) / (sx * sx))
                    .round()
                    .clamp(0.0, 1e30) as i64;
                let y = self.out_tensor(out, yf)?;
                self.push(
                    &n.name,
                    StageKind::Vector(VectorOp::LayerNorm {
                        row,
                        gamma: gq,
                        beta: bq,
                        frac: LN_FRAC,
                        eps,
                    }),
                    vec![x],
                    y,
                );
                Ok(true)
            }
            Op::Softmax { axis, .. } => {
                let Some(&mask) = n.inputs[0].and_then(|v| self.masked.get(&v)) else {
                    return Ok(false);
                };
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
                let (q_ln2, q_b, q_c) = softmax_constants(self.tensors[x.0].format.step());
                if q_ln2 < 1 {
                    return Err(node_err(
                        &n.name,
                        op,
                        "input step above ln 2; give the scores more bits",
                    ));
                }
                let bits = match self.cfg.acts {
                    ActSpec::Int { bits } if self.read_by_static_array(out) => bits,
                    _ => 16,
                };
                let y = self.out_tensor(out, Format::binary_point(false, bits, bits as i32))?;
                self.push(
                    &n.name,
                    StageKind::Vector(VectorOp::MaskedSoftmax {
                        q_ln2,
                        q_b,
                        q_c,
                        row: *xs.last().unwrap_or(&1),
                    }),
                    vec![x, mask],
                    y,
                );
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// `Div(x, √2) → Erf → Add(1) → Mul(x, ·) → Mul(0.5)`: returns `x`, the last value and the
    /// four nodes after the `Div`.
    fn gelu_pattern(&self, n: &Node) -> Option<(ValueId, ValueId, Vec<OpId>)> {
        let x = n.inputs[0]?;
        let c = self.scalar(n.inputs[1])?;
        if (c - std::f64::consts::SQRT_2).abs() > 1e-3 {
            return None;
        }
        let (e_id, e) = self.sole_consumer(n.outputs[0])?;
        if !matches!(e.op, Op::Unary(UnaryOp::Erf)) {
            return None;
        }
        let (a_id, a) = self.sole_consumer(e.outputs[0])?;
        if (self.binary_with_scalar(a, BinaryOp::Add)? - 1.0).abs() > 1e-6 {
            return None;
        }
        let (m_id, m) = self.sole_consumer(a.outputs[0])?;
        if !matches!(m.op, Op::Binary(BinaryOp::Mul)) || !m.inputs.contains(&Some(x)) {
            return None;
        }
        let (h_id, h) = self.sole_consumer(m.outputs[0])?;
        if (self.binary_with_scalar(h, BinaryOp::Mul)? - 0.5).abs() > 1e-6 {
            return None;
        }
        Some((x, h.outputs[0], vec![e_id, a_id, m_id, h_id]))
    }

    fn gelu(&mut self, n: &Node, xv: ValueId, last: ValueId) -> Result<()> {
        let op = "Gelu";
        let x = self.input_of(&n.name, op, Some(xv))?;
        let xf = self.tensors[x.0].format;
        let yf = self.enc_format(last)?;
        let s = xf.step();
        let sp = s / std::f64::consts::SQRT_2;
        let q_r = (GELU_R / sp).floor() as i64;
        let q_one = (1.0 / (GELU_A * sp * sp)).floor() as i64;
        if q_r < 1 || !(1..1 << 40).contains(&q_one) {
            return Err(node_err(
                &n.name,
                op,
                format!("input step {s} does not suit the integer erf"),
            ));
        }
        let s_out = s * GELU_A * sp * sp / 2.0;
        let (m0, shift) = quantize_multiplier(s_out / yf.step())
            .map_err(|e| node_err(&n.name, op, e.to_string()))?;
        let requant = Requant {
            m0,
            shift,
            zero_point: yf.zero_point() as i32,
            bits: yf.bits,
            signed: yf.signed,
            rounding: self.cfg.rounding,
            overflow: Overflow::Sat,
        };
        let y = self.out_tensor(last, yf)?;
        self.push(
            &format!("{} (gelu)", n.name),
            StageKind::Vector(VectorOp::Gelu {
                q_r,
                q_one,
                requant,
            }),
            vec![x],
            y,
        );
        Ok(())
    }

    fn add(&mut self, n: &Node) -> Result<()> {
        let op = "Add";
        let (Some(a), Some(b)) = (n.inputs[0], n.inputs[1]) else {
            return Err(node_err(&n.name, op, "needs two inputs"));
        };
        let out = n.outputs[0];
        // Scores + mask bias: the softmax that reads the sum applies the mask.
        for (x, m) in [(a, b), (b, a)] {
            if let (Some(&t), Some(&mask)) = (self.map.get(&x), self.masks.get(&m)) {
                self.map.insert(out, t);
                self.masked.insert(out, mask);
                return Ok(());
            }
        }
        let yf = self.enc_format(out)?;
        let sy = yf.step();
        let scale = f64::from(1u32 << ADD_SHIFT);
        let mult = |s: f64| (s / sy * scale).round() as i64;
        let konst = |v: ValueId| self.g.const_of(v).cloned();
        let (stage, inputs) = match (konst(a), konst(b)) {
            (None, None) => {
                let ta = self.input_of(&n.name, op, Some(a))?;
                let tb = self.input_of(&n.name, op, Some(b))?;
                if self.tensors[ta.0].shape != self.tensors[tb.0].shape {
                    return Err(node_err(
                        &n.name,
                        op,
                        "only adds of two activations of one shape are lowered",
                    ));
                }
                let (fa, fb) = (self.tensors[ta.0].format, self.tensors[tb.0].format);
                (
                    VectorOp::Add {
                        ma: mult(fa.step()),
                        mb: mult(fb.step()),
                        shift: ADD_SHIFT,
                        constant: Vec::new(),
                    },
                    vec![ta, tb],
                )
            }
            (Some(c), None) | (None, Some(c)) => {
                let xv = if self.g.const_of(a).is_some() { b } else { a };
                let t = self.input_of(&n.name, op, Some(xv))?;
                let shape = self.tensors[t.0].shape.clone();
                let vals = broadcast_sample(&c, &shape).ok_or_else(|| {
                    node_err(
                        &n.name,
                        op,
                        format!(
                            "constant of shape {:?} does not broadcast to one sample {shape:?}",
                            c.shape
                        ),
                    )
                })?;
                let fa = self.tensors[t.0].format;
                (
                    VectorOp::Add {
                        ma: mult(fa.step()),
                        mb: 0,
                        shift: ADD_SHIFT,
                        constant: vals
                            .iter()
                            .map(|&v| (f64::from(v) / sy * scale).round() as i64)
                            .collect(),
                    },
                    vec![t],
                )
            }
            (Some(_), Some(_)) => {
                return Err(node_err(
                    &n.name,
                    op,
                    "both inputs are constants (not folded)",
                ))
            }
        };
        let y = self.out_tensor(out, yf)?;
        self.push(&n.name, StageKind::Vector(stage), inputs, y);
        Ok(())
    }

    /// `MatMul(x, W)` with `W` constant `[K, N]`, and a following `Add` of a `[N]` constant bias
    /// fused.
    fn linear(&mut self, n: &Node) -> Result<()> {
        let op = "MatMul";
        let err = |m: String| node_err(&n.name, op, m);
        let x = self.input_of(&n.name, op, n.inputs[0])?;
        let mut xi = self.tensors[x.0].clone();
        let wt = self
            .konst(n.inputs[1])
            .ok_or_else(|| err("no weight".into()))?
            .clone();
        if wt.rank() != 2 || xi.shape.last() != Some(&wt.shape[0]) {
            return Err(err(format!(
                "weight {:?} does not match input {:?}",
                wt.shape, xi.shape
            )));
        }
        let (k, nn) = (wt.shape[0], wt.shape[1]);
        // --dynamic: per-token exponents over rows of k.
        let (x, exps) = if self.cfg.dynamic {
            let (q, e) = self.dynamic_input(&n.name, x, k)?;
            xi = self.tensors[q.0].clone();
            (q, Some(e))
        } else {
            (x, None)
        };
        let b = wt.to_f32_vec();
        let mut w_real = vec![0f32; nn * k];
        for c in 0..nn {
            for j in 0..k {
                w_real[c * k + j] = b[j * nn + c];
            }
        }
        // Bias: a sole Add of a [N] constant.
        let mut out = n.outputs[0];
        let mut bias = vec![0f32; nn];
        if let Some((aid, a)) = self.sole_consumer(out) {
            if matches!(a.op, Op::Binary(BinaryOp::Add)) {
                let other = if a.inputs[0] == Some(out) {
                    a.inputs[1]
                } else {
                    a.inputs[0]
                };
                if let Some(t) = self.konst(other).filter(|t| t.len() == nn) {
                    bias = t.to_f32_vec();
                    if let Some(v) = other {
                        super::gemm::check_finite_bias(
                            &a.name,
                            "Add",
                            &self.g.value(v).name,
                            &bias,
                        )?;
                    }
                    out = a.outputs[0];
                    self.skip.insert(aid);
                }
            }
        }
        let yf = self.enc_format(out)?;
        let spec = self.cfg.weights_for(&n.name);
        let weights = match (spec, self.cal.hessians.get(&n.name)) {
            // Per-group formats keep per-channel steps whatever --per-tensor says (as
            // round-to-nearest does).
            (_, Some(h)) if self.cfg.gptq && h.xtx.len() == k * k => {
                gptq_weights(&w_real, nn, k, spec, self.cfg.per_channel, &h.xtx, None)
                    .map_err(|e| err(format!("weights: {e}")))?
            }
            (WeightSpec::Int { bits }, Some(h)) if self.cfg.adaround && h.xtx.len() == k * k => {
                adaround_int(&w_real, nn, k, bits, self.cfg.per_channel, h, None)
            }
            (_, _) if self.cfg.adaround && !matches!(spec, WeightSpec::Int { .. }) => {
                return Err(err(super::gemm::adaround_refusal(spec)))
            }
            _ => quantize_weights(&w_real, nn, k, spec, self.cfg.per_channel)
                .map_err(|e| err(format!("weights: {e}")))?,
        };
        let mut stage = linear_stage(
            &n.name,
            weights,
            &bias,
            &xi.format,
            &yf,
            self.cfg.rounding,
            xi.len() / k,
        )?;
        if let (true, Some(w)) = (exps.is_some(), &stage.weights) {
            // The bias is added after the row's shift, outside the array (fxir::dynamic).
            stage.acc_bits = super::gemm::bound_bits(&xi.format, w, &[]).min(64);
            stage.dynamic = true;
        }
        let y = self.out_tensor(out, yf)?;
        self.push(
            &n.name,
            StageKind::MatMul(stage),
            std::iter::once(x).chain(exps).collect(),
            y,
        );
        Ok(())
    }

    /// `MatMul(A, B)` of two activations `[.., m, k]·[.., k, n]`; a sole following `Div`/`Mul`
    /// by a positive scalar is fused into the requantizer.
    fn act_matmul(&mut self, n: &Node) -> Result<()> {
        let op = "MatMul";
        let err = |m: String| node_err(&n.name, op, m);
        let a = self.input_of(&n.name, op, n.inputs[0])?;
        let b = self.input_of(&n.name, op, n.inputs[1])?;
        let (ai, bi) = (self.tensors[a.0].clone(), self.tensors[b.0].clone());
        let (ra, rb) = (ai.shape.len(), bi.shape.len());
        if ra < 2
            || ra != rb
            || ai.shape[..ra - 2] != bi.shape[..rb - 2]
            || ai.shape[ra - 1] != bi.shape[rb - 2]
        {
            return Err(err(format!(
                "only [.., m, k]·[.., k, n] of equal batch dims is lowered ({:?}·{:?})",
                ai.shape, bi.shape
            )));
        }
        let groups: usize = ai.shape[..ra - 2].iter().product();
        let (m, k, nn) = (ai.shape[ra - 2], ai.shape[ra - 1], bi.shape[rb - 1]);
        let mut out = n.outputs[0];
        let mut factor = 1.0f64;
        if let Some((did, d)) = self.sole_consumer(out) {
            let c = if d.inputs.first() == Some(&Some(out)) {
                self.scalar(d.inputs.get(1).copied().flatten())
            } else {
                None
            };
            match (&d.op, c) {
                (Op::Binary(BinaryOp::Div), Some(c)) if c > 0.0 => {
                    factor = 1.0 / c;
                    out = d.outputs[0];
                    self.skip.insert(did);
                }
                (Op::Binary(BinaryOp::Mul), Some(c)) if c > 0.0 => {
                    factor = c;
                    out = d.outputs[0];
                    self.skip.insert(did);
                }
                _ => {}
            }
        }
        let yf = self.enc_format(out)?;
        let (m0, shift) =
            quantize_multiplier(ai.format.step() * bi.format.step() * factor / yf.step())
                .map_err(|e| err(e.to_string()))?;
        let r = Requant {
            m0,
            shift,
            zero_point: yf.zero_point() as i32,
            bits: yf.bits,
            signed: yf.signed,
            rounding: self.cfg.rounding,
            overflow: Overflow::Sat,
        };
        let span = |f: &Format| {
            let z = f.zero_point();
            (f.max_int() - z)
                .unsigned_abs()
                .max((f.min_int() - z).unsigned_abs())
        };
        let bound = u128::from(span(&ai.format)) * u128::from(span(&bi.format)) * k as u128;
        let acc_bits = (129 - bound.leading_zeros()).min(64);
        let stage = MatMulStage {
            groups,
            m,
            k,
            n: nn,
            weights: None,
            bias: Vec::new(),
            acc_bits,
            requant: vec![r],
            dynamic: false,
        };
        let y = self.out_tensor(out, yf)?;
        self.push(&n.name, StageKind::MatMul(stage), vec![a, b], y);
        Ok(())
    }
}

/// I-BERT's i-exp constants for input step `s`: `(floor(ln2/s), floor(b/s), floor(c/(a·s²)))`.
pub fn softmax_constants(s: f64) -> (i64, i64, i64) {
    let (a, b, c) = (0.3585f64, 1.353f64, 0.344f64);
    (
        (std::f64::consts::LN_2 / s).floor() as i64,
        (b / s).floor() as i64,
        (c / (a * s * s)).floor() as i64,
    )
}

/// A linear layer's stage: bias folded (`round(b/(S_x·S_w))`, minus `z_x·Σw`), one requantizer
/// per column, the worst-case accumulator.
pub fn linear_stage(
    name: &str,
    weights: Weights,
    bias_real: &[f32],
    xf: &Format,
    yf: &Format,
    rounding: Rounding,
    rows: usize,
) -> Result<MatMulStage> {
    let (nn, k) = (weights.n, weights.k);
    let rq = super::gemm::Requantization {
        x: xf,
        y: yf,
        rounding,
        overflow: Overflow::Sat,
    };
    let (bias, requant) =
        super::gemm::fold_bias_and_requant(name, "column", &weights, bias_real, rq)?;
    let acc_bits = super::gemm::bound_bits(xf, &weights, &bias).min(64);
    Ok(MatMulStage {
        groups: 1,
        m: rows,
        k,
        n: nn,
        weights: Some(weights),
        bias,
        acc_bits,
        requant,
        dynamic: false,
    })
}

/// The values of constant `c` broadcast (numpy rules, right-aligned) to one sample of `shape`
/// (the batch axis, if `c` has one, must be 1).
pub fn broadcast_sample(c: &crate::tensor::Tensor, shape: &[usize]) -> Option<Vec<f32>> {
    let full: Vec<usize> = std::iter::once(1).chain(shape.iter().copied()).collect();
    if c.rank() > full.len() {
        return None;
    }
    let off = full.len() - c.rank();
    for (i, &d) in c.shape.iter().enumerate() {
        if d != 1 && d != full[off + i] {
            return None;
        }
    }
    let v = c.to_f32_vec();
    let cs = crate::tensor::strides_of(&c.shape);
    let len: usize = shape.iter().product();
    let mut out = Vec::with_capacity(len);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..len {
        let mut o = 0;
        for (i, &d) in c.shape.iter().enumerate() {
            let ax = off + i; // axis in `full`; 0 is the batch
            if ax > 0 && d != 1 {
                o += idx[ax - 1] * cs[i];
            }
        }
        out.push(v[o]);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Some(out)
}
