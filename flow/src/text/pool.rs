//! Mean pooling over the attention mask: what sentence-transformers' `Pooling` module does for
//! the MiniLM paraphrase models (`pooling_mode_mean_tokens: true` in `1_Pooling/config.json`).
//! Padding tokens do not count; a row of all padding gives the zero vector (the divisor is
//! clamped to 1e-9 like sentence-transformers, so no NaN).

use crate::error::{FlowError, Result};
use systole_compiler::Tensor;

/// `tokens` is `[batch, seq, hidden]` f32, `mask` `batch × seq` (0/1); returns `batch × hidden`.
pub fn mean_pool(tokens: &Tensor, mask: &[i64]) -> Result<Vec<Vec<f32>>> {
    let bad = |msg: String| FlowError::Tensor {
        name: "token embeddings".into(),
        msg,
    };
    let [b, s, h] = tokens.shape[..] else {
        return Err(bad(format!(
            "expected [batch, sequence, hidden], got shape {:?}",
            tokens.shape
        )));
    };
    if mask.len() != b * s {
        return Err(bad(format!(
            "the attention mask has {} entries for shape {:?}",
            mask.len(),
            tokens.shape
        )));
    }
    let v = tokens
        .as_f32()
        .ok_or_else(|| bad(format!("expected f32, got {}", tokens.dtype())))?;
    let mut out = Vec::with_capacity(b);
    for i in 0..b {
        let mut acc = vec![0f64; h];
        let mut count = 0f64;
        for t in 0..s {
            let m = mask[i * s + t] as f64;
            if m == 0.0 {
                continue;
            }
            count += m;
            let row = &v[(i * s + t) * h..(i * s + t + 1) * h];
            acc.iter_mut()
                .zip(row)
                .for_each(|(a, &x)| *a += m * x as f64);
        }
        let div = count.max(1e-9);
        out.push(acc.into_iter().map(|a| (a / div) as f32).collect());
    }
    Ok(out)
}

/// Cosine similarity (0 when either vector is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut d, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        d += x as f64 * y as f64;
        na += x as f64 * x as f64;
        nb += y as f64 * y as f64;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        d / (na.sqrt() * nb.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_does_not_count() {
        let t = Tensor::f32(vec![1, 3, 2], vec![1.0, 2.0, 3.0, 4.0, 100.0, 100.0]);
        let p = mean_pool(&t, &[1, 1, 0]).unwrap();
        assert_eq!(p, vec![vec![2.0, 3.0]]);
        let z = mean_pool(&t, &[0, 0, 0]).unwrap();
        assert_eq!(z, vec![vec![0.0, 0.0]]);
        assert!(mean_pool(&t, &[1, 1]).is_err());
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-12);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
