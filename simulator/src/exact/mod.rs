//! The exact engine: one GEMM `C[M×N] = A[M×K]·B[K×N]` simulated cycle by cycle with every PE's
//! registers, on the schedule the fast engine counts (`crate::fast::Mapping`).
//!
//! Per fold (folds run one after another, each on an empty array):
//!
//! * **WS / IS** (a stationary tile `S` and streamed vectors `x_t`, `t < T`): cycles `0..R`
//!   shift the tile in from the top edge, one row per cycle. Vector `x_t` enters row `r` at
//!   cycle `R + t + r` (skewed injection) and moves one PE right per cycle; each PE adds
//!   `S[r][c]·x` to the partial sum coming from the PE above and passes it down. The sum for
//!   `(t, c)` leaves the bottom edge at cycle `2R - 1 + t + c`; the fold ends when the last one
//!   has left: `2R + C + T - 2` cycles. WS: `S = B` tile, `x_t = A` row `t` (`T = M`). IS:
//!   `S = Aᵀ` tile, `x_t = B` column `t` (`T = N`).
//! * **OS**: `A[m][k]` enters row `m` at cycle `k + m` and moves right, `B[k][n]` enters column
//!   `n` at cycle `k + n` and moves down, so they meet in PE `(m, n)` at cycle `k + m + n`, which
//!   accumulates in place. The fold ends with the last MAC (`T + R + C - 2` cycles); the
//!   accumulators are then read out, as SCALE-Sim counts it (`docs/simulator.md`).
//!
//! Streamed operands carry a tag (the index `t` they belong to, `-1` for none) through the same
//! registers, so the engine knows from the data, not from a formula, which output leaves where
//! and when a fold is over. Unused rows and columns hold zeros.
//!
//! Accumulators are `i64`; when `max|a|·max|b|·K` fits in `i32` the engine runs on `i32`
//! accumulators instead (same results, twice the lanes per vector instruction).

use rayon::prelude::*;
use serde::Serialize;
use systole_hw::{Accelerator, Dataflow};

use crate::error::{Result, SimError};
use crate::fast::{ArrayShape, Fold, Mapping};

/// What one fold did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FoldStats {
    pub fold: Fold,
    /// Cycles the fold took, measured by the simulation.
    pub cycles: u64,
    /// Multiply-accumulates on real (non-padding) operands.
    pub macs: u64,
}

/// The result of an exact run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GemmRun {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// `C`, row-major `m × n`.
    pub out: Vec<i64>,
    /// Total cycles, the sum over folds.
    pub cycles: u64,
    pub mapping: Mapping,
    pub folds: Vec<FoldStats>,
    /// True when the `i32`-accumulator path ran.
    pub narrow: bool,
}

/// The registers of the array at the end of one cycle, for observers (waveforms).
pub struct PeState<'a> {
    pub fold: &'a Fold,
    /// Global cycle (from the start of the GEMM).
    pub cycle: u64,
    pub rows: usize,
    pub cols: usize,
    /// Streamed operand in each PE (WS/IS: `x`; OS: the `A` operand), row-major `rows × cols`.
    pub moving: &'a [i32],
    /// WS/IS: the stationary tile; OS: the `B` operand moving down.
    pub second: &'a [i32],
    /// Partial sums (WS/IS) or accumulators (OS).
    pub acc: &'a [i64],
}

/// Called once per simulated cycle (makes the run sequential and `i64`).
pub trait Observer {
    fn cycle(&mut self, state: &PeState<'_>);
}

/// The first element where a run differs from the plain integer product.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("tensor {tensor}: first difference at [{row}, {col}]: expected {expected}, got {got} (produced at cycle {cycle})")]
pub struct Mismatch {
    pub tensor: String,
    pub row: usize,
    pub col: usize,
    pub expected: i64,
    pub got: i64,
    pub cycle: u64,
}

trait Acc: Copy + Send + Sync + Default + 'static {
    fn mac(self, s: i32, x: i32) -> Self;
    fn wide(self) -> i64;
}

impl Acc for i32 {
    #[inline(always)]
    fn mac(self, s: i32, x: i32) -> i32 {
        self.wrapping_add(s.wrapping_mul(x))
    }
    #[inline(always)]
    fn wide(self) -> i64 {
        self as i64
    }
}

