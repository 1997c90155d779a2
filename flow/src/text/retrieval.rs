//! The paraphrase-retrieval benchmark: every sentence of a pair queries all the others of the
//! evaluation split by cosine similarity; its partner should come first. recall@1 is the
//! fraction of queries whose partner ranks first, MRR the mean of 1/rank. Both directions of a
//! pair are queries. Ties rank pessimistically (a distractor as similar as the partner counts as
//! ahead of it), so a degenerate embedding cannot score well.

use serde::Serialize;

use super::pool::cosine;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Retrieval {
    /// Queries: two per pair.
    pub queries: usize,
    /// Candidates per query (the evaluation sentences minus the query).
    pub candidates: usize,
    pub recall_at_1: f64,
    pub mrr: f64,
}

/// `emb[i]` is sentence `i`'s embedding; `pairs` index into it.
pub fn retrieval(emb: &[Vec<f32>], pairs: &[(usize, usize)]) -> Retrieval {
    let mut hits = 0usize;
    let mut rr = 0f64;
    let mut queries = 0usize;
    for &(a, b) in pairs {
        for (q, p) in [(a, b), (b, a)] {
            let (Some(eq), Some(ep)) = (emb.get(q), emb.get(p)) else {
                continue;
            };
            let target = cosine(eq, ep);
            let ahead = emb
                .iter()
                .enumerate()
                .filter(|&(j, e)| j != q && j != p && cosine(eq, e) >= target)
                .count();
            let rank = ahead + 1;
            hits += usize::from(rank == 1);
            rr += 1.0 / rank as f64;
            queries += 1;
        }
    }
    let n = queries.max(1) as f64;
    Retrieval {
        queries,
        candidates: emb.len().saturating_sub(1),
        recall_at_1: hits as f64 / n,
        mrr: rr / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_degenerate_embeddings() {
        let emb = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.9, 0.1, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.9, 0.1],
        ];
        let r = retrieval(&emb, &[(0, 1), (2, 3)]);
        assert_eq!((r.queries, r.candidates), (4, 3));
        assert_eq!((r.recall_at_1, r.mrr), (1.0, 1.0));
        // All equal: every distractor ties with the partner and ranks ahead of it.
        let same = vec![vec![1.0, 1.0]; 4];
        let r = retrieval(&same, &[(0, 1), (2, 3)]);
        assert_eq!(r.recall_at_1, 0.0);
        assert!((r.mrr - 1.0 / 3.0).abs() < 1e-12);
        // Swapped partners: rank 2 for every query.
        let emb2 = vec![
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![0.9, 0.1],
            vec![0.1, 0.9],
        ];
        let r = retrieval(&emb2, &[(0, 1), (2, 3)]);
        assert_eq!(r.recall_at_1, 0.0);
    }
}
