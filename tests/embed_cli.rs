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
    if std::env::var_os("SYSTOLE_REQUIRE_ORACLES").is_some() {
        panic!("SYSTOLE_REQUIRE_ORACLES is set but .cache/minilm is missing: run scripts/setup-minilm.sh");
    }
    eprintln!("SKIPPED: .cache/minilm is missing; run scripts/setup-minilm.sh");
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
