//! The integer reference's inner loops. Exact because every stage that takes them has a proven
//! accumulator width of at most 32 bits and operands that fit `i16` (checked by the caller), so
//! wrapping `i32` arithmetic equals the definition; the property tests compare them with the
//! per-sample path in `gemm.rs`. Vector forms are chosen at run time (`is_x86_feature_detected`).

/// Output channels from which the channel-innermost kernel pays (a vector of i32 lanes or more).
pub(crate) const CHANNEL_BLOCK_MIN: usize = 8;

/// `acc[p][c] = Σ_j cols[p][j] · wt[j][c]` in wrapping `i32`: exact because the stage's proven
/// accumulator width is at most 32 bits, and operands fit `i16` so no product overflows.
#[inline(always)]
fn accumulate_portable(cols: &[i16], wt: &[i32], k: usize, n: usize, acc: &mut [i32]) {
    for (col, a) in cols.chunks_exact(k).zip(acc.chunks_exact_mut(n)) {
        for (j, &x) in col.iter().enumerate() {
            if x == 0 {
                continue;
            }
            let x = i32::from(x);
            for (s, &wv) in a.iter_mut().zip(&wt[j * n..(j + 1) * n]) {
                *s = s.wrapping_add(x.wrapping_mul(wv));
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn accumulate_avx2(cols: &[i16], wt: &[i32], k: usize, n: usize, acc: &mut [i32]) {
    accumulate_portable(cols, wt, k, n, acc)
}

/// `Σ a·b` of `i16` operands in `i32`: the shape LLVM turns into multiply-add pairs (pmaddwd).
/// Exact because the stage's proven accumulator width is at most 32 bits.
#[inline(always)]
fn dot16_portable(a: &[i16], b: &[i16]) -> i32 {
    a.iter().zip(b).fold(0i32, |s, (&x, &y)| {
        s.wrapping_add(i32::from(x) * i32::from(y))
    })
}

/// The same loop compiled for AVX2 (256-bit `vpmaddwd`), chosen at run time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot16_avx2(a: &[i16], b: &[i16]) -> i32 {
    dot16_portable(a, b)
}

#[inline]
pub(crate) fn dot16(a: &[i16], b: &[i16]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above; the check is cached by std).
            return unsafe { dot16_avx2(a, b) };
        }
    }
    dot16_portable(a, b)
}

/// `Wᵀ` for the channel-innermost kernel, in two layouts: `i32` rows of `n` channels per tap (the
/// portable loop), and, when `n` is a multiple of 8, pairs of taps interleaved per channel as
/// `i16` (`[k/2][n][2]`) for AVX2's `vpmaddwd`, which multiplies 16 pairs and adds them in
/// pairs: two taps of eight channels per instruction.
pub(crate) struct ChannelWeights {
    k: usize,
    n: usize,
    rows: Vec<i32>,
    pairs: Vec<i16>,
}

impl ChannelWeights {
    /// `w` is `[n][k]`, every value within `i16`.
    pub(crate) fn new(w: &[i32], k: usize, n: usize) -> ChannelWeights {
        let rows: Vec<i32> = (0..k)
            .flat_map(|j| w[j..].iter().step_by(k).take(n).copied())
            .collect();
        let mut pairs = Vec::new();
        if n.is_multiple_of(8) {
            let kp = k.div_ceil(2);
            pairs = vec![0i16; kp * n * 2];
            for p in 0..kp {
                for c in 0..n {
                    for t in 0..2 {
                        let j = 2 * p + t;
                        if j < k {
                            pairs[(p * n + c) * 2 + t] = w[c * k + j] as i16;
                        }
                    }
                }
            }
        }
        ChannelWeights { k, n, rows, pairs }
    }

