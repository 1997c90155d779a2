//! `systole quantize`, `eval` and `run` on `.sysq`: JSON fields, the mixed-precision target on the
//! digits CNN, the allocation file round trip, and the bad-input contract.

mod common;

use common::{repo, systole};

use std::path::PathBuf;

use systole_compiler::npy::{read_npy, write_npy};
use systole_compiler::Tensor;

fn json(args: &[&str]) -> serde_json::Value {
    let o = systole(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("systole-q-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bad(args: &[&str], needles: &[&str]) {
    let o = systole(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: stderr lacks '{n}': {err}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
}

const CNN: &str = "models/digits_cnn.onnx";
const CALIB: &str = "models/data/digits_calib_x_img.npy";
const TEST_X: &str = "models/data/digits_test_x_img.npy";
const TEST_Y: &str = "models/data/digits_test_y.npy";

#[test]
fn mixed_precision_at_4_bits_beats_uniform_int4_and_stays_near_float() {
    let d = tmpdir("mixed");
    let s = |n: &str| d.join(n).display().to_string();
    let float = json(&["eval", CNN, "--data", TEST_X, "--labels", TEST_Y, "--json"])["top1"]
        .as_f64()
        .unwrap();
    let q = json(&[
        "quantize",
        CNN,
        "--calib",
        CALIB,
        "--budget",
        "avg-bits=4",
        "--write-alloc",
        &s("alloc.ron"),
        "-o",
        &s("mixed.sysq"),
        "--json",
    ]);
    for f in [
        "output",
        "weights",
        "weight_bits",
        "avg_bits",
        "float_bytes",
        "quantized_bytes",
        "calibration_agreement",
        "layers",
        "pareto",
        "seconds",
    ] {
        assert!(q.get(f).is_some(), "quantize --json lacks {f}: {q}");
    }
    assert!(q["avg_bits"].as_f64().unwrap() <= 4.0, "{q}");
    assert!(!q["pareto"].as_array().unwrap().is_empty());
    let mixed = json(&[
        "eval",
        &s("mixed.sysq"),
        "--data",
        TEST_X,
        "--labels",
        TEST_Y,
        "--json",
    ]);
    assert_eq!(mixed["kind"], "quantized");
    let mixed = mixed["top1"].as_f64().unwrap();
    json(&[
        "quantize",
        CNN,
        "--calib",
        CALIB,
        "--weights",
        "int4",
        "-o",
        &s("int4.sysq"),
        "--json",
    ]);
    let uniform = json(&[
        "eval",
        &s("int4.sysq"),
        "--data",
        TEST_X,
        "--labels",
        TEST_Y,
        "--json",
    ])["top1"]
        .as_f64()
        .unwrap();
    eprintln!("float {float:.4} mixed<=4 bits {mixed:.4} uniform int4 {uniform:.4}");
    assert!(mixed >= float - 0.015, "mixed {mixed} float {float}");
    assert!(mixed > uniform, "mixed {mixed} uniform int4 {uniform}");
    // The allocation file goes back in and gives the same program.
    json(&[
        "quantize",
        CNN,
        "--calib",
        CALIB,
        "--alloc",
        &s("alloc.ron"),
        "-o",
        &s("again.sysq"),
        "--json",
    ]);
    let a = std::fs::read_to_string(s("mixed.sysq")).unwrap();
    let b = std::fs::read_to_string(s("again.sysq")).unwrap();
    let prog = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap()["program"].clone();
    assert_eq!(prog(&a), prog(&b));
    // `run` on the .sysq agrees with `eval`.
    let r = json(&[
        "run",
        &s("mixed.sysq"),
        "--input",
        TEST_X,
        "--labels",
        TEST_Y,
        "--output",
        &s("y.npy"),
        "--json",
    ]);
    assert_eq!(r["accuracy"].as_f64().unwrap(), mixed);
    assert_eq!(read_npy(&d.join("y.npy")).unwrap().shape, vec![360, 10]);
}

#[test]
fn bad_quantize_inputs_exit_2_and_write_nothing() {
    let d = tmpdir("bad");
    let out = d.join("out.sysq");
    let o = out.display().to_string();
    bad(
        &[
            "quantize",
            CNN,
            "--calib",
            CALIB,
            "--weights",
            "int99",
            "-o",
            &o,
        ],
        &["--weights", "valid:", "kmeans"],
    );
    bad(
        &[
            "quantize", CNN, "--calib", CALIB, "--method", "median", "-o", &o,
        ],
        &["--method", "valid:"],
    );
    bad(
        &[
            "quantize",
            CNN,
            "--calib",
            CALIB,
            "--budget",
            "avg-bits=1",
            "-o",
            &o,
        ],
        &["infeasible", "smallest achievable"],
    );
    bad(
        &[
            "quantize",
            CNN,
            "--calib",
            "models/data/digits_calib_x.npy",
            "-o",
            &o,
        ],
        &["--calib", "rank"],
    );
    // NaN in sample 3.
    let mut x = read_npy(&repo().join(CALIB)).unwrap();
    x.as_f32_mut().unwrap()[3 * 64 + 5] = f32::NAN;
    let nan = d.join("nan.npy");
    write_npy(&nan, &x).unwrap();
    bad(
        &[
            "quantize",
            CNN,
            "--calib",
            &nan.display().to_string(),
            "-o",
            &o,
        ],
        &["sample 3", "NaN"],
    );
    // All-zero calibration data: no division by zero, a valid program.
    let zeros = d.join("zeros.npy");
    write_npy(&zeros, &Tensor::f32(vec![4, 1, 8, 8], vec![0.0; 256])).unwrap();
    assert!(!out.exists());
    json(&[
        "quantize",
        CNN,
        "--calib",
        &zeros.display().to_string(),
        "-o",
        &o,
        "--json",
    ]);
    assert!(out.exists());
    // A .sysq from a newer version.
    let current = std::fs::read_to_string(&out).unwrap();
    assert!(current.contains("\"version\":2"), "written as version 2");
    // A version-1 file (before integer inputs) is still read.
    let v1 = d.join("v1.sysq");
    std::fs::write(&v1, current.replacen("\"version\":2", "\"version\":1", 1)).unwrap();
    json(&[
        "eval",
        &v1.display().to_string(),
        "--data",
        TEST_X,
        "--labels",
        TEST_Y,
        "--json",
    ]);
    let text = current.replacen("\"version\":2", "\"version\":7", 1);
    let newer = d.join("newer.sysq");
    std::fs::write(&newer, text).unwrap();
    bad(
        &[
            "eval",
            &newer.display().to_string(),
            "--data",
            TEST_X,
            "--labels",
            TEST_Y,
        ],
        &["newer.sysq", "newer Systole", "version 7"],
    );
    // Wrong input shape for the program.
    bad(
        &[
            "eval",
            &o,
            "--data",
            "models/data/digits_test_x.npy",
            "--labels",
            TEST_Y,
        ],
        &["shape"],
    );
    let none = d.join("none.sysq");
    assert!(!none.exists());
}

#[test]
fn profile_writes_the_table_and_plots() {
    let d = tmpdir("profile");
    let out = d.join("p");
    let r = json(&[
        "profile",
        CNN,
        "--calib",
        CALIB,
        "--candidates",
        "int2,int8",
        "-o",
        &out.display().to_string(),
        "--json",
    ]);
    for f in ["layers", "activations", "files", "seconds"] {
        assert!(r.get(f).is_some(), "profile --json lacks {f}");
    }
    let layers = r["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    for l in layers {
        let c = l["candidates"].as_array().unwrap();
        let (e2, e8) = (
            c[0]["error"].as_f64().unwrap(),
            c[1]["error"].as_f64().unwrap(),
        );
        assert!(e8 < e2, "{l}: int8 error {e8} not below int2 {e2}");
    }
    let acts = r["activations"].as_array().unwrap();
    assert_eq!(acts.len(), 4, "input and three array outputs");
    for f in r["files"].as_array().unwrap() {
        let text = std::fs::read_to_string(f.as_str().unwrap()).unwrap();
        assert!(
            text.starts_with("<svg") || text.starts_with("layer,"),
            "{f}"
        );
    }
    assert!(out.join("sensitivity.svg").exists() && out.join("sensitivity.csv").exists());
}

#[test]
fn dynamic_quantization_evaluates_and_compile_refuses_it_by_name() {
    let d = tmpdir("dynamic");
    let out = d.join("cnn-dyn.sysq").display().to_string();
    let q = json(&[
        "quantize",
        CNN,
        "--calib",
        CALIB,
        "--dynamic",
        "-o",
        &out,
        "--json",
    ]);
    // conv1, conv2 and the dense layer each read their input through a run-time exponent.
    assert_eq!(q["dynamic"].as_u64(), Some(3), "{q}");
    let stat = d.join("cnn.sysq").display().to_string();
    let s = json(&["quantize", CNN, "--calib", CALIB, "-o", &stat, "--json"]);
    assert_eq!(s["dynamic"].as_u64(), Some(0), "{s}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\"version\":3") && text.contains("DynamicExponent"));
    let float = json(&["eval", CNN, "--data", TEST_X, "--labels", TEST_Y, "--json"])["top1"]
        .as_f64()
        .unwrap();
    let dynamic = json(&["eval", &out, "--data", TEST_X, "--labels", TEST_Y, "--json"])["top1"]
        .as_f64()
        .unwrap();
    assert!(
        dynamic >= float - 0.005,
        "dynamic {dynamic} vs float {float}"
    );
    let build = d.join("build").display().to_string();
    bad(
        &["compile", &out, "--hw", "edge-8x8", "-o", &build],
        &[
            "compile does not take dynamic quantization",
            "digits_cnn/conv1/Conv2D/dynamic-exponent",
        ],
    );
    assert!(!d.join("build").exists(), "compile wrote a build");
    // The simulator runs it (tests/simulate_cli.rs checks its figures).
    let o = systole(&[
        "simulate", &out, "--hw", "edge-8x8", "--input", TEST_X, "--batch", "2",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    bad(
        &[
            "quantize",
            "models/digits_mlp.onnx",
            "--hls4ml-config",
            "x.json",
            "--dynamic",
            "-o",
            &out,
        ],
        &["--dynamic"],
    );
}
