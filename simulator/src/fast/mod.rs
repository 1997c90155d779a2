//! The fast (analytical) engine: SCALE-Sim 3.0's compute model in closed form.
//!
//! A layer is a GEMM `[M×K]·[K×N]`. The dataflow decides which two of `M`, `K`, `N` are spread
//! over the array's rows and columns (`Sr`, `Sc`) and which one streams through time (`T`):
//!
//! | dataflow | `Sr` (rows) | `Sc` (cols) | `T` (time) | stationary |
//! |---|---|---|---|---|
//! | OS | `M` | `N` | `K` | outputs |
//! | WS | `K` | `N` | `M` | weights |
//! | IS | `K` | `M` | `N` | inputs  |
//!
//! The work is cut into `ceil(Sr/R) × ceil(Sc/C)` folds (column folds outer, row folds inner).
//! Every fold occupies the whole array for a fixed number of cycles, whatever part of it is
//! mapped:
//!
//! * OS: `T + R + C - 2` (operands skewed in from the left and top; the fold ends with the last
//!   MAC in the bottom-right PE);
//! * WS and IS: `2R + C + T - 2` (`R` cycles to shift the stationary tile in, `T` streamed
//!   vectors skewed over `R` rows and `C` columns, partial sums leaving the bottom edge).
//!
//! These are the row counts of SCALE-Sim's demand matrices; `docs/simulator.md` derives them and
//! says where Systole counts differently (SCALE-Sim prints the index of the last cycle, one less
//! than the count).

use serde::Serialize;
use systole_hw::{Accelerator, Dataflow};

/// The array: rows × columns and its dataflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ArrayShape {
    pub rows: usize,
    pub cols: usize,
    pub dataflow: Dataflow,
}

impl ArrayShape {
    pub fn of(hw: &Accelerator) -> ArrayShape {
        ArrayShape {
            rows: hw.rows,
            cols: hw.cols,
            dataflow: hw.dataflow,
        }
    }
}

/// How a GEMM maps onto an array: spatial sizes, temporal size and folds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Mapping {
    pub rows: u64,
    pub cols: u64,
    pub dataflow: Dataflow,
    /// Size spread over the array's rows.
    pub sr: u64,
    /// Size spread over the array's columns.
    pub sc: u64,
    /// Size streamed through time.
    pub t: u64,
    pub row_folds: u64,
    pub col_folds: u64,
    /// Cycles of one fold (every fold takes the same time).
    pub fold_cycles: u64,
}

/// One fold of a mapping: which rows and columns of the array it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Fold {
    /// Position in execution order (column folds outer, row folds inner).
    pub index: u64,
    pub row_fold: u64,
    pub col_fold: u64,
    /// First index of `Sr` (and of `Sc`) mapped in this fold.
    pub row_start: u64,
    pub col_start: u64,
    /// Array rows and columns holding real data (the rest hold zeros).
    pub rows_used: u64,
    pub cols_used: u64,
    /// First cycle of the fold; it lasts `Mapping::fold_cycles`.
    pub start_cycle: u64,
}

impl Mapping {
    /// The mapping of `[m×k]·[k×n]` on `array`. Sizes must be ≥ 1.
    pub fn new(array: ArrayShape, m: u64, k: u64, n: u64) -> Mapping {
        let (r, c) = (array.rows as u64, array.cols as u64);
        let (sr, sc, t) = match array.dataflow {
            Dataflow::OutputStationary => (m, n, k),
            Dataflow::WeightStationary => (k, n, m),
            Dataflow::InputStationary => (k, m, n),
        };
        let fold_cycles = match array.dataflow {
            Dataflow::OutputStationary => t + r + c - 2,
            Dataflow::WeightStationary | Dataflow::InputStationary => 2 * r + c + t - 2,
        };
        Mapping {
            rows: r,
            cols: c,
            dataflow: array.dataflow,
            sr,
            sc,
            t,
            row_folds: sr.div_ceil(r),
            col_folds: sc.div_ceil(c),
            fold_cycles,
        }
    }

    pub fn folds(&self) -> u64 {
        self.row_folds * self.col_folds
    }

    /// Compute cycles with ideal memory (a count: cycles `0..cycles`).
    pub fn cycles(&self) -> u64 {
        self.folds() * self.fold_cycles
    }

    /// The `i`-th fold in execution order.
    pub fn fold(&self, index: u64) -> Fold {
        let (col_fold, row_fold) = (index / self.row_folds, index % self.row_folds);
        let row_start = row_fold * self.rows;
        let col_start = col_fold * self.cols;
        Fold {
            index,
            row_fold,
            col_fold,
            row_start,
            col_start,
            rows_used: self.rows.min(self.sr - row_start),
            cols_used: self.cols.min(self.sc - col_start),
            start_cycle: index * self.fold_cycles,
        }
    }

    /// Denominator SCALE-Sim uses for one fold's compute utilisation: the row count plus the
    /// column count minus one of the demand matrix it measures (`T+R+C-2` for OS, whose OFMAP
    /// demand it measures, `2R+2C+T-3` for WS and IS, whose FILTER/IFMAP demand it measures).
    fn util_cycles_per_fold(&self) -> u64 {
        match self.dataflow {
            Dataflow::OutputStationary => self.fold_cycles,
            Dataflow::WeightStationary | Dataflow::InputStationary => {
                self.fold_cycles + self.cols - 1
            }
        }
    }
}

