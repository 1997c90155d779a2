//! Dynamic quantization: the kernels by hand, the whole chain (exponent, quantizer, dynamic
//! Gemm and linear MatMul) against a straightforward `i64` model over random programs, the
//! rounding-error property of the dynamic codes, and faults injected into the program that
//! `validate` must catch (and into the kernel's exponents, which the model must notice).

use proptest::prelude::*;

use super::dynamic::{exponents, quantize};
use super::run_int;
use crate::fxir::{
    exponent_format, max_shift, Coding, GemmStage, IntInput, MatMulStage, Program, Stage,
    StageKind, TensorId, TensorInfo, VectorOp, Weights,
};
use crate::quant::{quantize_multiplier, requantize, Format, Overflow, Requant, Rounding};

fn fmt(signed: bool, bits: u32, step: f64, zp: i32) -> Format {
    let (m0, s) = quantize_multiplier(step).unwrap();
    Format::affine(signed, bits, m0, s, zp)
}

#[test]
fn exponents_and_codes_by_hand() {
    // Signed 16-bit input, 8-bit signed codes (7 magnitude bits).
    let xf = fmt(true, 16, 0.01, 0);
    let qf = fmt(true, 8, 0.01, 0);
    let x = [0, 3, -200, 100, 5, -128, 3, 1, 127, -127, 0, 0];
    let e = exponents(&x, &xf, 4, 7);
    // Rows: max |x| 200 (8 bits → e 1), 128 (8 bits → e 1), 127 (7 bits → e 0).
    assert_eq!(e, vec![1, 1, 0]);
    let q = quantize(&x, &xf, &e, 4, &qf);
    // 3/2 = 1.5 → 2 and 5/2 = 2.5 → 3 (half up), -200/2 = -100, 1/2 → 1, -128/2 = -64.
    assert_eq!(q, vec![0, 2, -100, 50, 3, -64, 2, 1, 127, -127, 0, 0]);
    // Unsigned input with a zero point: x − z is what is measured and shifted.
    let xf = fmt(true, 16, 0.01, 100);
    let qf = fmt(true, 4, 0.01, 0);
    let x = [100, 107, 84, 100];
    let e = exponents(&x, &xf, 4, 3);
    assert_eq!(e, vec![2]); // max |x − z| = 16: 5 bits, 3 magnitude bits → e = 2
    assert_eq!(quantize(&x, &xf, &e, 4, &qf), vec![0, 2, -4, 0]);
    // A row of 2^(mag+e−1) rounded up saturates at the top code: 255 >> 1 = 127.5 → 128 → 127.
    let xf = fmt(true, 16, 0.01, 0);
    let qf = fmt(true, 8, 0.01, 0);
    let e = exponents(&[255], &xf, 1, 7);
    assert_eq!(
        (e.clone(), quantize(&[255], &xf, &e, 1, &qf)),
        (vec![1], vec![127])
    );
}

/// A program with one integer input `x` (`sample` shape, 16-bit, zero point `zx`), its dynamic
/// exponent and codes over rows of `row`, and `consumer` reading them.
fn program(sample: Vec<usize>, zx: i32, bits: u32, row: usize, consumer: StageKind) -> Program {
    let xf = fmt(true, 16, 0.003, zx);
    let mag = bits - 1;
    let len: usize = sample.iter().product();
    let (out_shape, yf) = match &consumer {
        StageKind::Gemm(g) => (vec![g.n], Format::affine(true, 8, g.requant[0].m0, 0, 0)),
        StageKind::MatMul(m) => (
            vec![m.m, m.n],
            Format::affine(true, 8, m.requant[0].m0, 0, 0),
        ),
        _ => unreachable!(),
    };
    let t = |name: &str, shape: Vec<usize>, format: Format| TensorInfo {
        name: name.into(),
        shape,
        format,
    };
    let tensors = vec![
        t("x", sample.clone(), xf),
        t(
            "x.exp",
            vec![len / row],
            exponent_format(max_shift(&xf, mag)),
        ),
        t("x.dyn", sample, fmt(true, bits, 0.003, 0)),
        t("y", out_shape, yf),
    ];
    let st = |name: &str, kind, inputs: Vec<usize>, output| Stage {
        name: name.into(),
        kind,
        inputs: inputs.into_iter().map(TensorId).collect(),
        output: TensorId(output),
    };
    Program {
        name: "dyn".into(),
        input_name: String::new(),
        input_shape: Vec::new(),
        tensors,
        stages: vec![
            st(
                "exp",
                StageKind::Vector(VectorOp::DynamicExponent { row, mag_bits: mag }),
                vec![0],
                1,
            ),
            st(
                "dq",
                StageKind::Vector(VectorOp::DynamicQuant { row }),
                vec![0, 1],
                2,
            ),
            st("mm", consumer, vec![2, 1], 3),
        ],
        output: TensorId(3),
        output_name: "y".into(),
        int_inputs: vec![IntInput {
            name: "x".into(),
            tensor: TensorId(0),
        }],
    }
}

