//! `systole embed` and `--bind` on the MiniLM encoder: the documented JSON fields, the pooling
//! check, and exit 2 with a clear message for a sequence beyond the position table, a bad
//! tokenizer file and an unbound dynamic dimension. Skips (with the reason) when
//! `scripts/setup-minilm.sh` was not run, unless SYSTOLE_REQUIRE_ORACLES is set.

mod common;

use std::path::PathBuf;

use common::{assert_usage_error, systole, tmpdir};

fn minilm() -> Option<PathBuf> {
    let d = std::env::var_os("SYSTOLE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join(".cache"))
        .join("minilm");
    if d.join("model.onnx").is_file() {
        return Some(d);
    }
    systole_hw::testing::oracle_missing(".cache/minilm", "run scripts/setup-minilm.sh");
    None
}

#[test]
fn embed_json_has_the_documented_fields() {
    let Some(d) = minilm() else { return };
    let (model, tok) = (d.join("model.onnx"), d.join("tokenizer.json"));
    let dir = tmpdir("embed");
    let out = dir.join("emb.npy");
    let o = systole(&[
        "embed",
        model.to_str().unwrap(),
        "--tokenizer",
        tok.to_str().unwrap(),
        "--text",
        "A man is playing a guitar.",
        "--text",
        "Someone plays the guitar.",
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for f in [
        "sentences",
        "hidden",
        "seq",
        "tokens",
        "vocab",
        "max_positions",
        "pooling",
        "pooling_max_abs_diff",
        "seconds",
        "seconds_per_sentence",
        "total_seconds",
        "output",
        "retrieval",
    ] {
        assert!(j.get(f).is_some(), "missing field {f}: {j}");
    }
    assert_eq!(j["sentences"], 2);
    assert_eq!(j["hidden"], 384);
    assert!(j["pooling_max_abs_diff"].as_f64().unwrap() < 1e-5, "{j}");
    assert!(j["retrieval"].is_null());
    assert!(out.is_file());
}

#[test]
fn embed_and_bind_refuse_bad_input() {
    let Some(d) = minilm() else { return };
    let (model, tok) = (d.join("model.onnx"), d.join("tokenizer.json"));
    let (m, t) = (model.to_str().unwrap(), tok.to_str().unwrap());
    let o = systole(&["embed", m, "--tokenizer", t, "--text", "hi", "--seq", "600"]);
    assert_usage_error(&o, &["input_ids", "position table (512 positions)"]);
    let dir = tmpdir("embed-bad");
    let bad_tok = dir.join("tokenizer.json");
    std::fs::write(&bad_tok, "{not json").unwrap();
    let o = systole(&[
        "embed",
        m,
        "--tokenizer",
        bad_tok.to_str().unwrap(),
        "--text",
        "hi",
    ]);
    assert_usage_error(&o, &["tokenizer.json"]);
    let o = systole(&["inspect", m, "--bind", "sequence_length=16"]);
    assert_usage_error(
        &o,
        &["input 'input_ids'", "batch_size", "--bind batch_size=N"],
    );
    let o = systole(&["inspect", m, "--bind", "seq=16"]);
    assert_usage_error(&o, &["seq", "sequence_length"]);
    let o = systole(&[
        "inspect",
        m,
        "--bind",
        "sequence_length=16",
        "--bind",
        "batch_size=2",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
}

/// The integer path through the CLI: quantize with sentences (a few, sequence 16), embed with
/// `--sysq` (documented `quantized` fields, cosine to float), and clear exit-2 refusals: a
/// sentence longer than the program's sequence, a `--seq` that differs from it, compile of the
/// encoder stages, eval of an integer-input program with a real tensor.
#[test]
fn quantize_and_embed_sysq() {
    let Some(d) = minilm() else { return };
    let (model, tok) = (d.join("model.onnx"), d.join("tokenizer.json"));
    let (m, t) = (model.to_str().unwrap(), tok.to_str().unwrap());
    let dir = tmpdir("embed-sysq");
    let sysq = dir.join("w8a8.sysq");
    let s = sysq.to_str().unwrap();
    let sentences = common::repo().join("models/text/sentences.tsv");
    let o = systole(&[
        "quantize",
        m,
        "--calib-sentences",
        sentences.to_str().unwrap(),
        "--tokenizer",
        t,
        "--calib-limit",
        "16",
        "--seq",
        "16",
        "-o",
        s,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["layers"].as_array().unwrap().len(), 18, "{j}");
    let texts = [
        "A man is playing a guitar.",
        "Someone plays the guitar.",
        "The stock market fell.",
    ];
    let mut args = vec!["embed", m, "--tokenizer", t, "--sysq", s, "--json"];
    for x in &texts {
        args.extend(["--text", x]);
    }
    let o = systole(&args);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let q = &j["quantized"];
    for f in [
        "sysq",
        "mean_cosine",
        "min_cosine",
        "retrieval",
        "seconds",
        "seconds_per_sentence",
    ] {
        assert!(q.get(f).is_some(), "missing quantized.{f}: {j}");
    }
    assert_eq!(j["seq"], 16);
    assert!(q["min_cosine"].as_f64().unwrap() > 0.97, "{j}");
    // Too long for the program.
    let long = "word ".repeat(40);
    let o = systole(&["embed", m, "--tokenizer", t, "--sysq", s, "--text", &long]);
    assert_usage_error(&o, &["16"]);
    let o = systole(&[
        "embed",
        m,
        "--tokenizer",
        t,
        "--sysq",
        s,
        "--text",
        "hi",
        "--seq",
        "20",
    ]);
    assert_usage_error(&o, &["--seq 20", "16"]);
    let o = systole(&[
        "compile",
        s,
        "--hw",
        "hw/presets/edge-16x16.ron",
        "-o",
        dir.join("b").to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["compile", "embedding lookup"]);
    let o = systole(&[
        "eval",
        s,
        "--data",
        "models/data/digits_test_x.npy",
        "--labels",
        "models/data/digits_test_y.npy",
    ]);
    assert_usage_error(&o, &["input_ids", "integer inputs"]);
    run_sysq(m, t, s, &dir);
    simulate_sysq(s, t, &dir);
}

/// `systole run` on the encoder program: integer inputs by name (as `embed --tokens-out` writes
/// them), the token embeddings out; a missing or float input is exit 2 naming it.
fn run_sysq(m: &str, t: &str, s: &str, dir: &std::path::Path) {
    let prefix = dir.join("tok");
    let o = systole(&[
        "embed",
        m,
        "--tokenizer",
        t,
        "--text",
        "A man is playing a guitar.",
        "--text",
        "The stock market fell.",
        "--seq",
        "16",
        "--tokens-out",
        prefix.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let ids = format!("input_ids={}", dir.join("tok_ids.npy").display());
    let mask = format!("attention_mask={}", dir.join("tok_mask.npy").display());
    let out = dir.join("tokens.npy");
    let o = systole(&[
        "run",
        s,
        "--input",
        &ids,
        "--input",
        &mask,
        "--output",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["outputs"][0]["shape"][0], 2, "{j}");
    assert_eq!(j["outputs"][0]["shape"][1], 16, "{j}");
    assert!(out.exists());
    let o = systole(&["run", s, "--input", &ids]);
    assert_usage_error(&o, &["attention_mask", "--input NAME=FILE.npy"]);
    let float = format!("attention_mask={}", "models/data/digits_test_x.npy");
    let o = systole(&["run", s, "--input", &ids, "--input", &float]);
    assert_usage_error(&o, &["attention_mask", "integer codes"]);
}

/// `systole simulate` on the encoder program: both engines from sentences, equal cycles, the
/// exact engine equal to the reference, categories in the JSON and the plot, clear refusals.
fn simulate_sysq(s: &str, t: &str, dir: &std::path::Path) {
    let plots = dir.join("plots");
    let run = |engine: &str| {
        let o = systole(&[
            "simulate",
            s,
            "--hw",
            "transformer-128x128",
            "--tokenizer",
            t,
            "--text",
            "A man is playing a guitar.",
            "--text",
            "The stock market fell.",
            engine,
            "--json",
            "--plot-dir",
            plots.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let (exact, fast) = (run("--exact"), run("--fast"));
    assert_eq!(exact["equal"], true, "{}", exact["mismatch"]);
    assert_eq!(exact["batch"], 2);
    assert_eq!(exact["total_cycles"], fast["total_cycles"]);
    let layers = exact["layers"].as_array().unwrap();
    let arrays = layers.iter().filter(|l| l["unit"] == "array").count();
    assert_eq!(
        arrays,
        3 * 8,
        "6 linear layers and 2 attention matmuls per encoder layer"
    );
    let cats: Vec<&str> = exact["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(cats, ["attention", "ffn", "other"]);
    let share: f64 = exact["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["share"].as_f64().unwrap())
        .sum();
    assert!((share - 1.0).abs() < 1e-9, "{share}");
    assert!(std::fs::read_to_string(plots.join("categories.svg"))
        .unwrap()
        .contains("layer 2"));
    // An encoder reads sentences, not an .npy batch; a CNN/MLP the other way round.
    let o = systole(&[
        "simulate",
        s,
        "--hw",
        "transformer-128x128",
        "--input",
        "models/data/digits_test_x.npy",
    ]);
    assert_usage_error(&o, &["input_ids", "--sentences", "--tokenizer"]);
    let long = "word ".repeat(40);
    let o = systole(&[
        "simulate",
        s,
        "--hw",
        "transformer-128x128",
        "--tokenizer",
        t,
        "--text",
        &long,
    ]);
    assert_usage_error(&o, &["16"]);
    sweep_sysq(s, t, dir);
}

/// `systole sweep` takes the encoder program: every design timed, and the chosen description
/// simulates to the cycles the sweep recorded for it.
fn sweep_sysq(s: &str, t: &str, dir: &std::path::Path) {
    let out = dir.join("sweep");
    let o = systole(&[
        "sweep",
        s,
        "--space",
        "hw/sweeps/minilm-small.ron",
        "--part",
        "asic:28nm",
        "--best",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["points"], 64);
    assert_eq!(j["feasible"], 64, "{j}");
    let best = &j["best"][0]["design"];
    let o = systole(&[
        "simulate",
        s,
        "--hw",
        out.join("best.ron").to_str().unwrap(),
        "--tokenizer",
        t,
        "--text",
        "A man is playing a guitar.",
        "--fast",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let sim: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sim["total_cycles"], best["cycles"]);
    // The encoder's vector ops run on the chosen design's vector unit, not on the host.
    let host = sim["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["unit"] == "host")
        .count();
    assert_eq!(host, 0);
    // No top-1 accuracy for an encoder: --data is refused by name.
    let o = systole(&[
        "sweep",
        s,
        "--space",
        "hw/sweeps/minilm-small.ron",
        "--data",
        "models/data/digits_test_x.npy",
        "--out",
        dir.join("sweep2").to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["--data", "encoder"]);
}
