//! The onnx wheel's `light` models (opset 9 classics whose weights are ConstantOfShape fills):
//! each must import, get a concrete shape for every value, and report MACs close to the
//! published figures for the architecture.

use std::path::{Path, PathBuf};

use systole_compiler::frontend::load_model;
use systole_compiler::stats::model_stats;

fn light_dir() -> Option<PathBuf> {
    let d = match std::env::var_os("SYSTOLE_LIGHT_MODELS") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("SYSTOLE_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache"))
            .join("onnx-light"),
    };
    d.is_dir().then_some(d)
}

#[test]
fn light_models_import_infer_and_count_macs() {
    let Some(dir) = light_dir() else {
        systole_hw::testing::oracle_missing(
            "the onnx wheel's light models",
            "run scripts/gen-node-tests.sh",
        );
        return;
    };
    // Published multiply-accumulate counts per 224×224 image (GMACs), ±10 %.
    let published = [
        ("resnet50", 4.1),
        ("vgg19", 19.6),
        ("squeezenet", 0.35),
        ("inception_v1", 1.5),
    ];
    let mut n = 0;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    for p in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
    {
        let g = load_model(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        for id in g.node_ids() {
            for &o in &g.node(id).outputs {
                assert!(
                    g.value(o).ty.concrete().is_some(),
                    "{}: '{}' has type {}",
                    p.display(),
                    g.value(o).name,
                    g.value(o).ty
                );
            }
        }
        let s = model_stats(&g);
        let name = s.name.trim_start_matches("light_").to_string();
        eprintln!(
            "{name}: {} nodes, {} params, {:.3} GMACs",
            s.nodes,
            s.params,
            s.macs as f64 / 1e9
        );
        assert!(s.macs > 0 && s.params > 0, "{name}");
        if let Some((_, want)) = published.iter().find(|(n, _)| *n == name) {
            let got = s.macs as f64 / 1e9;
            assert!(
                (got - want).abs() <= 0.1 * want,
                "{name}: {got:.3} GMACs, published {want}"
            );
        }
        n += 1;
    }
    assert!(n >= 8, "only {n} light models in {}", dir.display());
}
