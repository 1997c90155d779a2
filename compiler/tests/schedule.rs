//! The scheduler on the bundled models: the instruction stream (snapshots of the text dump),
//! the plan's own validation, and refusals that name the layer and the field to change.

mod common;

use common::{load_optimized, quantize};

use std::path::{Path, PathBuf};

use systole_compiler::fxir::Program;
use systole_compiler::lower::QuantConfig;
use systole_compiler::npy::read_npy;
use systole_compiler::schedule::{dump, schedule, Work};
use systole_hw::presets;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn program(model: &str, calib: &str, cfg: &QuantConfig) -> Program {
    let g = load_optimized(&repo().join(format!("models/{model}.onnx"))).unwrap();
    let x = read_npy(&repo().join("models/data").join(calib)).unwrap();
    quantize(&g, &x, cfg, &mut |_, _| {}).unwrap().0
}

#[test]
fn bundled_models_schedule_on_every_preset_and_snapshot() {
    let mlp = program("digits_mlp", "digits_calib_x.npy", &QuantConfig::default());
    let cnn = program(
        "digits_cnn",
        "digits_calib_x_img.npy",
        &QuantConfig::default(),
    );
    for (name, _) in presets::PRESETS {
        let hw = presets::load(name).unwrap();
        for p in [&mlp, &cnn] {
            for batch in [1, 7] {
                let s = schedule(p, &hw, batch).unwrap();
                s.validate(p).unwrap();
                assert_eq!(s.layers.len(), p.stages.len());
            }
        }
    }
    let s = schedule(&mlp, &presets::load("edge-8x8").unwrap(), 1).unwrap();
    insta::assert_snapshot!("digits_mlp__edge_8x8__batch1", dump(&s));
    let s = schedule(&cnn, &presets::load("edge-16x16").unwrap(), 1).unwrap();
    insta::assert_snapshot!("digits_cnn__edge_16x16__batch1", dump(&s));
}

#[test]
fn the_stream_is_tiled_to_fit_half_the_buffers() {
    let cnn = program(
        "digits_cnn",
        "digits_calib_x_img.npy",
        &QuantConfig::default(),
    );
    let hw = presets::load("edge-8x8").unwrap();
    let s = schedule(&cnn, &hw, 360).unwrap();
    s.validate(&cnn).unwrap();
    let budgets = systole_compiler::schedule::budgets(&hw);
    for l in &s.layers {
        if let Work::Array(a) = &l.work {
            for st in &a.steps {
                // WS: the ifmap holds the streamed rows, the ofmap their partial sums.
                assert!(st.load_ifmap <= budgets[0], "{}", l.name);
                assert!((st.m.len * st.n.len) as u64 * a.acc_bytes <= budgets[2]);
                assert!(st.k.len <= hw.rows && st.n.len <= hw.cols);
            }
            assert!(
                a.tile < a.m,
                "{}: batch 360 must be tiled on edge-8x8",
                l.name
            );
        }
    }
}

#[test]
fn a_program_wider_than_the_array_is_refused_by_name() {
    let cfg = QuantConfig {
        acts: "int12".parse().unwrap(),
        ..QuantConfig::default()
    };
    let p = program("digits_mlp", "digits_calib_x.npy", &cfg);
    let e = schedule(&p, &presets::load("edge-8x8").unwrap(), 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("12-bit activations") && e.contains("input_bits"),
        "{e}"
    );
    assert!(e.contains("edge-8x8"), "{e}");
    let e = schedule(&p, &presets::load("edge-8x8").unwrap(), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("batch 0"), "{e}");
}
