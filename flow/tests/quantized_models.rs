//! The quantizer on the bundled digits models: accuracy of the integer reference per format,
//! snapshots of the fixed-point program, `.sysq` round trips, and determinism.

use std::path::{Path, PathBuf};

use systole_compiler::fxir::{dump, Program};
use systole_compiler::lower::QuantConfig;
use systole_compiler::npy::read_npy;
use systole_compiler::reference::int;
use systole_compiler::sysq::{Provenance, SysqFile};
use systole_compiler::Tensor;
use systole_flow::eval::{run_float, run_quantized, top1};
use systole_flow::load::load_optimized;
use systole_flow::quantize::quantize;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

struct Model {
    name: &'static str,
    test: &'static str,
    calib: &'static str,
}

const MODELS: [Model; 2] = [
    Model {
        name: "digits_mlp",
        test: "digits_test_x.npy",
        calib: "digits_calib_x.npy",
    },
    Model {
        name: "digits_cnn",
        test: "digits_test_x_img.npy",
        calib: "digits_calib_x_img.npy",
    },
];

fn data(f: &str) -> Tensor {
    read_npy(&repo().join("models/data").join(f)).unwrap()
}

fn accuracy(t: &Tensor) -> f64 {
    let (ok, n) = top1(t, &data("digits_test_y.npy")).unwrap();
    ok as f64 / n as f64
}

fn quantized(m: &Model, cfg: &QuantConfig) -> Program {
    let g = load_optimized(&repo().join(format!("models/{}.onnx", m.name))).unwrap();
    quantize(&g, &data(m.calib), cfg, &mut |_, _| {}).unwrap().0
}

fn with(weights: &str, acts: &str) -> QuantConfig {
    QuantConfig {
        weights: weights.parse().unwrap(),
        acts: acts.parse().unwrap(),
        ..QuantConfig::default()
    }
}

#[test]
fn int8_per_channel_is_within_half_a_point_of_float_and_snapshots_the_program() {
    for m in &MODELS {
        let g = load_optimized(&repo().join(format!("models/{}.onnx", m.name))).unwrap();
        let x = data(m.test);
        let float = accuracy(&run_float(&g, &x).unwrap());
        let p = quantized(m, &QuantConfig::default());
        p.validate().unwrap();
        let q = accuracy(&run_quantized(&p, &x).unwrap());
        eprintln!("{}: float {float:.4} int8 {q:.4}", m.name);
        assert!(q >= float - 0.005, "{}: int8 {q} vs float {float}", m.name);
        insta::assert_snapshot!(format!("{}__int8", m.name), dump(&p));
    }
}

#[test]
fn every_weight_format_runs_and_keeps_the_cnn_useful() {
    let m = &MODELS[1];
    let x = data(m.test);
    // (format, minimum top-1): 8-bit formats stay near float; 4-bit ones lose a little.
    for (w, min) in [
        ("int8", 0.99),
        ("fp8e4m3", 0.99),
        ("fp8e5m2", 0.98),
        ("mx:8:g32", 0.99),
        ("int4", 0.96),
        ("int4:g32", 0.96),
        ("pow2:4", 0.96),
        ("kmeans:4", 0.96),
        ("kmeans:3:ch", 0.95),
        ("ap_fixed<8,3,RND,SAT>", 0.97),
    ] {
        let p = quantized(m, &with(w, "int8"));
        let acc = accuracy(&run_quantized(&p, &x).unwrap());
        eprintln!("{w}: {acc:.4}");
        assert!(acc >= min, "{w}: top-1 {acc} < {min}");
    }
}

#[test]
fn quantized_logits_track_the_float_model() {
    // The MLP's output is a softmax: compare probabilities, which the 16-bit softmax keeps to
    // about 1e-2 at int8.
    let m = &MODELS[0];
    let g = load_optimized(&repo().join("models/digits_mlp.onnx")).unwrap();
    let x = data(m.test);
    let f = run_float(&g, &x).unwrap();
    let q = run_quantized(&quantized(m, &QuantConfig::default()), &x).unwrap();
    let diff = f
        .to_f32_vec()
        .iter()
        .zip(q.to_f32_vec())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    eprintln!("max |p_float - p_int8| = {diff}");
    assert!(diff < 0.08, "{diff}");
}