impl Acc for i64 {
    #[inline(always)]
    fn mac(self, s: i32, x: i32) -> i64 {
        self.wrapping_add(s as i64 * x as i64)
    }
    #[inline(always)]
    fn wide(self) -> i64 {
        self
    }
}

/// The operands of one fold, padded to the array, and where its outputs go.
struct FoldJob<'a> {
    mp: &'a Mapping,
    fold: Fold,
    a: &'a [i32],
    b: &'a [i32],
    k: usize,
    n: usize,
}

/// Outputs of one fold: `(row, col, value, cycle)` contributions to `C`, as a dense block.
struct FoldOut {
    stats: FoldStats,
    /// Contributions: for WS/IS `T × cols_used` values of `y_t[c]`; for OS `rows_used ×
    /// cols_used`.
    vals: Vec<i64>,
}

impl FoldJob<'_> {
    /// Element `(r, c)` of the stationary tile (WS/IS) and element `r` of streamed vector `t`.
    fn stationary(&self, r: usize, c: usize) -> i32 {
        let f = &self.fold;
        if r as u64 >= f.rows_used || c as u64 >= f.cols_used {
            return 0;
        }
        let (kk, jj) = (f.row_start as usize + r, f.col_start as usize + c);
        match self.mp.dataflow {
            Dataflow::WeightStationary => self.b[kk * self.n + jj],
            _ => self.a[jj * self.k + kk],
        }
    }

    fn streamed(&self, t: usize, r: usize) -> i32 {
        let f = &self.fold;
        if r as u64 >= f.rows_used {
            return 0;
        }
        let kk = f.row_start as usize + r;
        match self.mp.dataflow {
            Dataflow::WeightStationary => self.a[t * self.k + kk],
            _ => self.b[kk * self.n + t],
        }
    }

    fn run<A: Acc>(&self, mut obs: Option<&mut dyn Observer>) -> FoldOut {
        match self.mp.dataflow {
            Dataflow::OutputStationary => self.run_os::<A>(&mut obs),
            _ => self.run_stream::<A>(&mut obs),
        }
    }

    /// WS and IS.
    ///
    /// The streamed operand in PE `(r, c)` at main-loop cycle `τ` is what entered row `r` at
    /// `τ - c`; instead of shifting every row's registers one PE right each cycle, each row keeps
    /// the sequence it is fed (`feed`, zero-padded on both sides) and the row's registers are the
    /// window `feed[r][R + τ - r ..][..C]`, read in reverse column order. The stationary tile and
    /// the partial sums are kept in that reverse order too, so the MAC loop runs over three
    /// contiguous slices. Tags travel the same way (one sequence, equal for every row) and are
    /// read at the bottom edge, where they say which output leaves and when the fold is over.
    fn run_stream<A: Acc>(&self, obs: &mut Option<&mut dyn Observer>) -> FoldOut {
        let (rr, cc) = (self.mp.rows as usize, self.mp.cols as usize);
        let t_len = self.mp.t as usize;
        let cu = self.fold.cols_used as usize;
        let mut s = vec![0i32; rr * cc];
        let mut psum = vec![A::default(); rr * cc];
        let mut vals = vec![0i64; t_len * cu];
        let mut seen = 0usize;
        let mut cycle = 0usize;
        // Shift the stationary tile in from the top, one row per cycle.
        let zeros = vec![0i32; rr * cc];
        while cycle < rr {
            s.copy_within(0..(rr - 1) * cc, cc);
            let src = rr - 1 - cycle;
            for (c, v) in s[..cc].iter_mut().enumerate() {
                *v = self.stationary(src, c);
            }
            self.observe(obs, cycle, &zeros, &s, &psum);
            cycle += 1;
        }
        // feed[r][R + C - 1 + t] = x_t[r]; the window of row r at τ starts at R + τ - r.
        let pad = rr + cc - 1;
        let flen = pad + t_len + rr + cc;
        let mut feed = vec![0i32; rr * flen];
        for (r, f) in feed.chunks_mut(flen).enumerate() {
            for (t, v) in f[pad..pad + t_len].iter_mut().enumerate() {
                *v = self.streamed(t, r);
            }
        }
        let mut tags = vec![-1i32; flen];
        for (t, v) in tags[pad..pad + t_len].iter_mut().enumerate() {
            *v = t as i32;
        }
        // Stationary tile with each row reversed (column c at index C - 1 - c).
        let mut s_rev = s.clone();
        for row in s_rev.chunks_mut(cc) {
            row.reverse();
        }
        let bottom = (rr - 1) * cc;
        let mut x_obs = vec![0i32; if obs.is_some() { rr * cc } else { 0 }];
        loop {
            let tau = cycle - rr;
            for r in (0..rr).rev() {
                let w0 = r * flen + rr + tau - r;
                let xr = &feed[w0..w0 + cc];
                let sr = &s_rev[r * cc..(r + 1) * cc];
                // Partial sums move one PE down (rows are updated bottom-up, so the row above
                // still holds last cycle's sums).
                let (above, here) = psum.split_at_mut(r * cc);
                let here = &mut here[..cc];
                if r == 0 {
                    for ((h, &sv), &xv) in here.iter_mut().zip(sr).zip(xr) {
                        *h = A::default().mac(sv, xv);
                    }
                } else {
                    let up = &above[(r - 1) * cc..];
                    for (((h, &u), &sv), &xv) in here.iter_mut().zip(up).zip(sr).zip(xr) {
                        *h = u.mac(sv, xv);
                    }
                }
            }
            // Sums leaving the bottom edge: the tag in the bottom row says which vector.
            let w0 = rr + tau - (rr - 1);
            let btags = &tags[w0..w0 + cc];
            for c in 0..cu {
                let j = cc - 1 - c;
                let t = btags[j];
                if t >= 0 {
                    vals[t as usize * cu + c] = psum[bottom + j].wide();
                    seen += 1;
                }
            }
            if obs.is_some() {
                for r in 0..rr {
                    let w0 = r * flen + rr + tau - r;
                    for c in 0..cc {
                        x_obs[r * cc + c] = feed[w0 + cc - 1 - c];
                    }
                }
                let mut p = psum.clone();
                for row in p.chunks_mut(cc) {
                    row.reverse();
                }
                self.observe(obs, cycle, &x_obs, &s, &p);
            }
            cycle += 1;
            if seen == t_len * cu && btags[0] == t_len as i32 - 1 {
                break;
            }
        }
        FoldOut {
            stats: FoldStats {
                fold: self.fold,
                cycles: cycle as u64,
                macs: (t_len as u64) * self.fold.rows_used * self.fold.cols_used,
            },
            vals,
        }
    }

    /// OS.
    ///
    /// As in [`FoldJob::run_stream`], no register is shifted: the `A` operand in PE `(r, c)` at
    /// cycle `τ` is what entered row `r` at `τ - c` (a window of the row's feed, in reverse
    /// column order), and the `B` operand is what entered column `c` at `τ - r`, which is row
    /// `τ - r` of `B` skewed by column (`skew[d][c] = B[d - c][c]`, reversed likewise), so the
    /// accumulators of a row update from two contiguous slices. The fold ends when the tags of
    /// both operands meeting in the bottom-right PE say the last MAC ran.
    fn run_os<A: Acc>(&self, obs: &mut Option<&mut dyn Observer>) -> FoldOut {
        let (rr, cc) = (self.mp.rows as usize, self.mp.cols as usize);
        let t_len = self.mp.t as usize;
        let f = self.fold;
        let (ru, cu) = (f.rows_used as usize, f.cols_used as usize);
        let (m0, n0) = (f.row_start as usize, f.col_start as usize);
        // feed[r][R + C - 1 + t] = A[m0 + r][t]; row r's window at τ starts at R + τ - r.
        let pad = rr + cc - 1;
        let flen = pad + t_len + rr + cc;
        let mut feed = vec![0i32; rr * flen];
        for (r, fr) in feed.chunks_mut(flen).enumerate().take(ru) {
            fr[pad..pad + t_len].copy_from_slice(&self.a[(m0 + r) * self.k..][..t_len]);
        }
        let mut atags = vec![-1i32; flen];
        for (t, v) in atags[pad..pad + t_len].iter_mut().enumerate() {
            *v = t as i32;
        }
        // skew[R + d][C - 1 - c] = B[d - c][n0 + c]: the B operands of row r at τ are row
        // R + τ - r; btags[R + d] is the tag of column C - 1's operand there.
        let srows = t_len + 2 * rr + cc;
        let mut skew = vec![0i32; srows * cc];
        let mut btags = vec![-1i32; srows];
        for e in 0..srows {
            let d = e as isize - rr as isize;
            for c in 0..cc {
                let t = d - c as isize;
                if t >= 0 && (t as usize) < t_len && c < cu {
                    skew[e * cc + cc - 1 - c] = self.b[t as usize * self.n + n0 + c];
                }
            }
            let t = d - (cc as isize - 1);
            if t >= 0 && (t as usize) < t_len {
                btags[e] = t as i32;
            }
        }
        let mut acc = vec![A::default(); rr * cc];
        let mut obs_regs = if obs.is_some() {
            (vec![0i32; rr * cc], vec![0i32; rr * cc])
        } else {
            (Vec::new(), Vec::new())
        };
        let mut done = 0usize;
        let mut cycle = 0usize;
        loop {
            for r in 0..rr {
                let w0 = r * flen + rr + cycle - r;
                let ar = &feed[w0..w0 + cc];
                let e = rr + cycle - r;
                let br = &skew[e * cc..(e + 1) * cc];
                for ((h, &av), &bv) in acc[r * cc..(r + 1) * cc].iter_mut().zip(ar).zip(br) {
                    *h = h.mac(av, bv);
                }
            }
            // Bottom-right PE: its A operand entered row R - 1 at τ - (C - 1), its B operand
            // entered column C - 1 at τ - (R - 1).
            let at = atags[rr + cycle - (rr - 1)];
            let bt = btags[rr + cycle - (rr - 1)];
            if at >= 0 && at == bt {
                done += 1;
            }
            if obs.is_some() {
                let (oa, ob) = &mut obs_regs;
                for r in 0..rr {
                    let w0 = r * flen + rr + cycle - r;
                    let e = rr + cycle - r;
                    for c in 0..cc {
                        oa[r * cc + c] = feed[w0 + cc - 1 - c];
                        ob[r * cc + c] = skew[e * cc + cc - 1 - c];
                    }
                }
                let mut p = acc.clone();
                for row in p.chunks_mut(cc) {
                    row.reverse();
                }
                self.observe(obs, cycle, oa, ob, &p);
            }
            cycle += 1;
            if done == t_len {
                break;
            }
        }
        let mut vals = vec![0i64; ru * cu];
        for r in 0..ru {
            for c in 0..cu {
                vals[r * cu + c] = acc[r * cc + cc - 1 - c].wide();
            }
        }
        FoldOut {
            stats: FoldStats {
                fold: f,
                cycles: cycle as u64,
                macs: (t_len * ru * cu) as u64,
            },
            vals,
        }
    }

    fn observe<A: Acc>(
        &self,
        obs: &mut Option<&mut dyn Observer>,
        cycle: usize,
        moving: &[i32],
        second: &[i32],
        acc: &[A],
    ) {
        if let Some(o) = obs.as_deref_mut() {
            let wide: Vec<i64> = acc.iter().map(|v| v.wide()).collect();
            o.cycle(&PeState {
                fold: &self.fold,
                cycle: self.fold.start_cycle + cycle as u64,
                rows: self.mp.rows as usize,
                cols: self.mp.cols as usize,
                moving,
                second,
                acc: &wide,
            });
        }
    }
}

