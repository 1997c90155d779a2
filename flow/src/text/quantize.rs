//! The integer path of a sentence encoder: calibration over tokenized sentences, lowering to
//! the fixed-point program (`lower` in encoder mode: integer ids and mask in, token embeddings
//! out) and running that program on the integer reference, pooling on the host.

use std::collections::BTreeMap;

use super::embed::Encoder;
use super::pool::mean_pool;
use super::tokenize::{Batch, Tokenizer};
use crate::error::{FlowError, Result};
use systole_compiler::fxir::Program;
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::quant::calibrate::{
    feed_hessians, hessian_readers, Calibration, TensorStats,
};
use systole_compiler::quant::smooth;
use systole_compiler::reference::{int, interp};
use systole_compiler::tensor::Tensor;

/// Sentences per calibration run of the float reference.
pub const CALIB_BATCH: usize = 32;

/// Activation statistics (and `XᵀX` of each linear layer when `hessians`) over `texts`, padded
/// to `seq` tokens, from the float reference. Two passes like [`systole_compiler::quant::calibrate::calibrate`].
pub fn calibrate_encoder(
    enc: &mut Encoder,
    tok: &Tokenizer,
    texts: &[String],
    seq: usize,
    hessians: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Calibration> {
    if texts.is_empty() {
        return Err(FlowError::Input {
            name: "calibration sentences".into(),
            msg: "no sentences".into(),
        });
    }
    let batches: Vec<Batch> = texts
        .chunks(CALIB_BATCH)
        .map(|c| tok.encode(c, Some(seq)))
        .collect::<Result<_>>()?;
    for b in &batches {
        enc.check(b)?;
    }
    let mut stats: BTreeMap<String, TensorStats> = BTreeMap::new();
    let mut hs = BTreeMap::new();
    let steps = batches.len();
    for pass in 0..2 {
        for (i, b) in batches.iter().enumerate() {
            let inputs = enc.inputs(b);
            let g = enc.graph_for(b)?;
            let readers = if hessians && pass == 1 {
                Some(hessian_readers(g))
            } else {
                None
            };
            interp::run_observed(g, &inputs, &mut |node, outs, _| {
                for (o, t) in node.outputs.iter().zip(outs) {
                    if let Some(v) = t.as_f32() {
                        let s = stats
                            .entry(g.value(*o).name.clone())
                            .or_insert_with(TensorStats::new);
                        if pass == 0 {
                            s.observe_range(v);
                        } else {
                            s.observe_hist(v);
                        }
                    }
                    if let Some(r) = &readers {
                        feed_hessians(r, *o, t, &mut hs);
                    }
                }
            })?;
            progress(pass * steps + i + 1, 2 * steps);
        }
    }
    Ok(Calibration {
        stats,
        samples: texts.len(),
        hessians: hs,
    })
}

/// Calibrates on `texts` and lowers the encoder, bound to batch 1 and `seq` tokens.
pub fn quantize_encoder(
    enc: &mut Encoder,
    tok: &Tokenizer,
    texts: &[String],
    seq: usize,
    cfg: &QuantConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Program, Calibration)> {
    let needs_h = cfg.gptq || cfg.adaround;
    let mut smoothed = match cfg.smooth_alpha {
        Some(alpha) => Some(smooth_encoder(enc, tok, texts, seq, alpha)?),
        None => None,
    };
    let enc = smoothed.as_mut().unwrap_or(enc);
    let cal = calibrate_encoder(enc, tok, texts, seq, needs_h, progress)?;
    let one = tok.encode(&texts[..1], Some(seq))?;
    let g = enc.graph_for(&one)?;
    let p = lower(g, &cal, cfg)?;
    Ok((p, cal))
}

/// SmoothQuant on the encoder's float graph (`quant::smooth`): one float pass over `texts` for
/// the per-channel ranges of every LayerNorm output that linear layers read, then the rewritten
/// encoder (equal in float; its linear layers' inputs are flatter).
pub fn smooth_encoder(
    enc: &mut Encoder,
    tok: &Tokenizer,
    texts: &[String],
    seq: usize,
    alpha: f64,
) -> Result<Encoder> {
    let mut ranges = smooth::ChannelRanges::default();
    let names: Vec<String> = smooth::sites(enc.base())
        .into_iter()
        .map(|s| s.output)
        .collect();
    for chunk in texts.chunks(CALIB_BATCH) {
        let b = tok.encode(chunk, Some(seq))?;
        enc.check(&b)?;
        let inputs = enc.inputs(&b);
        let g = enc.graph_for(&b)?;
        interp::run_observed(g, &inputs, &mut |node, outs, _| {
            for (o, t) in node.outputs.iter().zip(outs) {
                let name = &g.value(*o).name;
                if names.contains(name) {
                    ranges.observe(name, t);
                }
            }
        })?;
    }
    let mut g = enc.base().clone();
    let n = smooth::apply(&mut g, &ranges, alpha)?;
    if n == 0 {
        return Err(FlowError::Model {
            msg: "SmoothQuant: no LayerNorm of this model feeds a linear layer".into(),
        });
    }
    Encoder::new(g)
}

/// The sequence length of an encoder program (its id input's per-sample length).
pub fn program_seq(p: &Program) -> Result<usize> {
    p.int_inputs
        .first()
        .map(|i| p.tensor(i.tensor).len())
        .ok_or_else(|| FlowError::Model {
            msg: "the program has no integer inputs; it is not a quantized encoder".into(),
        })
}

/// The integer codes of the program's inputs for batch `b` (padded to the program's sequence):
/// token ids, the attention mask, zero token types; in [`Program::int_inputs`] order.
pub fn encoder_inputs(p: &Program, b: &Batch) -> Result<Vec<Vec<i32>>> {
    let seq = program_seq(p)?;
    if b.seq != seq {
        return Err(FlowError::Input {
            name: "input_ids".into(),
            msg: format!(
                "sequence length {} but the quantized program was built for {seq} tokens",
                b.seq
            ),
        });
    }
    Ok(p.int_inputs
        .iter()
        .map(|i| match i.name.as_str() {
            "attention_mask" => b.mask.iter().map(|&v| v as i32).collect(),
            "token_type_ids" => vec![0; b.ids.len()],
            _ => b
                .ids
                .iter()
                .map(|&v| v.clamp(-1, i64::from(i32::MAX)) as i32)
                .collect(),
        })
        .collect())
}

/// Token embeddings of batch `b` (padded to the program's sequence) on the integer reference,
/// dequantized, and their mean pooling over the mask.
pub fn run_encoder_program(p: &Program, b: &Batch) -> Result<Vec<Vec<f32>>> {
    let inputs = encoder_inputs(p, b)?;
    let codes = int::run_int(p, &inputs, b.len(), &mut |_, _| {})?;
    let out = p.tensor(p.output);
    let vals = int::dequantize(&out.format, &codes);
    let mut shape = vec![b.len()];
    shape.extend(&out.shape);
    if shape.len() != 3 {
        return Err(FlowError::Model {
            msg: format!(
                "the program output {:?} is not [sequence, hidden]",
                out.shape
            ),
        });
    }
    mean_pool(&Tensor::f32(shape, vals), &b.mask)
}

/// One stage's output against the float reference's tensor of the same name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageError {
    pub stage: String,
    pub tensor: String,
    /// `rms(int − float) / rms(float)` over the batch.
    pub rel_rms: f64,
    pub max_abs: f64,
}

