//! Random row-major `MatMul` stages (constant weights and activation × activation, random
//! groups, sizes, zero points, batches, arrays and dataflows) through the scheduler and both
//! engines: the exact engine equals the integer reference code for code, and its measured cycles
//! equal the fast engine's closed form. Dynamic linear layers (`quantize --dynamic`: run-time
//! per-row exponents, codes, and the shift in the requantizer) get the same checks.

use proptest::prelude::*;
use systole_compiler::fxir::{
    Coding, IntInput, MatMulStage, Program, Stage, StageKind, TensorId, TensorInfo, Weights,
};
use systole_compiler::quant::{Format, Overflow, Requant, Rounding};
use systole_compiler::reference::int as reference;
use systole_compiler::schedule::{schedule, Work};
use systole_hw::{Accelerator, Dataflow};
use systole_sim::model::{simulate_inputs, simulate_inputs_against, Engine, Inputs};

struct Case {
    groups: usize,
    m: usize,
    k: usize,
    n: usize,
    /// Constant weights (`[n][k]` codes) or an activation B.
    weights: Option<Vec<i32>>,
    za: i32,
    zb: i32,
    a_signed: bool,
    m0: i32,
    shift: i32,
}

fn format(signed: bool, z: i32) -> Format {
    Format::affine(signed, 8, 1 << 30, 0, z)
}

/// A program of one MatMul stage reading its operands as integer inputs.
fn program(c: &Case) -> Program {
    let (g, m, k, n) = (c.groups, c.m, c.k, c.n);
    let af = format(c.a_signed, c.za);
    let bf = format(true, c.zb);
    let yf = format(true, 3);
    let t = |name: &str, shape: Vec<usize>, f: Format| TensorInfo {
        name: name.into(),
        shape,
        format: f,
    };
    let mut tensors = vec![t("a", vec![g, m, k], af), t("y", vec![g, m, n], yf)];
    let mut int_inputs = vec![IntInput {
        name: "a".into(),
        tensor: TensorId(0),
    }];
    let mut inputs = vec![TensorId(0)];
    let r = Requant {
        m0: c.m0,
        shift: c.shift,
        zero_point: 3,
        bits: 8,
        signed: true,
        rounding: Rounding::Rnd,
        overflow: Overflow::Sat,
    };
    let span = |f: &Format| {
        let z = f.zero_point();
        (f.max_int() - z).abs().max((f.min_int() - z).abs()) as u128
    };
    let stage = match &c.weights {
        Some(codes) => {
            let w = Weights {
                n,
                k,
                coding: Coding::Int { bits: 8 },
                codes: codes.clone(),
                scales: vec![0.01; n],
            };
            // z_a folded into the bias as the lowering does: −z_a·Σw, plus a small offset.
            let bias: Vec<i64> = (0..n)
                .map(|j| {
                    let s: i64 = codes[j * k..(j + 1) * k].iter().map(|&v| v as i64).sum();
                    -(c.za as i64) * s + j as i64 - 2
                })
                .collect();
            let bound = (af.max_int().abs().max(af.min_int().abs()) as u128) * 128 * k as u128
                + bias
                    .iter()
                    .map(|b| b.unsigned_abs() as u128)
                    .max()
                    .unwrap_or(0);
            MatMulStage {
                groups: g,
                m,
                k,
                n,
                weights: Some(w),
                bias,
                acc_bits: 129 - bound.leading_zeros(),
                requant: vec![r; n],
                dynamic: false,
            }
        }
        None => {
            tensors.push(t("b", vec![g, k, n], bf));
            int_inputs.push(IntInput {
                name: "b".into(),
                tensor: TensorId(2),
            });
            inputs.push(TensorId(2));
            let bound = span(&af) * span(&bf) * k as u128;
            MatMulStage {
                groups: g,
                m,
                k,
                n,
                weights: None,
                bias: Vec::new(),
                acc_bits: 129 - bound.leading_zeros(),
                requant: vec![r],
                dynamic: false,
            }
        }
    };
    let p = Program {
        name: "matmul".into(),
        input_name: String::new(),
        input_shape: vec![],
        tensors,
        stages: vec![Stage {
            name: "mm".into(),
            kind: StageKind::MatMul(stage),
            inputs,
            output: TensorId(1),
        }],
        output: TensorId(1),
        output_name: "y".into(),
        int_inputs,
    };
    p.validate().unwrap();
    p
}

