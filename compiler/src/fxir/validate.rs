//! The verifier of the fixed-point program: structure, shapes, formats, and the proof that no
//! accumulator can overflow unless an overflow mode says so.

use super::ranges;
use super::weights::MAX_OPERAND_BITS;
use super::{Coding, GemmStage, LayoutOp, Program, StageKind, TensorId, VectorOp};
use crate::quant::Format;
use crate::{Error, Result};

/// The I-BERT exp constants of a softmax stage. The lowering derives all three from the input
/// step s (`q_ln2 = ⌊ln 2/s⌋`, `q_b ≈ 1.95·q_ln2`, `q_c ≈ 2·q_ln2²`); these bounds hold for every
/// such step down to 2^-24 and keep `(p + q_b)² + q_c` inside i64, where an edited `.sysq` with
/// `q_b = 2^63 − 1` overflowed the reference.
fn softmax_constants(name: &str, q_ln2: i64, q_b: i64, q_c: i64) -> Result<(), Error> {
    const MAX_Q_LN2: i64 = 1 << 24;
    if !(1..=MAX_Q_LN2).contains(&q_ln2) {
        return Err(bad(
            name,
            format!(
                "softmax: q_ln2 = {q_ln2} is not in 1..={MAX_Q_LN2} (ln 2 over the input step)"
            ),
        ));
    }
    let (max_b, max_c) = (4 * q_ln2 + 4, 4 * q_ln2 * q_ln2 + 4);
    if !(0..=max_b).contains(&q_b) {
        return Err(bad(
            name,
            format!("softmax: q_b = {q_b} is not in 0..={max_b} (4·q_ln2 + 4)"),
        ));
    }
    if !(0..=max_c).contains(&q_c) {
        return Err(bad(
            name,
            format!("softmax: q_c = {q_c} is not in 0..={max_c} (4·q_ln2² + 4)"),
        ));
    }
    Ok(())
}

pub(super) fn bad(stage: &str, msg: impl std::fmt::Display) -> Error {
    Error::Program {
        at: format!("stage '{stage}'"),
        msg: msg.to_string(),
    }
}

/// Largest `|x|` a code of this format can take. The array multiplies raw codes (the zero
/// point is folded into the bias), so the bound is on raw codes, not on `x - z`.
pub fn max_code(f: &Format) -> u64 {
    f.min_int().unsigned_abs().max(f.max_int().unsigned_abs())
}

