//! The encoder's integer kernels: exactness of the fast matmul paths against the definition
//! (property tests), and each nonlinear kernel's error against float, bounded, with a fault
//! injected to show the bound can fail.

use proptest::prelude::*;

use super::encoder::{self, div_rnd, i_erf, isqrt};
use crate::fxir::{Coding, MatMulStage, Weights};
use crate::lower::encoder::{softmax_constants, GELU_A, GELU_R, LN_FRAC};
use crate::quant::{quantize_multiplier, requantize, Format, Overflow, Requant, Rounding};

fn fmt(signed: bool, bits: u32, step: f64, zp: i32) -> Format {
    let (m0, s) = quantize_multiplier(step).unwrap();
    Format::affine(signed, bits, m0, s, zp)
}

fn rq(scale: f64, y: &Format) -> Requant {
    let (m0, shift) = quantize_multiplier(scale).unwrap();
    Requant {
        m0,
        shift,
        zero_point: y.zero_point() as i32,
        bits: y.bits,
        signed: y.signed,
        rounding: Rounding::Rnd,
        overflow: Overflow::Sat,
    }
}

/// A tiny deterministic generator (xorshift), so the error figures are reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

#[test]
fn isqrt_is_the_floor_of_the_root() {
    let mut r = Rng(7);
    for _ in 0..20000 {
        let n = u128::from(r.next() >> (r.next() % 64));
        let s = isqrt(n);
        assert!(s * s <= n && (s + 1) * (s + 1) > n, "isqrt({n}) = {s}");
    }
    for n in [
        0u128,
        1,
        2,
        3,
        4,
        15,
        16,
        17,
        u128::from(u64::MAX),
        1 << 100,
    ] {
        let s = isqrt(n);
        assert!(s * s <= n && (s + 1) * (s + 1) > n, "isqrt({n}) = {s}");
    }
    assert_eq!(div_rnd(5, 2), 3);
    assert_eq!(div_rnd(-5, 2), -2);
    assert_eq!(div_rnd(7, 3), 2);
}

