//! Dynamic quantization (`quantize --dynamic`) on the simulator: the digits MLP and CNN with a
//! run-time power-of-two exponent per sample. The exact engine's array outputs and its dynamic
//! exponents and codes equal the integer reference bit for bit (the other vector stages run
//! the reference's kernels on the simulator's own tensors, so an error upstream propagates to
//! the compared tensors and the program output), its per-layer cycles equal the fast engine's,
//! `RowMax` is charged on the vector unit when the description has it (else the host), and
//! faults (a flipped weight, exponents off by one) are reported by layer, tensor, index, values
//! and cycle.

mod common;

use common::{data, load_optimized, quantize, repo};

use std::sync::OnceLock;

use systole_compiler::fxir::{Program, StageKind, VectorOp};
use systole_compiler::lower::QuantConfig;
use systole_compiler::reference::int as reference;
use systole_compiler::schedule::schedule;
use systole_compiler::Tensor;
use systole_hw::{presets, Accelerator, Dataflow};
use systole_sim::model::{simulate, simulate_against, Engine, SimReport};

/// `b` samples from `from` on.
fn samples(x: &Tensor, from: usize, b: usize) -> Tensor {
    let per = x.len() / x.shape[0];
    let mut shape = x.shape.clone();
    shape[0] = b;
    Tensor::f32(
        shape,
        x.as_f32().unwrap()[from * per..(from + b) * per].to_vec(),
    )
}

struct Case {
    program: Program,
    calib: Tensor,
}

/// The digits MLP and CNN, int8, `dynamic: true`.
fn cases() -> &'static [Case] {
    static C: OnceLock<Vec<Case>> = OnceLock::new();
    C.get_or_init(|| {
        let cfg = QuantConfig {
            dynamic: true,
            ..QuantConfig::default()
        };
        [
            ("digits_mlp", "digits_calib_x.npy"),
            ("digits_cnn", "digits_calib_x_img.npy"),
        ]
        .iter()
        .map(|(model, calib)| {
            let g = load_optimized(&repo().join(format!("models/{model}.onnx"))).unwrap();
            let calib = data(calib);
            let program = quantize(&g, &calib, &cfg, &mut |_, _| {}).unwrap().0;
            assert!(program.is_dynamic(), "{model}: not a dynamic program");
            Case { program, calib }
        })
        .collect()
    })
}

/// The reference's every stage output for the batch `x`.
fn reference_tensors(p: &Program, x: &Tensor) -> Vec<Vec<i32>> {
    let mut out = vec![Vec::new(); p.stages.len()];
    reference::run_observed(p, x, &mut |i, y| out[i] = y.to_vec()).unwrap();
    out
}

fn stage_index(p: &Program, pred: impl Fn(&StageKind) -> bool) -> Vec<usize> {
    (0..p.stages.len())
        .filter(|&i| pred(&p.stages[i].kind))
        .collect()
}

fn is_exponent(k: &StageKind) -> bool {
    matches!(k, StageKind::Vector(VectorOp::DynamicExponent { .. }))
}

fn is_dynamic_array(k: &StageKind) -> bool {
    match k {
        StageKind::Gemm(g) => g.dynamic,
        StageKind::MatMul(m) => m.dynamic,
        _ => false,
    }
}

