//! Analytical cycle counts of a GEMM on a weight-stationary systolic array.
//!
//! Follows SCALE-Sim's compute model: a GEMM `[M×K]·[K×N]` is cut into folds of `rows × cols`
//! weights; each fold loads its weights (`rows` cycles), streams `M` input rows skewed across
//! the array, and drains through `rows + cols - 1` stages.

use systole_hw::Accelerator;

/// Compute cycles of `[m×k]·[k×n]` on a weight-stationary `rows × cols` array (no stalls).
pub fn ws_gemm_cycles(acc: &Accelerator, m: usize, k: usize, n: usize) -> u64 {
    let (r, c) = (acc.rows as u64, acc.cols as u64);
    let folds = (k as u64).div_ceil(r) * (n as u64).div_ceil(c);
    // Per fold: weight preload (r), then m rows streamed with a skew of r + c - 1 to fill/drain.
    folds * (r + m as u64 + r + c - 1)
}

/// Fraction of PE-cycles doing useful MACs.
pub fn ws_utilization(acc: &Accelerator, m: usize, k: usize, n: usize) -> f64 {
    let macs = (m * k * n) as f64;
    let pe_cycles = ws_gemm_cycles(acc, m, k, n) as f64 * (acc.rows * acc.cols) as f64;
    macs / pe_cycles
}

#[cfg(test)]
mod tests {
    use super::*;
    use systole_hw::Dataflow;

    fn arr(r: usize, c: usize) -> Accelerator {
        Accelerator::new("t", r, c, Dataflow::WeightStationary, 100.0)
    }

    #[test]
    fn one_fold_counts_fill_stream_and_drain() {
        // 4×4 array, K = N = 4: one fold; 4 preload + 10 rows + 7 skew.
        assert_eq!(ws_gemm_cycles(&arr(4, 4), 10, 4, 4), 4 + 10 + 4 + 4 - 1);
    }

    #[test]
    fn folds_multiply_and_utilization_is_below_one() {
        let a = arr(4, 4);
        assert_eq!(
            ws_gemm_cycles(&a, 10, 8, 8),
            4 * ws_gemm_cycles(&a, 10, 4, 4)
        );
        let u = ws_utilization(&a, 1000, 4, 4);
        assert!(u > 0.9 && u < 1.0, "{u}");
        assert!(ws_utilization(&a, 1, 3, 3) < 0.1);
    }
}
