//! Property tests: the array-stage kernel against the definition written out naively, over
//! random shapes, windows, widths, zero points and narrowed accumulators.

use proptest::prelude::*;

use super::gemm_sample;
use crate::fxir::{Coding, GemmStage, Weights, Window};
use crate::quant::{requantize, saturate, Overflow, Requant, Rounding};

fn definition(g: &GemmStage, w: &[i32], x: &[i32], zx: i32) -> Vec<i32> {
    let win = g.conv.clone().unwrap();
    let mut y = vec![0; g.n * win.output_area()];
    for c in 0..g.n {
        for oy in 0..win.output[0] {
            for ox in 0..win.output[1] {
                let mut acc: i64 = 0;
                let mut j = 0;
                for ch in 0..win.channels {
                    for ky in 0..win.kernel[0] {
                        for kx in 0..win.kernel[1] {
                            let (iy, ix) = (win.tap(0, oy, ky), win.tap(1, ox, kx));
                            let inside = iy >= 0
                                && ix >= 0
                                && (iy as usize) < win.input[0]
                                && (ix as usize) < win.input[1];
                            let v = if inside {
                                x[ch * win.input[0] * win.input[1]
                                    + iy as usize * win.input[1]
                                    + ix as usize]
                            } else {
                                zx
                            };
                            acc += i64::from(v) * i64::from(w[c * g.k + j]);
                            if let Some(m) = g.acc_overflow {
                                acc = saturate(acc, g.acc_bits, true, m);
                            }
                            j += 1;
                        }
                    }
                }
                acc += g.bias[c];
                if let Some(m) = g.acc_overflow {
                    acc = saturate(acc, g.acc_bits, true, m);
                }
                let mut q = requantize(acc, 0, &g.requant[c]) as i32;
                if g.relu {
                    q = q.max(g.requant[c].zero_point);
                }
                y[(c * win.output[0] + oy) * win.output[1] + ox] = q;
            }
        }
    }
    y
}

