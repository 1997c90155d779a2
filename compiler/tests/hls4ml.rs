//! hls4ml bit-exactness: the integer reference in hls4ml mode against hls4ml 1.3's compiled C
//! emulation (`scripts/hls4ml-oracle.py` writes its outputs and per-layer traces into
//! `$SYSTOLE_CACHE/hls4ml/`), on the digits MLP, for the test inputs and a stress set that
//! exercises input rounding and saturation. Every traced layer must be equal, value for value.

mod common;

use common::load_optimized;

use std::path::{Path, PathBuf};

use systole_compiler::lower::hls4ml::{lower_hls4ml, Hls4mlPrecision};
use systole_compiler::npy::read_npy;
use systole_compiler::reference::int;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn cache() -> PathBuf {
    std::env::var_os("SYSTOLE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache"))
}

#[test]
fn integer_reference_equals_hls4ml_emulation_on_every_layer() {
    let dir = cache().join("hls4ml");
    let variant = dir.join("dict");
    if !variant.join("precision.json").exists() {
        systole_hw::testing::oracle_missing(
            &format!("{} (hls4ml's emulation)", variant.display()),
            "run scripts/setup-hls4ml.sh and scripts/hls4ml-oracle.py",
        );
        return;
    }
    let prec = Hls4mlPrecision::from_json(
        &std::fs::read_to_string(variant.join("precision.json")).unwrap(),
    )
    .unwrap();
    let g = load_optimized(&repo().join("models/digits_mlp.onnx")).unwrap();
    let p = lower_hls4ml(&g, &prec).unwrap();
    // Traced hls4ml layers in program stage order: fc1, relu1, fc2, relu2, fc3.
    let traces = ["fc1", "relu1", "fc2", "relu2", "fc3"];
    for set in ["test", "stress"] {
        let x = read_npy(&dir.join(if set == "test" {
            "x_test_f64.npy".to_string()
        } else {
            "x_stress.npy".to_string()
        }))
        .unwrap();
        let mut outs: Vec<Vec<i32>> = Vec::new();
        int::run_observed(&p, &x, &mut |i, codes| {
            if i > 0 {
                outs.push(codes.to_vec());
            }
        })
        .unwrap();
        assert_eq!(outs.len(), traces.len());
        for ((layer, codes), st) in traces.iter().zip(&outs).zip(p.stages.iter().skip(1)) {
            let want = read_npy(&variant.join(format!("trace_{set}_{layer}.npy"))).unwrap();
            let f = p.tensor(st.output).format;
            let got = int::dequantize(&f, codes);
            let want: Vec<f64> = (0..want.len()).map(|i| want.data.get_f64(i)).collect();
            assert_eq!(got.len(), want.len(), "{set} {layer}");
            if let Some(i) = (0..got.len()).find(|&i| f64::from(got[i]) != want[i]) {
                let per = got.len() / x.shape[0];
                panic!("{set}: layer {layer} (stage '{}', tensor '{}'): first mismatch at sample {} index {}: systole {} hls4ml {}", st.name, p.tensor(st.output).name, i / per, i % per, got[i], want[i]);
            }
        }
        let pred = read_npy(&variant.join(format!("pred_{set}.npy"))).unwrap();
        let last = int::dequantize(&p.tensor(p.output).format, outs.last().unwrap());
        assert!(
            (0..pred.len()).all(|i| f64::from(last[i]) == pred.data.get_f64(i)),
            "{set}: logits differ"
        );
        eprintln!(
            "{set}: {} samples, all {} traced layers equal to hls4ml",
            x.shape[0],
            traces.len()
        );
    }
}