    /// `acc[p][c] = Σ_j cols[p][j] · W[c][j]` for every pixel row `p` of `cols` (`[rows][k]`).
    pub(crate) fn accumulate(&self, cols: &[i16], acc: &mut [i32]) {
        #[cfg(target_arch = "x86_64")]
        {
            if !self.pairs.is_empty() && self.n <= 64 && std::arch::is_x86_feature_detected!("avx2")
            {
                // SAFETY: AVX2 is present (checked just above); the layouts are this type's.
                unsafe { self.accumulate_madd(cols, acc) };
                return;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: as above.
                unsafe { accumulate_avx2(cols, &self.rows, self.k, self.n, acc) };
                return;
            }
        }
        accumulate_portable(cols, &self.rows, self.k, self.n, acc)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn accumulate_madd(&self, cols: &[i16], acc: &mut [i32]) {
        let (p, k, n) = (&self.pairs[..], self.k, self.n);
        match n / 8 {
            1 => madd_rows::<1>(p, k, cols, acc),
            2 => madd_rows::<2>(p, k, cols, acc),
            3 => madd_rows::<3>(p, k, cols, acc),
            4 => madd_rows::<4>(p, k, cols, acc),
            5 => madd_rows::<5>(p, k, cols, acc),
            6 => madd_rows::<6>(p, k, cols, acc),
            7 => madd_rows::<7>(p, k, cols, acc),
            _ => madd_rows::<8>(p, k, cols, acc),
        }
    }
}

/// The `vpmaddwd` kernel for `n = 8·V` channels: the `V` accumulators of a pixel row stay in
/// registers across the whole reduction (a runtime `V` kept them in memory), and for `V ≤ 4`
/// two pixel rows share every weight load. No branch on zero inputs: after a ReLU they are
/// frequent but unpredictable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn madd_rows<const V: usize>(pairs: &[i16], k: usize, cols: &[i16], acc: &mut [i32]) {
    use std::arch::x86_64::*;
    let n = 8 * V;
    // Taps `2p, 2p+1` of a row as one i32 lane pattern (the last pair of an odd `k` has a zero
    // second tap, whose weight is zero too).
    let pair = |col: &[i16], p: usize| {
        let x0 = col[2 * p];
        let x1 = if 2 * p + 1 < k { col[2 * p + 1] } else { 0 };
        _mm256_set1_epi32(i32::from(x0 as u16) | (i32::from(x1 as u16) << 16))
    };
    let weights = |p: usize, v: usize| {
        let w = &pairs[p * n * 2..(p + 1) * n * 2];
        // SAFETY: `w` holds `2n` i16 = `V` 256-bit vectors and `v < V`; unaligned load.
        unsafe { _mm256_loadu_si256(w.as_ptr().add(v * 16).cast()) }
    };
    let store = |a: &mut [i32], sum: &[__m256i; V]| {
        for (v, s) in sum.iter().enumerate() {
            // SAFETY: `a` has `n` = 8·V i32; unaligned store.
            unsafe { _mm256_storeu_si256(a.as_mut_ptr().add(v * 8).cast(), *s) };
        }
    };
    let kp = k.div_ceil(2);
    let one_row = |c: &[i16], a: &mut [i32]| {
        let mut sum = [_mm256_setzero_si256(); V];
        for p in 0..kp {
            let x = pair(c, p);
            for (v, s) in sum.iter_mut().enumerate() {
                *s = _mm256_add_epi32(*s, _mm256_madd_epi16(x, weights(p, v)));
            }
        }
        store(a, &sum);
    };
    let mut rows = cols.chunks_exact(k).zip(acc.chunks_exact_mut(n));
    while let Some((c0, a0)) = rows.next() {
        match rows.next() {
            Some((c1, a1)) if V <= 4 => {
                let (mut s0, mut s1) = ([_mm256_setzero_si256(); V], [_mm256_setzero_si256(); V]);
                for p in 0..kp {
                    let (x0, x1) = (pair(c0, p), pair(c1, p));
                    for v in 0..V {
                        let w = weights(p, v);
                        s0[v] = _mm256_add_epi32(s0[v], _mm256_madd_epi16(x0, w));
                        s1[v] = _mm256_add_epi32(s1[v], _mm256_madd_epi16(x1, w));
                    }
                }
                store(a0, &s0);
                store(a1, &s1);
            }
            next => {
                one_row(c0, a0);
                if let Some((c1, a1)) = next {
                    one_row(c1, a1);
                }
            }
        }
    }
}

/// Output channels per block of [`BlockedWeights`]: eight 256-bit accumulators.
const BLOCK: usize = 64;

/// A wide `W` (`[n][k]`, `n` beyond one register block: the transformer's 384 and 1536) cut into
/// blocks of [`BLOCK`] channels, each a [`ChannelWeights`]. A block's weights (`64·k` i16: 48 KiB
/// at `k = 384`) stay in cache while every row of `A` passes over them, where a dot product per
/// output streamed all of `W` once per row.
pub(crate) struct BlockedWeights {
    /// First channel of each block, and the block.
    blocks: Vec<(usize, ChannelWeights)>,
}

impl BlockedWeights {
    /// `w` is `[n][k]`, every value within `i16`.
    pub(crate) fn new(w: &[i32], k: usize, n: usize) -> BlockedWeights {
        let blocks = (0..n)
            .step_by(BLOCK)
            .map(|j0| {
                let nb = BLOCK.min(n - j0);
                (j0, ChannelWeights::new(&w[j0 * k..(j0 + nb) * k], k, nb))
            })
            .collect();
        BlockedWeights { blocks }
    }

