//! Tokenization with Hugging Face's `tokenizers` crate, loaded from a `tokenizer.json`.
//!
//! The crate is built without its default features (no `onig` C library, no progress bars):
//! `fancy-regex` is pure Rust and is what the BERT pre-tokenizer needs. Padding and truncation
//! configured in the file are switched off: [`encode`] pads to one length itself and refuses,
//! rather than silently cuts, a sentence that does not fit.

use std::path::Path;

use crate::error::{FlowError, Result};

/// A batch of token ids and attention masks, padded on the right to `seq` with id 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub seq: usize,
    /// `len × seq`, row-major.
    pub ids: Vec<i64>,
    /// `len × seq`: 1 for a real token, 0 for padding.
    pub mask: Vec<i64>,
    /// Real tokens per sentence (special tokens included).
    pub lengths: Vec<usize>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }
}

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    path: std::path::PathBuf,
}

impl Tokenizer {
    pub fn from_file(path: &Path) -> Result<Tokenizer> {
        // Read through the bounded reader (a regular file, at most --max-file-bytes), then
        // parsed from memory: the tokenizers crate would read a FIFO or /dev/zero forever.
        let bytes = systole_compiler::files::read(path)?;
        let mut inner = tokenizers::Tokenizer::from_bytes(&bytes).map_err(|e| FlowError::File {
            path: path.to_path_buf(),
            msg: format!("not a tokenizer.json the tokenizers crate reads: {e}"),
        })?;
        inner.with_padding(None);
        inner.with_truncation(None).map_err(|e| FlowError::File {
            path: path.to_path_buf(),
            msg: format!("cannot switch truncation off: {e}"),
        })?;
        Ok(Tokenizer {
            inner,
            path: path.to_path_buf(),
        })
    }

    /// Vocabulary size including added (special) tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token ids of one sentence with the special tokens (`[CLS] … [SEP]` for BERT).
    pub fn ids(&self, text: &str) -> Result<Vec<i64>> {
        let enc = self.inner.encode(text, true).map_err(|e| FlowError::File {
            path: self.path.clone(),
            msg: format!("cannot tokenize {text:?}: {e}"),
        })?;
        Ok(enc.get_ids().iter().map(|&i| i as i64).collect())
    }

    /// Tokenizes `sentences` and pads them to `seq` (default: the longest). A sentence longer
    /// than `seq` is an error naming it (index from 0), so no text is dropped silently.
    pub fn encode(&self, sentences: &[String], seq: Option<usize>) -> Result<Batch> {
        let all: Vec<Vec<i64>> = sentences
            .iter()
            .map(|s| self.ids(s))
            .collect::<Result<_>>()?;
        pad(all, seq)
    }
}

/// Pads token-id lists on the right to `seq` (default: the longest), with masks.
pub fn pad(all: Vec<Vec<i64>>, seq: Option<usize>) -> Result<Batch> {
    let longest = all.iter().map(Vec::len).max().unwrap_or(0);
    let seq = seq.unwrap_or(longest).max(1);
    let mut batch = Batch {
        seq,
        ids: Vec::with_capacity(all.len() * seq),
        mask: Vec::with_capacity(all.len() * seq),
        lengths: Vec::with_capacity(all.len()),
    };
    for (i, ids) in all.into_iter().enumerate() {
        if ids.len() > seq {
            return Err(FlowError::Input {
                name: "text".into(),
                msg: format!(
                    "sentence {i} has {} tokens, more than --seq {seq}; raise --seq or shorten it",
                    ids.len()
                ),
            });
        }
        batch.lengths.push(ids.len());
        batch
            .mask
            .extend((0..seq).map(|k| i64::from(k < ids.len())));
        let n = ids.len();
        batch.ids.extend(ids);
        batch.ids.extend(std::iter::repeat_n(0, seq - n));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_masks_and_refuses_long_sentences() {
        let b = pad(vec![vec![101, 7, 102], vec![101, 102]], None).unwrap();
        assert_eq!(b.seq, 3);
        assert_eq!(b.ids, vec![101, 7, 102, 101, 102, 0]);
        assert_eq!(b.mask, vec![1, 1, 1, 1, 1, 0]);
        assert_eq!(b.lengths, vec![3, 2]);
        let e = pad(vec![vec![1; 5]], Some(4)).unwrap_err().to_string();
        assert!(e.contains("sentence 0 has 5 tokens"), "{e}");
    }
}