pub fn validate(p: &Program) -> Result<()> {
    let nt = p.tensors.len();
    ranges::shape("the program input", &p.input_shape)?;
    for (i, t) in p.tensors.iter().enumerate() {
        t.format.validate().map_err(|e| Error::Program {
            at: format!("tensor t{i} '{}'", t.name),
            msg: e.to_string(),
        })?;
        let what = format!("t{i} '{}'", t.name);
        ranges::activation_step(&what, &t.format)?;
        ranges::shape(&format!("tensor {what}"), &t.shape)?;
    }
    let mut produced = vec![false; nt];
    for inp in &p.int_inputs {
        if inp.tensor.0 >= nt {
            return Err(Error::Program {
                at: format!("integer input '{}'", inp.name),
                msg: format!("names tensor t{}, which does not exist", inp.tensor.0),
            });
        }
        produced[inp.tensor.0] = true;
    }
    let check_id = |st: &str, id: TensorId| -> Result<()> {
        if id.0 >= nt {
            return Err(bad(st, format!("tensor t{} does not exist", id.0)));
        }
        Ok(())
    };
    for st in &p.stages {
        let name = st.name.as_str();
        for &i in &st.inputs {
            check_id(name, i)?;
            if !produced[i.0] {
                return Err(bad(name, format!("reads t{} before it is produced", i.0)));
            }
        }
        check_id(name, st.output)?;
        if produced[st.output.0] {
            return Err(bad(name, format!("t{} is produced twice", st.output.0)));
        }
        produced[st.output.0] = true;
        let out = p.tensor(st.output);
        let arity = match &st.kind {
            StageKind::Quantize { .. } => 0,
            StageKind::MatMul(m) if m.weights.is_none() || m.dynamic => 2,
            StageKind::Gemm(g) if g.dynamic => 2,
            StageKind::Vector(VectorOp::DynamicQuant { .. }) => 2,
            StageKind::Vector(VectorOp::MaskedSoftmax { .. }) => 2,
            StageKind::Vector(VectorOp::Add { constant, .. }) if constant.is_empty() => 2,
            _ => 1,
        };
        if st.inputs.len() != arity {
            return Err(bad(
                name,
                format!("{} inputs, expected {arity}", st.inputs.len()),
            ));
        }
        match &st.kind {
            StageKind::Quantize { .. } => {
                if out.shape != p.input_shape {
                    return Err(bad(name, "output shape differs from the program input"));
                }
            }
            StageKind::Gemm(g) => {
                if let Some(w) = &g.conv {
                    ranges::window(name, "conv", w)?;
                }
                gemm(name, g, &p.tensor(st.inputs[0]).format, &out.format)?;
                if g.dynamic {
                    super::dynamic::check_gemm(p, st, g)?;
                }
                let x = p.tensor(st.inputs[0]);
                match &g.conv {
                    Some(w) => {
                        let kk = w.channels * w.kernel[0] * w.kernel[1];
                        if x.shape != [w.channels, w.input[0], w.input[1]] || g.k != kk {
                            return Err(bad(
                                name,
                                format!(
                                    "conv input {:?} or k {} disagree with the window",
                                    x.shape, g.k
                                ),
                            ));
                        }
                        if out.shape != [g.n, w.output[0], w.output[1]] {
                            return Err(bad(
                                name,
                                format!(
                                    "conv output {:?} is not [{}, {}, {}]",
                                    out.shape, g.n, w.output[0], w.output[1]
                                ),
                            ));
                        }
                    }
                    None => {
                        if x.len() != g.k || out.len() != g.n {
                            return Err(bad(
                                name,
                                format!(
                                    "gemm of {:?} -> {:?} with k={} n={}",
                                    x.shape, out.shape, g.k, g.n
                                ),
                            ));
                        }
                    }
                }
            }
            StageKind::MatMul(m) => {
                let x = p.tensor(st.inputs[0]);
                if m.dynamic {
                    matmul(name, m, x, None, out)?;
                    super::dynamic::check_matmul(p, st, m)?;
                } else {
                    let b = st.inputs.get(1).map(|&t| p.tensor(t));
                    matmul(name, m, x, b, out)?;
                }
            }
            StageKind::Embed(e) => {
                let x = p.tensor(st.inputs[0]);
                if e.table.len() != e.rows * e.dim
                    || out.shape != [x.len(), e.dim]
                    || x.format.zero_point() != 0
                {
                    return Err(bad(
                        name,
                        format!(
                            "embedding of {} rows × {} from ids {:?} to {:?}",
                            e.rows, e.dim, x.shape, out.shape
                        ),
                    ));
                }
                let (lo, hi) = (out.format.min_int(), out.format.max_int());
                if e.table
                    .iter()
                    .any(|&v| i64::from(v) < lo || i64::from(v) > hi)
                {
                    return Err(bad(name, "an embedding code is outside the output format"));
                }
            }
            StageKind::Vector(v) => {
                let x = p.tensor(st.inputs[0]);
                match v {
                    VectorOp::DynamicExponent { row, mag_bits } => {
                        super::dynamic::check_exponent(name, x, out, *row, *mag_bits)?
                    }
                    VectorOp::DynamicQuant { row } => super::dynamic::check_quant(p, st, *row)?,
                    VectorOp::MaskedSoftmax {
                        q_ln2,
                        q_b,
                        q_c,
                        row,
                        ..
                    } => {
                        softmax_constants(name, *q_ln2, *q_b, *q_c)?;
                        let m = p.tensor(st.inputs[1]);
                        if *q_ln2 < 1
                            || out.format.signed
                            || x.shape != out.shape
                            || x.shape.last() != Some(row)
                            || m.len() != *row
                        {
                            return Err(bad(name, "masked softmax: unsigned output of the input's shape, rows on the last axis, a mask of one row"));
                        }
                    }
                    VectorOp::Add {
                        ma,
                        mb,
                        shift,
                        constant,
                    } => {
                        let same = st
                            .inputs
                            .get(1)
                            .is_none_or(|&b| p.tensor(b).shape == x.shape);
                        if x.shape != out.shape
                            || !same
                            || (!constant.is_empty() && constant.len() != x.len())
                            || *shift > 40
                            || ma.unsigned_abs() >= 1 << 40
                            || mb.unsigned_abs() >= 1 << 40
                        {
                            return Err(bad(
                                name,
                                "add: shapes, constant length or multipliers out of range",
                            ));
                        }
                    }
                    VectorOp::LayerNorm {
                        row,
                        gamma,
                        beta,
                        frac,
                        eps,
                    } => {
                        if x.shape != out.shape
                            || x.shape.last() != Some(row)
                            || gamma.len() != *row
                            || beta.len() != *row
                            || *frac > 30
                            || *eps < 0
                            || gamma
                                .iter()
                                .chain(beta)
                                .any(|v| v.unsigned_abs() >= 1 << 40)
                        {
                            return Err(bad(name, "layernorm: shapes, γ/β lengths or ranges"));
                        }
                    }
                    VectorOp::Gelu {
                        q_r,
                        q_one,
                        requant,
                    } => {
                        ranges::requant(name, "gelu", requant)?;
                        if x.shape != out.shape
                            || *q_r < 1
                            || *q_one < 1
                            || *q_one >= 1 << 40
                            || requant.bits != out.format.bits
                            || requant.signed != out.format.signed
                        {
                            return Err(bad(name, "gelu: shapes or constants out of range"));
                        }
                    }
                    VectorOp::MaxPool { window } => {
                        ranges::window(name, "window", window)?;
                        if x.format != out.format {
                            return Err(bad(name, "maxpool changes the format"));
                        }
                        if x.shape != [window.channels, window.input[0], window.input[1]]
                            || out.shape != [window.channels, window.output[0], window.output[1]]
                        {
                            return Err(bad(name, "maxpool shapes disagree with the window"));
                        }
                    }
                    VectorOp::ReluCast { .. } => {
                        let bp =
                            |f: &Format| matches!(f.scale, crate::quant::Scale::BinaryPoint { .. });
                        if !bp(&x.format) || !bp(&out.format) || x.shape != out.shape {
                            return Err(bad(
                                name,
                                "relu-cast needs binary-point formats and one shape",
                            ));
                        }
                    }
                    VectorOp::Relu => {
                        if x.format != out.format || x.shape != out.shape {
                            return Err(bad(name, "relu changes the format or shape"));
                        }
                    }
                    VectorOp::Softmax {
                        q_ln2,
                        q_b,
                        q_c,
                        row,
                        ..
                    } => {
                        softmax_constants(name, *q_ln2, *q_b, *q_c)?;
                        if *q_ln2 < 1 {
                            return Err(bad(name, "softmax: input step above ln 2 (q_ln2 < 1)"));
                        }
                        if out.format.signed || x.shape != out.shape || x.shape.last() != Some(row)
                        {
                            return Err(bad(name, "softmax: output must be unsigned, same shape, rows on the last axis"));
                        }
                    }
                }
            }
            StageKind::Layout(l) => {
                let x = p.tensor(st.inputs[0]);
                if x.format != out.format || x.len() != out.len() {
                    return Err(bad(
                        name,
                        "layout stage changes the format or the element count",
                    ));
                }
                if let LayoutOp::Transpose { perm } = l {
                    let mut seen = vec![false; x.shape.len()];
                    for &a in perm {
                        if a >= seen.len() || std::mem::replace(&mut seen[a], true) {
                            return Err(bad(name, format!("perm {perm:?} is not a permutation")));
                        }
                    }
                    if perm.len() != x.shape.len()
                        || perm.iter().map(|&a| x.shape[a]).collect::<Vec<_>>() != out.shape
                    {
                        return Err(bad(
                            name,
                            format!("perm {perm:?} of {:?} is not {:?}", x.shape, out.shape),
                        ));
                    }
                }
            }
        }
    }
    if p.output.0 >= nt || !produced[p.output.0] {
        return Err(Error::Program {
            at: format!("output t{}", p.output.0),
            msg: "no stage produces it".into(),
        });
    }
    Ok(())
}

