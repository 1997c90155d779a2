//! The integer reference: executes the fixed-point program with integers only. It defines every
//! rounding and saturation of the project; the simulator and the RTL must equal it bit for bit.
//!
//! The one float on the path is the program input, quantized by the first stage (a real number
//! coming in); [`dequantize`] turns the final codes back into reals for reports. Stages run in
//! program order over the whole batch, samples in parallel (rayon); each stage's output is kept
//! only until the last stage that reads it, unless the caller asks to observe every tensor.

pub mod dynamic;
pub mod encoder;
pub(crate) mod gemm;
mod kernel;
mod vector;

#[cfg(test)]
mod dynamic_tests;
#[cfg(test)]
mod encoder_tests;
#[cfg(test)]
mod tests;

use rayon::prelude::*;

use crate::fxir::{LayoutOp, Program, StageKind, TensorId, VectorOp};
use crate::quant::Format;
use crate::tensor::Tensor;
use crate::{Error, Result};

pub use gemm::{gemm_sample, im2col, requant_output};

/// Codes of one tensor for a whole batch, sample-major.
pub type Codes = Vec<i32>;

/// Runs `p` on a real-valued batch `x` (`[N, input_shape...]`, float32) and returns the output
/// codes, `[N × output len]`.
pub fn run(p: &Program, x: &Tensor) -> Result<Codes> {
    let batch = check_input(p, x)?;
    let threads = rayon::current_num_threads();
    if threads < 2 || batch < 4 * threads || !samples_independent(p) {
        return run_env(p, x, batch, Vec::new(), &mut |_, _| {});
    }
    // One slice of the batch per thread, each through every stage: the threads never wait for
    // each other between stages (at batch 256 on the digits CNN those barriers cost as much
    // as the arithmetic). The stages' own parallel loops still split a slice when a thread
    // idles. Samples are independent, so the concatenation equals the whole-batch run.
    let chunk = batch.div_ceil(threads);
    let parts: Vec<Result<Codes>> = (0..batch)
        .step_by(chunk)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|lo| {
            let hi = (lo + chunk).min(batch);
            let xs = crate::quant::calibrate::batch_slice(x, lo, hi);
            run_env(p, &xs, hi - lo, Vec::new(), &mut |_, _| {})
        })
        .collect();
    let mut out = Vec::with_capacity(batch * p.tensor(p.output).len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// Whether every stage computes each sample from that sample alone (so a batch may be split).
/// Exhaustive on purpose: a stage kind that couples samples (a per-batch statistic) must say so.
fn samples_independent(p: &Program) -> bool {
    p.stages.iter().all(|st| match &st.kind {
        StageKind::Quantize { .. }
        | StageKind::Gemm(_)
        | StageKind::MatMul(_)
        | StageKind::Embed(_)
        | StageKind::Layout(_) => true,
        StageKind::Vector(v) => match v {
            VectorOp::MaxPool { .. }
            | VectorOp::Relu
            | VectorOp::ReluCast { .. }
            | VectorOp::Softmax { .. }
            | VectorOp::MaskedSoftmax { .. }
            | VectorOp::Add { .. }
            | VectorOp::LayerNorm { .. }
            | VectorOp::Gelu { .. } => true,
            // Rows are within a sample (a token, or the whole sample): never across samples.
            VectorOp::DynamicExponent { .. } | VectorOp::DynamicQuant { .. } => true,
        },
    })
}

/// Like [`run`], handing every stage's output codes to `observe(stage index, codes)`.
pub fn run_observed(
    p: &Program,
    x: &Tensor,
    observe: &mut dyn FnMut(usize, &[i32]),
) -> Result<Codes> {
    let batch = check_input(p, x)?;
    run_env(p, x, batch, Vec::new(), observe)
}

/// Runs a program whose inputs are integer codes ([`Program::int_inputs`], e.g. token ids and an
/// attention mask): `inputs` holds, for each of them in order, `batch × len` codes. The codes
/// are checked against each input tensor's format, and token ids against the embedding table
/// that reads them, before anything runs.
pub fn run_int(
    p: &Program,
    inputs: &[Vec<i32>],
    batch: usize,
    observe: &mut dyn FnMut(usize, &[i32]),
) -> Result<Codes> {
    if inputs.len() != p.int_inputs.len() {
        // Callers build one code vector per `int_inputs` entry (checked by name in the CLI).
        return Err(Error::internal(format!(
            "{} integer inputs given, the program takes {}",
            inputs.len(),
            p.int_inputs.len()
        )));
    }
    let mut env = Vec::new();
    for (inp, codes) in p.int_inputs.iter().zip(inputs) {
        let t = p.tensor(inp.tensor);
        let bad = |msg: String| Error::Input {
            name: inp.name.clone(),
            msg,
        };
        if codes.len() != batch * t.len() {
            return Err(bad(format!(
                "{} codes for {batch} samples of shape {:?}",
                codes.len(),
                t.shape
            )));
        }
        let (lo, hi) = (t.format.min_int(), t.format.max_int());
        if let Some((i, v)) = codes
            .iter()
            .enumerate()
            .find(|(_, &v)| i64::from(v) < lo || i64::from(v) > hi)
        {
            return Err(bad(format!(
                "code {v} at sample {}, position {} is outside {lo}..={hi}",
                i / t.len().max(1),
                i % t.len().max(1)
            )));
        }
        for st in &p.stages {
            if let (StageKind::Embed(e), Some(&src)) = (&st.kind, st.inputs.first()) {
                if src == inp.tensor {
                    if let Some((i, v)) = codes
                        .iter()
                        .enumerate()
                        .find(|(_, &v)| v < 0 || v as usize >= e.rows)
                    {
                        return Err(bad(format!(
                            "token id {v} (sample {}, position {}) is outside the embedding table of {} rows",
                            i / t.len().max(1),
                            i % t.len().max(1),
                            e.rows
                        )));
                    }
                }
            }
        }
        env.push((inp.tensor, codes.clone()));
    }
    let x = Tensor::f32(vec![0], vec![]);
    run_env(p, &x, batch, env, observe)
}

fn run_env(
    p: &Program,
    x: &Tensor,
    batch: usize,
    given: Vec<(TensorId, Codes)>,
    observe: &mut dyn FnMut(usize, &[i32]),
) -> Result<Codes> {
    let mut last_use = vec![usize::MAX; p.tensors.len()];
    for (i, st) in p.stages.iter().enumerate() {
        for t in &st.inputs {
            last_use[t.0] = i;
        }
    }
    let mut env: Vec<Option<Codes>> = vec![None; p.tensors.len()];
    for (t, codes) in given {
        env[t.0] = Some(codes);
    }
    for (i, st) in p.stages.iter().enumerate() {
        let y = exec_stage(p, i, x, batch, &|t: TensorId| {
            env[t.0].as_deref().expect("validated: produced before use")
        });
        let out_len = p.tensor(st.output).len();
        debug_assert_eq!(y.len(), batch * out_len, "stage {}", st.name);
        observe(i, &y);
        for t in &st.inputs {
            if last_use[t.0] == i && *t != p.output {
                env[t.0] = None;
            }
        }
        env[st.output.0] = Some(y);
    }
    env[p.output.0].take().ok_or_else(|| {
        // `validate` checks that some stage produces the output.
        Error::internal(format!(
            "program '{}': output t{} was not computed",
            p.name, p.output.0
        ))
    })
}

/// Output codes of stage `i` for the whole batch, reading its inputs through `get` (`x` is the
/// real-valued program input, read only by the quantizer). The simulator runs every stage but
/// the array's through this, so both share one definition of the vector ops.
pub fn exec_stage<'a>(
    p: &Program,
    i: usize,
    x: &Tensor,
    batch: usize,
    get: &dyn Fn(TensorId) -> &'a [i32],
) -> Codes {
    let st = &p.stages[i];
    let out_info = p.tensor(st.output);
    let out_len = out_info.len();
    match &st.kind {
        StageKind::Quantize { rounding, overflow } => {
            let f = out_info.format.quantizer(*rounding, *overflow);
            match &x.data {
                // Chunks of 4096: one element is too little work for a rayon task.
                crate::tensor::Data::F64(xs) => xs
                    .par_iter()
                    .with_min_len(4096)
                    .map(|&v| f.apply(v) as i32)
                    .collect(),
                _ => x
                    .as_f32()
                    .unwrap_or(&[])
                    .par_iter()
                    .with_min_len(4096)
                    .map(|&v| f.apply(f64::from(v)) as i32)
                    .collect(),
            }
        }
        StageKind::Gemm(g) if g.dynamic => {
            let q = p.tensor(st.inputs[0]);
            dynamic::gemm(
                g,
                get(st.inputs[0]),
                &q.format,
                get(st.inputs[1]),
                batch,
                out_len,
            )
        }
        StageKind::MatMul(m) if m.dynamic => {
            let q = p.tensor(st.inputs[0]);
            dynamic::matmul(m, get(st.inputs[0]), &q.format, get(st.inputs[1]))
        }
        StageKind::Gemm(g) => {
            let xin = get(st.inputs[0]);
            let xf = p.tensor(st.inputs[0]).format;
            gemm::gemm_batch(g, xin, &xf, batch, out_len)
        }
        StageKind::MatMul(m) => {
            let a = get(st.inputs[0]);
            let af = p.tensor(st.inputs[0]).format;
            let b = st.inputs.get(1).map(|&t| (get(t), &p.tensor(t).format));
            encoder::matmul(m, a, &af, b, batch)
        }
        StageKind::Embed(e) => encoder::embed(e, get(st.inputs[0])),
        StageKind::Vector(v) => {
            let xin = get(st.inputs[0]);
            let xinfo = p.tensor(st.inputs[0]);
            match v {
                VectorOp::DynamicExponent { row, mag_bits } => {
                    dynamic::exponents(xin, &xinfo.format, *row, *mag_bits)
                }
                VectorOp::DynamicQuant { row } => dynamic::quantize(
                    xin,
                    &xinfo.format,
                    get(st.inputs[1]),
                    *row,
                    &out_info.format,
                ),
                VectorOp::MaskedSoftmax {
                    q_ln2,
                    q_b,
                    q_c,
                    row,
                } => encoder::masked_softmax(
                    xin,
                    get(st.inputs[1]),
                    *row,
                    encoder::ExpConstants {
                        q_ln2: *q_ln2,
                        q_b: *q_b,
                        q_c: *q_c,
                    },
                    &out_info.format,
                    batch,
                ),
                VectorOp::Add {
                    ma,
                    mb,
                    shift,
                    constant,
                } => {
                    let b = st.inputs.get(1).map(|&t| (get(t), &p.tensor(t).format));
                    let scales = encoder::AddScales {
                        ma: *ma,
                        mb: *mb,
                        shift: *shift,
                        constant,
                    };
                    encoder::add(xin, &xinfo.format, b, &scales, &out_info.format)
                }
                VectorOp::LayerNorm {
                    row,
                    gamma,
                    beta,
                    frac,
                    eps,
                } => {
                    let ln = encoder::LayerNormParams {
                        gamma,
                        beta,
                        frac: *frac,
                        eps: *eps,
                    };
                    encoder::layernorm(xin, &xinfo.format, *row, &ln, &out_info.format)
                }
                VectorOp::Gelu {
                    q_r,
                    q_one,
                    requant,
                } => encoder::gelu(xin, &xinfo.format, *q_r, *q_one, requant),
                VectorOp::MaxPool { window } => {
                    vector::maxpool(window, xin, xinfo.len(), out_len, &xinfo.format)
                }
                VectorOp::ReluCast { rounding, overflow } => {
                    vector::relu_cast(xin, &xinfo.format, &out_info.format, *rounding, *overflow)
                }
                VectorOp::Relu => {
                    let z = xinfo.format.zero_point() as i32;
                    xin.par_iter().map(|&q| q.max(z)).collect()
                }
                VectorOp::Softmax {
                    q_ln2,
                    q_b,
                    q_c,
                    row,
                } => vector::softmax(xin, *row, *q_ln2, *q_b, *q_c, &out_info.format),
            }
        }
        StageKind::Layout(LayoutOp::Reshape) => get(st.inputs[0]).to_vec(),
        StageKind::Layout(LayoutOp::Transpose { perm }) => {
            let xinfo = p.tensor(st.inputs[0]);
            vector::transpose(get(st.inputs[0]), &xinfo.shape, perm)
        }
    }
}