/// Exact and fast on `hw`: exact == reference on every compared tensor and the output, and
/// per-layer cycles equal.
fn check(case: &Case, hw: &Accelerator, x: &Tensor) -> SimReport {
    let p = &case.program;
    let batch = x.shape[0];
    let s = schedule(p, hw, batch).unwrap();
    let exact = simulate(p, &s, hw, x, Engine::Exact, None).unwrap();
    let fast = simulate(p, &s, hw, x, Engine::Fast, None).unwrap();
    let r = &exact.report;
    if let Some(m) = &r.mismatch {
        panic!("{} on {}: {m}", p.name, hw.name);
    }
    assert_eq!(r.equal, Some(true));
    assert_eq!(
        exact.output,
        reference::run(p, x).unwrap(),
        "program output"
    );
    assert_eq!(exact.output, fast.output);
    // Every array stage and every dynamic vector stage was compared with the reference.
    for (st, l) in p.stages.iter().zip(&r.layers) {
        let compared = is_dynamic_array(&st.kind)
            || matches!(st.kind, StageKind::Gemm(_) | StageKind::MatMul(_))
            || matches!(
                st.kind,
                StageKind::Vector(VectorOp::DynamicExponent { .. } | VectorOp::DynamicQuant { .. })
            );
        if compared {
            assert_eq!(l.equal, Some(true), "{}: layer {}", p.name, l.name);
        }
    }
    for (a, b) in r.layers.iter().zip(&fast.report.layers) {
        assert_eq!(
            (a.cycles, a.compute_cycles, a.stall_cycles),
            (b.cycles, b.compute_cycles, b.stall_cycles),
            "{} layer {}: exact vs fast cycles on {}",
            p.name,
            a.name,
            hw.name
        );
    }
    assert_eq!(r.total_cycles, fast.report.total_cycles);
    exact.report
}

#[test]
fn dynamic_digits_equal_the_reference_and_fast_cycles_on_every_dataflow() {
    for case in cases() {
        let p = &case.program;
        // Sample j dimmed by 4^-j: the digits all reach full brightness, so without this
        // every sample would get the same exponents; this way the batch exercises the
        // per-sample shift (and exponent 0 on the dimmest samples).
        let mut x = samples(&case.calib, 0, 6);
        let per = x.len() / 6;
        if let systole_compiler::Data::F32(v) = &mut x.data {
            for (j, chunk) in v.chunks_mut(per).enumerate() {
                chunk.iter_mut().for_each(|a| *a /= (1 << (2 * j)) as f32);
            }
        }
        let want = reference_tensors(p, &x);
        let exps: Vec<i32> = stage_index(p, is_exponent)
            .iter()
            .flat_map(|&i| want[i].clone())
            .collect();
        assert!(exps.iter().any(|&e| e > 0), "{}: {exps:?}", p.name);
        assert!(exps.contains(&0), "{}: {exps:?}", p.name);
        assert!(
            stage_index(p, is_exponent)
                .iter()
                .any(|&i| want[i].iter().any(|&e| e != want[i][0])),
            "{}: every sample has the same exponents {exps:?}",
            p.name
        );
        for (name, flow) in [
            ("edge-16x16", None),
            ("edge-8x8", None),
            ("edge-8x8", Some(Dataflow::OutputStationary)),
            ("edge-8x8", Some(Dataflow::InputStationary)),
        ] {
            let mut hw = presets::load(name).unwrap();
            if let Some(d) = flow {
                hw.dataflow = d;
            }
            let r = check(case, &hw, &x);
            eprintln!(
                "{} dynamic on {name} {:?}, batch 6: {} cycles",
                p.name, hw.dataflow, r.total_cycles
            );
        }
    }
}

#[test]
fn row_max_is_charged_on_the_vector_unit_when_the_description_has_it() {
    use systole_hw::VectorOp as HwOp;
    for case in cases() {
        let p = &case.program;
        let x = samples(&case.calib, 0, 2);
        let with = presets::load("edge-16x16").unwrap();
        let without = presets::load("edge-8x8").unwrap();
        assert!(with.vector.supports(HwOp::RowMax) && !without.vector.supports(HwOp::RowMax));
        let r_with = check(case, &with, &x);
        let r_without = check(case, &without, &x);
        let exps = stage_index(p, is_exponent);
        assert!(!exps.is_empty());
        for &i in &exps {
            let elements = 2 * p.tensor(p.stages[i].inputs[0]).len() as u64;
            let busy = with.vector.cycles_for_elements(HwOp::RowMax, elements);
            let l = &r_with.layers[i];
            assert_eq!(
                (l.unit, Some(l.compute_cycles)),
                ("vector", busy),
                "{}",
                l.name
            );
            assert!(l.compute_cycles > 0 && l.cycles >= l.compute_cycles);
            let l = &r_without.layers[i];
            assert_eq!((l.unit, l.cycles), ("host", 0), "{}", l.name);
        }
    }
}