fn matmul(
    name: &str,
    m: &super::MatMulStage,
    a: &super::TensorInfo,
    b: Option<&super::TensorInfo>,
    y: &super::TensorInfo,
) -> Result<()> {
    let (g, mm, k, n) = (m.groups, m.m, m.k, m.n);
    if a.len() != g * mm * k || y.len() != g * mm * n {
        return Err(bad(
            name,
            format!(
                "matmul [{g}, {mm}, {k}]x[{k}, {n}] disagrees with {:?} -> {:?}",
                a.shape, y.shape
            ),
        ));
    }
    let bmax: u64 = match (&m.weights, b) {
        (Some(w), None) => {
            ranges::coding(name, w)?;
            if w.n != n || w.k != k || w.codes.len() != n * k || w.scales.len() != n {
                return Err(bad(name, "weight table sizes disagree with n and k"));
            }
            if m.bias.len() != n || m.requant.len() != n {
                return Err(bad(name, "bias or requant count differs from n"));
            }
            coding(name, w)?;
            if w.operand_bits() > MAX_OPERAND_BITS {
                return Err(bad(name, "decoded weights too wide"));
            }
            w.max_abs()
        }
        (None, Some(b)) => {
            if b.len() != g * k * n || !m.bias.is_empty() || m.requant.len() != 1 {
                return Err(bad(
                    name,
                    format!("activation B {:?} is not [{g}, {k}, {n}], or bias/requant counts are wrong", b.shape),
                ));
            }
            let zb = b.format.zero_point();
            (b.format.max_int() - zb)
                .unsigned_abs()
                .max((b.format.min_int() - zb).unsigned_abs())
        }
        _ => {
            return Err(bad(
                name,
                "matmul needs exactly one of weights and a second input",
            ))
        }
    };
    for (c, r) in m.requant.iter().enumerate() {
        ranges::requant(name, &format!("column {c}"), r)?;
        if r.bits != y.format.bits
            || r.signed != y.format.signed
            || i64::from(r.zero_point) != y.format.zero_point()
        {
            return Err(bad(
                name,
                format!("column {c}: requant output type differs from the output tensor's format"),
            ));
        }
    }
    let za = a.format.zero_point();
    let amax = if m.weights.is_some() {
        max_code(&a.format)
    } else {
        (a.format.max_int() - za)
            .unsigned_abs()
            .max((a.format.min_int() - za).unsigned_abs())
    };
    // A dynamic stage adds its bias after the shift, outside the array (dynamic.rs).
    let bias = if m.dynamic {
        0
    } else {
        m.bias.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0)
    };
    let bound = u128::from(amax) * u128::from(bmax) * k as u128 + u128::from(bias);
    let needed = 129 - bound.leading_zeros();
    if !(needed..=64).contains(&m.acc_bits) {
        return Err(bad(
            name,
            format!(
                "accumulator of {} bits; the worst case needs {needed} (at most 64)",
                m.acc_bits
            ),
        ));
    }
    Ok(())
}

