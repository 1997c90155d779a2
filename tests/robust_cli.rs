//! Robustness, round two (issue 18), the CLI's own share: failures a hostile pass found in
//! printing, run-time shapes, `.npy` headers, non-finite inputs and labels. Each test fails on
//! the code before its fix (a panic, an abort or a silent wrong answer).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::onnx::{assert_no_panic, chain_name, floats, node, save, value_sym as value};
use common::{assert_usage_error, stderr, systole, tmpdir};
use systole_compiler::frontend::proto::TensorProto;
use systole_compiler::npy::npy_bytes;
use systole_compiler::tensor::Tensor;

fn write_npy(path: &Path, t: &Tensor) {
    std::fs::write(path, npy_bytes(t).unwrap()).unwrap();
}

#[test]
fn names_of_65536_characters_and_more_print_without_a_panic() {
    let d = tmpdir("robust-long-names");
    let long = "n".repeat(70_000);
    let dim = "d".repeat(70_000);
    let m = d.join("long.onnx");
    save(
        &m,
        vec![node("Relu", &long, &["x"], &["y"])],
        vec![value("x", 1, &[Err(dim.as_str()), Ok(4)])],
        vec![value("y", 1, &[Err(dim.as_str()), Ok(4)])],
        vec![],
    );
    let o = systole(&["inspect", m.to_str().unwrap()]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&long) && out.contains(&dim));
}