/// Peak bytes of an `m×k×n` GEMM on the exact engine with its caller's operands and check:
/// `A` and `B` (`i32`), the output (`i64`), one chunk's assembled outputs (`i64`, as large as
/// the output), the reference product of [`GemmRun::check`] (`i64`), and the PE state of the
/// folds in flight (about 32 bytes per PE per thread). An estimate from the shapes alone, so it
/// can refuse a 40 GB layer before anything is allocated.
pub fn gemm_memory_bytes(array: ArrayShape, m: usize, k: usize, n: usize) -> u128 {
    let (m, k, n) = (m as u128, k as u128, n as u128);
    let pes = array.rows as u128 * array.cols as u128;
    4 * (m * k + k * n) + 24 * m * n + 32 * pes * rayon::current_num_threads() as u128
}

/// Refuses a GEMM whose [`gemm_memory_bytes`] is above `--max-memory-bytes`, naming the size,
/// the limit and the flag.
pub fn check_gemm_memory(array: ArrayShape, m: usize, k: usize, n: usize) -> Result<()> {
    systole_hw::limits::MAX_MEMORY_BYTES
        .check(gemm_memory_bytes(array, m, k, n))
        .map_err(|msg| SimError::Memory {
            what: format!("exact engine: a {m}×{k}×{n} GEMM"),
            msg: format!("estimated {msg}"),
        })
}

