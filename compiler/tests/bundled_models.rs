//! The bundled digits models: float reference against onnxruntime's stored outputs, accuracy
//! on the held-out test set, and insta snapshots of the IR after every pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use systole_compiler::frontend::load_model;
use systole_compiler::ir::dump::dump;
use systole_compiler::npy::read_npy;
use systole_compiler::passes::{run_pipeline, PipelineOptions, PIPELINE};
use systole_compiler::reference::interp;
use systole_compiler::Tensor;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

struct Case {
    model: &'static str,
    input: &'static str,
    ort: &'static str,
    min_accuracy: f64,
}

const CASES: &[Case] = &[
    Case {
        model: "digits_mlp",
        input: "digits_test_x.npy",
        ort: "digits_mlp_ort_test.npy",
        min_accuracy: 0.96,
    },
    Case {
        model: "digits_cnn",
        input: "digits_test_x_img.npy",
        ort: "digits_cnn_ort_test.npy",
        min_accuracy: 0.97,
    },
];

fn accuracy(probs: &Tensor, labels: &Tensor) -> f64 {
    let p = probs.as_f32().unwrap();
    let l = labels.to_i64_vec();
    let c = probs.shape[1];
    let ok = (0..l.len())
        .filter(|&i| {
            let row = &p[i * c..(i + 1) * c];
            let arg = (0..c).fold(0, |b, j| if row[j] > row[b] { j } else { b });
            arg as i64 == l[i]
        })
        .count();
    ok as f64 / l.len() as f64
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape, b.shape);
    a.as_f32()
        .unwrap()
        .iter()
        .zip(b.as_f32().unwrap())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn float_reference_matches_onnxruntime_before_and_after_passes() {
    let data = repo().join("models/data");
    let labels = read_npy(&data.join("digits_test_y.npy")).unwrap();
    for c in CASES {
        let x = read_npy(&data.join(c.input)).unwrap();
        let ort = read_npy(&data.join(c.ort)).unwrap();
        for optimize in [false, true] {
            let mut g = load_model(&repo().join(format!("models/{}.onnx", c.model))).unwrap();
            if optimize {
                run_pipeline(
                    &mut g,
                    &PipelineOptions {
                        verify: true,
                        ..Default::default()
                    },
                    |_, _| {},
                )
                .unwrap();
            }
            let name = g.value(g.inputs[0]).name.clone();
            let outs = interp::run(&g, &BTreeMap::from([(name, x.clone())])).unwrap();
            let y = outs.values().next().unwrap();
            let d = max_abs_diff(y, &ort);
            let acc = accuracy(y, &labels);
            eprintln!(
                "{} (passes: {optimize}): max |ours - onnxruntime| = {d:e}, top-1 = {:.2} %",
                c.model,
                acc * 100.0
            );
            assert!(d <= 1e-4, "{}: max abs diff {d} > 1e-4", c.model);
            assert!(
                acc >= c.min_accuracy,
                "{}: accuracy {acc} < {}",
                c.model,
                c.min_accuracy
            );
        }
    }
}

#[test]
fn ir_dump_after_every_pass() {
    for c in CASES {
        let mut g = load_model(&repo().join(format!("models/{}.onnx", c.model))).unwrap();
        insta::assert_snapshot!(format!("{}__0_import", c.model), dump(&g));
        let mut dumps = Vec::new();
        run_pipeline(
            &mut g,
            &PipelineOptions {
                verify: true,
                ..Default::default()
            },
            |pass, g| {
                dumps.push((pass.to_string(), dump(g)));
            },
        )
        .unwrap();
        assert_eq!(dumps.len(), PIPELINE.len());
        for (i, (pass, text)) in dumps.into_iter().enumerate() {
            insta::assert_snapshot!(format!("{}__{}_{}", c.model, i + 1, pass), text);
        }
    }
}

#[test]
fn passes_remove_what_they_promise_on_the_cnn() {
    let mut g = load_model(&repo().join("models/digits_cnn.onnx")).unwrap();
    run_pipeline(&mut g, &PipelineOptions::default(), |_, _| {}).unwrap();
    let ops: Vec<&str> = g
        .node_ids()
        .iter()
        .map(|&id| g.node(id).op.name())
        .collect();
    for gone in ["BatchNormalization", "Relu", "Add", "MatMul"] {
        assert!(
            !ops.contains(&gone),
            "{gone} survived the pipeline: {ops:?}"
        );
    }
    assert_eq!(ops.iter().filter(|&&o| o == "Conv").count(), 2);
    assert_eq!(ops.iter().filter(|&&o| o == "Gemm").count(), 1);
}