#[test]
fn a_closed_stdout_ends_the_program_quietly() {
    for args in [
        &[
            "inspect",
            "models/digits_cnn.onnx",
            "--dump-after",
            "import",
        ][..],
        &["inspect", "models/digits_cnn.onnx", "--json"][..],
        &["--help"][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_systole"))
            .args(args)
            .current_dir(common::repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before the program prints: every write then fails with EPIPE.
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(
            !err.contains("panicked")
                && !err.contains("internal error")
                && status.code() != Some(101),
            "{args:?}: {status:?} {err}"
        );
    }
}

/// `x (int64 shape) → ConstantOfShape → y` and `n (int64 scalar) → Range(0, n, 1) → r`.
fn runtime_shape_models(d: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cos = d.join("cos.onnx");
    save(
        &cos,
        vec![node("ConstantOfShape", "fill", &["x"], &["y"])],
        vec![value("x", 7, &[Ok(3)])],
        vec![value("y", 1, &[Err("a"), Err("b"), Err("c")])],
        vec![],
    );
    let range = d.join("range.onnx");
    let scalar = |name: &str, v: i64| TensorProto {
        name: Some(name.into()),
        data_type: Some(7),
        int64_data: vec![v],
        ..Default::default()
    };
    save(
        &range,
        vec![node("Range", "range", &["zero", "n", "one"], &["r"])],
        vec![value("n", 7, &[])],
        vec![value("r", 7, &[Err("len")])],
        vec![scalar("zero", 0), scalar("one", 1)],
    );
    (cos, range)
}

#[test]
fn shapes_computed_at_run_time_obey_the_limits() {
    let d = tmpdir("robust-runtime-shapes");
    let (cos, range) = runtime_shape_models(&d);
    let (cos, range) = (cos.to_str().unwrap(), range.to_str().unwrap());
    // 2^40 × 2^40 × 16 overflows usize; 2^20 × 2^20 × 4 is 2^42 elements (16 TiB of f32);
    // 1000 × 1000 × 1000 fits the default limit but not --max-tensor-elements 1000000.
    let cases: [(&[i64], &[&str], &str); 3] = [
        (&[1 << 40, 1 << 40, 16], &[], "overflows"),
        (&[1 << 20, 1 << 20, 4], &[], "--max-tensor-elements"),
        (
            &[1000, 1000, 1000],
            &["--max-tensor-elements", "1000000"],
            "limit of 1000000",
        ),
    ];
    for (i, (dims, flags, needle)) in cases.iter().enumerate() {
        let x = d.join(format!("shape{i}.npy"));
        write_npy(&x, &Tensor::i64(vec![3], dims.to_vec()));
        let mut args = flags.to_vec();
        args.extend(["run", cos, "--input", x.to_str().unwrap()]);
        let o = systole(&args);
        assert_usage_error(&o, &["ConstantOfShape", needle]);
    }
    for (n, flags, needle) in [
        (i64::MAX, &[][..], "--max-tensor-elements"),
        (
            2_000_000,
            &["--max-tensor-elements", "1000000"][..],
            "limit of 1000000",
        ),
    ] {
        let x = d.join("n.npy");
        write_npy(&x, &Tensor::i64(vec![], vec![n]));
        let mut args = flags.to_vec();
        args.extend(["run", range, "--input", x.to_str().unwrap()]);
        let o = systole(&args);
        assert_usage_error(&o, &["Range", needle]);
    }
    // Within the limits the same models run.
    let x = d.join("small.npy");
    write_npy(&x, &Tensor::i64(vec![3], vec![2, 3, 4]));
    let o = systole(&["run", cos, "--input", x.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn an_npy_header_longer_than_its_file_is_refused() {
    let d = tmpdir("robust-npy-header");
    for (version, len_bytes) in [
        (2u8, 4_000_000_000u32.to_le_bytes().to_vec()),
        (1, 60_000u16.to_le_bytes().to_vec()),
    ] {
        let mut bytes = b"\x93NUMPY".to_vec();
        bytes.extend([version, 0]);
        bytes.extend(&len_bytes);
        bytes.extend(b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 64), }");
        bytes.resize(4096, b' ');
        let x = d.join(format!("v{version}.npy"));
        std::fs::write(&x, &bytes).unwrap();
        let o = systole(&[
            "run",
            "models/digits_mlp.onnx",
            "--input",
            x.to_str().unwrap(),
        ]);
        assert_usage_error(&o, &[x.to_str().unwrap(), "header claims"]);
    }
}

#[test]
fn non_finite_inputs_are_refused_on_every_path() {
    let d = tmpdir("robust-nonfinite");
    let good =
        systole_compiler::npy::read_npy(&common::repo().join("models/data/digits_test_x.npy"))
            .unwrap();
    let sysq = d.join("mlp.sysq");
    common::quantize_mlp(&sysq);
    for (k, bad) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
        .into_iter()
        .enumerate()
    {
        let mut t = good.clone();
        t.as_f32_mut().unwrap()[64 + 5] = bad; // sample 1, feature 5
        let x = d.join(format!("bad{k}.npy"));
        write_npy(&x, &t);
        let xs = x.to_str().unwrap();
        for args in [
            vec!["run", "models/digits_mlp.onnx", "--input", xs],
            vec!["run", sysq.to_str().unwrap(), "--input", xs],
            vec![
                "eval",
                sysq.to_str().unwrap(),
                "--data",
                xs,
                "--labels",
                "models/data/digits_test_y.npy",
            ],
            vec![
                "quantize",
                "models/digits_mlp.onnx",
                "--calib",
                xs,
                "-o",
                d.join("never.sysq").to_str().unwrap(),
            ],
            vec![
                "simulate",
                sysq.to_str().unwrap(),
                "--hw",
                "hw/presets/edge-8x8.ron",
                "--input",
                xs,
            ],
        ] {
            let o = systole(&args);
            assert_usage_error(&o, &[xs, "[1, 5]", "finite"]);
        }
        assert!(!d.join("never.sysq").exists());
    }
}

#[test]
fn labels_that_are_not_class_indices_are_refused() {
    let d = tmpdir("robust-labels");
    let y = systole_compiler::npy::read_npy(&common::repo().join("models/data/digits_test_y.npy"))
        .unwrap();
    let yv = y.to_i64_vec();
    let n = yv.len();
    let float = |f: &dyn Fn(i64) -> f32| Tensor::f32(vec![n], yv.iter().map(|&v| f(v)).collect());
    let mut out_of_range = yv.clone();
    out_of_range[7] = 10;
    let mut negative = yv.clone();
    negative[3] = -1;
    let cases: Vec<(&str, Tensor, &str)> = vec![
        ("shifted", float(&|v| v as f32 + 0.7), "whole-number"),
        (
            "nan",
            {
                let mut t = float(&|v| v as f32);
                t.as_f32_mut().unwrap()[2] = f32::NAN;
                t
            },
            "label 2 is NaN",
        ),
        (
            "ten",
            Tensor::i64(vec![n], out_of_range),
            "label 7 is 10, outside",
        ),
        ("negative", Tensor::i64(vec![n], negative), "label 3 is -1"),
    ];
    for (tag, t, needle) in cases {
        let p = d.join(format!("{tag}.npy"));
        write_npy(&p, &t);
        let ps = p.to_str().unwrap();
        for verb in ["run", "eval"] {
            let data_flag = if verb == "run" { "--input" } else { "--data" };
            let o = systole(&[
                verb,
                "models/digits_mlp.onnx",
                data_flag,
                "models/data/digits_test_x.npy",
                "--labels",
                ps,
            ]);
            assert_usage_error(&o, &[ps, needle]);
        }
    }
    // Whole-number float labels are class indices and score as the integer ones do.
    let p = d.join("float.npy");
    write_npy(&p, &float(&|v| v as f32));
    let acc = |labels: &str| {
        let o = systole(&[
            "eval",
            "models/digits_mlp.onnx",
            "--data",
            "models/data/digits_test_x.npy",
            "--labels",
            labels,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["accuracy"].clone()
    };
    assert_eq!(
        acc(p.to_str().unwrap()),
        acc("models/data/digits_test_y.npy")
    );
}

#[test]
fn an_output_of_many_unit_dimensions_is_written() {
    // A rank-25,000 output: npyz's writer asserted on its 75 kB header (a panic in `run`).
    let d = tmpdir("robust-unit-dims");
    let dims: Vec<Result<i64, &str>> = (0..25_000)
        .map(|i| Ok(if i == 3 { 2 } else { 1 }))
        .collect();
    let m = d.join("unit.onnx");
    save(
        &m,
        vec![node("Relu", "relu", &["x"], &["y"])],
        vec![value("x", 1, &dims)],
        vec![value("y", 1, &dims)],
        vec![],
    );
    let mut shape = vec![1usize; 25_000];
    shape[3] = 2;
    let x = d.join("x.npy");
    write_npy(&x, &Tensor::f32(shape.clone(), vec![-1.0, 2.0]));
    let y = d.join("y.npy");
    let o = systole(&[
        "run",
        m.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--output",
        y.to_str().unwrap(),
    ]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = systole_compiler::npy::read_npy(&y).unwrap();
    assert_eq!(out, Tensor::f32(shape, vec![0.0, 2.0]));
}

/// `x → Gemm → Relu → Relu → … → y`: every Relu asks for its input's sole producer.
fn relu_chain(path: &Path, n: usize) {
    let name = |i: usize| chain_name("v0", i, n);
    let mut nodes = vec![node("Gemm", "fc", &["x", "w"], &["v0"])];
    nodes.extend((0..n).map(|i| node("Relu", &format!("r{i}"), &[&name(i)], &[&name(i + 1)])));
    let w = floats("w", &[4, 4], (0..16).map(|i| i as f32 - 8.0).collect());
    save(
        path,
        nodes,
        vec![value("x", 1, &[Ok(1), Ok(4)])],
        vec![value("y", 1, &[Ok(1), Ok(4)])],
        vec![w],
    );
}

#[test]
fn a_chain_of_150000_activations_optimizes() {
    // fuse-activation looked up consumers by scanning every node: quadratic, so this chain hung.
    let d = tmpdir("robust-chain");
    let m = d.join("chain.onnx");
    relu_chain(&m, 150_000);
    let o = systole(&[
        "inspect",
        m.to_str().unwrap(),
        "--optimized",
        "--verify",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The first Relu fuses into the Gemm; the other 149,999 remain.
    assert_eq!(v["nodes"], 150_000, "{v}");
}
