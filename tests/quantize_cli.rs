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
    // Fidelity to the float model, the finer measure: the mixed program agrees with it more often
    // and its outputs are closer; the float model against itself is exact.
    let fidelity = |m: &str| {
        let j = json(&[
            "eval",
            m,
            "--data",
            TEST_X,
            "--labels",
            TEST_Y,
            "--reference",
            CNN,
            "--json",
        ]);
        let [lo, hi] = [0, 1].map(|i| j["top1_ci95"][i].as_f64().unwrap());
        let t = j["top1"].as_f64().unwrap();
        assert!(lo <= t && t <= hi && hi - lo < 0.1, "{j}");
        (
            j["agreement"].as_f64().unwrap(),
            j["output_mse"].as_f64().unwrap(),
        )
    };
    assert_eq!(fidelity(CNN), (1.0, 0.0));
    let (am, em) = fidelity(&s("mixed.sysq"));
    let (au, eu) = fidelity(&s("int4.sysq"));
    eprintln!(
        "agreement mixed {am:.4} uniform {au:.4}; output mse mixed {em:.3e} uniform {eu:.3e}"
    );
    assert!(
        am > au && em < eu,
        "mixed ({am}, {em}) uniform int4 ({au}, {eu})"
    );
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
        &["nan.npy", "element [3, 0, 0, 5] is NaN"],
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
    // The table carries each choice's hardware costs: int2 weights halve nothing in MACs but
    // cut bit-operations fourfold against int8 (same 8-bit inputs).
    let csv = std::fs::read_to_string(out.join("sensitivity.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| {
        head.iter()
            .position(|h| *h == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6);
    for pair in rows.chunks(2) {
        let num = |r: &Vec<&str>, n: &str| r[col(n)].parse::<u64>().unwrap();
        assert!(num(&pair[0], "macs") >= num(&pair[0], "weights"));
        assert_eq!(
            num(&pair[0], "bitops") * 4,
            num(&pair[1], "bitops"),
            "{pair:?}"
        );
        assert_eq!(num(&pair[0], "input_bits"), 8);
    }
    assert!(head.contains(&"dsp_zu9eg"), "{head:?}");
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

/// The count at the front of `budget_used` ("45 DSPs on …", "2809856 bit-operations …").
fn used(q: &serde_json::Value) -> u64 {
    let u = q["budget_used"].as_str().unwrap_or_else(|| panic!("{q}"));
    u.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn dsp_and_bitops_budgets_bind_the_allocation() {
    let d = tmpdir("hwbudget");
    let out = d.join("b.sysq").display().to_string();
    let q = |extra: &[&str]| {
        let mut args = vec!["quantize", CNN, "--calib", CALIB, "-o", &out, "--json"];
        args.extend_from_slice(extra);
        json(&args)
    };
    // With 4-bit activations and no DSPs at all, every product must fit a LUT multiplier.
    let none = q(&["--acts", "int4", "--method", "mse", "--budget", "dsp=0"]);
    assert_eq!(used(&none), 0, "{none}");
    for l in none["layers"].as_array().unwrap() {
        assert!(l["operand_bits"].as_u64().unwrap() <= 4, "{l}");
    }
    // A few DSPs buy a wider layer, and the allocation stays within them.
    let some = q(&[
        "--acts",
        "int4",
        "--method",
        "mse",
        "--budget",
        "dsp=20,reuse=16",
    ]);
    assert!(used(&some) <= 20, "{some}");
    // The Pareto ladder is spaced in DSPs, one point per distinct allocation.
    let ladder: Vec<u64> = some["pareto"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pt| {
            let u = pt["budget_used"].as_str().unwrap();
            assert!(u.contains("DSPs on zu9eg at reuse factor 16"), "{pt}");
            u.split(' ').next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(
        ladder.len() >= 2 && ladder.windows(2).all(|w| w[0] < w[1]),
        "{ladder:?}"
    );
    assert!(
        some["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["operand_bits"].as_u64().unwrap() > 4),
        "{some}"
    );
    // 8-bit activations need a DSP per (packed) product whatever the weights: the message names
    // the smallest achievable count.
    bad(
        &[
            "quantize",
            CNN,
            "--calib",
            CALIB,
            "--budget",
            "dsp=10,reuse=16",
            "-o",
            &out,
        ],
        &[
            "infeasible",
            "smallest achievable",
            "DSPs on zu9eg at reuse factor 16",
        ],
    );
    // Bit-operations: a tighter budget is met and costs accuracy on the calibration set.
    let loose = q(&["--budget", "bitops=5M"]);
    let tight = q(&["--budget", "bitops=2M"]);
    assert!(used(&loose) <= 5_000_000 && used(&tight) <= 2_000_000);
    assert!(used(&tight) < used(&loose));
    assert!(
        tight["calibration_agreement"].as_f64() < loose["calibration_agreement"].as_f64(),
        "{tight} {loose}"
    );
    // Activation widths as candidates: the same DSP budget becomes feasible with 8-bit
    // activations by narrowing some layers' inputs; the first layer keeps --acts.
    let alloc = d.join("wa.ron").display().to_string();
    let wa = q(&[
        "--act-candidates",
        "int4,int8",
        "--budget",
        "dsp=100,reuse=16",
        "--write-alloc",
        &alloc,
    ]);
    assert!(used(&wa) <= 100, "{wa}");
    let layers = wa["layers"].as_array().unwrap();
    assert_eq!(layers[0]["input_bits"], 8, "{wa}");
    assert!(
        layers
            .iter()
            .any(|l| l["input_bits"].as_u64().unwrap() <= 4),
        "{wa}"
    );
    let text = std::fs::read_to_string(&alloc).unwrap();
    assert!(text.contains("acts:"), "{text}");
    // The allocation file, acts included, gives the same program back.
    let again = d.join("again.sysq").display().to_string();
    json(&[
        "quantize", CNN, "--calib", CALIB, "--alloc", &alloc, "-o", &again, "--json",
    ]);
    let prog = |f: &str| {
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(f).unwrap()).unwrap()
            ["program"]
            .clone()
    };
    assert_eq!(prog(&out), prog(&again));
    bad(
        &[
            "quantize", CNN, "--calib", CALIB, "--budget", "luts=3", "-o", &out,
        ],
        &["unknown budget 'luts'", "bitops=N", "dsp=N"],
    );
}