/// Checks that `x` is float32 `[N, input_shape...]` and returns `N`.
pub fn check_input(p: &Program, x: &Tensor) -> Result<usize> {
    if !p.int_inputs.is_empty() {
        return Err(Error::Input {
            name: p
                .int_inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            msg: "this program takes integer inputs (token ids, a mask), not a real-valued tensor; run it with systole embed --sysq".into(),
        });
    }
    let bad = |msg: String| Error::Input {
        name: p.input_name.clone(),
        msg,
    };
    if x.as_f32().is_none() && x.dtype() != crate::tensor::DType::F64 {
        return Err(bad(format!(
            "{} data, expected float32 or float64",
            x.dtype().name()
        )));
    }
    if x.shape.len() != p.input_shape.len() + 1 || x.shape[1..] != p.input_shape[..] {
        return Err(bad(format!(
            "shape {:?}, the quantized program expects [N, {}]",
            x.shape,
            p.input_shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(x.shape[0])
}

/// Real values of codes in format `f`.
pub fn dequantize(f: &Format, codes: &[i32]) -> Vec<f32> {
    codes
        .iter()
        .map(|&q| f.dequantize(i64::from(q)) as f32)
        .collect()
}

/// The program output as a float tensor `[N, output shape...]`.
pub fn output_tensor(p: &Program, codes: &[i32]) -> Tensor {
    let info = p.tensor(p.output);
    let n = codes.len() / info.len().max(1);
    let mut shape = vec![n];
    shape.extend(&info.shape);
    Tensor::f32(shape, dequantize(&info.format, codes))
}
