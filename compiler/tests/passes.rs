//! Per-pass golden tests: `tests/passes/<pass>/<case>.onnx` goes through the one pass its
//! directory names (then shape inference, as in the pipeline, and the verifier), and the IR dump
//! after it must equal `<case>.expected`. Each `.onnx` is generated from the `.onnxtxt` beside
//! it (ONNX textual syntax) by `scripts/gen-test-models.py`, which records the source's sha256
//! in the model's doc_string; a stale model fails here. A case named `keep-*` must leave the
//! graph unchanged, any other must change it, and every pass of `PIPELINE` and `QUANTIZE_PREP`
//! needs a case that changes the graph. For `infer-shapes` the shapes the importer inferred are
//! forgotten first (the importer runs the same inference).
//!
//! `SYSTOLE_BLESS=1 cargo test -p systole-compiler --test passes` rewrites the `.expected` files.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use prost::Message;
use sha2::{Digest, Sha256};
use systole_compiler::frontend::load_model;
use systole_compiler::frontend::proto::ModelProto;
use systole_compiler::ir::dump::dump;
use systole_compiler::ir::{Graph, TensorType, ValueKind};
use systole_compiler::passes::{shape_inference, Pass, PIPELINE, QUANTIZE_PREP};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/passes")
}

fn bless() -> bool {
    std::env::var_os("SYSTOLE_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

fn pass(name: &str) -> Option<&'static Pass> {
    PIPELINE
        .iter()
        .chain(QUANTIZE_PREP)
        .find(|p| p.name == name)
}

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every op output's shape set back to unknown (dtype kept).
fn forget_shapes(g: &mut Graph) {
    let ids: Vec<_> = g.value_ids().collect();
    for v in ids {
        if g.value(v).kind == ValueKind::Intermediate {
            let dtype = g.value(v).ty.dtype;
            g.value_mut(v).ty = TensorType::unknown(dtype);
        }
    }
}

/// The first differing line of two texts, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let i = (0..w.len().max(g.len()))
        .find(|&i| w.get(i) != g.get(i))
        .unwrap_or(0);
    format!(
        "line {}:\n  expected: {}\n  actual:   {}",
        i + 1,
        w.get(i).unwrap_or(&"<end>"),
        g.get(i).unwrap_or(&"<end>")
    )
}

/// Runs one case; returns whether the pass changed the graph.
fn run_case(p: &Pass, model: &Path, failures: &mut Vec<String>) -> bool {
    let case = model.file_stem().unwrap().to_string_lossy().into_owned();
    let what = format!("{}/{case}", p.name);
    // The model must be the generator's output for the source beside it.
    let src = model.with_extension("onnxtxt");
    let bytes = fs::read(model).unwrap();
    let doc = ModelProto::decode(bytes.as_slice())
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .doc_string
        .unwrap_or_default();
    match fs::read(&src) {
        Ok(text) if doc == format!("source sha256 {}", hex(&Sha256::digest(&text))) => {}
        Ok(_) => failures.push(format!(
            "{what}: {case}.onnx was not generated from the current {case}.onnxtxt; run scripts/gen-test-models.py"
        )),
        Err(_) => failures.push(format!("{what}: no {case}.onnxtxt source")),
    }
    let mut g = load_model(model).unwrap_or_else(|e| panic!("{what}: {e}"));
    if p.name == "infer-shapes" {
        forget_shapes(&mut g);
    }
    let before = dump(&g);
    (p.run)(&mut g).unwrap_or_else(|e| panic!("{what}: {e}"));
    shape_inference::infer_all(&mut g).unwrap_or_else(|e| panic!("{what}: {e}"));
    g.validate()
        .unwrap_or_else(|e| panic!("{what}: invalid after the pass: {e}"));
    let after = dump(&g);
    let changed = after != before;
    if case.starts_with("keep-") && changed {
        failures.push(format!(
            "{what}: a keep-* case must leave the graph unchanged; {}",
            first_difference(&before, &after)
        ));
    }
    if !case.starts_with("keep-") && !changed {
        failures.push(format!(
            "{what}: the pass changed nothing (name the case keep-* if that is the point)"
        ));
    }
    let expected = model.with_extension("expected");
    if bless() {
        fs::write(&expected, &after).unwrap();
    } else {
        match fs::read_to_string(&expected) {
            Ok(want) if want == after => {}
            Ok(want) => failures.push(format!(
                "{what}: the dump differs from {case}.expected (SYSTOLE_BLESS=1 rewrites it); {}\n--- actual ---\n{after}",
                first_difference(&want, &after)
            )),
            Err(_) => failures.push(format!(
                "{what}: no {case}.expected (SYSTOLE_BLESS=1 writes it)\n--- actual ---\n{after}"
            )),
        }
    }
    changed
}

#[test]
fn every_pass_matches_its_golden_dumps() {
    let mut failures = Vec::new();
    let mut changing = BTreeSet::new();
    let mut cases = 0;
    for dir in sorted(&root()) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some(p) = pass(&name) else {
            failures.push(format!("tests/passes/{name}: names no pass"));
            continue;
        };
        for f in sorted(&dir) {
            let stem = f.with_extension("");
            match f.extension().and_then(|e| e.to_str()) {
                Some("onnx") => {
                    cases += 1;
                    if run_case(p, &f, &mut failures) {
                        changing.insert(p.name);
                    }
                }
                Some("onnxtxt") if !stem.with_extension("onnx").exists() => failures.push(format!(
                    "{}: no .onnx; run scripts/gen-test-models.py",
                    f.display()
                )),
                Some("expected") if !stem.with_extension("onnx").exists() => {
                    failures.push(format!("{}: no .onnx for it", f.display()))
                }
                _ => {}
            }
        }
    }
    for p in PIPELINE.iter().chain(QUANTIZE_PREP) {
        if !changing.contains(p.name) {
            failures.push(format!(
                "pass {}: no case in tests/passes/{} that changes the graph",
                p.name, p.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(cases > 0);
}