#[test]
fn sysq_round_trips_and_refuses_other_versions() {
    let p = quantized(&MODELS[0], &QuantConfig::default());
    let f = SysqFile::new(
        Provenance {
            tool: "test".into(),
            ..Provenance::default()
        },
        p,
    );
    let bytes = f.to_bytes();
    let back = SysqFile::from_bytes(Path::new("x.sysq"), &bytes).unwrap();
    assert!(back == f, "the .sysq did not round-trip");
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\"version\":2"), "written as version 2");
    // Version 1 (before integer inputs) reads as the same program.
    let v1 = text.replacen("\"version\":2", "\"version\":1", 1);
    let old = SysqFile::from_bytes(Path::new("v1.sysq"), v1.as_bytes()).unwrap();
    assert!(old.program == f.program);
    let newer = text.replacen("\"version\":2", "\"version\":99", 1);
    let e = SysqFile::from_bytes(Path::new("x.sysq"), newer.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("newer") && e.contains("99") && e.contains("x.sysq"),
        "{e}"
    );
    let e = SysqFile::from_bytes(Path::new("y.sysq"), b"{\"a\":1}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a .sysq"), "{e}");
    let e = SysqFile::from_bytes(Path::new("y.sysq"), &bytes[..bytes.len() / 2])
        .unwrap_err()
        .to_string();
    assert!(e.contains("y.sysq"), "{e}");
}

#[test]
fn integer_reference_is_identical_across_thread_counts() {
    let m = &MODELS[1];
    let p = quantized(m, &with("int4:g32", "int8"));
    let x = data(m.test);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| int::run(&p, &x).unwrap())
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn quantization_is_deterministic() {
    let m = &MODELS[1];
    let a = SysqFile::new(
        Provenance::default(),
        quantized(m, &with("kmeans:4", "int8")),
    )
    .to_bytes();
    let b = SysqFile::new(
        Provenance::default(),
        quantized(m, &with("kmeans:4", "int8")),
    )
    .to_bytes();
    assert_eq!(a, b);
}

