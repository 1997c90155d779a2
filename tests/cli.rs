//! End-to-end runs of the `systole` binary: JSON fields, accuracy, and the bad-input contract
//! (exit code 2, a message naming the file/node/field, no panic, no output file written).

mod common;

use common::{repo, systole};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::onnx::{save, value, FLOAT};
use systole_compiler::frontend::proto::{self, NodeProto};
use systole_compiler::npy::write_npy;
use systole_compiler::Tensor;

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Asserts exit code 2 and that stderr names `needle`, with no panic or backtrace.
fn bad(args: &[&str], needle: &str) {
    let o = systole(args);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: stderr: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: stderr does not mention '{needle}': {err}"
    );
    for forbidden in ["panicked", "RUST_BACKTRACE", "internal error"] {
        assert!(!err.contains(forbidden), "{args:?}: {err}");
    }
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("systole-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A model of one node reading `x` [2, 3] (and `initializers`) and writing `y` [2, 3], written
/// to `dir/name.onnx`.
fn model_of(
    dir: &Path,
    name: &str,
    node: NodeProto,
    initializers: Vec<proto::TensorProto>,
) -> PathBuf {
    let p = dir.join(format!("{name}.onnx"));
    save(
        &p,
        vec![node],
        vec![value("x", FLOAT, &[2, 3])],
        vec![value("y", FLOAT, &[2, 3])],
        initializers,
    );
    p
}

/// A one-node model `y = OP(x, extra...)`, written to `dir/name.onnx`.
fn one_node_model(dir: &Path, name: &str, op: &str, inputs: &[&str]) -> PathBuf {
    let node = NodeProto {
        name: Some("the_node".into()),
        op_type: Some(op.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec!["y".into()],
        ..Default::default()
    };
    model_of(dir, name, node, vec![])
}

/// A one-node QONNX model `y = OP(x, scale, zeropt, bitwidth)` in `domain`.
fn qonnx_model(dir: &Path, name: &str, op: &str, domain: &str, rounding: &str) -> PathBuf {
    use systole_compiler::frontend::proto::{attribute_proto, AttributeProto, TensorProto};
    let scalar = |n: &str, v: f32| TensorProto {
        name: Some(n.into()),
        data_type: Some(1),
        float_data: vec![v],
        ..Default::default()
    };
    let node = NodeProto {
        name: Some("the_quant".into()),
        op_type: Some(op.into()),
        domain: Some(domain.into()),
        input: ["x", "s", "z", "b"].map(String::from).to_vec(),
        output: vec!["y".into()],
        attribute: vec![AttributeProto {
            name: Some("rounding_mode".into()),
            r#type: Some(attribute_proto::AttributeType::String as i32),
            s: Some(rounding.as_bytes().to_vec()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let inits = vec![scalar("s", 0.5), scalar("z", 0.0), scalar("b", 4.0)];
    model_of(dir, name, node, inits)
}

#[test]
fn qonnx_quant_imports_and_other_qonnx_ops_are_refused_by_name() {
    let d = tmpdir("qonnx");
    let ok = qonnx_model(&d, "ok", "Quant", "qonnx.custom_op.general", "ROUND");
    let o = systole(&["inspect", ok.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ops"]["Quant"], 1, "{v}");
    let bipolar = qonnx_model(
        &d,
        "bip",
        "BipolarQuant",
        "qonnx.custom_op.general",
        "ROUND",
    );
    bad(&["inspect", bipolar.to_str().unwrap()], "BipolarQuant");
    bad(&["inspect", bipolar.to_str().unwrap()], "IntQuant");
    let mode = qonnx_model(&d, "mode", "Quant", "finn.custom_op.general", "STOCHASTIC");
    bad(&["inspect", mode.to_str().unwrap()], "rounding_mode");
    let elsewhere = qonnx_model(&d, "dom", "Quant", "com.example", "ROUND");
    bad(&["inspect", elsewhere.to_str().unwrap()], "com.example");
}

/// Every verb listed by `systole --help` has its own help with an example and a `--json` flag.
#[test]
fn every_verb_has_help_with_an_example_and_json() {
    let o = systole(&["--help"]);
    let (out, _) = text(&o);
    let verbs: Vec<String> = out
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|v| v != "help")
        .collect();
    assert!(verbs.len() >= 10, "{verbs:?}");
    for v in &verbs {
        let o = systole(&[v, "--help"]);
        let (h, err) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{v}: {err}");
        assert!(h.contains("Example"), "{v} --help has no example");
        assert!(h.contains("--json"), "{v} --help has no --json");
    }
}

#[test]
fn inspect_json_has_the_documented_fields() {
    let o = systole(&["inspect", "models/digits_cnn.onnx", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "nodes", "ops", "params", "macs", "layers", "inputs", "outputs",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["ops"]["Conv"], 2);
    // Conv1: 64 px × 16 ch × 9; conv2: 16 px × 32 ch × 144; dense 128 × 10.
    assert_eq!(v["macs"], 64 * 16 * 9 + 16 * 32 * 144 + 128 * 10);
}

#[test]
fn run_writes_outputs_and_reports_accuracy() {
    let d = tmpdir("run");
    let out = d.join("y.npy");
    let o = systole(&[
        "run",
        "models/digits_mlp.onnx",
        "--input",
        "models/data/digits_test_x.npy",
        "--labels",
        "models/data/digits_test_y.npy",
        "--output",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["accuracy"].as_f64().unwrap() >= 0.96, "{v}");
    assert_eq!(v["outputs"][0]["shape"], serde_json::json!([360, 10]));
    assert!(out.is_file());
}

#[test]
fn dump_after_prints_the_ir_and_rejects_unknown_passes() {
    let o = systole(&[
        "inspect",
        "models/digits_cnn.onnx",
        "--dump-after",
        "fold-batchnorm",
    ]);
    let (out, _) = text(&o);
    assert!(
        out.contains("// after fold-batchnorm") && !out.contains("BatchNormalization("),
        "{out}"
    );
    bad(
        &["inspect", "models/digits_cnn.onnx", "--dump-after", "nope"],
        "no pass named 'nope'",
    );
}

#[test]
fn bad_models_exit_2_naming_the_problem() {
    let d = tmpdir("models");
    let trunc = d.join("truncated.onnx");
    let full = std::fs::read(repo().join("models/digits_cnn.onnx")).unwrap();
    std::fs::write(&trunc, &full[..full.len() / 2]).unwrap();
    bad(&["inspect", trunc.to_str().unwrap()], "truncated.onnx");
    let random = d.join("random.onnx");
    std::fs::write(
        &random,
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    bad(&["inspect", random.to_str().unwrap()], "random.onnx");
    let empty = d.join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    bad(&["inspect", empty.to_str().unwrap()], "empty");
    bad(&["inspect", "no/such/model.onnx"], "no/such/model.onnx");
    bad(&["inspect", d.to_str().unwrap()], "directory");

    let unknown = one_node_model(&d, "unknown", "FancyOp", &["x"]);
    bad(
        &["inspect", unknown.to_str().unwrap()],
        "node 'the_node': unsupported op ai.onnx::FancyOp (opset 17); supported: Add",
    );
    let missing = one_node_model(&d, "missing", "Add", &["x", "bias"]);
    bad(&["inspect", missing.to_str().unwrap()], "reads 'bias'");
}

#[test]
fn bad_run_inputs_exit_2_and_write_nothing() {
    let d = tmpdir("inputs");
    let out = d.join("out.npy");
    let o = out.to_str().unwrap();
    let rank3 = d.join("rank3.npy");
    write_npy(&rank3, &Tensor::f32(vec![1, 8, 8], vec![0.0; 64])).unwrap();
    bad(
        &[
            "run",
            "models/digits_cnn.onnx",
            "--input",
            rank3.to_str().unwrap(),
            "--output",
            o,
        ],
        "expected rank 4",
    );
    let wrong_dim = d.join("wrong_dim.npy");
    write_npy(&wrong_dim, &Tensor::f32(vec![2, 1, 8, 7], vec![0.0; 112])).unwrap();
    bad(
        &[
            "run",
            "models/digits_cnn.onnx",
            "--input",
            wrong_dim.to_str().unwrap(),
            "--output",
            o,
        ],
        "axis 3 must be 8",
    );
    let ints = d.join("ints.npy");
    write_npy(&ints, &Tensor::i64(vec![2, 64], vec![1; 128])).unwrap();
    bad(
        &[
            "run",
            "models/digits_mlp.onnx",
            "--input",
            ints.to_str().unwrap(),
            "--output",
            o,
        ],
        "expected element type f32, got i64",
    );
    let garbage = d.join("garbage.npy");
    std::fs::write(&garbage, b"\x93NUMPY garbage").unwrap();
    bad(
        &[
            "run",
            "models/digits_mlp.onnx",
            "--input",
            garbage.to_str().unwrap(),
            "--output",
            o,
        ],
        "garbage.npy",
    );
    bad(
        &[
            "run",
            "models/digits_mlp.onnx",
            "--input",
            "nope.npy",
            "--output",
            o,
        ],
        "nope.npy",
    );
    bad(
        &[
            "run",
            "models/digits_mlp.onnx",
            "--input",
            "wrong=models/data/digits_test_x.npy",
        ],
        "no such input",
    );
    assert!(!out.exists(), "a failed run wrote {}", out.display());
    bad(&["run", "models/digits_mlp.onnx"], "--input");
}

#[test]
fn run_outputs_are_byte_identical_across_thread_counts() {
    let d = tmpdir("threads");
    let mut files = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = d.join(format!("y{threads}.npy"));
        let o = Command::new(env!("CARGO_BIN_EXE_systole"))
            .args([
                "run",
                "models/digits_cnn.onnx",
                "--input",
                "models/data/digits_test_x_img.npy",
                "--output",
            ])
            .arg(&out)
            .env("RAYON_NUM_THREADS", threads)
            .current_dir(repo())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
        files.push(std::fs::read(&out).unwrap());
    }
    assert!(
        files.windows(2).all(|w| w[0] == w[1]),
        "outputs differ between RAYON_NUM_THREADS values"
    );
}

#[test]
fn smooth_alpha_is_checked_before_any_work() {
    let out = tmpdir("smooth").join("x.sysq");
    let o = out.to_str().unwrap();
    bad(
        &[
            "quantize",
            "models/digits_mlp.onnx",
            "--calib-sentences",
            "models/text/sentences.tsv",
            "--tokenizer",
            "tokenizer.json",
            "--smooth-alpha",
            "1.5",
            "-o",
            o,
        ],
        "--smooth-alpha 1.5: expected a number in [0, 1]",
    );
    bad(
        &[
            "quantize",
            "models/digits_mlp.onnx",
            "--calib",
            "models/data/digits_calib_x.npy",
            "--smooth-alpha",
            "0.5",
            "-o",
            o,
        ],
        "--calib-sentences",
    );
    assert!(!out.exists());
}