prop_compose! {
    fn stage()(ch in 1usize..4, h in 1usize..7, w in 1usize..7, kh in 1usize..4, kw in 1usize..4,
               s in 1usize..3, d in 1usize..3, p in 0usize..3,
               n in prop_oneof![1usize..13, (2usize..9).prop_map(|v| 8 * v)],
               bits in 2u32..10, narrow in any::<bool>(), relu in any::<bool>(), seed in any::<u64>())
        -> Option<(GemmStage, Vec<i32>, i32)> {
        let span = |k: usize| (k - 1) * d + 1;
        if h + 2 * p < span(kh) || w + 2 * p < span(kw) { return None; }
        let out = [(h + 2 * p - span(kh)) / s + 1, (w + 2 * p - span(kw)) / s + 1];
        let win = Window { channels: ch, input: [h, w], kernel: [kh, kw], strides: [s, s], dilations: [d, d], pad_begin: [p, p], output: out };
        let k = ch * kh * kw;
        let mut r = seed;
        let mut next = |m: i64| { r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((r >> 33) as i64).rem_euclid(m) };
        let lim = (1i64 << (bits - 1)) - 1;
        let codes: Vec<i32> = (0..n * k).map(|_| (next(2 * lim + 1) - lim) as i32).collect();
        let x: Vec<i32> = (0..ch * h * w).map(|_| next(256) as i32).collect();
        let zx = next(256) as i32;
        let requant = (0..n).map(|_| Requant { m0: (1 << 30) + next(1 << 30) as i32, shift: next(32) as i32 - 20, zero_point: next(20) as i32 - 10, bits: 8, signed: true, rounding: Rounding::RndConv, overflow: Overflow::Sat }).collect();
        let g = GemmStage {
            n, k, conv: Some(win),
            weights: Weights { n, k, coding: Coding::Int { bits }, codes, scales: vec![1.0; n] },
            bias: (0..n).map(|_| next(20001) - 10000).collect(),
            acc_bits: if narrow { 12 } else { 40 },
            acc_overflow: if narrow { Some(Overflow::Sat) } else { None },
            requant, relu, dynamic: false,
        };
        Some((g, x, zx))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn conv_kernel_equals_its_definition(case in stage()) {
        if let Some((g, x, zx)) = case {
            let w = g.weights.decode();
            let mut y = vec![0; g.n * g.conv.as_ref().unwrap().output_area()];
            gemm_sample(&g, &w, &x, zx, &mut y);
            prop_assert_eq!(y, definition(&g, &w, &x, zx));
        }
    }

    #[test]
    fn i32_fast_path_equals_i64(case in stage()) {
        if let Some((mut g, x, zx)) = case {
            g.acc_overflow = None;
            let w = g.weights.decode();
            let len = g.n * g.conv.as_ref().unwrap().output_area();
            let (mut a, mut b) = (vec![0; len], vec![0; len]);
            g.acc_bits = 32;
            gemm_sample(&g, &w, &x, zx, &mut a);
            g.acc_bits = 64;
            gemm_sample(&g, &w, &x, zx, &mut b);
            prop_assert_eq!(a, b);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// The batch kernel's i16 path (im2col table, AVX2 dot, folded RND/SAT requantizer) against
    /// the per-sample definition path, on several samples at once.
    #[test]
    fn fast_batch_path_equals_the_per_sample_path(case in stage(), rnd in any::<bool>()) {
        if let Some((mut g, x, zx)) = case {
            g.acc_overflow = None;
            g.acc_bits = 32;
            for r in &mut g.requant {
                if rnd {
                    r.rounding = Rounding::Rnd;
                }
                r.overflow = Overflow::Sat;
            }
            let xf = crate::quant::Format::affine(false, 8, 1 << 30, 0, zx);
            let w = g.weights.decode();
            let out_len = g.n * g.conv.as_ref().unwrap().output_area();
            // Three samples: the input, reversed, and shifted.
            let mut xs = x.clone();
            xs.extend(x.iter().rev());
            xs.extend(x.iter().map(|v| (v + 17) % 256));
            let got = super::gemm::gemm_batch(&g, &xs, &xf, 3, out_len);
            let mut want = vec![0; 3 * out_len];
            for (s, ys) in want.chunks_mut(out_len).enumerate() {
                gemm_sample(&g, &w, &xs[s * x.len()..(s + 1) * x.len()], zx, ys);
            }
            prop_assert_eq!(got, want);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The no-padding fast paths of max pooling equal the per-tap definition.
    #[test]
    fn maxpool_fast_path_equals_the_definition(
        channels in 1usize..5,
        ih in 1usize..10,
        iw in 1usize..10,
        kh in 1usize..4,
        kw in 1usize..4,
        sy in 1usize..4,
        sx in 1usize..4,
        dy in 1usize..3,
        dx in 1usize..3,
        batch in 1usize..4,
        seed in any::<u64>(),
        pool2 in any::<bool>(),
    ) {
        // Half the cases are the specialised 2x2/2 pool.
        let (kh, kw, sy, sx, dy, dx) = if pool2 { (2, 2, 2, 2, 1, 1) } else { (kh, kw, sy, sx, dy, dx) };
        let span = |k: usize, d: usize| (k - 1) * d + 1;
        prop_assume!(span(kh, dy) <= ih && span(kw, dx) <= iw);
        let out = |i: usize, k: usize, d: usize, s: usize| (i - span(k, d)) / s + 1;
        let win = Window {
            channels,
            input: [ih, iw],
            kernel: [kh, kw],
            strides: [sy, sx],
            dilations: [dy, dx],
            pad_begin: [0, 0],
            output: [out(ih, kh, dy, sy), out(iw, kw, dx, sx)],
        };
        let in_len = channels * ih * iw;
        let out_len = channels * win.output_area();
        let mut r = seed | 1;
        let x: Vec<i32> = (0..batch * in_len)
            .map(|_| {
                r ^= r << 13;
                r ^= r >> 7;
                r ^= r << 17;
                (r % 255) as i32 - 128
            })
            .collect();
        let f = crate::quant::Format::affine(true, 8, 1 << 30, 0, 0);
        let fast = super::vector::maxpool(&win, &x, in_len, out_len, &f);
        let slow = super::vector::maxpool_general(&win, &x, in_len, out_len, &f);
        prop_assert_eq!(fast, slow);
    }
}