#[test]
fn qat_qdq_model_imports_with_its_own_scales_and_stays_within_a_point_of_float() {
    use systole_compiler::ir::QuantAnnot;
    use systole_flow::load::load_for_quantize;
    let path = repo().join("models/digits_cnn_qat4.onnx");
    let g = load_for_quantize(&path).unwrap();
    let p = quantize(
        &g,
        &data("digits_calib_x_img.npy"),
        &QuantConfig::default(),
        &mut |_, _| {},
    )
    .unwrap()
    .0;
    // Every array layer keeps the exported 4-bit grid, and every annotated activation's step is
    // the exported scale exactly (a float32 scale fits M0's 31 bits).
    for (_, gs) in p.gemms() {
        assert_eq!(gs.weights.coding.label(), "int4");
    }
    let mut checked = 0;
    for v in g.value_ids() {
        if let Some(QuantAnnot::Act { scale, .. }) = &g.value(v).quant {
            let name = &g.value(v).name;
            let t = p
                .tensors
                .iter()
                .find(|t| &t.name == name || t.name == format!("{name}.q"))
                .unwrap();
            assert_eq!(t.format.step(), f64::from(*scale), "{name}");
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked}");
    let x = data("digits_test_x_img.npy");
    let float = accuracy(
        &run_float(
            &load_optimized(&repo().join("models/digits_cnn.onnx")).unwrap(),
            &x,
        )
        .unwrap(),
    );
    let qat = accuracy(&run_quantized(&p, &x).unwrap());
    eprintln!("float {float:.4} qat4 through the integer reference {qat:.4}");
    assert!(qat >= float - 0.01, "{qat} vs {float}");
}

/// The same QAT model converted to QONNX `Quant` nodes by qonnx's own converter
/// (`models/train/qonnx_export.py`): the float reference matches qonnx's executor, and the
/// imported program is the QDQ model's, stage for stage and tensor for tensor.
#[test]
fn qonnx_quant_model_matches_qonnx_and_lowers_like_its_qdq_twin() {
    use systole_flow::load::load_for_quantize;
    let qonnx = repo().join("models/digits_cnn_qat4_qonnx.onnx");
    let x = data("digits_test_x_img.npy");
    let y = run_float(&load_optimized(&qonnx).unwrap(), &x).unwrap();
    let oracle = data("digits_cnn_qat4_qonnx_test.npy");
    assert_eq!(y.shape, oracle.shape);
    let diff = y
        .to_f32_vec()
        .iter()
        .zip(oracle.to_f32_vec())
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    eprintln!("float reference vs qonnx execute_onnx: max |diff| {diff:e}");
    assert!(diff <= 1e-5, "{diff}");

    let program = |path: &Path| {
        let g = load_for_quantize(path).unwrap();
        quantize(
            &g,
            &data("digits_calib_x_img.npy"),
            &QuantConfig::default(),
            &mut |_, _| {},
        )
        .unwrap()
        .0
    };
    let from_qonnx = program(&qonnx);
    let from_qdq = program(&repo().join("models/digits_cnn_qat4.onnx"));
    assert_eq!(from_qonnx.tensors, from_qdq.tensors);
    assert_eq!(from_qonnx.stages, from_qdq.stages);
    for (_, gs) in from_qonnx.gemms() {
        assert_eq!(gs.weights.coding.label(), "int4");
    }
    let top1 = accuracy(&run_quantized(&from_qonnx, &x).unwrap());
    eprintln!("qonnx qat4 through the integer reference {top1:.4}");
    assert!(top1 >= accuracy(&oracle) - 0.01, "{top1}");
}

#[test]
fn gptq_adaround_and_bias_correction_beat_round_to_nearest() {
    for m in &MODELS {
        let g = load_optimized(&repo().join(format!("models/{}.onnx", m.name))).unwrap();
        let x = data(m.test);
        let f = run_float(&g, &x).unwrap().to_f32_vec();
        for bits in ["int4", "int2"] {
            let mut cfg = with(bits, "int8");
            let rtn = run_quantized(
                &quantize(&g, &data(m.calib), &cfg, &mut |_, _| {})
                    .unwrap()
                    .0,
                &x,
            )
            .unwrap();
            cfg.gptq = true;
            let gq = run_quantized(
                &quantize(&g, &data(m.calib), &cfg, &mut |_, _| {})
                    .unwrap()
                    .0,
                &x,
            )
            .unwrap();
            let mse = |t: &Tensor| {
                t.to_f32_vec()
                    .iter()
                    .zip(&f)
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum::<f64>()
            };
            let (ar, ag) = (accuracy(&rtn), accuracy(&gq));
            eprintln!(
                "{} {bits}: top-1 rtn {ar:.4} gptq {ag:.4}; output sq. error rtn {:.3} gptq {:.3}",
                m.name,
                mse(&rtn),
                mse(&gq)
            );
            assert!(ag >= ar, "{} {bits}: gptq {ag} < rtn {ar}", m.name);
            assert!(mse(&gq) < mse(&rtn), "{} {bits}", m.name);
            cfg.gptq = false;
            cfg.bias_correction = true;
            let bc = run_quantized(
                &quantize(&g, &data(m.calib), &cfg, &mut |_, _| {})
                    .unwrap()
                    .0,
                &x,
            )
            .unwrap();
            let ab = accuracy(&bc);
            eprintln!(
                "{} {bits}: bias correction top-1 {ab:.4}, output sq. error {:.3}",
                m.name,
                mse(&bc)
            );
            assert!(
                ab >= ar,
                "{} {bits}: bias correction {ab} < rtn {ar}",
                m.name
            );
            assert!(mse(&bc) < mse(&rtn), "{} {bits}: bias correction", m.name);
            cfg.bias_correction = false;
            cfg.adaround = true;
            let ad = run_quantized(
                &quantize(&g, &data(m.calib), &cfg, &mut |_, _| {})
                    .unwrap()
                    .0,
                &x,
            )
            .unwrap();
            let aa = accuracy(&ad);
            eprintln!(
                "{} {bits}: adaround top-1 {aa:.4}, output sq. error {:.3}",
                m.name,
                mse(&ad)
            );
            assert!(aa >= ar, "{} {bits}: adaround {aa} < rtn {ar}", m.name);
            assert!(mse(&ad) < mse(&rtn), "{} {bits}: adaround", m.name);
        }
    }
}

#[test]
fn dynamic_int8_is_within_half_a_point_of_float_round_trips_as_version_3_and_is_refused_by_compile()
{
    let dynamic = QuantConfig {
        dynamic: true,
        ..QuantConfig::default()
    };
    for m in &MODELS {
        let g = load_optimized(&repo().join(format!("models/{}.onnx", m.name))).unwrap();
        let x = data(m.test);
        let float = accuracy(&run_float(&g, &x).unwrap());
        let p = quantized(m, &dynamic);
        p.validate().unwrap();
        assert!(p.is_dynamic());
        let q = accuracy(&run_quantized(&p, &x).unwrap());
        eprintln!("{}: float {float:.4} int8 dynamic {q:.4}", m.name);
        assert!(
            q >= float - 0.005,
            "{}: dynamic {q} vs float {float}",
            m.name
        );
        insta::assert_snapshot!(format!("{}__int8_dynamic", m.name), dump(&p));
        // Written as version 3 (static programs stay version 2); a version-2 header on a
        // dynamic program is refused, as is a newer version.
        let f = SysqFile::new(Provenance::default(), p.clone());
        let text = String::from_utf8(f.to_bytes()).unwrap();
        assert!(text.contains("\"version\":3"), "written as version 3");
        let back = SysqFile::from_bytes(Path::new("d.sysq"), text.as_bytes()).unwrap();
        assert!(back.program == p, "the dynamic .sysq did not round-trip");
        let v2 = text.replacen("\"version\":3", "\"version\":2", 1);
        let e = SysqFile::from_bytes(Path::new("d.sysq"), v2.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("version-2") && e.contains("dynamic"), "{e}");
        let v9 = text.replacen("\"version\":3", "\"version\":9", 1);
        let e = SysqFile::from_bytes(Path::new("d.sysq"), v9.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("newer") && e.contains('9'), "{e}");
        // The backend (and so the RTL) refuses it, naming the first dynamic stage.
        let e = systole_sim::rtl::supported(&p, None, "compile")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("compile does not take dynamic quantization")
                && e.contains("/dynamic-exponent'"),
            "{e}"
        );
    }
}
