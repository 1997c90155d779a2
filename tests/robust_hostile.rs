//! Failures the repeated hostile pass of issue 18 found after round two's first fixes: shape
//! products that overflow, a Slice step of -2^63, softmax constants, NaN flags, N:M pruning
//! that prunes everything or nothing, two outputs on one path, outputs left behind by a run
//! that failed on a later one, a sweep writing into a directory of user files, merged records
//! no sweep wrote, and a build whose schedule or manifest was edited with the hashes redone.
//! Each test fails on the code before its fix.

mod common;

use std::path::{Path, PathBuf};

use common::onnx::{
    assert_no_panic, attr_float, attr_int, attr_ints, floats, ints, node_with, save, untyped, value,
};
use common::{assert_usage_error, stderr, systole, tmpdir};
use serde_json::{json, Value};
use systole_compiler::frontend::proto::{AttributeProto, TensorProto, ValueInfoProto};

/// One node `op(inputs) -> y` over an input `x` of shape `x` and initializers.
fn model(path: &Path, op: &str, inputs: &[&str], init: Vec<TensorProto>, x: &[i64]) {
    node_model(path, op, vec![value("x", 1, x)], inputs, vec![], init);
}

#[test]
fn shapes_whose_product_overflows_are_refused() {
    let d = tmpdir("hostile-overflow");
    // A Reshape to [2^62, 2^62]: the product overflowed in shape inference.
    let r = d.join("reshape.onnx");
    model(
        &r,
        "Reshape",
        &["x", "s"],
        vec![ints("s", &[1 << 62, 1 << 62])],
        &[4, 4],
    );
    let o = systole(&["inspect", r.to_str().unwrap()]);
    assert_usage_error(&o, &["the_node"]);
    // A Slice with step -2^63: negating it overflowed.
    let s = d.join("slice.onnx");
    model(
        &s,
        "Slice",
        &["x", "st", "en", "ax", "sp"],
        vec![
            ints("st", &[i64::MAX]),
            ints("en", &[i64::MIN]),
            ints("ax", &[1]),
            ints("sp", &[i64::MIN]),
        ],
        &[2, 3],
    );
    let o = systole(&["inspect", s.to_str().unwrap(), "--json"]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outputs"][0][1], "f32[2,1]", "{v}");
    // A .npy header of shape (2^62, 64): npyz's product overflowed (a wrapped count in release).
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let mut h = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, 64), }}",
        1u64 << 62
    );
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    bytes.extend((h.len() as u16).to_le_bytes());
    bytes.extend(h.as_bytes());
    bytes.extend([0u8; 1024]);
    let x = d.join("huge.npy");
    std::fs::write(&x, &bytes).unwrap();
    for args in [
        vec![
            "run",
            "models/digits_mlp.onnx",
            "--input",
            x.to_str().unwrap(),
        ],
        vec![
            "eval",
            "models/digits_mlp.onnx",
            "--data",
            "models/data/digits_test_x.npy",
            "--labels",
            x.to_str().unwrap(),
        ],
    ] {
        assert_usage_error(
            &systole(&args),
            &["huge.npy", "shape is too large", "--max-tensor-elements"],
        );
    }
}

/// The int8 digits MLP quantized into `d`.
fn mlp(d: &Path) -> PathBuf {
    let p = d.join("mlp.sysq");
    common::quantize_mlp(&p);
    p
}

#[test]
fn softmax_constants_outside_the_exp_kernels_range_are_refused() {
    let d = tmpdir("hostile-softmax");
    let sysq = mlp(&d);
    let mut v: Value = serde_json::from_slice(&std::fs::read(&sysq).unwrap()).unwrap();
    let stages = v["program"]["stages"].as_array_mut().unwrap();
    let sm = stages
        .iter_mut()
        .find(|s| s["kind"]["Vector"]["Softmax"].is_object())
        .expect("the MLP ends in a softmax");
    sm["kind"]["Vector"]["Softmax"]["q_b"] = json!(i64::MAX);
    let bad = d.join("softmax.sysq");
    std::fs::write(&bad, serde_json::to_vec(&v).unwrap()).unwrap();
    let b = bad.to_str().unwrap();
    let x = "models/data/digits_test_x.npy";
    let needles = ["softmax.sysq", "q_b = 9223372036854775807"];
    assert_usage_error(&systole(&["run", b, "--input", x]), &needles);
    assert_usage_error(
        &systole(&["simulate", b, "--hw", "edge-8x8", "--input", x]),
        &needles,
    );
    let out = d.join("build");
    assert_usage_error(
        &systole(&[
            "compile",
            b,
            "--hw",
            "edge-8x8",
            "-o",
            out.to_str().unwrap(),
        ]),
        &needles,
    );
    assert!(!out.exists());
}