fn check_sizes(a: &[i32], b: &[i32], m: usize, k: usize, n: usize) -> Result<()> {
    if m == 0 || k == 0 || n == 0 {
        return Err(SimError::GemmSizes { m, k, n });
    }
    for (name, len, want, dims) in [("A", a.len(), m * k, (m, k)), ("B", b.len(), k * n, (k, n))] {
        if len != want {
            return Err(SimError::GemmOperand {
                operand: name,
                len,
                rows: dims.0,
                cols: dims.1,
            });
        }
    }
    Ok(())
}

/// Whether `i32` accumulators hold every partial sum of this GEMM.
fn fits_i32(a: &[i32], b: &[i32], k: usize) -> bool {
    let ma = a
        .iter()
        .map(|v| v.unsigned_abs() as u128)
        .max()
        .unwrap_or(0);
    let mb = b
        .iter()
        .map(|v| v.unsigned_abs() as u128)
        .max()
        .unwrap_or(0);
    ma * mb * k as u128 <= i32::MAX as u128
}

fn assemble(mp: &Mapping, m: usize, n: usize, outs: Vec<FoldOut>) -> (Vec<i64>, Vec<FoldStats>) {
    let mut out = vec![0i64; m * n];
    let mut stats = Vec::with_capacity(outs.len());
    for fo in outs {
        let f = fo.stats.fold;
        let (r0, c0) = (f.row_start as usize, f.col_start as usize);
        let cu = f.cols_used as usize;
        match mp.dataflow {
            // y_t[c] is a partial sum of C[t][c0 + c] over this fold's K rows.
            Dataflow::WeightStationary => {
                for (t, chunk) in fo.vals.chunks(cu).enumerate() {
                    for (c, v) in chunk.iter().enumerate() {
                        let o = &mut out[t * n + c0 + c];
                        *o = o.wrapping_add(*v);
                    }
                }
            }
            // y_t[c] adds to C[c0 + c][t].
            Dataflow::InputStationary => {
                for (t, chunk) in fo.vals.chunks(cu).enumerate() {
                    for (c, v) in chunk.iter().enumerate() {
                        let o = &mut out[(c0 + c) * n + t];
                        *o = o.wrapping_add(*v);
                    }
                }
            }
            Dataflow::OutputStationary => {
                for (r, chunk) in fo.vals.chunks(cu).enumerate() {
                    out[(r0 + r) * n + c0..(r0 + r) * n + c0 + cu].copy_from_slice(chunk);
                }
            }
        }
        stats.push(fo.stats);
    }
    (out, stats)
}