fn requants(n: usize, seed: &mut impl FnMut(i64) -> i64) -> Vec<Requant> {
    (0..n)
        .map(|_| Requant {
            m0: (1 << 30) + seed(1 << 30) as i32,
            shift: seed(12) as i32,
            zero_point: 0,
            bits: 8,
            signed: true,
            rounding: Rounding::Rnd,
            overflow: Overflow::Sat,
        })
        .collect()
}

/// `K · max|q| · max|w|` as a width, sign included.
fn width(k: usize, bits: u32, wmax: i64) -> u32 {
    let bound = k as u128 * (1u128 << (bits - 1)) * wmax as u128;
    129 - bound.leading_zeros()
}

/// The array layer the model runs: weight codes `[n][k]`, one bias and requantizer per output
/// channel, and whether a ReLU follows.
struct Layer<'a> {
    w: &'a [i32],
    bias: &'a [i64],
    rq: &'a [Requant],
    relu: bool,
}

/// The definition in plain `i64`/`i128`: the exponent as the least `e ≥ 0` with
/// `max|x − z| < 2^(mag+e)`, the code `sat(floor((x − z)/2^e + 1/2))`, the output
/// `requant(Σ q·w · 2^e + bias)`. Returns `(codes, exponents, outputs)` for rows of `k`.
fn model(x: &[i32], zx: i32, bits: u32, k: usize, layer: &Layer) -> (Vec<i32>, Vec<i32>, Vec<i32>) {
    let Layer { w, bias, rq, relu } = *layer;
    let mag = bits - 1;
    let (lo, hi) = (-(1i128 << mag), (1i128 << mag) - 1);
    let n = bias.len();
    let (mut q, mut es, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for r in x.chunks(k) {
        let amax = r
            .iter()
            .map(|&v| (i64::from(v) - i64::from(zx)).abs())
            .max()
            .unwrap();
        let mut e = 0u32;
        while amax >= 1i64 << (mag + e) {
            e += 1;
        }
        es.push(e as i32);
        let codes: Vec<i64> = r
            .iter()
            .map(|&v| {
                let d = i128::from(v) - i128::from(zx);
                (2 * d + (1i128 << e))
                    .div_euclid(1i128 << (e + 1))
                    .clamp(lo, hi) as i64
            })
            .collect();
        q.extend(codes.iter().map(|&c| c as i32));
        for c in 0..n {
            let acc: i64 = codes
                .iter()
                .zip(&w[c * k..(c + 1) * k])
                .map(|(&a, &b)| a * i64::from(b))
                .sum();
            let mut v = requantize(acc * (1i64 << e), bias[c], &rq[c]) as i32;
            if relu {
                v = v.max(0);
            }
            y.push(v);
        }
    }
    (q, es, y)
}

prop_compose! {
    fn case()(k in 1usize..40, n in 1usize..9, m in 1usize..5, batch in 1usize..4,
              bits in 2u32..10, wbits in 2u32..9, zx in -300i32..300, range in 0u32..16,
              relu in any::<bool>(), seed in any::<u64>())
        -> (usize, usize, usize, usize, u32, u32, i32, u32, bool, u64) {
        (k, n, m, batch, bits, wbits, zx, range, relu, seed)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn dynamic_chain_equals_its_i64_model(c in case()) {
        let (k, n, m, batch, bits, wbits, zx, range, relu, seed) = c;
        let mut r = seed | 1;
        let mut next = |md: i64| {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            ((r >> 1) as i64).rem_euclid(md.max(1))
        };
        // Rows of very different magnitudes (`range` bits above the zero point), so exponents
        // from 0 to 8 occur, and the 16-bit range's ends.
        let span = 1i64 << range;
        let x: Vec<i32> = (0..batch * m * k)
            .map(|i| {
                let v = i64::from(zx) + next(2 * span + 1) - span;
                let v = if i % 17 == 5 { [-32768, 32767][i % 2] } else { v };
                v.clamp(-32768, 32767) as i32
            })
            .collect();
        let lim = (1i64 << (wbits - 1)) - 1;
        let w: Vec<i32> = (0..n * k).map(|_| (next(2 * lim + 1) - lim) as i32).collect();
        let bias: Vec<i64> = (0..n).map(|_| next(2_000_001) - 1_000_000).collect();
        let rq = requants(n, &mut next);
        let weights = Weights { n, k, coding: Coding::Int { bits: wbits }, codes: w.clone(), scales: vec![1.0; n] };
        let acc_bits = width(k, bits, lim.max(1));
        let layer = Layer { w: &w, bias: &bias, rq: &rq, relu };
        let (q, es, want) = model(&x, zx, bits, k, &layer);
        // The dynamic codes: within half a step of x − z unless saturated, and tight (a row
        // with e > 0 reaches at least half the code range).
        for (row, (&e, qr)) in es.iter().zip(q.chunks(k)).enumerate() {
            let xr = &x[row * k..(row + 1) * k];
            for (&qv, &xv) in qr.iter().zip(xr) {
                let err = (i64::from(qv) << e) - (i64::from(xv) - i64::from(zx));
                let top = (1i64 << (bits - 1)) - 1;
                prop_assert!(err.abs() <= (1i64 << e) / 2 || i64::from(qv) == top, "row {row}: {qv}·2^{e} vs {}", xv - zx);
            }
            if e > 0 {
                prop_assert!(qr.iter().map(|v| v.abs()).max().unwrap() >= 1 << (bits - 2));
            }
        }
        // Gemm: one sample = one row of k.
        let g = GemmStage {
            n, k, conv: None, weights: weights.clone(), bias: bias.clone(), acc_bits,
            acc_overflow: None, requant: rq.clone(), relu, dynamic: true,
        };
        let p = program(vec![k], zx, bits, k, StageKind::Gemm(g));
        prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
        let mut seen = Vec::new();
        let got = run_int(&p, std::slice::from_ref(&x), batch * m, &mut |i, c| if i < 2 { seen.push(c.to_vec()) }).unwrap();
        prop_assert_eq!(&seen[0], &es);
        prop_assert_eq!(&seen[1], &q);
        prop_assert_eq!(&got, &want);
        // Linear MatMul: one sample = m rows (tokens) of k.
        let mm = MatMulStage {
            groups: 1, m, k, n, weights: Some(weights), bias: bias.clone(), acc_bits,
            requant: rq.clone(), dynamic: true,
        };
        if !relu {
            let p = program(vec![m, k], zx, bits, k, StageKind::MatMul(mm));
            prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
            let got = run_int(&p, std::slice::from_ref(&x), batch, &mut |_, _| {}).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}

fn gemm(p: &mut Program) -> &mut GemmStage {
    match &mut p.stages[2].kind {
        StageKind::Gemm(g) => g,
        _ => unreachable!(),
    }
}

/// A fixed valid dynamic Gemm program and its input, for the fault tests.
fn fixed() -> (Program, Vec<i32>) {
    let (k, n) = (16usize, 4usize);
    let w: Vec<i32> = (0..n * k).map(|i| (i as i32 * 37 % 255) - 127).collect();
    let mut s = 7i64;
    let mut next = |m: i64| {
        s = (s * 1103515245 + 12345).rem_euclid(1 << 31);
        s % m
    };
    let rq = requants(n, &mut next);
    let g = GemmStage {
        n,
        k,
        conv: None,
        weights: Weights {
            n,
            k,
            coding: Coding::Int { bits: 8 },
            codes: w,
            scales: vec![1.0; n],
        },
        bias: vec![1000, -2000, 30, 0],
        acc_bits: width(k, 8, 127),
        acc_overflow: None,
        requant: rq,
        relu: false,
        dynamic: true,
    };
    // Three samples: small (e = 0), medium, near the 16-bit end (e = 8).
    let x: Vec<i32> = (0..3 * k)
        .map(|i| {
            let scale = [50, 3000, 32000][i / k];
            ((i as i32 * 7919) % (2 * scale + 1)) - scale
        })
        .collect();
    (program(vec![k], 0, 8, k, StageKind::Gemm(g)), x)
}

#[test]
fn validate_catches_faults_in_a_dynamic_program() {
    let (p, _) = fixed();
    p.validate().unwrap();
    let expect = |p: &Program, needle: &str| {
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains(needle), "expected '{needle}' in: {e}");
    };
    // A bias so large that (acc << 9) + bias leaves 64 bits (with a shift of 0 it would fit):
    // the shifted bound fails.
    let mut q = p.clone();
    gemm(&mut q).bias[1] = i64::MAX - (1 << 20);
    expect(&q, "shifted by up to 9 bits");
    // The array accumulator one bit narrower than Σ q·w needs.
    let mut q = p.clone();
    gemm(&mut q).acc_bits -= 1;
    expect(&q, "can overflow");
    // Exponent codes too narrow for the largest shift (9, for the code -32768, needs 4 bits).
    let mut q = p.clone();
    q.tensors[1].format = exponent_format(3);
    expect(&q, "hold exponents up to 9");
    // The quantizer's width and the exponent's magnitude bits disagree.
    let mut q = p.clone();
    q.tensors[2].format = fmt(true, 7, 0.003, 0);
    expect(&q, "mag_bits 6");
    // The consumer reads the exponents of a different row length.
    let mut q = p.clone();
    q.stages[0].kind = StageKind::Vector(VectorOp::DynamicExponent {
        row: 8,
        mag_bits: 7,
    });
    q.tensors[1].shape = vec![2];
    q.stages[1].kind = StageKind::Vector(VectorOp::DynamicQuant { row: 8 });
    expect(&q, "needs 1 rows of 16");
    // A consumer whose second input is not the quantizer's exponent.
    let mut q = p.clone();
    q.stages[2].inputs = vec![TensorId(2), TensorId(0)];
    expect(&q, "whose exponent is input 1");
    // A dynamic consumer with a nonzero zero point on its codes.
    let mut q = p.clone();
    q.tensors[2].format = fmt(true, 8, 0.003, 3);
    expect(&q, "zero point 0");
}

#[test]
fn dropping_the_exponent_changes_the_output() {
    // The model is not vacuous: the same codes requantized without the row shift (what an
    // array without the dynamic requant path would compute) differ from the program's output
    // on the samples whose exponent is not 0.
    let (p, x) = fixed();
    let got = run_int(&p, std::slice::from_ref(&x), 3, &mut |_, _| {}).unwrap();
    let g = match &p.stages[2].kind {
        StageKind::Gemm(g) => g.clone(),
        _ => unreachable!(),
    };
    let layer = Layer {
        w: &g.weights.codes,
        bias: &g.bias,
        rq: &g.requant,
        relu: false,
    };
    let (_, es, want) = model(&x, 0, 8, 16, &layer);
    assert_eq!(got, want);
    assert_eq!(es, vec![0, 5, 8]);
    let q = quantize(&x, &p.tensors[0].format, &es, 16, &p.tensors[2].format);
    let unshifted: Vec<i32> = q
        .chunks(16)
        .flat_map(|r| {
            (0..g.n).map(|c| {
                let acc: i64 = r
                    .iter()
                    .zip(&g.weights.codes[c * 16..(c + 1) * 16])
                    .map(|(&a, &b)| i64::from(a) * i64::from(b))
                    .sum();
                requantize(acc, g.bias[c], &g.requant[c]) as i32
            })
        })
        .collect();
    assert_eq!(unshifted[..g.n], got[..g.n], "e = 0: no difference");
    assert_ne!(unshifted[g.n..], got[g.n..], "e > 0: the shift matters");
}

#[test]
fn the_scheduler_charges_the_row_max_on_the_vector_unit() {
    use crate::schedule::{schedule, Work};
    use systole_hw::VectorOp as HwOp;
    let (p, _) = fixed();
    let mut hw = systole_hw::presets::load("edge-8x8").unwrap();
    // A preset without RowMax: the exponent is host work, named.
    let s = schedule(&p, &hw, 4).unwrap();
    assert!(
        matches!(&s.layers[0].work, Work::Host { op, .. } if op == "RowMax"),
        "{:?}",
        s.layers[0].work
    );
    // With RowMax (2 cycles per group of lanes), the reduction over every input element.
    hw.vector.ops.push(HwOp::RowMax);
    hw.vector.op_cycles.insert(HwOp::RowMax, 2);
    let s = schedule(&p, &hw, 4).unwrap();
    match &s.layers[0].work {
        Work::Vector(v) => {
            assert_eq!((v.op, v.elements), (HwOp::RowMax, 4 * 16));
            let lanes = u64::from(hw.vector.lanes);
            assert_eq!(
                hw.vector.cycles_for_elements(v.op, v.elements),
                Some((4 * 16u64).div_ceil(lanes) * 2)
            );
        }
        w => panic!("{w:?}"),
    }
    assert!(
        matches!(&s.layers[1].work, Work::Vector(v) if v.op == HwOp::Requantize && v.elements == 4 * 16)
    );
    assert!(matches!(&s.layers[2].work, Work::Array(_)));
}