fn codes(f: &Format, len: usize, seed: u64) -> Vec<i32> {
    let (lo, hi) = (f.min_int(), f.max_int());
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (lo + ((s >> 33) as i64).rem_euclid(hi - lo + 1)) as i32
        })
        .collect()
}

/// The array with 9-bit operands: an 8-bit code minus a zero point needs 9 bits.
fn wide(mut hw: Accelerator) -> Accelerator {
    hw.input_bits = 9;
    hw.weight_bits = 9;
    hw.validate().unwrap();
    hw
}

fn dataflow() -> impl Strategy<Value = Dataflow> {
    prop_oneof![
        Just(Dataflow::WeightStationary),
        Just(Dataflow::OutputStationary),
        Just(Dataflow::InputStationary),
    ]
}

/// Runs `c` on `hw` for `batch` samples through both engines and checks the chain.
fn check(c: &Case, hw: &Accelerator, batch: usize, seed: u64) {
    let p = program(c);
    let ins: Vec<Vec<i32>> = p
        .int_inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let info = p.tensor(t.tensor);
            codes(&info.format, batch * info.len(), seed + i as u64)
        })
        .collect();
    let s = schedule(&p, hw, batch).unwrap();
    let Work::Array(w) = &s.layers[0].work else {
        panic!("a matmul is array work: {:?}", s.layers[0].work)
    };
    let groups = if c.weights.is_some() {
        1
    } else {
        batch * c.groups
    };
    assert_eq!(w.groups, groups);
    let input = Inputs::Int { codes: &ins, batch };
    let want = reference::run_int(&p, &ins, batch, &mut |_, _| {}).unwrap();
    let exact = simulate_inputs(&p, &s, hw, input, Engine::Exact, None).unwrap();
    let fast = simulate_inputs(&p, &s, hw, input, Engine::Fast, None).unwrap();
    let r = &exact.report;
    assert!(r.mismatch.is_none(), "{:?}", r.mismatch);
    assert_eq!(r.equal, Some(true));
    assert_eq!(exact.output, want);
    assert_eq!(
        (r.total_cycles, r.layers[0].compute_cycles),
        (
            fast.report.total_cycles,
            fast.report.layers[0].compute_cycles
        )
    );
    assert_eq!(
        r.macs,
        (batch * c.groups * c.m * c.k * c.n) as u64,
        "every MAC of every group counted"
    );
    // A wrong reference code is caught and named.
    let mut bad = vec![want.clone()];
    let i = want.len() / 2;
    bad[0][i] ^= 1;
    let sim = simulate_inputs_against(&p, &s, hw, input, Engine::Exact, None, &bad).unwrap();
    let m = sim.report.mismatch.expect("the flipped code is found");
    let per = c.groups * c.m * c.n;
    assert_eq!(
        (m.layer.as_str(), m.index, m.expected, m.got),
        ("mm", [i / per, i % per], bad[0][i], want[i])
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_matmuls_equal_the_reference_and_the_fast_cycles(
        groups in 1usize..=3,
        m in 1usize..=9,
        k in 1usize..=20,
        n in 1usize..=9,
        with_weights in any::<bool>(),
        za in -5i32..=5,
        zb in -5i32..=5,
        a_signed in any::<bool>(),
        m0 in (1i32 << 30)..i32::MAX,
        shift in 0i32..=6,
        rows in 1usize..=8,
        cols in 1usize..=8,
        df in dataflow(),
        batch in 1usize..=3,
        seed in any::<u64>(),
    ) {
        let za = if a_signed { za } else { za.abs() };
        let weights = with_weights.then(|| codes(&Format::affine(true, 8, 1 << 30, 0, 0), n * k, seed ^ 0x5eed));
        let c = Case { groups, m, k, n, weights, za, zb: if with_weights { 0 } else { zb }, a_signed, m0, shift };
        check(&c, &wide(Accelerator::new("random", rows, cols, df, 100.0)), batch, seed);
    }
}