fn gemm(name: &str, g: &GemmStage, x: &Format, y: &Format) -> Result<()> {
    let w = &g.weights;
    if w.n != g.n || w.k != g.k || w.codes.len() != g.n * g.k || w.scales.len() != g.n {
        return Err(bad(name, "weight table sizes disagree with n and k"));
    }
    if g.bias.len() != g.n || g.requant.len() != g.n {
        return Err(bad(name, "bias or requant count differs from n"));
    }
    ranges::coding(name, w)?;
    coding(name, w)?;
    let wmax = w.max_abs();
    let operand_bits = w.operand_bits();
    if operand_bits > MAX_OPERAND_BITS {
        return Err(bad(name, format!("decoded weights need {operand_bits} bits; the array takes at most {MAX_OPERAND_BITS}")));
    }
    for (c, r) in g.requant.iter().enumerate() {
        ranges::requant(name, &format!("channel {c}"), r)?;
        if r.bits != y.bits || r.signed != y.signed || i64::from(r.zero_point) != y.zero_point() {
            return Err(bad(
                name,
                format!("channel {c}: requant output type differs from the output tensor's format"),
            ));
        }
    }
    if !(2..=64).contains(&g.acc_bits) {
        return Err(bad(name, format!("accumulator of {} bits", g.acc_bits)));
    }
    if g.acc_overflow.is_none() {
        // The proof: every partial sum |Σ x w + b| <= K · max|x| · max|w| + max|b| < 2^(acc_bits - 1).
        // A dynamic stage adds its bias after the shift, outside the array (dynamic.rs).
        let xmax = u128::from(max_code(x));
        let bmax = if g.dynamic {
            0
        } else {
            g.bias.iter().map(|b| b.unsigned_abs()).max().unwrap_or(0) as u128
        };
        let bound = g.k as u128 * xmax * u128::from(wmax) + bmax;
        if bound >= 1u128 << (g.acc_bits - 1) {
            return Err(bad(name, format!("accumulator of {} bits can overflow (worst case |acc| = {bound}); widen it or give it an overflow mode", g.acc_bits)));
        }
    }
    Ok(())
}