#[test]
fn flags_that_switch_a_check_off_or_prune_everything_are_refused() {
    let d = tmpdir("hostile-flags");
    let o = d.join("q.sysq");
    let base = [
        "quantize",
        "models/digits_mlp.onnx",
        "--calib",
        "models/data/digits_calib_x.npy",
        "-o",
        o.to_str().unwrap(),
    ];
    for (extra, needles) in [
        (
            &[
                "--budget",
                "avg-bits=2",
                "--candidates",
                "int2",
                "--max-drop",
                "NaN",
            ][..],
            &["--max-drop", "[0, 100]"][..],
        ),
        (&["--prune", "0:4"][..], &["--prune", "1 <= N < M"][..]),
        (&["--prune", "4:4"][..], &["--prune", "1 <= N < M"][..]),
        (&["--prune", "1:18446744073709551615"][..], &["--prune"][..]),
    ] {
        let mut args = base.to_vec();
        args.extend(extra);
        assert_usage_error(&systole(&args), needles);
        assert!(!o.exists());
    }
}

#[test]
fn outputs_on_one_path_or_in_a_missing_folder_are_refused_before_any_is_written() {
    let d = tmpdir("hostile-outputs");
    let sysq = mlp(&d);
    let s = sysq.to_str().unwrap();
    let same = d.join("same");
    let sm = same.to_str().unwrap();
    let x = "models/data/digits_test_x.npy";
    for pair in [
        ["--output", "--csv"],
        ["--csv", "--schedule"],
        ["--vcd", "--csv"],
    ] {
        let o = systole(&[
            "simulate", s, "--hw", "edge-8x8", "--input", x, pair[0], sm, pair[1], sm,
        ]);
        assert_usage_error(&o, &[pair[0], pair[1], "name the same file"]);
        assert!(!same.exists());
    }
    let o = systole(&[
        "quantize",
        "models/digits_mlp.onnx",
        "--calib",
        "models/data/digits_calib_x.npy",
        "-o",
        sm,
        "--write-alloc",
        sm,
        "--budget",
        "avg-bits=4",
    ]);
    assert_usage_error(&o, &["-o", "--write-alloc", "name the same file"]);
    // A file where a folder should be: the .npy was written before the CSV failed.
    let file = d.join("file.txt");
    std::fs::write(&file, b"user data").unwrap();
    let out = d.join("out.npy");
    let csv = file.join("c.csv");
    let o = systole(&[
        "simulate",
        s,
        "--hw",
        "edge-8x8",
        "--input",
        x,
        "--output",
        out.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["--csv", "is not a directory"]);
    assert!(
        !out.exists(),
        "the first output was written before the failure"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"user data");
}

#[test]
fn a_sweep_does_not_write_into_a_directory_of_user_files() {
    let d = tmpdir("hostile-sweep-out");
    let sysq = mlp(&d);
    let out = d.join("mine");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("pareto.csv"), b"my own notes").unwrap();
    let o = systole(&[
        "sweep",
        sysq.to_str().unwrap(),
        "--space",
        "hw/sweeps/digits-cnn-small.ron",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["is not empty", "pareto.csv"]);
    assert_eq!(
        std::fs::read(out.join("pareto.csv")).unwrap(),
        b"my own notes"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

#[test]
fn merged_records_no_sweep_wrote_are_refused() {
    let d = tmpdir("hostile-merge");
    let sysq = mlp(&d);
    let shard = |i: usize| {
        let out = d.join(format!("s{i}"));
        let o = systole(&[
            "sweep",
            sysq.to_str().unwrap(),
            "--space",
            "hw/sweeps/digits-cnn-small.ron",
            "--shard",
            &format!("{i}/2"),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        out
    };
    let (s0, s1) = (shard(0), shard(1));
    let merge = |dirs: &[&Path], tag: &str| merge_into(dirs, &d.join(tag));
    assert_usage_error(&merge(&[&s0, &s0], "twice"), &["both shard 0/2"]);
    let jsonl = s1.join("points.jsonl");
    let good = std::fs::read_to_string(&jsonl).unwrap();
    for (field, val, needle) in [
        ("latency_s", json!(1e308), "latency_s = 1e308"),
        ("index", json!(1_000_000u64), "outside the space"),
    ] {
        let mut lines: Vec<String> = good.lines().map(String::from).collect();
        let mut r: Value = serde_json::from_str(&lines[0]).unwrap();
        r[field] = val;
        lines[0] = r.to_string();
        std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
        let o = merge(&[&s0, &s1], field);
        assert_usage_error(&o, &["merge", needle]);
    }
    std::fs::write(&jsonl, good).unwrap();
    let o = merge(&[&s0, &s1], "ok");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `sweep SYSQ --space digits-cnn-small.ron --out OUT EXTRA...`.
fn small_sweep(sysq: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "sweep",
        sysq.to_str().unwrap(),
        "--space",
        "hw/sweeps/digits-cnn-small.ron",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    systole(&args)
}

/// `sweep merge DIRS... --out OUT`.
fn merge_into(dirs: &[&Path], out: &Path) -> std::process::Output {
    let mut args = vec!["sweep", "merge"];
    args.extend(dirs.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    systole(&args)
}

/// Writes `bytes` to `build/name` and the manifest's size and hash for it, as an attacker would.
fn tamper(build: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(build.join(name), bytes).unwrap();
    let mf = build.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&mf).unwrap()).unwrap();
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == name {
            f["bytes"] = json!(bytes.len());
            f["sha256"] = json!(systole_compiler::backend::sha256_hex(bytes));
        }
    }
    std::fs::write(&mf, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

#[test]
fn a_build_whose_schedule_or_manifest_was_edited_is_refused() {
    let d = tmpdir("hostile-build");
    let sysq = mlp(&d);
    let build = d.join("build");
    common::compile_ok(&sysq, "edge-8x8", &build);
    let b = build.to_str().unwrap();
    let x = "models/data/digits_test_x.npy";
    let original = std::fs::read(build.join("schedule.json")).unwrap();
    // A layer moved to the host: it simulated "equal" with fewer cycles.
    let mut s: Value = serde_json::from_slice(&original).unwrap();
    let layer = s["layers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|l| l["work"]["Array"].is_object())
        .unwrap();
    layer["work"] = json!({"Host": {"op": "quantize", "reason": "edited"}});
    tamper(
        &build,
        "schedule.json",
        &serde_json::to_vec_pretty(&s).unwrap(),
    );
    for verb in [
        &["simulate", b, "--input", x][..],
        &["verify", b, "--input", x, "--rtl", "none"][..],
    ] {
        assert_usage_error(
            &systole(verb),
            &["schedule.json", "is not the schedule of program.sysq"],
        );
    }
    tamper(&build, "schedule.json", &original);
    assert_eq!(
        systole(&["simulate", b, "--input", x]).status.code(),
        Some(0)
    );
    // A manifest listing no files switched every integrity check off.
    let mf = build.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&mf).unwrap()).unwrap();
    m["files"] = json!([]);
    std::fs::write(&mf, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    assert_usage_error(
        &systole(&["simulate", b, "--input", x]),
        &["manifest.json", "does not list program.sysq"],
    );
}

/// One node `op(inputs) -> y` with attributes, over inputs declared as given.
fn node_model(
    path: &Path,
    op: &str,
    inputs: Vec<ValueInfoProto>,
    names: &[&str],
    attrs: Vec<AttributeProto>,
    init: Vec<TensorProto>,
) {
    let n = node_with(op, "the_node", names, &["y"], attrs);
    save(path, vec![n], inputs, vec![untyped("y")], init);
}

/// Writes one case's model to the path.
type Maker = Box<dyn Fn(&Path)>;

#[test]
fn onnx_nodes_the_spec_forbids_are_refused_by_inspect() {
    let d = tmpdir("hostile-onnx");
    let x = || value("x", 1, &[2, 2]);
    let cases: Vec<(&str, Maker, Vec<&str>)> = vec![
        (
            "perm",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "Transpose",
                    vec![x()],
                    &["x"],
                    vec![attr_ints("perm", &[0, 0])],
                    vec![],
                )
            }),
            vec!["the_node", "not a permutation"],
        ),
        (
            "where",
            Box::new(move |p: &Path| {
                node_model(p, "Where", vec![x()], &["x", "x", "x"], vec![], vec![])
            }),
            vec!["the_node", "expected bool"],
        ),
        (
            "layernorm",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "LayerNormalization",
                    vec![x()],
                    &["x", "x"],
                    vec![attr_int("axis", 9)],
                    vec![],
                )
            }),
            vec!["the_node", "axis"],
        ),
        (
            "negative",
            Box::new(|p: &Path| {
                node_model(
                    p,
                    "Relu",
                    vec![value("x", 1, &[3, -64])],
                    &["x"],
                    vec![],
                    vec![],
                )
            }),
            vec!["dimension -64 is negative"],
        ),
        (
            "zeropoint",
            Box::new(move |p: &Path| {
                let scale = TensorProto {
                    name: Some("s".into()),
                    data_type: Some(1),
                    float_data: vec![0.5],
                    ..Default::default()
                };
                let zp = TensorProto {
                    name: Some("z".into()),
                    data_type: Some(3),
                    int32_data: vec![1000],
                    ..Default::default()
                };
                node_model(
                    p,
                    "QuantizeLinear",
                    vec![x()],
                    &["x", "s", "z"],
                    vec![],
                    vec![scale, zp],
                );
            }),
            vec!["'z'", "1000", "outside the range of"],
        ),
        (
            "nan-weight",
            Box::new(move |p: &Path| {
                let w = floats("w", &[2], vec![1.0, f32::NAN]);
                node_model(p, "Add", vec![x()], &["x", "w"], vec![], vec![w])
            }),
            vec!["tensor 'w'", "element 1 is NaN"],
        ),
        (
            "softmax-axis",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "Softmax",
                    vec![x()],
                    &["x"],
                    vec![attr_int("axis", 9)],
                    vec![],
                )
            }),
            vec!["the_node", "axis 9 is out of range for rank 2"],
        ),
        (
            "concat-shapes",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "Concat",
                    vec![x(), value("z", 1, &[3, 2])],
                    &["x", "z"],
                    vec![attr_int("axis", 1)],
                    vec![],
                )
            }),
            vec!["the_node", "differ on axis 0"],
        ),
        (
            "conv-kernel-shape",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "Conv",
                    vec![value("x", 1, &[1, 1, 8, 8])],
                    &["x", "w"],
                    vec![attr_ints("kernel_shape", &[5, 5])],
                    vec![floats("w", &[1, 1, 3, 3], vec![0.5; 9])],
                )
            }),
            vec!["the_node", "'kernel_shape' [5, 5] disagrees"],
        ),
        (
            "bn-params",
            Box::new(move |p: &Path| {
                let v = |n: &str| floats(n, &[3], vec![1.0; 3]);
                node_model(
                    p,
                    "BatchNormalization",
                    vec![value("x", 1, &[1, 4, 2, 2])],
                    &["x", "s", "b", "m", "v"],
                    vec![],
                    vec![v("s"), v("b"), v("m"), v("v")],
                )
            }),
            vec!["the_node", "input 'scale' has shape [3]", "expected [4]"],
        ),
        (
            "quantize-axis",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "QuantizeLinear",
                    vec![x()],
                    &["x", "s"],
                    vec![attr_int("axis", 9)],
                    vec![floats("s", &[2], vec![0.5, 0.5])],
                )
            }),
            vec!["the_node", "axis 9 is out of range for rank 2"],
        ),
        (
            "quantize-scale",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "QuantizeLinear",
                    vec![x()],
                    &["x", "s"],
                    vec![],
                    vec![floats("s", &[], vec![0.0])],
                )
            }),
            vec!["the_node", "expected a positive, finite scale"],
        ),
        (
            "slice-axis",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "Slice",
                    vec![x()],
                    &["x", "st", "en", "ax"],
                    vec![],
                    vec![ints("st", &[0]), ints("en", &[1]), ints("ax", &[5])],
                )
            }),
            vec!["the_node", "'axes'", "axis 5 is out of range for rank 2"],
        ),
        (
            "slice-step",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "Slice",
                    vec![x()],
                    &["x", "st", "en", "ax", "sp"],
                    vec![],
                    vec![
                        ints("st", &[0]),
                        ints("en", &[1]),
                        ints("ax", &[0]),
                        ints("sp", &[0]),
                    ],
                )
            }),
            vec!["the_node", "'steps' is 0"],
        ),
        (
            "layernorm-epsilon",
            Box::new(move |p: &Path| {
                node_model(
                    p,
                    "LayerNormalization",
                    vec![x()],
                    &["x", "x"],
                    vec![attr_float("epsilon", -1e30)],
                    vec![],
                )
            }),
            vec![
                "the_node",
                "epsilon",
                "expected a finite value of at least 0",
            ],
        ),
    ];
    for (tag, make, needles) in cases {
        let m = d.join(format!("{tag}.onnx"));
        make(&m);
        assert_usage_error(&systole(&["inspect", m.to_str().unwrap()]), &needles);
    }
}