#[test]
fn zero_points_reach_the_array_as_the_reference_defines_them() {
    // Large zero points on both operands of an activation matmul: a wrong subtraction would
    // change nearly every output.
    let c = Case {
        groups: 2,
        m: 5,
        k: 7,
        n: 3,
        weights: None,
        za: 40,
        zb: -30,
        a_signed: true,
        m0: 1 << 30,
        shift: 3,
    };
    for df in [
        Dataflow::WeightStationary,
        Dataflow::OutputStationary,
        Dataflow::InputStationary,
    ] {
        check(&c, &wide(Accelerator::new("z", 4, 3, df, 100.0)), 2, 7);
    }
    // An 8-bit array cannot take `code − z` of an 8-bit operand with a zero point: a clean
    // refusal naming the layer and the field.
    let e = schedule(
        &program(&c),
        &Accelerator::new("z", 4, 3, Dataflow::WeightStationary, 100.0),
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("mm") && e.contains("9-bit") && e.contains("input_bits"),
        "{e}"
    );
}

/// A dynamic linear layer (`quantize --dynamic` in an encoder): a wide 16-bit input `x`
/// (integer input, zero point `zx`), its per-row exponents (`DynamicExponent`, rows of `k`),
/// its 8-bit codes (`DynamicQuant`) and the `MatMul` with `dynamic: true` reading both.
fn dynamic_program(c: &Case, zx: i32) -> Program {
    use systole_compiler::fxir::{exponent_format, max_shift, VectorOp};
    let (g, m, k, n) = (c.groups, c.m, c.k, c.n);
    let xf = Format::affine(true, 16, 1 << 30, 0, zx);
    let qf = Format::affine(true, 8, 1 << 30, 0, 0);
    let mag_bits = 7;
    let ef = exponent_format(max_shift(&xf, mag_bits));
    let t = |name: &str, shape: Vec<usize>, f: Format| TensorInfo {
        name: name.into(),
        shape,
        format: f,
    };
    let codes = c.weights.clone().unwrap_or_default();
    let bias: Vec<i64> = (0..n as i64).map(|j| 3 * j - 5).collect();
    let r = Requant {
        m0: c.m0,
        shift: c.shift + 8,
        zero_point: 3,
        bits: 8,
        signed: true,
        rounding: Rounding::Rnd,
        overflow: Overflow::Sat,
    };
    let stage = |name: &str, kind, inputs, output| Stage {
        name: name.into(),
        kind,
        inputs,
        output: TensorId(output),
    };
    let p = Program {
        name: "dynamic-matmul".into(),
        input_name: String::new(),
        input_shape: vec![],
        tensors: vec![
            t("x", vec![g, m, k], xf),
            t("e", vec![g, m], ef),
            t("q", vec![g, m, k], qf),
            t("y", vec![g, m, n], format(true, 3)),
        ],
        stages: vec![
            stage(
                "mm/dynamic-exponent",
                StageKind::Vector(VectorOp::DynamicExponent { row: k, mag_bits }),
                vec![TensorId(0)],
                1,
            ),
            stage(
                "mm/dynamic-quant",
                StageKind::Vector(VectorOp::DynamicQuant { row: k }),
                vec![TensorId(0), TensorId(1)],
                2,
            ),
            stage(
                "mm",
                StageKind::MatMul(MatMulStage {
                    groups: g,
                    m,
                    k,
                    n,
                    weights: Some(Weights {
                        n,
                        k,
                        coding: Coding::Int { bits: 8 },
                        codes,
                        scales: vec![0.01; n],
                    }),
                    bias,
                    // 8-bit codes × 8-bit weights over k, sign included.
                    acc_bits: 16 + (k as u32).next_power_of_two().trailing_zeros() + 1,
                    requant: vec![r; n],
                    dynamic: true,
                }),
                vec![TensorId(2), TensorId(1)],
                3,
            ),
        ],
        output: TensorId(3),
        output_name: "y".into(),
        int_inputs: vec![IntInput {
            name: "x".into(),
            tensor: TensorId(0),
        }],
    };
    p.validate().unwrap();
    p
}