fn coding(name: &str, w: &super::Weights) -> Result<()> {
    let code_range = |bits: u32| -> (i32, i32) { (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) };
    let check_codes = |lo: i32, hi: i32| -> Result<()> {
        match w.codes.iter().position(|&c| c < lo || c > hi) {
            Some(i) => Err(bad(
                name,
                format!(
                    "weight code {} at [{}][{}] outside {lo}..={hi}",
                    w.codes[i],
                    i / w.k,
                    i % w.k
                ),
            )),
            None => Ok(()),
        }
    };
    let per_row = |group: usize| w.k.div_ceil(group.max(1));
    match &w.coding {
        Coding::Int { bits } => {
            let (lo, hi) = code_range(*bits);
            check_codes(lo, hi)
        }
        Coding::Group {
            bits,
            group,
            mult_bits,
            mults,
        } => {
            let (lo, hi) = code_range(*bits);
            if *group == 0 || mults.len() != w.n * per_row(*group) {
                return Err(bad(name, "group multipliers do not cover every group"));
            }
            if mults.iter().any(|&m| m < 1 || m > 1 << mult_bits) {
                return Err(bad(
                    name,
                    format!("group multiplier outside 1..=2^{mult_bits}"),
                ));
            }
            check_codes(lo, hi)
        }
        Coding::Pow2 { bits } => {
            let e = (1 << (bits - 1)) - 1;
            check_codes(-e, e)
        }
        Coding::Codebook {
            bits,
            table_bits,
            per_channel,
            table,
        } => {
            let size = 1usize << bits;
            let want = if *per_channel { size * w.n } else { size };
            let (lo, hi) = code_range(*table_bits);
            if table.len() != want || table.iter().any(|&t| t < lo || t > hi) {
                return Err(bad(name, "codebook size or entries out of range"));
            }
            check_codes(0, size as i32 - 1)
        }
        Coding::Fp8 { kind, shifts } => {
            if shifts.len() != w.n {
                return Err(bad(name, "one fp8 shift per channel expected"));
            }
            let max = i32::from(kind.max_code());
            match w
                .codes
                .iter()
                .position(|&c| !(0..=255).contains(&c) || (c & 0x7f) > max)
            {
                Some(i) => Err(bad(
                    name,
                    format!("fp8 code {} is not a finite value", w.codes[i]),
                )),
                None => Ok(()),
            }
        }
        Coding::Block {
            bits,
            group,
            shifts,
        } => {
            let (lo, hi) = code_range(*bits);
            if *group == 0 || shifts.len() != w.n * per_row(*group) {
                return Err(bad(name, "block shifts do not cover every block"));
            }
            check_codes(lo, hi)
        }
    }
}
