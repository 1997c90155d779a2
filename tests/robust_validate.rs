//! Issue 18, validation and memory: values a file may hold but no implementation runs are
//! refused by the CLI with exit 2, naming the file, the stage or node, the field and the range
//! (or the size, the limit and the flag that raises it), and nothing is written.
//!
//! Library-level tables sit beside their crates: `compiler/tests/sysq_ranges.rs` (every `.sysq`
//! field), `hw/src/description/tests.rs` (description ranges), `simulator/src/scalesim/cfg.rs`
//! (`InterfaceBandwidth: USER`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::onnx::{attr_ints as ints, floats, node_with, save, value, FLOAT};
use common::{assert_usage_error, stderr, systole, tmpdir};
use serde_json::{json, Value};

/// The int8 digits CNN, quantized once for the whole file.
fn cnn_sysq() -> &'static PathBuf {
    static S: OnceLock<PathBuf> = OnceLock::new();
    S.get_or_init(|| {
        let d = tmpdir("robust-cnn");
        let p = d.join("cnn.sysq");
        let o = systole(&[
            "quantize",
            "models/digits_cnn.onnx",
            "--calib",
            "models/data/digits_calib_x_img.npy",
            "-o",
            p.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        p
    })
}

/// `cnn.sysq` with `f` applied to its JSON, written to `dir/name`.
fn edited(dir: &Path, name: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_slice(&std::fs::read(cnn_sysq()).unwrap()).unwrap();
    f(&mut v);
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    p.display().to_string()
}

/// The index and name of the first stage whose kind has `key` (`MaxPool`, `Gemm`).
fn find(v: &Value, key: &str) -> (usize, String) {
    let stages = v["program"]["stages"].as_array().unwrap();
    let i = stages
        .iter()
        .position(|s| s["kind"][key].is_object() || s["kind"]["Vector"][key].is_object())
        .unwrap();
    (i, stages[i]["name"].as_str().unwrap().to_string())
}

#[test]
fn an_edited_sysq_is_refused_by_compile_run_and_simulate() {
    let d = tmpdir("robust-sysq");
    let base: Value = serde_json::from_slice(&std::fs::read(cnn_sysq()).unwrap()).unwrap();
    let (pi, pool) = find(&base, "MaxPool");
    let (gi, conv) = find(&base, "Gemm");
    // A MaxPool kernel of 2^40 hung `run` and both simulator engines; `compile` accepted it.
    let huge = edited(&d, "pool.sysq", |v| {
        v["program"]["stages"][pi]["kind"]["Vector"]["MaxPool"]["window"]["kernel"] =
            json!([1u64 << 40, 2]);
    });
    // 0-bit weights divided by zero in backend::rom.
    let zero = edited(&d, "zero.sysq", |v| {
        v["program"]["stages"][gi]["kind"]["Gemm"]["weights"]["coding"]["bits"] = json!(0);
    });
    let x = "models/data/digits_test_x_img.npy";
    let out = d.join("out");
    let o_ = out.to_str().unwrap();
    for (file, needles) in [
        (
            &huge,
            vec![
                "pool.sysq".to_string(),
                format!("stage '{pool}'"),
                "window.kernel[0] = 1099511627776".into(),
                "1..=65536".into(),
            ],
        ),
        (
            &zero,
            vec![
                "zero.sysq".to_string(),
                format!("stage '{conv}'"),
                "weights.coding.bits = 0".into(),
                "2..=16".into(),
            ],
        ),
    ] {
        let n: Vec<&str> = needles.iter().map(String::as_str).collect();
        let o = systole(&["compile", file, "--hw", "edge-16x16", "-o", o_]);
        assert_usage_error(&o, &n);
        assert!(!out.exists(), "compile wrote {o_}");
        assert_usage_error(&systole(&["run", file, "--input", x]), &n);
        for engine in ["--exact", "--fast"] {
            let o = systole(&["simulate", file, "--hw", "edge-16x16", "--input", x, engine]);
            assert_usage_error(&o, &n);
        }
    }
}

/// `x [1,1,4,4] → OP(pads = p) → y` (a Conv gets a 1×1×3×3 weight).
fn padded(path: &Path, op: &str, p: i64) {
    let mut input = vec!["x"];
    let mut initializer = Vec::new();
    let kernel = if op == "Conv" {
        input.push("w");
        initializer.push(floats("w", &[1, 1, 3, 3], vec![0.5; 9]));
        [3, 3]
    } else {
        [2, 2]
    };
    let attrs = vec![ints("kernel_shape", &kernel), ints("pads", &[p, p, p, p])];
    save(
        path,
        vec![node_with(op, "the_node", &input, &["y"], attrs)],
        vec![value("x", FLOAT, &[1, 1, 4, 4])],
        vec![value("y", FLOAT, &[1, 1, 4, 4])],
        initializer,
    );
}

/// Pads of 2^63 − 1 wrapped `input + pads` to a small span: `run` printed zeros with exit 0.
#[test]
fn pads_that_overflow_the_shape_are_refused_naming_node_and_attribute() {
    let d = tmpdir("robust-pads");
    let x = d.join("x.npy");
    systole_compiler::npy::write_npy(
        &x,
        &systole_compiler::Tensor::f32(vec![1, 1, 4, 4], vec![1.0; 16]),
    )
    .unwrap();
    for op in ["MaxPool", "Conv"] {
        let m = d.join(format!("{op}.onnx"));
        padded(&m, op, i64::MAX);
        let m = m.to_str().unwrap();
        for args in [
            vec!["run", m, "--input", x.to_str().unwrap()],
            vec!["inspect", m],
        ] {
            let o = systole(&args);
            assert_usage_error(&o, &["the_node", op, "'pads'", "overflows"]);
        }
    }
}

/// A bandwidth of 1e-15 B/cycle made cycle counts wrap and a sweep pick that design as best.
#[test]
fn descriptions_and_sweep_spaces_outside_physical_ranges_are_refused() {
    let d = tmpdir("robust-hw");
    let hw = d.join("slow.ron");
    std::fs::write(
        &hw,
        "(name: \"slow\", rows: 16, cols: 16, clock_mhz: 250.0, dram: (bytes_per_cycle: 1e-15))",
    )
    .unwrap();
    let out = d.join("out");
    let o = systole(&[
        "compile",
        cnn_sysq().to_str().unwrap(),
        "--hw",
        hw.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(
        &o,
        &[
            "slow.ron",
            "field 'dram.bytes_per_cycle'",
            "0.000000000000001",
            "[0.0009765625, 65536]",
        ],
    );
    assert!(!out.exists());
    let space = d.join("space.ron");
    std::fs::write(
        &space,
        "(name: \"s\", rows: [4], cols: [4], dataflow: [WeightStationary], buffer_kib: [16], \
         clock_mhz: [100.0], dram_bytes_per_cycle: [8.0, 1e-15])",
    )
    .unwrap();
    let o = systole(&[
        "sweep",
        cnn_sysq().to_str().unwrap(),
        "--space",
        space.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(
        &o,
        &["space.ron", "dram_bytes_per_cycle", "1e-15", "0.0009765625"],
    );
    assert!(!out.exists());
}

/// `InterfaceBandwidth: USER` silently ran as ideal memory.
#[test]
fn scalesim_user_bandwidth_is_refused_naming_the_field() {
    let d = tmpdir("robust-scalesim-user");
    let cfg = d.join("user.cfg");
    let text =
        std::fs::read_to_string(common::repo().join("hw/topologies/scale-32x32-ws.cfg")).unwrap();
    assert!(text.contains("InterfaceBandwidth: CALC"));
    std::fs::write(
        &cfg,
        text.replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER"),
    )
    .unwrap();
    let o = systole(&[
        "scalesim",
        "--config",
        cfg.to_str().unwrap(),
        "--topology",
        "hw/topologies/resnet18.csv",
    ]);
    assert_usage_error(
        &o,
        &[
            "user.cfg",
            "[run_presets] key 'InterfaceBandwidth'",
            "USER",
            "not supported",
            "CALC",
        ],
    );
}

/// `scalesim --engine exact` on a layer needing about 40 GB is refused before any operand is
/// generated; the flag moves the limit.
#[test]
fn scalesim_exact_refuses_a_40_gb_layer_before_allocating() {
    let d = tmpdir("robust-scalesim-mem");
    let topo = d.join("big.csv");
    std::fs::write(&topo, "Layer name, M, N, K,\nbig, 40000, 40000, 64,\n").unwrap();
    let o = systole(&[
        "scalesim",
        "--config",
        "hw/topologies/scale-32x32-ws.cfg",
        "--topology",
        topo.to_str().unwrap(),
        "--gemm",
        "--engine",
        "exact",
    ]);
    assert_usage_error(
        &o,
        &[
            "layer 0 (big)",
            "40000×64×40000 GEMM",
            "bytes of memory exceeds the limit of 8589934592",
            "--max-memory-bytes",
        ],
    );
    // A small layer under a tiny limit is refused the same way (the flag is read).
    let small = d.join("small.csv");
    std::fs::write(&small, "Layer name, M, N, K,\nsmall, 64, 64, 64,\n").unwrap();
    let o = systole(&[
        "--max-memory-bytes",
        "1000",
        "scalesim",
        "--config",
        "hw/topologies/scale-32x32-ws.cfg",
        "--topology",
        small.to_str().unwrap(),
        "--gemm",
        "--engine",
        "exact",
    ]);
    assert_usage_error(&o, &["limit of 1000", "--max-memory-bytes"]);
}

/// An edited `schedule.json` (with its manifest entry updated to match) asking for a
/// 2^24 × 2^24 GEMM, i.e. 2^48 outputs, is refused by `simulate` and `verify` before anything is
/// sized from it.
#[test]
fn an_edited_build_schedule_is_refused_before_allocating() {
    let d = tmpdir("robust-schedule");
    let sysq = d.join("mlp.sysq");
    common::quantize_mlp(&sysq);
    let build = d.join("build");
    let o = systole(&[
        "compile",
        sysq.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "-o",
        build.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sp = build.join("schedule.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&sp).unwrap()).unwrap();
    let layer = s["layers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|l| l["work"]["Array"].is_object())
        .unwrap();
    layer["work"]["Array"]["m"] = json!(1u64 << 24);
    layer["work"]["Array"]["n"] = json!(1u64 << 24);
    let bytes = serde_json::to_vec_pretty(&s).unwrap();
    std::fs::write(&sp, &bytes).unwrap();
    let mf = build.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&mf).unwrap()).unwrap();
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == "schedule.json" {
            f["bytes"] = json!(bytes.len());
            f["sha256"] = json!(systole_compiler::backend::sha256_hex(&bytes));
        }
    }
    std::fs::write(&mf, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let b = build.to_str().unwrap();
    let x = "models/data/digits_test_x.npy";
    let needles = [
        "schedule.json",
        "m=16777216",
        "n=16777216",
        "the program at batch 1 needs",
    ];
    assert_usage_error(&systole(&["simulate", b, "--input", x]), &needles);
    assert_usage_error(&systole(&["verify", b, "--input", x]), &needles);
}

/// `compile --batch 65536` (the documented maximum) of the digits CNN plans millions of folds;
/// the plan's memory is estimated from the fold count and refused above `--max-memory-bytes`
/// before the plan exists.
#[test]
fn compile_refuses_a_plan_above_the_memory_limit() {
    let d = tmpdir("robust-batch");
    let out = d.join("out");
    let o = systole(&[
        "--max-memory-bytes",
        "1000000000",
        "compile",
        cnn_sysq().to_str().unwrap(),
        "--hw",
        "edge-16x16",
        "--batch",
        "65536",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(
        &o,
        &[
            "folds",
            "bytes of memory exceeds the limit of 1000000000",
            "--max-memory-bytes",
        ],
    );
    assert!(!out.exists());
}