/// Runs batch `b` through the float reference and the integer program and compares every stage
/// output that has a float counterpart (the error each stage has accumulated so far).
pub fn stage_errors(p: &Program, enc: &mut Encoder, b: &Batch) -> Result<Vec<StageError>> {
    let inputs = enc.inputs(b);
    let g = enc.graph_for(b)?;
    let mut float: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    interp::run_observed(g, &inputs, &mut |node, outs, _| {
        for (o, t) in node.outputs.iter().zip(outs) {
            if let Some(v) = t.as_f32() {
                float.insert(g.value(*o).name.clone(), v.to_vec());
            }
        }
    })?;
    let ints: Vec<Vec<i32>> = p
        .int_inputs
        .iter()
        .map(|i| match i.name.as_str() {
            "attention_mask" => b.mask.iter().map(|&v| v as i32).collect(),
            "token_type_ids" => vec![0; b.ids.len()],
            _ => b.ids.iter().map(|&v| v as i32).collect(),
        })
        .collect();
    let mut out = Vec::new();
    int::run_int(p, &ints, b.len(), &mut |i, codes| {
        let st = &p.stages[i];
        let t = p.tensor(st.output);
        let Some(f) = float.get(&t.name) else {
            return;
        };
        if f.len() != codes.len() {
            return;
        }
        let q = int::dequantize(&t.format, codes);
        let (mut d2, mut f2, mut mx) = (0f64, 0f64, 0f64);
        for (&a, &b) in q.iter().zip(f) {
            let d = f64::from(a) - f64::from(b);
            d2 += d * d;
            f2 += f64::from(b) * f64::from(b);
            mx = mx.max(d.abs());
        }
        out.push(StageError {
            stage: st.name.clone(),
            tensor: t.name.clone(),
            rel_rms: (d2 / f2.max(1e-30)).sqrt(),
            max_abs: mx,
        });
    })?;
    Ok(out)
}
