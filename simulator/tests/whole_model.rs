//! Whole quantized models on the simulator: the exact engine's numerics equal the integer
//! reference bit for bit, and its per-layer cycles equal the fast engine's, on every preset and
//! on random accelerator descriptions (array shapes including 1×1 and 1×N, all dataflows,
//! buffer sizes, single or double buffering, DRAM bandwidth and latency).

mod common;

use common::{data, load_optimized, quantize, repo};

use std::sync::OnceLock;

use proptest::prelude::*;
use systole_compiler::fxir::Program;
use systole_compiler::lower::QuantConfig;
use systole_compiler::schedule::schedule;
use systole_compiler::Tensor;
use systole_hw::{presets, Accelerator, Buffer, Buffers, Dataflow};
use systole_sim::model::{simulate, Engine, SimReport};

/// The first `b` samples.
fn first(x: &Tensor, b: usize) -> Tensor {
    let per = x.len() / x.shape[0];
    let mut shape = x.shape.clone();
    shape[0] = b;
    Tensor::f32(shape, x.as_f32().unwrap()[..b * per].to_vec())
}

struct Case {
    program: Program,
    test: Tensor,
}

/// int8 MLP, int8 CNN, and a CNN with 4-bit weights and 6-bit activations (other widths).
fn cases() -> &'static [Case] {
    static C: OnceLock<Vec<Case>> = OnceLock::new();
    C.get_or_init(|| {
        let mk = |model: &str, calib: &str, test: &str, cfg: QuantConfig| {
            let g = load_optimized(&repo().join(format!("models/{model}.onnx"))).unwrap();
            let program = quantize(&g, &data(calib), &cfg, &mut |_, _| {}).unwrap().0;
            Case {
                program,
                test: data(test),
            }
        };
        let w4a6 = QuantConfig {
            weights: "int4".parse().unwrap(),
            acts: "int6".parse().unwrap(),
            ..QuantConfig::default()
        };
        vec![
            mk(
                "digits_mlp",
                "digits_calib_x.npy",
                "digits_test_x.npy",
                QuantConfig::default(),
            ),
            mk(
                "digits_cnn",
                "digits_calib_x_img.npy",
                "digits_test_x_img.npy",
                QuantConfig::default(),
            ),
            mk(
                "digits_cnn",
                "digits_calib_x_img.npy",
                "digits_test_x_img.npy",
                w4a6,
            ),
        ]
    })
}

/// Runs both engines and checks the chain: exact == reference, exact cycles == fast cycles.
fn check(case: &Case, hw: &Accelerator, batch: usize) -> Result<SimReport, String> {
    let x = first(&case.test, batch);
    let s = schedule(&case.program, hw, batch).map_err(|e| e.to_string())?;
    let exact = simulate(&case.program, &s, hw, &x, Engine::Exact, None).unwrap();
    let fast = simulate(&case.program, &s, hw, &x, Engine::Fast, None).unwrap();
    let r = &exact.report;
    if let Some(m) = &r.mismatch {
        panic!("{} on {hw:?}: {m}", case.program.name);
    }
    assert_eq!(r.equal, Some(true));
    assert_eq!(exact.output, fast.output);
    for (a, b) in r.layers.iter().zip(&fast.report.layers) {
        assert_eq!(
            (a.cycles, a.compute_cycles, a.stall_cycles),
            (b.cycles, b.compute_cycles, b.stall_cycles),
            "{} layer {}: exact vs fast cycles on {}x{} {:?}",
            case.program.name,
            a.name,
            hw.rows,
            hw.cols,
            hw.dataflow
        );
    }
    assert_eq!(r.total_cycles, fast.report.total_cycles);
    assert_eq!(
        r.total_cycles,
        r.layers.iter().map(|l| l.cycles).sum::<u64>()
    );
    Ok(exact.report)
}

