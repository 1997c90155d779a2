//! MiniLM-L3 (W8A8) on a 128×128 weight-stationary array: the embedding and the whole first
//! encoder layer at sequence 128, hidden 384, in the exact engine equal the integer reference
//! bit for bit, with the fast engine's cycles; a wrong weight code is caught and named.
//!
//! The model and tokenizer come from `scripts/setup-minilm.sh` (`.cache/minilm/`). Without
//! them the test prints why and skips, unless SYSTOLE_REQUIRE_ORACLES is set (CI), and then it
//! fails.

use std::path::{Path, PathBuf};
use std::time::Instant;

use systole_compiler::frontend::load_model;
use systole_compiler::fxir::{Program, StageKind, VectorOp};
use systole_compiler::lower::QuantConfig;
use systole_compiler::reference::int as reference;
use systole_compiler::schedule::{schedule, Work};
use systole_flow::text::dataset::SentenceSet;
use systole_flow::text::embed::Encoder;
use systole_flow::text::quantize::{encoder_inputs, quantize_encoder};
use systole_flow::text::tokenize::Tokenizer;
use systole_hw::presets;
use systole_sim::model::{simulate_inputs, simulate_inputs_against, Engine, Inputs};

const SEQ: usize = 128;

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

/// `.cache/minilm` with the model and tokenizer, or None (skip; a failure under
/// SYSTOLE_REQUIRE_ORACLES).
fn minilm() -> Option<PathBuf> {
    let d = cache().join("minilm");
    if d.join("model.onnx").is_file() && d.join("tokenizer.json").is_file() {
        return Some(d);
    }
    systole_hw::testing::oracle_missing(
        "the MiniLM model (.cache/minilm)",
        "run scripts/setup-minilm.sh",
    );
    None
}

/// The program cut after stage `last`: its output becomes the program output.
fn truncate(p: &Program, last: usize) -> Program {
    let mut q = p.clone();
    q.stages.truncate(last + 1);
    q.output = q.stages[last].output;
    q.output_name = q.tensor(q.output).name.clone();
    q.validate().unwrap();
    q
}