/// Runs `C = A·B` (`a`: `m×k`, `b`: `k×n`, row-major) on the array of `hw`.
pub fn run_gemm(
    hw: &Accelerator,
    a: &[i32],
    b: &[i32],
    m: usize,
    k: usize,
    n: usize,
) -> Result<GemmRun> {
    run_gemm_on(ArrayShape::of(hw), a, b, m, k, n)
}

/// [`run_gemm`] given only the array. Folds run in parallel (rayon).
pub fn run_gemm_on(
    array: ArrayShape,
    a: &[i32],
    b: &[i32],
    m: usize,
    k: usize,
    n: usize,
) -> Result<GemmRun> {
    check_sizes(a, b, m, k, n)?;
    let mp = Mapping::new(array, m as u64, k as u64, n as u64);
    let narrow = fits_i32(a, b, k);
    // Folds in chunks, so memory stays bounded by a chunk's outputs.
    let folds = mp.folds();
    let chunk = 64u64;
    let mut out = vec![0i64; m * n];
    let mut stats = Vec::new();
    let mut start = 0;
    while start < folds {
        let end = (start + chunk).min(folds);
        let part: Vec<FoldOut> = (start..end)
            .into_par_iter()
            .map(|i| {
                let job = FoldJob {
                    mp: &mp,
                    fold: mp.fold(i),
                    a,
                    b,
                    k,
                    n,
                };
                if narrow {
                    job.run::<i32>(None)
                } else {
                    job.run::<i64>(None)
                }
            })
            .collect();
        let (o, s) = assemble(&mp, m, n, part);
        for (x, y) in out.iter_mut().zip(o) {
            *x = x.wrapping_add(y);
        }
        stats.extend(s);
        start = end;
    }
    let cycles = stats.iter().map(|s| s.cycles).sum();
    Ok(GemmRun {
        m,
        k,
        n,
        out,
        cycles,
        mapping: mp,
        folds: stats,
        narrow,
    })
}

