//! What each stage is for, so a report can split a transformer's cycles into attention, FFN and
//! the rest. Decided from the program's structure, not from node names:
//!
//! * **attention**: activation × activation matmuls (`Q·Kᵀ`, `P·V`), the masked softmax, and
//!   every linear layer whose output reaches one of those matmuls (the Q, K, V projections) or
//!   whose input comes from one (the output projection), layout stages in between skipped;
//! * **ffn**: GELU and the linear layers that feed it or read it;
//! * **gemm**: the CNN/MLP array stages (`Gemm`);
//! * **other**: everything else (embedding lookup, LayerNorm, residual adds, layout, the input
//!   quantizer, pooling).

use serde::Serialize;
use systole_compiler::fxir::{Program, StageKind, TensorId, VectorOp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Attention,
    Ffn,
    Gemm,
    Other,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Attention,
        Category::Ffn,
        Category::Gemm,
        Category::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Attention => "attention",
            Category::Ffn => "ffn",
            Category::Gemm => "gemm",
            Category::Other => "other",
        }
    }
}

fn is_layout(k: &StageKind) -> bool {
    matches!(k, StageKind::Layout(_))
}

fn is_act_matmul(k: &StageKind) -> bool {
    matches!(k, StageKind::MatMul(m) if m.weights.is_none())
}

fn is_gelu(k: &StageKind) -> bool {
    matches!(k, StageKind::Vector(VectorOp::Gelu { .. }))
}

/// The category of every stage of `p`, in stage order.
pub fn of_program(p: &Program) -> Vec<Category> {
    let producer = |t: TensorId| p.stages.iter().position(|s| s.output == t);
    // The first non-layout stage that produced `t`, following layout stages back.
    let source = |mut t: TensorId| loop {
        match producer(t) {
            Some(i) if is_layout(&p.stages[i].kind) => match p.stages[i].inputs.first() {
                Some(&x) => t = x,
                None => return None,
            },
            other => return other,
        }
    };
    // The non-layout stages that read `t`, following layout stages forward.
    let readers = |t: TensorId| {
        let mut out = Vec::new();
        let mut todo = vec![t];
        while let Some(t) = todo.pop() {
            for (i, s) in p.stages.iter().enumerate() {
                if s.inputs.contains(&t) {
                    if is_layout(&s.kind) {
                        todo.push(s.output);
                    } else {
                        out.push(i);
                    }
                }
            }
        }
        out
    };
    p.stages
        .iter()
        .map(|st| match &st.kind {
            StageKind::Gemm(_) => Category::Gemm,
            StageKind::MatMul(m) if m.weights.is_none() => Category::Attention,
            StageKind::Vector(VectorOp::MaskedSoftmax { .. }) => Category::Attention,
            StageKind::Vector(VectorOp::Gelu { .. }) => Category::Ffn,
            StageKind::MatMul(_) => {
                let from = st.inputs.first().and_then(|&t| source(t));
                let to = readers(st.output);
                let near = |f: fn(&StageKind) -> bool| {
                    from.is_some_and(|i| f(&p.stages[i].kind))
                        || to.iter().any(|&i| f(&p.stages[i].kind))
                };
                if near(is_act_matmul) {
                    Category::Attention
                } else if near(is_gelu) {
                    Category::Ffn
                } else {
                    Category::Other
                }
            }
            _ => Category::Other,
        })
        .collect()
}

/// Consecutive stages of an encoder: the embeddings (up to the first LayerNorm), then one block
/// per encoder layer, each ending at the first LayerNorm after its FFN; stages after the last
/// such LayerNorm form a `tail` block. `(name, first stage, end stage)`, half-open.
pub fn encoder_blocks(p: &Program) -> Vec<(String, usize, usize)> {
    let cats = of_program(p);
    let mut out = Vec::new();
    let (mut start, mut seen_ffn) = (0, false);
    for (i, st) in p.stages.iter().enumerate() {
        seen_ffn |= cats[i] == Category::Ffn;
        let ln = matches!(st.kind, StageKind::Vector(VectorOp::LayerNorm { .. }));
        if ln && (out.is_empty() || seen_ffn) {
            let name = if out.is_empty() {
                "embeddings".to_string()
            } else {
                format!("layer {}", out.len() - 1)
            };
            out.push((name, start, i + 1));
            start = i + 1;
            seen_ffn = false;
        }
    }
    if start < p.stages.len() {
        out.push(("tail".to_string(), start, p.stages.len()));
    }
    out
}