    /// `out(i, j, Σ_t a[i][t] · W[j][t])` for every row `i` of `a` (`[rows][k]`) and channel
    /// `j`, block by block; `acc` is scratch.
    pub(crate) fn for_each(
        &self,
        a: &[i16],
        acc: &mut Vec<i32>,
        mut out: impl FnMut(usize, usize, i32),
    ) {
        for (j0, cw) in &self.blocks {
            acc.clear();
            acc.resize(a.len() / cw.k.max(1) * cw.n, 0);
            cw.accumulate(a, acc);
            for (i, r) in acc.chunks_exact(cw.n).enumerate() {
                for (c, &v) in r.iter().enumerate() {
                    out(i, j0 + c, v);
                }
            }
        }
    }
}

/// Per-channel requantization constants (RND, SAT, bias, zero point and ReLU folded; see
/// `gemm::folded_requant`) laid out as arrays, so one pixel's `n` channels requantize as vectors:
/// `y = clamp(((acc + b) · M0 + half) >> shift + z, lo, hi)`.
pub(crate) struct RequantLanes {
    pub(crate) bias: Vec<i64>,
    pub(crate) m0: Vec<i64>,
    pub(crate) half: Vec<i64>,
    pub(crate) shift: Vec<u64>,
    pub(crate) z: Vec<i64>,
    pub(crate) lo: Vec<i64>,
    pub(crate) hi: Vec<i64>,
}

impl RequantLanes {
    /// `y[p][c]` for every pixel row of `acc` (`[rows][n]`).
    pub(crate) fn apply(&self, acc: &[i32], y: &mut [i32]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present (checked just above).
                unsafe { self.apply_avx2(acc, y) };
                return;
            }
        }
        self.apply_scalar(acc, y, 0)
    }

    /// Channel `c` of one accumulator.
    #[inline(always)]
    pub(crate) fn one(&self, c: usize, a: i32) -> i32 {
        let prod = (i64::from(a) + self.bias[c]) * self.m0[c];
        (((prod + self.half[c]) >> self.shift[c]) + self.z[c])
            .max(self.lo[c])
            .min(self.hi[c]) as i32
    }

    /// Channels `from..n` of every row, one at a time.
    fn apply_scalar(&self, acc: &[i32], y: &mut [i32], from: usize) {
        let n = self.m0.len();
        for (a, o) in acc.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
            for c in from..n {
                o[c] = self.one(c, a[c]);
            }
        }
    }

    /// Four channels per step in 64-bit lanes. AVX2 has no 64-bit arithmetic right shift, so
    /// `v >> s` is computed as `((v + 2^63) >>> s) - 2^(63-s)`: the same floor, since `2^63` is
    /// a multiple of `2^s`. `acc + b` fits 32 bits (the stage's proven width), which is what
    /// `vpmuldq` multiplies.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn apply_avx2(&self, acc: &[i32], y: &mut [i32]) {
        use std::arch::x86_64::*;
        let n = self.m0.len();
        let quads = n / 4;
        let load = |v: &[i64], c: usize| {
            // SAFETY: `c + 4 <= n` = the length of every constant array; unaligned load.
            unsafe { _mm256_loadu_si256(v.as_ptr().add(c).cast()) }
        };
        let sign = _mm256_set1_epi64x(i64::MIN);
        let pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0);
        for (a, o) in acc.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
            for q in 0..quads {
                let c = q * 4;
                // SAFETY: `c + 4 <= n = a.len()`; unaligned 128-bit load.
                let x = _mm256_cvtepi32_epi64(unsafe { _mm_loadu_si128(a.as_ptr().add(c).cast()) });
                let s = _mm256_add_epi64(x, load(&self.bias, c));
                let prod = _mm256_mul_epi32(s, load(&self.m0, c));
                let t = _mm256_xor_si256(_mm256_add_epi64(prod, load(&self.half, c)), sign);
                // SAFETY: as `load`; the shifts are u64 of the same length.
                let sh = unsafe { _mm256_loadu_si256(self.shift.as_ptr().add(c).cast()) };
                let shifted = _mm256_srlv_epi64(t, sh);
                let off = _mm256_srlv_epi64(sign, sh);
                let mut r = _mm256_add_epi64(_mm256_sub_epi64(shifted, off), load(&self.z, c));
                let hi = load(&self.hi, c);
                r = _mm256_blendv_epi8(r, hi, _mm256_cmpgt_epi64(r, hi));
                let lo = load(&self.lo, c);
                r = _mm256_blendv_epi8(r, lo, _mm256_cmpgt_epi64(lo, r));
                let packed = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(r, pick));
                // SAFETY: `c + 4 <= n = o.len()`; unaligned 128-bit store.
                unsafe { _mm_storeu_si128(o.as_mut_ptr().add(c).cast(), packed) };
            }
        }
        if quads * 4 < n {
            self.apply_scalar(acc, y, quads * 4);
        }
    }
}
