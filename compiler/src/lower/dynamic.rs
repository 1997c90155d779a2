//! Lowering of dynamic quantization (`quantize --dynamic`; `docs/quantization.md`, "Dynamic
//! quantization"): the producer of a tensor an array stage reads writes it in a wide static
//! format (16 bits at the calibrated step), and the array stage reads it through a run-time
//! per-row exponent (`DynamicExponent`) and a dynamic quantizer (`DynamicQuant`) to the
//! configured activation width. A row is the whole sample for the CNN/MLP array stages
//! (per-sample scales) and one token (the last axis) for the encoder's linear layers.

use super::{node_err, Lowering};
use crate::fxir::{exponent_format, max_shift, StageKind, TensorId, VectorOp};
use crate::ir::{Op, ValueId};
use crate::quant::spec::ActSpec;
use crate::quant::{Format, Scale};
use crate::Result;

/// Width of the static format a dynamically quantized tensor is written in.
pub const WIDE_BITS: u32 = 16;

impl Lowering<'_> {
    /// The activation spec of a tensor that a dynamic array stage reads: the configured integer
    /// spec widened to [`WIDE_BITS`] (other specs unchanged).
    pub(super) fn wide(&self, spec: ActSpec) -> ActSpec {
        match spec {
            ActSpec::Int { bits } if self.cfg.dynamic => ActSpec::Int {
                bits: bits.max(WIDE_BITS),
            },
            a => a,
        }
    }

    /// Encoder: is any reader of `v` (through layout ops) an array stage that stays static (the
    /// activation × activation matmuls, or every array stage without `--dynamic`)? Without
    /// `--dynamic` this is "is `v` read by an array stage at all", the static lowering's question.
    pub(super) fn read_by_static_array(&self, v: ValueId) -> bool {
        self.g.consumers(v).iter().any(|(id, _)| {
            let n = self.g.node(*id);
            match &n.op {
                Op::MatMul { .. } | Op::Gemm(_) => {
                    let linear = n
                        .inputs
                        .get(1)
                        .copied()
                        .flatten()
                        .is_some_and(|w| self.g.const_of(w).is_some());
                    !(self.cfg.dynamic && linear)
                }
                Op::Reshape { .. } | Op::Transpose { .. } | Op::Squeeze | Op::Unsqueeze => {
                    self.read_by_static_array(n.outputs[0])
                }
                _ => false,
            }
        })
    }

    /// The dynamic codes and row exponents of `x` in rows of `row` elements, for array stage
    /// `node` (one pair per tensor and row length, shared by every stage that reads it).
    pub(super) fn dynamic_input(
        &mut self,
        node: &str,
        x: TensorId,
        row: usize,
    ) -> Result<(TensorId, TensorId)> {
        if let Some(&pair) = self.dyn_inputs.get(&(x, row)) {
            return Ok(pair);
        }
        let bits = match self.cfg.acts {
            ActSpec::Int { bits } => bits,
            ActSpec::ApFixed(_) => {
                return Err(node_err(
                    node,
                    "dynamic",
                    "--dynamic takes integer activation formats (intB), not ap_fixed",
                ))
            }
        };
        let xi = self.tensors[x.0].clone();
        if row == 0 || !xi.len().is_multiple_of(row) {
            return Err(node_err(
                node,
                "dynamic",
                format!("rows of {row} do not divide its input {:?}", xi.shape),
            ));
        }
        let xf = xi.format;
        let signed = xf.signed || xf.zero_point() != 0;
        let scale = match xf.scale {
            Scale::Affine {
                multiplier, shift, ..
            } => Scale::Affine {
                multiplier,
                shift,
                zero_point: 0,
            },
            s => s,
        };
        let qf = Format {
            signed,
            bits,
            scale,
        };
        let mag_bits = bits - u32::from(signed);
        let ef = exponent_format(max_shift(&xf, mag_bits));
        let e = self.add_tensor(&format!("{}.exp", xi.name), vec![xi.len() / row], ef);
        self.push(
            &format!("{node}/dynamic-exponent"),
            StageKind::Vector(VectorOp::DynamicExponent { row, mag_bits }),
            vec![x],
            e,
        );
        let q = self.add_tensor(&format!("{}.dyn", xi.name), xi.shape.clone(), qf);
        self.push(
            &format!("{node}/dynamic-quant"),
            StageKind::Vector(VectorOp::DynamicQuant { row }),
            vec![x, e],
            q,
        );
        self.dyn_inputs.insert((x, row), (q, e));
        Ok((q, e))
    }
}