#[test]
fn one_dimension_bound_to_two_values_is_refused() {
    let o = systole(&[
        "inspect",
        "models/digits_mlp.onnx",
        "--bind",
        "N=1",
        "--bind",
        "N=2",
    ]);
    assert_usage_error(&o, &["--bind N=1 and --bind N=2"]);
    let o = systole(&[
        "inspect",
        "models/digits_mlp.onnx",
        "--bind",
        "N=2",
        "--bind",
        "N=2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn data_with_no_samples_is_refused_naming_the_file() {
    let d = tmpdir("hostile-empty");
    let x = d.join("empty.npy");
    std::fs::write(
        &x,
        systole_compiler::npy::npy_bytes(&systole_compiler::tensor::Tensor::f32(
            vec![0, 64],
            vec![],
        ))
        .unwrap(),
    )
    .unwrap();
    let xs = x.to_str().unwrap();
    let sysq = mlp(&d);
    for args in [
        vec![
            "eval",
            "models/digits_mlp.onnx",
            "--data",
            xs,
            "--labels",
            "models/data/digits_test_y.npy",
        ],
        vec![
            "simulate",
            sysq.to_str().unwrap(),
            "--hw",
            "edge-8x8",
            "--input",
            xs,
        ],
        vec!["run", "models/digits_mlp.onnx", "--input", xs],
    ] {
        assert_usage_error(&systole(&args), &["empty.npy", "holds no samples"]);
    }
}

#[test]
fn a_damaged_or_contradictory_sweep_record_is_refused_by_merge_and_resume() {
    let d = tmpdir("hostile-records");
    let sysq = mlp(&d);
    let sweep = |out: &Path, extra: &[&str]| small_sweep(&sysq, out, extra);
    // `a` is shard 0 of 2, `b` the whole space: they overlap.
    let (a, b) = (d.join("a"), d.join("b"));
    let o = sweep(&a, &["--shard", "0/2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = sweep(&b, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let in_a: Vec<u64> = std::fs::read_to_string(a.join("points.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let merge = |dirs: &[&Path], tag: &str| merge_into(dirs, &d.join(tag));
    // Where they overlap they agree point for point: merging them is fine.
    let o = merge(&[&a, &b], "same");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let jsonl = b.join("points.jsonl");
    let good = std::fs::read_to_string(&jsonl).unwrap();
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    // The same point with other figures: which to keep would be a guess.
    let k = lines
        .iter()
        .position(|l| {
            let i = serde_json::from_str::<Value>(l).unwrap()["index"]
                .as_u64()
                .unwrap();
            in_a.contains(&i)
        })
        .unwrap();
    let mut r: Value = serde_json::from_str(&lines[k]).unwrap();
    r["utilization"] = json!(r["utilization"].as_f64().unwrap() / 2.0);
    lines[k] = r.to_string();
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
    assert_usage_error(
        &merge(&[&a, &b], "differ"),
        &["different figures", "points.jsonl"],
    );
    // A complete line that is not a record: refused naming the file and line, by merge and by
    // --resume (a line cut by an interruption, with no newline, is still dropped).
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    lines[2] = "{\"index\": 3, garbage".into();
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
    assert_usage_error(
        &merge(&[&a, &b], "damaged"),
        &["points.jsonl line 3", "not a sweep record"],
    );
    assert_usage_error(&sweep(&b, &["--resume"]), &["points.jsonl line 3"]);
    let cut = good.lines().take(4).collect::<Vec<_>>().join("\n") + "\n{\"index\": 4, \"cl";
    std::fs::write(&jsonl, cut).unwrap();
    let o = sweep(&b, &["--resume"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = merge(&[&a, &b], "resumed");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn data_files_are_read_alike_by_every_verb() {
    let d = tmpdir("hostile-data");
    let x = systole_compiler::npy::read_npy(Path::new("models/data/digits_test_x.npy")).unwrap();
    // float64, numpy's default: taken by eval on its own and with --reference alike.
    let x64 = d.join("x64.npy");
    let t = systole_compiler::tensor::Tensor {
        shape: x.shape.clone(),
        data: systole_compiler::tensor::Data::F64(
            x.to_f32_vec().iter().map(|&v| v.into()).collect(),
        ),
    };
    std::fs::write(&x64, systole_compiler::npy::npy_bytes(&t).unwrap()).unwrap();
    let sysq = mlp(&d);
    let y = "models/data/digits_test_y.npy";
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            sysq.to_str().unwrap(),
            "--data",
            x64.to_str().unwrap(),
            "--labels",
            y,
            "--json",
        ];
        args.extend(extra);
        systole(&args)
    };
    let alone = eval(&[]);
    assert_eq!(alone.status.code(), Some(0), "{}", stderr(&alone));
    let with = eval(&["--reference", "models/digits_mlp.onnx"]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
    let top1 = |o: &std::process::Output| {
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["top1"].clone()
    };
    assert_eq!(top1(&alone), top1(&with));
    // Bytes after the data: the header and the data disagree.
    let trailing = d.join("trailing.npy");
    let mut bytes = std::fs::read("models/data/digits_test_x.npy").unwrap();
    bytes.extend_from_slice(b"appended");
    std::fs::write(&trailing, bytes).unwrap();
    assert_usage_error(
        &systole(&[
            "run",
            sysq.to_str().unwrap(),
            "--input",
            trailing.to_str().unwrap(),
        ]),
        &["trailing.npy", "8 bytes follow the data"],
    );
    // float64 beyond float32's range.
    let huge = d.join("huge.npy");
    let mut t = t;
    if let systole_compiler::tensor::Data::F64(v) = &mut t.data {
        v[5] = 1e300;
    }
    std::fs::write(&huge, systole_compiler::npy::npy_bytes(&t).unwrap()).unwrap();
    assert_usage_error(
        &systole(&[
            "run",
            sysq.to_str().unwrap(),
            "--input",
            huge.to_str().unwrap(),
        ]),
        &["huge.npy", "1e300", "beyond the float32 range"],
    );
}

#[test]
fn options_without_the_option_they_qualify_are_refused() {
    for extra in [
        &["--calib-limit", "5"][..],
        &["--tokenizer", "t.json"][..],
        &["--calib-split", "eval"][..],
        &["--seq", "16"][..],
        &["--smooth-alpha", "0.5"][..],
    ] {
        let mut args = vec![
            "quantize",
            "models/digits_mlp.onnx",
            "--calib",
            "models/data/digits_calib_x.npy",
            "-o",
            "/tmp/never-written.sysq",
        ];
        args.extend(extra);
        let o = systole(&args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("--calib-sentences"), "{}", stderr(&o));
    }
}

#[test]
fn a_bad_description_in_a_build_names_its_path_once() {
    let d = tmpdir("hostile-build-hw");
    let sysq = mlp(&d);
    let build = d.join("build");
    common::compile_ok(&sysq, "edge-8x8", &build);
    tamper(&build, "hw.ron", b"(name: 3");
    let o = systole(&[
        "simulate",
        build.to_str().unwrap(),
        "--input",
        "models/data/digits_test_x.npy",
    ]);
    assert_usage_error(&o, &["hw.ron", "not a valid accelerator description"]);
    assert_eq!(stderr(&o).matches("hw.ron").count(), 1, "{}", stderr(&o));
}

#[test]
fn sweep_labels_that_do_not_fit_name_their_file() {
    let d = tmpdir("hostile-sweep-labels");
    let sysq = mlp(&d);
    let labels = d.join("labels-out-of-range.npy");
    let y = systole_compiler::npy::read_npy(Path::new("models/data/digits_test_y.npy")).unwrap();
    let bad = systole_compiler::tensor::Tensor::f32(y.shape.clone(), vec![12.0; y.len()]);
    std::fs::write(&labels, systole_compiler::npy::npy_bytes(&bad).unwrap()).unwrap();
    let o = systole(&[
        "sweep",
        sysq.to_str().unwrap(),
        "--space",
        "hw/sweeps/digits-cnn-small.ron",
        "--data",
        "models/data/digits_test_x.npy",
        "--labels",
        labels.to_str().unwrap(),
        "--out",
        d.join("out").to_str().unwrap(),
    ]);
    assert_usage_error(
        &o,
        &[
            "--labels",
            "labels-out-of-range.npy",
            "outside the model's classes",
        ],
    );
}

#[test]
fn samples_of_no_elements_are_refused_before_a_histogram_hangs() {
    let d = tmpdir("hostile-empty-sample");
    let x = d.join("x.npy");
    let t = systole_compiler::tensor::Tensor::f32(vec![1, 0], vec![]);
    std::fs::write(&x, systole_compiler::npy::npy_bytes(&t).unwrap()).unwrap();
    let o = systole(&[
        "profile",
        "models/digits_mlp.onnx",
        "--calib",
        x.to_str().unwrap(),
        "-o",
        d.join("p").to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["x.npy", "each sample holds no elements"]);
}

#[test]
fn compile_outputs_through_odd_paths_land_in_the_directory_meant() {
    let d = tmpdir("hostile-compile-paths");
    let sysq = mlp(&d);
    // Missing parents are made (the lock beside the directory used to need them).
    let deep = d.join("a/b/c");
    common::compile_ok(&sysq, "edge-8x8", &deep);
    assert!(deep.join("manifest.json").is_file());
    // A symlink to an empty directory: the build goes into the target, the link stays.
    let target = d.join("target");
    std::fs::create_dir_all(&target).unwrap();
    let link = d.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    common::compile_ok(&sysq, "edge-8x8", &link);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(target.join("manifest.json").is_file());
    // `dir/.` and `dir/sub/..` name `dir`.
    let e = d.join("empty");
    std::fs::create_dir_all(e.join("sub")).unwrap();
    common::compile_ok(&sysq, "edge-8x8", &e.join("sub/.."));
    assert!(e.join("manifest.json").is_file());
    let e2 = d.join("empty2");
    std::fs::create_dir_all(&e2).unwrap();
    common::compile_ok(&sysq, "edge-8x8", &e2.join("."));
    assert!(e2.join("manifest.json").is_file());
    // A symlink planted at the lock's name is not followed.
    let victim = d.join("victim");
    std::os::unix::fs::symlink(&victim, d.join(".locked.systole-lock")).unwrap();
    let o = systole(&[
        "compile",
        sysq.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "-o",
        d.join("locked").to_str().unwrap(),
    ]);
    assert_usage_error(&o, &[".locked.systole-lock is a symlink"]);
    assert!(!victim.exists(), "the lock followed a symlink");
    // A dangling symlink is refused with a message, not a bare `File exists`.
    let dangling = d.join("dangling");
    std::os::unix::fs::symlink(d.join("nowhere"), &dangling).unwrap();
    let o = systole(&[
        "compile",
        sysq.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "-o",
        dangling.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["dangling", "symlink to a path that does not exist"]);
}

#[test]
fn a_float_run_that_overflows_fails_its_check() {
    let d = tmpdir("hostile-overflow");
    let x = d.join("huge.npy");
    let t = systole_compiler::tensor::Tensor::f32(vec![2, 64], vec![3e38; 128]);
    std::fs::write(&x, systole_compiler::npy::npy_bytes(&t).unwrap()).unwrap();
    let y = d.join("y.npy");
    let o = systole(&[
        "run",
        "models/digits_mlp.onnx",
        "--input",
        x.to_str().unwrap(),
        "--output",
        y.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("overflowed"), "{}", stderr(&o));
    let labels = d.join("y2.npy");
    let l = systole_compiler::tensor::Tensor::f32(vec![2], vec![0.0, 1.0]);
    std::fs::write(&labels, systole_compiler::npy::npy_bytes(&l).unwrap()).unwrap();
    let o = systole(&[
        "eval",
        "models/digits_mlp.onnx",
        "--data",
        x.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no accuracy is reported"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn flags_given_twice_or_without_their_partner_are_refused() {
    let x = "models/data/digits_test_x.npy";
    let o = systole(&[
        "run",
        "models/digits_mlp.onnx",
        "--input",
        &format!("input={x}"),
        "--input",
        &format!("input={x}"),
    ]);
    assert_usage_error(&o, &["input 'input' is given twice"]);
    let d = tmpdir("hostile-flags-twice");
    let sysq = mlp(&d);
    let s = sysq.to_str().unwrap();
    let o = systole(&[
        "simulate",
        s,
        "--hw",
        "edge-8x8",
        "--input",
        x,
        "--vcd-pes",
        "all",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--vcd"), "{}", stderr(&o));
    let o = systole(&[
        "simulate", s, "--hw", "edge-8x8", "--input", x, "--batch", "1000",
    ]);
    assert_usage_error(
        &o,
        &[
            "--batch 1000",
            "holds 360 sample(s); expected at least 1000",
        ],
    );
}

#[test]
fn temporary_files_of_a_killed_run_are_removed_by_the_next() {
    let d = tmpdir("hostile-stale-tmp");
    let sysq = mlp(&d);
    // The pid of a process that has ended: a child we waited for.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = d.join(format!(".c.csv.systole-tmp-{dead}-0"));
    std::fs::write(&stale, "half a csv").unwrap();
    let csv = d.join("c.csv");
    let o = systole(&[
        "simulate",
        sysq.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "--input",
        "models/data/digits_test_x.npy",
        "--batch",
        "1",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(csv.is_file());
    assert!(
        !stale.exists(),
        "the killed run's temporary file is still there"
    );
}

#[test]
fn resumed_and_merged_records_must_be_ones_the_run_could_have_written() {
    let d = tmpdir("hostile-resume-records");
    let sysq = mlp(&d);
    let run = |out: &Path, extra: &[&str]| small_sweep(&sysq, out, extra);
    let out = d.join("s");
    let o = run(&out, &["--shard", "0/3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let jsonl = out.join("points.jsonl");
    let good = std::fs::read_to_string(&jsonl).unwrap();
    let first: Value = serde_json::from_str(good.lines().next().unwrap()).unwrap();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut r = first.clone();
        f(&mut r);
        let mut lines: Vec<String> = good.lines().map(String::from).collect();
        lines[0] = r.to_string();
        lines.join("\n") + "\n"
    };
    let cases: Vec<(String, &str)> = vec![
        // Each panicked or was taken as the best design.
        (
            edit(&|r| r["index"] = json!(99_999u64)),
            "outside the space",
        ),
        (edit(&|r| r["index"] = json!(1u64)), "not in shard 0/3"),
        (
            good.clone() + good.lines().next().unwrap() + "\n",
            "recorded twice",
        ),
        (edit(&|r| r["latency_s"] = json!(-1.0)), "latency_s = -1e0"),
        (
            edit(&|r| {
                r["rows"] = json!(4096);
                r["latency_s"] = json!(1e-9)
            }),
            "is not the space's point",
        ),
        (edit(&|r| r["targets"] = json!([])), "target figures"),
        (
            edit(&|r| r["utilization"] = json!(7.5)),
            "fraction of at most 1",
        ),
        (
            edit(&|r| {
                let l = r["latency_s"].as_f64().unwrap();
                r["latency_s"] = json!(l / 2.0)
            }),
            "cycles at",
        ),
    ];
    for (text, needle) in &cases {
        std::fs::write(&jsonl, text).unwrap();
        let o = run(&out, &["--shard", "0/3", "--resume"]);
        assert_usage_error(&o, &["points.jsonl line", needle]);
        if *needle != "not in shard 0/3" && *needle != "recorded twice" {
            let o = merge_into(&[&out], &d.join(format!("m{}", needle.len())));
            assert_usage_error(&o, &["points.jsonl line", needle]);
        }
    }
    std::fs::write(&jsonl, &good).unwrap();
    let o = run(&out, &["--shard", "0/3", "--resume"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