#[test]
fn every_preset_runs_every_case_exactly() {
    for (name, _) in presets::PRESETS {
        let hw = presets::load(name).unwrap();
        for case in cases() {
            // The big arrays cost (rows · cols) PE updates per cycle; one sample is enough.
            let batch = if hw.rows * hw.cols > 1024 { 1 } else { 4 };
            let r = check(case, &hw, batch).unwrap();
            assert!(r.total_cycles > 0 && r.macs > 0);
            eprintln!(
                "{name}: {} batch {batch}: {} cycles, {:.1}% util",
                case.program.name,
                r.total_cycles,
                100.0 * r.utilization
            );
        }
    }
}

#[test]
fn a_slow_dram_shows_as_stalls_not_as_compute() {
    let case = &cases()[1];
    let mut hw = presets::load("edge-8x8").unwrap();
    let fast_mem = check(case, &hw, 2).unwrap();
    hw.dram.bytes_per_cycle = 0.25;
    let slow_mem = check(case, &hw, 2).unwrap();
    assert_eq!(fast_mem.compute_cycles, slow_mem.compute_cycles);
    assert!(slow_mem.stall_cycles > 4 * fast_mem.stall_cycles.max(1));
}

#[test]
fn narrow_sram_ports_show_as_sram_stalls() {
    let case = &cases()[1];
    let mut hw = presets::load("edge-8x8").unwrap();
    let wide = check(case, &hw, 2).unwrap();
    if let Buffers::Separate { ofmap, .. } = &mut hw.buffers {
        ofmap.word_bits = 32;
        ofmap.ports = 1;
    }
    let narrow = check(case, &hw, 2).unwrap();
    assert_eq!(wide.compute_cycles, narrow.compute_cycles);
    let sram = |r: &SimReport| r.layers.iter().map(|l| l.sram_stall_cycles).sum::<u64>();
    // Eight 32-bit partial sums per cycle through one 32-bit port: folds take ~8x longer.
    assert!(
        sram(&narrow) > 4 * wide.compute_cycles / 2,
        "{}",
        sram(&narrow)
    );
    assert!(sram(&wide) < wide.compute_cycles / 10);
}

#[test]
fn a_buffer_too_small_for_one_tile_names_the_layer_and_the_size() {
    let case = &cases()[1];
    let mut hw = presets::load("edge-8x8").unwrap();
    hw.buffers = Buffers::Separate {
        ifmap: Buffer::kib(1),
        filter: Buffer::kib(1),
        ofmap: Buffer {
            size_kib: 1,
            banks: 1,
            ports: 1,
            word_bits: 64,
            double_buffered: true,
        },
    };
    hw.rows = 64;
    hw.cols = 64;
    let e = schedule(&case.program, &hw, 1).unwrap_err().to_string();
    assert!(e.contains("conv"), "{e}");
    assert!(e.contains("KiB"), "{e}");
}

fn dataflow() -> impl Strategy<Value = Dataflow> {
    prop_oneof![
        Just(Dataflow::WeightStationary),
        Just(Dataflow::OutputStationary),
        Just(Dataflow::InputStationary),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_accelerators_keep_the_chain(
        which in 0usize..3,
        rows in prop_oneof![Just(1usize), 1usize..=12],
        cols in prop_oneof![Just(1usize), 1usize..=12],
        df in dataflow(),
        kib in prop::array::uniform3(1u64..=32),
        double in any::<bool>(),
        bw in prop_oneof![Just(0.5f64), Just(4.0), Just(64.0)],
        latency in 0u32..200,
        batch in 1usize..=3,
    ) {
        let mut hw = Accelerator::new("random", rows, cols, df, 100.0);
        let buf = |k: u64| Buffer { double_buffered: double, ..Buffer::kib(k) };
        hw.buffers = Buffers::Separate { ifmap: buf(kib[0]), filter: buf(kib[1]), ofmap: buf(kib[2]) };
        hw.dram.bytes_per_cycle = bw;
        hw.dram.latency_cycles = latency;
        hw.vector.ops.push(systole_hw::VectorOp::MaxPool);
        hw.validate().unwrap();
        match check(&cases()[which], &hw, batch) {
            Ok(_) => {}
            // The scheduler may refuse a design whose buffers cannot hold one tile; that is a
            // clean error naming the layer.
            Err(e) => prop_assert!(e.contains("buffer holds"), "{e}"),
        }
    }
}