/// Per-layer figures of the fast engine with ideal memory (no stalls).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerStats {
    pub mapping: Mapping,
    /// Compute cycles (a count). SCALE-Sim reports `cycles - 1`.
    pub cycles: u64,
    pub macs: u64,
    /// `macs / (cycles × R × C)`.
    pub utilization: f64,
    /// Mean over folds of the fraction of PEs mapped (SCALE-Sim's "Mapping Efficiency").
    pub mapping_efficiency: f64,
    /// Mean over folds of useful MACs per PE-cycle of the fold (SCALE-Sim's "Compute Util").
    pub compute_utilization: f64,
    /// SRAM accesses as SCALE-Sim counts them (see `docs/simulator.md` for the OS OFMAP term).
    pub ifmap_sram_reads: u64,
    pub filter_sram_reads: u64,
    pub ofmap_sram_writes: u64,
}

/// The fast engine on one GEMM `[m×k]·[k×n]`.
pub fn gemm(hw: &Accelerator, m: u64, k: u64, n: u64) -> LayerStats {
    gemm_on(ArrayShape::of(hw), m, k, n)
}

/// The fast engine on one GEMM, given only the array.
pub fn gemm_on(array: ArrayShape, m: u64, k: u64, n: u64) -> LayerStats {
    let mp = Mapping::new(array, m, k, n);
    let (r, c) = (mp.rows, mp.cols);
    let folds = mp.folds();
    let pes = (r * c) as f64;
    let cycles = mp.cycles();
    let macs = m * k * n;
    // Sums over folds of rows used, columns used and their product, in closed form.
    let sum_rows = mp.sr * mp.col_folds;
    let sum_cols = mp.sc * mp.row_folds;
    let sum_area = mp.sr * mp.sc;
    let (ifmap, filter, ofmap) = match mp.dataflow {
        // SCALE-Sim's OS OFMAP count adds R + C per fold (an extra term in its code).
        Dataflow::OutputStationary => {
            (mp.t * sum_rows, mp.t * sum_cols, sum_area + folds * (r + c))
        }
        Dataflow::WeightStationary => (mp.t * sum_rows, sum_area, mp.t * sum_cols),
        Dataflow::InputStationary => (sum_area, mp.t * sum_rows, mp.t * sum_cols),
    };
    LayerStats {
        mapping: mp,
        cycles,
        macs,
        utilization: macs as f64 / (cycles as f64 * pes),
        mapping_efficiency: sum_area as f64 / (folds as f64 * pes),
        compute_utilization: (sum_area * mp.t) as f64
            / (folds as f64 * pes * mp.util_cycles_per_fold() as f64),
        ifmap_sram_reads: ifmap,
        filter_sram_reads: filter,
        ofmap_sram_writes: ofmap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(r: usize, c: usize, d: Dataflow) -> ArrayShape {
        ArrayShape {
            rows: r,
            cols: c,
            dataflow: d,
        }
    }

    // Figures from SCALE-Sim 3.0 (pip scalesim==3.0.0) on an 8×4 array; its "Total Cycles" is
    // our count minus one. Layers: 12×12 3×3 conv, 5→7 channels; 13×11 3×3 stride 2, 2→9.
    #[test]
    fn equals_scalesim_3_on_small_layers() {
        use Dataflow::*;
        let cases = [
            (WeightStationary, (100, 45, 7), 1415, 82.03125),
            (WeightStationary, (30, 18, 9), 431, 56.25),
            (WeightStationary, (16, 9, 1), 67, 14.0625),
            (InputStationary, (100, 45, 7), 3749, 93.75),
            (InputStationary, (30, 18, 9), 647, 70.3125),
        ];
        for (df, (m, k, n), total, map_eff) in cases {
            let s = gemm_on(arr(8, 4, df), m, k, n);
            assert_eq!(s.cycles - 1, total, "{df:?} {m} {k} {n}");
            assert!((s.mapping_efficiency * 100.0 - map_eff).abs() < 1e-9);
        }
        // SCALE-Sim's ws golden run: alexnet Conv1 on 32×32, 112283 cycles, 94.53125 % mapping,
        // 90.78000992063485 % compute utilisation.
        let s = gemm_on(arr(32, 32, WeightStationary), 3025, 363, 96);
        assert_eq!(s.cycles - 1, 112283);
        assert!((s.mapping_efficiency * 100.0 - 94.53125).abs() < 1e-9);
        assert!((s.compute_utilization * 100.0 - 90.78000992063485).abs() < 1e-9);
        assert_eq!(s.ifmap_sram_reads, 3294225);
        assert_eq!(s.filter_sram_reads, 34848);
        assert_eq!(s.ofmap_sram_writes, 3484800);
        // OS OFMAP writes carry SCALE-Sim's extra R + C per fold: 700 + 26 × 12.
        assert_eq!(
            gemm_on(arr(8, 4, OutputStationary), 100, 45, 7).ofmap_sram_writes,
            1012
        );
    }

    #[test]
    fn folds_cover_the_work_and_one_fold_counts_fill_and_drain() {
        let mp = Mapping::new(arr(4, 4, Dataflow::WeightStationary), 10, 4, 4);
        assert_eq!(mp.folds(), 1);
        assert_eq!(mp.cycles(), 4 + 4 + 10 + 4 - 2);
        let mp = Mapping::new(arr(4, 3, Dataflow::OutputStationary), 10, 5, 7);
        let used: u64 = (0..mp.folds())
            .map(|i| {
                let f = mp.fold(i);
                f.rows_used * f.cols_used
            })
            .sum();
        assert_eq!(used, 10 * 7);
        assert_eq!(
            mp.fold(mp.folds() - 1).start_cycle,
            (mp.folds() - 1) * mp.fold_cycles
        );
    }
}