#[test]
fn a_flipped_weight_is_reported_by_layer_tensor_index_values_and_cycle() {
    let case = &cases()[0];
    let p = &case.program;
    let x = samples(&case.calib, 0, 3);
    let want = reference_tensors(p, &x);
    let hw = presets::load("edge-16x16").unwrap();
    let s = schedule(p, &hw, 3).unwrap();
    // The first dynamic array stage: flip the low bit of the weight that meets sample 0's
    // largest code, so the fault reaches the output whatever the data.
    let li = stage_index(p, is_dynamic_array)[0];
    let q = p
        .stages
        .iter()
        .position(|st| st.output == p.stages[li].inputs[0]);
    let q = &want[q.unwrap()];
    let mut bad = p.clone();
    let StageKind::Gemm(g) = &mut bad.stages[li].kind else {
        panic!("the MLP's first dynamic stage is a Gemm")
    };
    assert!(g.conv.is_none());
    let kmax = (0..g.k).max_by_key(|&k| q[k].abs()).unwrap();
    assert_ne!(q[kmax], 0);
    g.weights.codes[kmax] ^= 1;
    let run = simulate_against(&bad, &s, &hw, &x, Engine::Exact, None, &want).unwrap();
    let r = &run.report;
    assert_eq!(r.equal, Some(false));
    let m = r.mismatch.as_ref().expect("a mismatch report");
    let l = &r.layers[li];
    assert_eq!(m.layer, p.stages[li].name);
    assert_eq!(m.tensor, p.tensor(p.stages[li].output).name);
    assert_eq!(
        m.index,
        [0, 0],
        "channel 0 of sample 0 reads the flipped weight"
    );
    assert_ne!(m.expected, m.got);
    assert_eq!(m.expected, want[li][0]);
    assert!(m.cycle > l.start_cycle && m.cycle <= l.start_cycle + l.cycles);
    let text = m.to_string();
    for needle in [&m.layer, &m.tensor, "sample 0 index 0", "cycle"] {
        assert!(text.contains(needle), "{text}");
    }
}

#[test]
fn exponents_off_by_one_are_reported_where_made_and_change_the_array_output() {
    for case in cases() {
        let p = &case.program;
        let x = samples(&case.calib, 0, 3);
        let want = reference_tensors(p, &x);
        let hw = presets::load("edge-16x16").unwrap();
        let s = schedule(p, &hw, 3).unwrap();
        // One magnitude bit fewer: every row whose largest magnitude needs more than
        // `mag_bits - 1` bits gets its exponent one too large.
        let li = stage_index(p, is_exponent)[0];
        let mut bad = p.clone();
        let StageKind::Vector(VectorOp::DynamicExponent { mag_bits, .. }) =
            &mut bad.stages[li].kind
        else {
            unreachable!()
        };
        *mag_bits -= 1;
        let run = simulate_against(&bad, &s, &hw, &x, Engine::Exact, None, &want).unwrap();
        let r = &run.report;
        let m = r.mismatch.as_ref().expect("a mismatch report");
        assert_eq!(m.layer, p.stages[li].name);
        assert_eq!(m.tensor, p.tensor(p.stages[li].output).name);
        assert_eq!(m.got, m.expected + 1, "{m}");
        assert_eq!(m.cycle, r.layers[li].start_cycle + r.layers[li].cycles);
        // The array stage that reads those exponents differs too.
        let consumer = p
            .stages
            .iter()
            .position(|st| {
                is_dynamic_array(&st.kind) && st.inputs.get(1) == Some(&p.stages[li].output)
            })
            .unwrap();
        assert_eq!(r.layers[consumer].equal, Some(false), "{}", p.name);
    }
}