/// Runs the dynamic case through both engines: exponents, codes and outputs equal the
/// reference's, cycles equal the fast engine's, and a wrong reference exponent is named.
fn check_dynamic(c: &Case, zx: i32, hw: &Accelerator, batch: usize, seed: u64) {
    let p = dynamic_program(c, zx);
    let xf = p.tensors[0].format;
    // Row `r` scaled down by 2^(r mod 12): exponents from the largest down to 0.
    let mut x = codes(&xf, batch * p.tensors[0].len(), seed);
    for (r, row) in x.chunks_mut(c.k).enumerate() {
        row.iter_mut()
            .for_each(|v| *v = zx + ((*v - zx) >> (r % 12)));
    }
    let ins = vec![x];
    let input = Inputs::Int { codes: &ins, batch };
    let mut want = vec![Vec::new(); p.stages.len()];
    reference::run_int(&p, &ins, batch, &mut |i, y| want[i] = y.to_vec()).unwrap();
    let s = schedule(&p, hw, batch).unwrap();
    let exact = simulate_inputs(&p, &s, hw, input, Engine::Exact, None).unwrap();
    let fast = simulate_inputs(&p, &s, hw, input, Engine::Fast, None).unwrap();
    let r = &exact.report;
    assert!(r.mismatch.is_none(), "{:?}", r.mismatch);
    let compared: Vec<Option<bool>> = r.layers.iter().map(|l| l.equal).collect();
    assert_eq!(compared, vec![Some(true); 3]);
    assert_eq!(exact.output, want[2]);
    assert_eq!(r.total_cycles, fast.report.total_cycles);
    for (a, b) in r.layers.iter().zip(&fast.report.layers) {
        assert_eq!((a.cycles, a.compute_cycles), (b.cycles, b.compute_cycles));
    }
    // The exponent tensor is not an operand: the array multiplies groups × m × k by k × n.
    assert_eq!(
        r.layers[2].macs,
        (batch * c.groups * c.m * c.k * c.n) as u64
    );
    let mut bad = want.clone();
    let i = bad[0].len() / 2;
    bad[0][i] += 1;
    let sim = simulate_inputs_against(&p, &s, hw, input, Engine::Exact, None, &bad).unwrap();
    let m = sim.report.mismatch.expect("the wrong exponent is found");
    let per = c.groups * c.m;
    assert_eq!(
        (
            m.layer.as_str(),
            m.tensor.as_str(),
            m.index,
            m.expected,
            m.got
        ),
        (
            "mm/dynamic-exponent",
            "e",
            [i / per, i % per],
            bad[0][i],
            want[0][i]
        )
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn random_dynamic_linear_layers_equal_the_reference_and_the_fast_cycles(
        groups in 1usize..=3,
        m in 1usize..=9,
        k in 1usize..=20,
        n in 1usize..=9,
        zx in -300i32..=300,
        m0 in (1i32 << 30)..i32::MAX,
        shift in 0i32..=6,
        rows in 1usize..=8,
        cols in 1usize..=8,
        df in dataflow(),
        batch in 1usize..=3,
        seed in any::<u64>(),
    ) {
        let weights = Some(codes(&Format::affine(true, 8, 1 << 30, 0, 0), n * k, seed ^ 0x5eed));
        let c = Case { groups, m, k, n, weights, za: 0, zb: 0, a_signed: true, m0, shift };
        let hw = wide(Accelerator::new("random", rows, cols, df, 100.0));
        check_dynamic(&c, zx, &hw, batch, seed);
    }
}
