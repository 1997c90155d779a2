//! The stable text form of the fixed-point program (`systole quantize --dump`, snapshots).
//!
//! Every integer the hardware uses is either printed or fingerprinted (weights, biases and
//! per-channel requantizers of more than four channels print as a hash), so a snapshot moves
//! exactly when a code, a width, a multiplier or a rounding does.

use std::fmt::Write;

use super::{Coding, GemmStage, LayoutOp, Program, StageKind, VectorOp, Window};
use crate::quant::{Format, Requant, Scale};

/// FNV-1a over the values' little-endian bytes: stable across platforms and runs.
pub fn fingerprint<T: Copy + Into<i64>>(v: &[T]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &x in v {
        for b in x.into().to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// `u8`, `i4`, …
pub fn int_type(signed: bool, bits: u32) -> String {
    format!("{}{bits}", if signed { 'i' } else { 'u' })
}

/// A format as `i8 step=M0·2^-(31+s) (≈real) z=zp` or `u8 Q(I).(F)`.
pub fn format_text(f: &Format) -> String {
    let t = int_type(f.signed, f.bits);
    match f.scale {
        Scale::BinaryPoint { frac_bits } => {
            let i = f.bits as i32 - frac_bits;
            let u = if f.signed { "" } else { "u" };
            format!("{t} ap_{u}fixed<{},{}>", f.bits, i)
        }
        Scale::Affine {
            multiplier,
            shift,
            zero_point,
        } => format!(
            "{t} step={multiplier}*2^-{} (~{:.6e}) z={zero_point}",
            31 + shift,
            f.step()
        ),
    }
}

fn window_text(w: &Window) -> String {
    format!(
        "{}x{} stride {}x{} dil {}x{} pad {}x{} in {}x{}x{} out {}x{}",
        w.kernel[0],
        w.kernel[1],
        w.strides[0],
        w.strides[1],
        w.dilations[0],
        w.dilations[1],
        w.pad_begin[0],
        w.pad_begin[1],
        w.channels,
        w.input[0],
        w.input[1],
        w.output[0],
        w.output[1]
    )
}

fn requant_text(r: &Requant) -> String {
    format!("M0={} s={}", r.m0, r.shift)
}

fn gemm_text(s: &mut String, g: &GemmStage) {
    let w = &g.weights;
    let _ = writeln!(
        s,
        "      array n={} k={}{}",
        g.n,
        g.k,
        g.conv
            .as_ref()
            .map(|c| format!(" conv {}", window_text(c)))
            .unwrap_or_default()
    );
    let side = match &w.coding {
        Coding::Group { mults, .. } => format!(" mults=#{:016x}", fingerprint(mults)),
        Coding::Codebook { table, .. } if table.len() <= 16 => format!(" table={table:?}"),
        Coding::Codebook { table, .. } => format!(" table=#{:016x}", fingerprint(table)),
        Coding::Fp8 { shifts, .. } | Coding::Block { shifts, .. } => {
            format!(" shifts=#{:016x}", fingerprint(shifts))
        }
        _ => String::new(),
    };
    let _ = writeln!(
        s,
        "      weights {} codes=#{:016x}{side} operand=i{} rom={} bits zeros={}",
        w.coding.label(),
        fingerprint(&w.codes),
        w.operand_bits(),
        w.storage_bits(),
        w.zeros()
    );
    let _ = writeln!(
        s,
        "      bias #{:016x}  acc i{} {}",
        fingerprint(&g.bias),
        g.acc_bits,
        g.acc_overflow
            .map(|m| format!("narrowed {m}"))
            .unwrap_or_else(|| "exact".into())
    );
    let r0 = &g.requant[0];
    let per = if g
        .requant
        .iter()
        .all(|r| r.m0 == r0.m0 && r.shift == r0.shift)
    {
        format!("all {}", requant_text(r0))
    } else if g.requant.len() <= 4 {
        let v: Vec<String> = g.requant.iter().map(requant_text).collect();
        v.join(", ")
    } else {
        let flat: Vec<i64> = g
            .requant
            .iter()
            .flat_map(|r| [i64::from(r.m0), i64::from(r.shift)])
            .collect();
        format!("per-channel #{:016x}", fingerprint(&flat))
    };
    let _ = writeln!(
        s,
        "      requant {per} z={} {} {} {}{}",
        r0.zero_point,
        int_type(r0.signed, r0.bits),
        r0.rounding,
        r0.overflow,
        if g.relu { " relu" } else { "" }
    );
}

/// The detail of a dynamic array stage (`acc<<e`: the accumulator shifted by input 1's exponent).
fn dynamic_text(dynamic: bool) -> String {
    if dynamic {
        "acc<<e".into()
    } else {
        String::new()
    }
}

/// Renders the program as stable text.
pub fn dump(p: &Program) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "program \"{}\" input %{}{:?} output %{} = t{}",
        p.name, p.input_name, p.input_shape, p.output_name, p.output.0
    );
    for (i, t) in p.tensors.iter().enumerate() {
        let _ = writeln!(
            s,
            "  t{i} %{}: {:?} {}",
            t.name,
            t.shape,
            format_text(&t.format)
        );
    }
    for inp in &p.int_inputs {
        let _ = writeln!(
            s,
            "  input %{} = t{} (integer codes)",
            inp.name, inp.tensor.0
        );
    }
    for (i, st) in p.stages.iter().enumerate() {
        let mut ins: Vec<String> = st.inputs.iter().map(|t| format!("t{}", t.0)).collect();
        let (what, detail) = match &st.kind {
            StageKind::Quantize { rounding, overflow } => {
                ins.push(format!("%{}", p.input_name));
                ("quantize", format!("{rounding} {overflow}"))
            }
            StageKind::Gemm(g) if g.conv.is_some() => ("conv", dynamic_text(g.dynamic)),
            StageKind::Gemm(g) => ("gemm", dynamic_text(g.dynamic)),
            StageKind::Vector(VectorOp::DynamicExponent { row, mag_bits }) => {
                ("dyn-exponent", format!("row={row} mag_bits={mag_bits}"))
            }
            StageKind::Vector(VectorOp::DynamicQuant { row }) => {
                ("dyn-quant", format!("row={row} RND SAT"))
            }
            StageKind::Vector(VectorOp::MaxPool { window }) => ("maxpool", window_text(window)),
            StageKind::Vector(VectorOp::Relu) => ("relu", String::new()),
            StageKind::Vector(VectorOp::ReluCast { rounding, overflow }) => {
                ("relu-cast", format!("{rounding} {overflow}"))
            }
            StageKind::Vector(VectorOp::Softmax {
                q_ln2,
                q_b,
                q_c,
                row,
            }) => (
                "softmax",
                format!("row={row} q_ln2={q_ln2} q_b={q_b} q_c={q_c}"),
            ),
            StageKind::Vector(VectorOp::MaskedSoftmax {
                q_ln2,
                q_b,
                q_c,
                row,
            }) => (
                "masked-softmax",
                format!("row={row} q_ln2={q_ln2} q_b={q_b} q_c={q_c}"),
            ),
            StageKind::Vector(VectorOp::Add {
                ma,
                mb,
                shift,
                constant,
            }) => (
                "add",
                format!(
                    "ma={ma} mb={mb} shift={shift}{}",
                    if constant.is_empty() {
                        String::new()
                    } else {
                        format!(" constant#{:016x}", fingerprint(constant))
                    }
                ),
            ),
            StageKind::Vector(VectorOp::LayerNorm {
                row,
                gamma,
                beta,
                frac,
                eps,
            }) => (
                "layernorm",
                format!(
                    "row={row} frac={frac} eps={eps} gamma#{:016x} beta#{:016x}",
                    fingerprint(gamma),
                    fingerprint(beta)
                ),
            ),
            StageKind::Vector(VectorOp::Gelu {
                q_r,
                q_one,
                requant,
            }) => (
                "gelu",
                format!("q_r={q_r} q_one={q_one} {}", requant_text(requant)),
            ),
            StageKind::MatMul(m) => (
                if m.weights.is_some() {
                    "linear"
                } else {
                    "matmul"
                },
                format!(
                    "groups={} m={} k={} n={} acc={}{}{}",
                    m.groups,
                    m.m,
                    m.k,
                    m.n,
                    m.acc_bits,
                    if m.dynamic { " acc<<e" } else { "" },
                    match &m.weights {
                        Some(w) => format!(
                            " {} codes#{:016x} bias#{:016x} requant#{:016x}",
                            w.coding.label(),
                            fingerprint(&w.codes),
                            fingerprint(&m.bias),
                            fingerprint(
                                &m.requant
                                    .iter()
                                    .flat_map(|r| [r.m0, r.shift])
                                    .collect::<Vec<i32>>()
                            )
                        ),
                        None => format!(" {}", requant_text(&m.requant[0])),
                    }
                ),
            ),
            StageKind::Embed(e) => (
                "embed",
                format!(
                    "rows={} dim={} table#{:016x}",
                    e.rows,
                    e.dim,
                    fingerprint(&e.table)
                ),
            ),
            StageKind::Layout(LayoutOp::Transpose { perm }) => ("transpose", format!("{perm:?}")),
            StageKind::Layout(LayoutOp::Reshape) => ("reshape", String::new()),
        };
        let detail = if detail.is_empty() {
            detail
        } else {
            format!(" {{{detail}}}")
        };
        let _ = writeln!(
            s,
            "  s{i} t{} = {what}({}){detail}  # {}",
            st.output.0,
            ins.join(", "),
            st.name
        );
        if let StageKind::Gemm(g) = &st.kind {
            gemm_text(&mut s, g);
        }
    }
    let _ = writeln!(
        s,
        "  weights {} in {} bits ({:.3} bits/weight)",
        p.weight_count(),
        p.weight_bits(),
        p.weight_bits() as f64 / p.weight_count().max(1) as f64
    );
    s
}