/// [`run_gemm`] with an observer called every cycle (sequential, `i64` accumulators).
pub fn run_gemm_observed(
    hw: &Accelerator,
    a: &[i32],
    b: &[i32],
    m: usize,
    k: usize,
    n: usize,
    obs: &mut dyn Observer,
) -> Result<GemmRun> {
    run_gemm_observed_on(ArrayShape::of(hw), a, b, m, k, n, obs)
}

/// [`run_gemm_observed`] given only the array.
pub fn run_gemm_observed_on(
    array: ArrayShape,
    a: &[i32],
    b: &[i32],
    m: usize,
    k: usize,
    n: usize,
    obs: &mut dyn Observer,
) -> Result<GemmRun> {
    check_sizes(a, b, m, k, n)?;
    let mp = Mapping::new(array, m as u64, k as u64, n as u64);
    let mut part = Vec::new();
    for i in 0..mp.folds() {
        let job = FoldJob {
            mp: &mp,
            fold: mp.fold(i),
            a,
            b,
            k,
            n,
        };
        part.push(job.run::<i64>(Some(&mut *obs)));
    }
    let (out, stats) = assemble(&mp, m, n, part);
    let cycles = stats.iter().map(|s| s.cycles).sum();
    Ok(GemmRun {
        m,
        k,
        n,
        out,
        cycles,
        mapping: mp,
        folds: stats,
        narrow: false,
    })
}

impl GemmRun {
    /// The global cycle at which output `C[i][j]` was complete: when its last partial sum left
    /// the array (WS/IS) or its last MAC ran (OS).
    pub fn output_cycle(&self, i: usize, j: usize) -> u64 {
        let mp = &self.mapping;
        let (r, c) = (mp.rows, mp.cols);
        let (row_idx, col_idx, t) = match mp.dataflow {
            Dataflow::WeightStationary => (mp.row_folds - 1, j as u64, i as u64),
            Dataflow::InputStationary => (mp.row_folds - 1, i as u64, j as u64),
            Dataflow::OutputStationary => (i as u64 / r, j as u64, mp.t - 1),
        };
        let col_fold = col_idx / c;
        let f = mp.fold(col_fold * mp.row_folds + row_idx);
        let cc = col_idx % c;
        match mp.dataflow {
            Dataflow::OutputStationary => f.start_cycle + t + (i as u64 % r) + cc,
            _ => f.start_cycle + 2 * r - 1 + t + cc,
        }
    }

    /// Compares `out` with the plain integer product `A·B` (exact `i64` arithmetic).
    pub fn check(&self, a: &[i32], b: &[i32]) -> std::result::Result<(), Mismatch> {
        let (m, k, n) = (self.m, self.k, self.n);
        let want = reference_matmul(a, b, m, k, n);
        for i in 0..m {
            for j in 0..n {
                let (e, g) = (want[i * n + j], self.out[i * n + j]);
                if e != g {
                    return Err(Mismatch {
                        tensor: "C".into(),
                        row: i,
                        col: j,
                        expected: e,
                        got: g,
                        cycle: self.output_cycle(i, j),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Plain integer `A·B` in `i64` (the test oracle); rows of `C` in parallel.
pub fn reference_matmul(a: &[i32], b: &[i32], m: usize, k: usize, n: usize) -> Vec<i64> {
    let mut c = vec![0i64; m * n];
    c.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for p in 0..k {
            let av = a[i * k + p] as i64;
            for (o, &bv) in row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                *o = o.wrapping_add(av * bv as i64);
            }
        }
    });
    c
}

#[cfg(test)]
mod tests;