fn matmul_definition(
    st: &MatMulStage,
    a: &[i32],
    af: &Format,
    b: Option<(&[i32], &Format)>,
    batch: usize,
) -> Vec<i32> {
    let (g, m, k, n) = (st.groups, st.m, st.k, st.n);
    let mut y = Vec::new();
    for s in 0..batch {
        for gi in 0..g {
            for i in 0..m {
                for j in 0..n {
                    let mut acc = 0i64;
                    for t in 0..k {
                        let x = i64::from(a[s * g * m * k + (gi * m + i) * k + t]);
                        acc += match (&st.weights, b) {
                            (Some(w), _) => x * i64::from(w.decode()[j * k + t]),
                            (None, Some((bv, bf))) => {
                                (x - af.zero_point())
                                    * (i64::from(bv[s * g * k * n + (gi * k + t) * n + j])
                                        - bf.zero_point())
                            }
                            _ => unreachable!(),
                        };
                    }
                    let (bias, r) = match &st.weights {
                        Some(_) => (st.bias[j], st.requant[j]),
                        None => (0, st.requant[0]),
                    };
                    y.push(requantize(acc, bias, &r) as i32);
                }
            }
        }
    }
    y
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Both matmul forms (constant weights, activation B), on the i32 fast path (blocks of 64
    /// channels, tasks of 64 rows) and on the i64 path (a wider proven accumulator), equal the
    /// definition.
    #[test]
    fn matmul_equals_definition(
        g in 1usize..3, m in prop_oneof![1usize..5, 30usize..40], k in 1usize..40,
        // One channel block, several (multiples of 8 take vpmaddwd), a ragged last block.
        n in prop_oneof![1usize..9, (8usize..20).prop_map(|v| 8 * v), 60usize..140],
        batch in 1usize..3,
        seed in any::<u64>(), za in -3i32..3, zb in -3i32..3, wide in any::<bool>(),
    ) {
        let mut r = Rng(seed | 1);
        let af = fmt(true, 8, 0.05, za);
        let bf = fmt(false, 8, 0.01, zb.abs());
        let yf = fmt(true, 8, 0.1, 0);
        let a: Vec<i32> = (0..batch * g * m * k).map(|_| (r.next() % 256) as i32 - 128).collect();
        let bv: Vec<i32> = (0..batch * g * k * n).map(|_| (r.next() % 256) as i32).collect();
        let acc = if wide { 40 } else { 32 };
        // Activation × activation.
        let st = MatMulStage {
            groups: g, m, k, n, weights: None, bias: vec![], acc_bits: acc,
            requant: vec![rq(0.05 * 0.01 / 0.1, &yf)], dynamic: false,
        };
        let got = encoder::matmul(&st, &a, &af, Some((&bv, &bf)), batch);
        prop_assert_eq!(got, matmul_definition(&st, &a, &af, Some((&bv, &bf)), batch));
        // Constant weights [n][k], one group of m·g rows.
        let codes: Vec<i32> = (0..n * k).map(|_| (r.next() % 255) as i32 - 127).collect();
        let w = Weights { n, k, coding: Coding::Int { bits: 8 }, codes, scales: vec![0.02; n] };
        let st = MatMulStage {
            groups: 1, m: g * m, k, n, weights: Some(w),
            bias: (0..n).map(|_| (r.next() % 2001) as i64 - 1000).collect(),
            acc_bits: acc,
            requant: (0..n).map(|c| rq(0.05 * 0.02 / 0.1 * (1.0 + c as f64 / 8.0), &yf)).collect(),
            dynamic: false,
        };
        let got = encoder::matmul(&st, &a, &af, None, batch);
        prop_assert_eq!(got, matmul_definition(&st, &a, &af, None, batch));
    }
}

/// Integer LayerNorm over `rows` random rows (with outlier channels), 16-bit in and out:
/// the largest error against the float LayerNorm, in output steps.
fn layernorm_error(gamma_fault: f64) -> f64 {
    let h = 384;
    let mut r = Rng(11);
    let xf = fmt(true, 16, 12.0 / 32767.0, 0);
    let yf = fmt(true, 16, 10.0 / 32767.0, 0);
    let gamma: Vec<f64> = (0..h)
        .map(|c| 0.5 + 0.5 * r.unit().abs() + if c == 7 { 2.0 } else { 0.0 })
        .collect();
    let beta: Vec<f64> = (0..h).map(|_| 0.2 * r.unit()).collect();
    let gq: Vec<i64> = gamma
        .iter()
        .enumerate()
        .map(|(c, &g)| {
            let g = if c == 0 { g * gamma_fault } else { g };
            (g / yf.step() * f64::from(1u32 << LN_FRAC)).round() as i64
        })
        .collect();
    let bq: Vec<i64> = beta
        .iter()
        .map(|&b| (b / yf.step() * f64::from(1u32 << LN_FRAC)).round() as i64)
        .collect();
    let mut worst = 0f64;
    for _ in 0..32 {
        let x: Vec<i32> = (0..h)
            .map(|c| {
                let v = r.unit() * if c % 50 == 3 { 10.0 } else { 1.5 };
                xf.quantize_f64(v, Rounding::Rnd, Overflow::Sat) as i32
            })
            .collect();
        let ln = encoder::LayerNormParams {
            gamma: &gq,
            beta: &bq,
            frac: LN_FRAC,
            eps: 0,
        };
        let y = encoder::layernorm(&x, &xf, h, &ln, &yf);
        let xr: Vec<f64> = x.iter().map(|&q| xf.dequantize(i64::from(q))).collect();
        let mu = xr.iter().sum::<f64>() / h as f64;
        let var = xr.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / h as f64;
        for c in 0..h {
            let want = (xr[c] - mu) / var.sqrt() * gamma[c] + beta[c];
            let got = yf.dequantize(i64::from(y[c]));
            worst = worst.max((got - want).abs() / yf.step());
        }
    }
    worst
}

#[test]
fn integer_layernorm_is_within_one_output_step() {
    let e = layernorm_error(1.0);
    eprintln!("integer LayerNorm: max |error| = {e:.3} output steps (16-bit)");
    assert!(e <= 0.55, "{e}");
    // A fault (one channel's γ off by 1 %) is caught by the same bound.
    assert!(layernorm_error(1.01) > 0.55);
}

/// i-GELU on a grid of 16-bit codes over [-8, 8] against `0.5·x·(1 + erf(x/√2))`, in real units.
fn gelu_error(q_one_fault: f64) -> f64 {
    let xf = fmt(true, 16, 8.0 / 32767.0, 0);
    let yf = fmt(true, 16, 8.0 / 32767.0, 0);
    let s = xf.step();
    let sp = s / std::f64::consts::SQRT_2;
    let q_r = (GELU_R / sp).floor() as i64;
    let q_one = ((1.0 / (GELU_A * sp * sp)).floor() * q_one_fault) as i64;
    let r = rq(s * GELU_A * sp * sp / 2.0 / yf.step(), &yf);
    let x: Vec<i32> = (-32767..=32767).step_by(7).collect();
    let y = encoder::gelu(&x, &xf, q_r, q_one, &r);
    x.iter()
        .zip(&y)
        .map(|(&q, &v)| {
            let xr = xf.dequantize(i64::from(q));
            let want = 0.5 * xr * (1.0 + libm::erf(xr / std::f64::consts::SQRT_2));
            (yf.dequantize(i64::from(v)) - want).abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn integer_gelu_tracks_gelu() {
    let e = gelu_error(1.0);
    eprintln!("i-GELU: max |error| over [-8, 8] = {e:.4}");
    assert!(e < 0.02, "{e}");
    assert!(
        gelu_error(1.05) > 0.02,
        "a 5 % fault in the constant 1 is caught"
    );
    // The integer erf: odd, saturating at ±q_one beyond the clip point.
    assert_eq!(i_erf(0, 100, 1000), 0);
    assert_eq!(i_erf(-500, 100, 1000), -1000);
    assert_eq!(i_erf(7, 100, 1000), -i_erf(-7, 100, 1000));
}

/// Masked softmax over random 16-bit score rows against the float softmax over the unmasked
/// positions; returns the largest error (probability units) with `bits` output bits.
fn softmax_error(bits: u32, exp_fault: i64) -> f64 {
    let row = 24;
    let mut r = Rng(3);
    let xf = fmt(true, 16, 12.0 / 32767.0, 0);
    let (q_ln2, q_b, q_c) = softmax_constants(xf.step());
    let out = Format::binary_point(false, bits, bits as i32);
    let mut worst = 0f64;
    for _ in 0..64 {
        let mask: Vec<i32> = (0..row)
            .map(|j| i32::from(j < 4 || !r.next().is_multiple_of(3)))
            .collect();
        let x: Vec<i32> = (0..row)
            .map(|_| xf.quantize_f64(6.0 * r.unit(), Rounding::Rnd, Overflow::Sat) as i32)
            .collect();
        let e = encoder::ExpConstants {
            q_ln2,
            q_b,
            q_c: q_c + exp_fault,
        };
        let y = encoder::masked_softmax(&x, &mask, row, e, &out, 1);
        let xr: Vec<f64> = x.iter().map(|&q| xf.dequantize(i64::from(q))).collect();
        let m = xr
            .iter()
            .zip(&mask)
            .filter(|(_, &k)| k != 0)
            .map(|(&v, _)| v)
            .fold(f64::MIN, f64::max);
        let z: f64 = xr
            .iter()
            .zip(&mask)
            .filter(|(_, &k)| k != 0)
            .map(|(&v, _)| (v - m).exp())
            .sum();
        for j in 0..row {
            let want = if mask[j] == 0 {
                0.0
            } else {
                (xr[j] - m).exp() / z
            };
            let got = out.dequantize(i64::from(y[j]));
            if mask[j] == 0 {
                assert_eq!(y[j], 0, "a masked position gets nothing");
            }
            worst = worst.max((got - want).abs());
        }
    }
    worst
}

#[test]
fn masked_softmax_tracks_softmax() {
    let e16 = softmax_error(16, 0);
    let e8 = softmax_error(8, 0);
    eprintln!("integer softmax: max |error| {e16:.5} (u16 output), {e8:.5} (u8 output)");
    assert!(e16 < 0.01, "{e16}");
    assert!(e8 < 0.01, "{e8}");
    // Corrupting the polynomial's constant term is caught.
    let (_, _, q_c) = softmax_constants(12.0 / 32767.0);
    assert!(softmax_error(16, q_c / 2) > 0.01);
    // A row with every position masked is all zeros.
    let out = Format::binary_point(false, 8, 8);
    let e = encoder::ExpConstants {
        q_ln2: 100,
        q_b: 50,
        q_c: 1000,
    };
    let y = encoder::masked_softmax(&[5, 6, 7], &[0, 0, 0], 3, e, &out, 1);
    assert_eq!(y, vec![0, 0, 0]);
}

#[test]
fn add_rescales_both_operands() {
    let af = fmt(true, 8, 0.1, 0);
    let bf = fmt(true, 16, 0.001, 0);
    let yf = fmt(true, 16, 0.01, 0);
    let sh = 24;
    let m = |s: f64| (s / yf.step() * f64::from(1u32 << sh)).round() as i64;
    let scales = encoder::AddScales {
        ma: m(0.1),
        mb: m(0.001),
        shift: sh,
        constant: &[],
    };
    let y = encoder::add(
        &[10, -20, 127],
        &af,
        Some((&[500, 500, -32768], &bf)),
        &scales,
        &yf,
    );
    // 1.0 + 0.5 = 1.5 → 150; −2.0 + 0.5 = −1.5 → −150; 12.7 − 32.768 = −20.068 → −2007.
    assert_eq!(y, vec![150, -150, -2007]);
    // Saturation at the output width.
    let small = fmt(true, 8, 0.01, 0);
    let ms = |s: f64| (s / small.step() * f64::from(1u32 << sh)).round() as i64;
    let scales = encoder::AddScales {
        ma: ms(0.1),
        mb: 0,
        shift: sh,
        constant: &[0],
    };
    let y = encoder::add(&[127], &af, None, &scales, &small);
    assert_eq!(y, vec![127]);
}

/// The `i128` definition of one LayerNorm row (what `encoder::layernorm` computed before its
/// `i64` fast path).
fn layernorm_definition(
    xs: &[i32],
    z: i128,
    gamma: &[i64],
    beta: &[i64],
    frac: u32,
    eps: i64,
    yf: &Format,
) -> Vec<i32> {
    let h = xs.len() as i128;
    let sum: i128 = xs.iter().map(|&v| i128::from(v) - z).sum();
    let d: Vec<i128> = xs.iter().map(|&v| h * (i128::from(v) - z) - sum).collect();
    let ss: i128 = d.iter().map(|v| v * v).sum();
    let sigma = isqrt((ss / h + i128::from(eps)) as u128).max(1) as i128;
    let den = sigma << frac;
    d.iter()
        .enumerate()
        .map(|(c, &dv)| {
            let num = dv * i128::from(gamma[c]) + i128::from(beta[c]) * sigma;
            crate::quant::saturate_i128(
                div_rnd(num, den) + i128::from(yf.zero_point()),
                yf.bits,
                yf.signed,
                Overflow::Sat,
            ) as i32
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// LayerNorm's i64 row path equals the i128 definition, including rows (wide inputs, large
    /// γ) that overflow i64 and take the definition.
    #[test]
    fn layernorm_fast_path_equals_the_definition(
        row in 1usize..48, bits in prop_oneof![Just(8u32), Just(16), Just(24), Just(31)],
        gamma_bits in 1u32..40, zx in -5i32..5, eps in 0i64..1000, frac in 8u32..20,
        seed in any::<u64>(), rows in 1usize..4,
    ) {
        let mut r = Rng(seed | 1);
        let xf = fmt(true, bits, 0.01, zx);
        let yf = fmt(true, 8, 0.05, 0);
        let span = 1u64 << (bits - 1);
        let x: Vec<i32> = (0..rows * row)
            .map(|_| ((r.next() % (2 * span)) as i64 - span as i64).clamp(xf.min_int(), xf.max_int()) as i32)
            .collect();
        let g = 1u64 << gamma_bits;
        let gamma: Vec<i64> = (0..row).map(|_| (r.next() % (2 * g)) as i64 - g as i64).collect();
        let beta: Vec<i64> = (0..row).map(|_| (r.next() % (2 * g)) as i64 - g as i64).collect();
        let ln = encoder::LayerNormParams {
            gamma: &gamma,
            beta: &beta,
            frac,
            eps,
        };
        let got = encoder::layernorm(&x, &xf, row, &ln, &yf);
        let want: Vec<i32> = x
            .chunks(row)
            .flat_map(|xs| layernorm_definition(xs, i128::from(zx), &gamma, &beta, frac, eps, &yf))
            .collect();
        prop_assert_eq!(got, want);
    }

    /// The softmax's i64 quotients equal the i128 ones, on both sides of the i64 limit.
    #[test]
    fn softmax_ratios_equal_the_i128_quotients(
        n in 1usize..40, top_bits in 1u32..57, frac in 0u32..24, max_code in 1i64..70000,
        seed in any::<u64>(),
    ) {
        let mut r = Rng(seed | 1);
        let e: Vec<i64> = (0..n).map(|_| (r.next() % (1u64 << top_bits)) as i64).collect();
        let sum = e.iter().sum::<i64>().max(1);
        let mut got = vec![0i32; n];
        super::vector::write_ratios(&mut got, &e, frac, sum, max_code);
        let want: Vec<i32> = e
            .iter()
            .map(|&v| ((i128::from(v) << frac) / i128::from(sum)).min(i128::from(max_code)) as i32)
            .collect();
        prop_assert_eq!(got, want);
    }
}