#[test]
fn minilm_layer0_at_seq128_equals_the_reference_on_a_128x128_ws_array() {
    let Some(dir) = minilm() else { return };
    let t0 = Instant::now();
    let tok = Tokenizer::from_file(&dir.join("tokenizer.json")).unwrap();
    let mut enc = Encoder::new(load_model(&dir.join("model.onnx")).unwrap()).unwrap();
    let set = SentenceSet::read(&repo().join("models/text/sentences.tsv")).unwrap();
    let calib: Vec<String> = set.split("calib").texts().into_iter().take(8).collect();
    let cfg = QuantConfig {
        method: systole_compiler::quant::threshold::Method::Mse,
        ..QuantConfig::default()
    };
    let (full, _) = quantize_encoder(&mut enc, &tok, &calib, SEQ, &cfg, &mut |_, _| {}).unwrap();
    eprintln!(
        "quantized at seq {SEQ} in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    // Embedding + layer 0: up to the third LayerNorm (embeddings, attention output, FFN
    // output).
    let lns: Vec<usize> = full
        .stages
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.kind, StageKind::Vector(VectorOp::LayerNorm { .. })))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(lns.len(), 7, "MiniLM-L3 has 1 + 2 per layer LayerNorms");
    let p = truncate(&full, lns[2]);
    assert_eq!(p.tensor(p.output).shape, [SEQ, 384]);
    let kinds = |f: fn(&StageKind) -> bool| p.stages.iter().filter(|s| f(&s.kind)).count();
    assert_eq!(kinds(|k| matches!(k, StageKind::Embed(_))), 1);
    assert_eq!(
        kinds(|k| matches!(k, StageKind::MatMul(m) if m.weights.is_some())),
        6,
        "Q, K, V, output projection, FFN in and out"
    );
    assert_eq!(
        kinds(|k| matches!(k, StageKind::MatMul(m) if m.weights.is_none())),
        2,
        "Q·Kᵀ and P·V"
    );

    // One real sentence padded to 128 tokens (most positions masked).
    let text = set
        .split("eval")
        .texts()
        .into_iter()
        .take(1)
        .collect::<Vec<_>>();
    let b = tok.encode(&text, Some(SEQ)).unwrap();
    let ins = encoder_inputs(&p, &b).unwrap();
    let input = Inputs::Int {
        codes: &ins,
        batch: 1,
    };
    let hw = presets::load(Path::new("transformer-128x128")).unwrap();
    assert_eq!((hw.rows, hw.cols), (128, 128));
    let s = schedule(&p, &hw, 1).unwrap();
    let folds: usize = s
        .layers
        .iter()
        .map(|l| match &l.work {
            Work::Array(w) => w.steps.len(),
            _ => 0,
        })
        .sum();
    // The plan: 12 heads of Q·Kᵀ and P·V as groups, the lookup a gather, the vector ops.
    let dump = systole_compiler::schedule::dump(&s);
    for needle in [
        "array groups=12 m=128 k=32 n=128",
        "array groups=12 m=128 k=128 n=32",
        "array m=128 k=384 n=1536",
        "fold      #11 g11 m[0,128) k[0,32) n[0,128)",
        "dma gather 128 table rows",
        "vector LayerNorm",
        "vector Softmax",
        "vector Gelu",
        "vector Add",
    ] {
        assert!(
            dump.contains(needle),
            "no '{needle}' in the schedule:\n{dump}"
        );
    }
    let mut broken = s.clone();
    let qk = broken
        .layers
        .iter_mut()
        .find_map(|l| match &mut l.work {
            Work::Array(w) if w.groups > 1 => Some(w),
            _ => None,
        })
        .unwrap();
    qk.steps.pop();
    let e = broken.validate(&p).unwrap_err().to_string();
    assert!(e.contains("of group 11 is finished 0 times"), "{e}");

    let mut expected = vec![Vec::new(); p.stages.len()];
    let want = reference::run_int(&p, &ins, 1, &mut |i, y| expected[i] = y.to_vec()).unwrap();

    let t = Instant::now();
    let exact =
        simulate_inputs_against(&p, &s, &hw, input, Engine::Exact, None, &expected).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let r = &exact.report;
    eprintln!(
        "exact engine: {} stages, {folds} folds, {} cycles, {:.1}% utilization in {secs:.1} s",
        p.stages.len(),
        r.total_cycles,
        100.0 * r.utilization
    );
    assert!(r.mismatch.is_none(), "{}", r.mismatch.as_ref().unwrap());
    assert_eq!(r.equal, Some(true));
    assert_eq!(exact.output, want, "the layer's output, code for code");
    // Every array layer was recomputed and compared by the exact engine.
    for (l, st) in r.layers.iter().zip(&p.stages) {
        let array = matches!(st.kind, StageKind::MatMul(_));
        assert_eq!(l.equal, array.then_some(true), "{}", l.name);
        assert_eq!(l.unit == "array", array, "{}", l.name);
    }
    let fast = simulate_inputs(&p, &s, &hw, input, Engine::Fast, None).unwrap();
    for (a, f) in r.layers.iter().zip(&fast.report.layers) {
        assert_eq!(
            (a.cycles, a.compute_cycles),
            (f.cycles, f.compute_cycles),
            "{}",
            a.name
        );
    }
    let cats: Vec<(&str, usize)> = r
        .categories
        .iter()
        .map(|c| (c.category, c.layers))
        .collect();
    assert_eq!(
        cats,
        [
            ("attention", 4 + 2 + 1),
            ("ffn", 2 + 1),
            ("other", p.stages.len() - 10)
        ],
        "Q, K, V, output projections, Q·Kᵀ, P·V, softmax; FFN in, out, GELU"
    );
    for l in &r.layers {
        if l.name.contains("value/MatMul") || l.name.contains("attention/output/dense") {
            assert_eq!(l.category, "attention", "{}", l.name);
        }
        if l.name.contains("intermediate/dense") {
            assert_eq!(l.category, "ffn", "{}", l.name);
        }
    }

    // Fault injection: one weight code of the value projection flipped to the other extreme in
    // the program the simulator runs (the reference keeps the true one). The exact engine
    // names the layer.
    let vi = p
        .stages
        .iter()
        .position(|s| s.name.contains("value") && matches!(s.kind, StageKind::MatMul(_)))
        .expect("a value projection");
    let mut faulty = truncate(&p, vi);
    let StageKind::MatMul(mm) = &mut faulty.stages[vi].kind else {
        unreachable!()
    };
    let w = mm.weights.as_mut().unwrap();
    w.codes[5] = if w.codes[5] > 0 { -127 } else { 127 };
    let s2 = schedule(&faulty, &hw, 1).unwrap();
    let sim = simulate_inputs_against(
        &faulty,
        &s2,
        &hw,
        input,
        Engine::Exact,
        None,
        &expected[..=vi],
    )
    .unwrap();
    let m = sim.report.mismatch.expect("a wrong weight code is caught");
    assert_eq!(sim.report.equal, Some(false));
    assert_eq!(m.layer, p.stages[vi].name);
    assert_eq!(m.tensor, p.tensor(p.stages[vi].output).name);
    // Weight [5] is column 0's sixth input: the first differing output is in column 0.
    assert_eq!(m.index[1] % 384, 0, "{m}");
    assert_ne!(m.expected, m.got);
    assert!(m.cycle > 0);
}
