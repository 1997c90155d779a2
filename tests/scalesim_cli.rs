//! `systole scalesim`: JSON fields, report files, and exit code 2 on bad SCALE-Sim files.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn systole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_systole"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("systole-scalesim-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const CFG: &str = "hw/topologies/scale-32x32-ws.cfg";

#[test]
fn json_and_reports() {
    let out = tmpdir("ok");
    let o = systole(&[
        "scalesim",
        "--config",
        CFG,
        "--topology",
        "hw/topologies/bert_base_seq128.csv",
        "--gemm",
        "--json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["array"]["dataflow"], "ws");
    let layers = j["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 28);
    // qkv: M=128, K=768, N=2304 on 32x32 WS: 24 x 72 folds of 2·32 + 32 + 128 - 2 cycles.
    assert_eq!(layers[0]["cycles"], 24 * 72 * 222);
    assert_eq!(layers[0]["scalesim_total_cycles"], 24 * 72 * 222 - 1);
    let sum: u64 = layers.iter().map(|l| l["cycles"].as_u64().unwrap()).sum();
    assert_eq!(j["total_cycles"].as_u64().unwrap(), sum);
    for f in [
        "COMPUTE_REPORT.csv",
        "BANDWIDTH_REPORT.csv",
        "DETAILED_ACCESS_REPORT.csv",
    ] {
        let t = std::fs::read_to_string(out.join(f)).unwrap();
        assert_eq!(t.lines().count(), 29, "{f}");
        assert!(t.starts_with("LayerID, "));
    }
}

#[test]
fn bad_files_exit_2_and_name_the_place() {
    let d = tmpdir("bad");
    let cfg = std::fs::read_to_string(repo().join(CFG)).unwrap();
    let bad_cfg = d.join("bad.cfg");
    std::fs::write(&bad_cfg, cfg.replace("Dataflow : ws", "Dataflow : rs")).unwrap();
    let topo = d.join("t.csv");
    std::fs::write(&topo, "h,\nc1, 8, 8, 3, x3, 1, 1, 1,\n").unwrap();
    let good_topo = "hw/topologies/resnet18.csv";
    for (args, needle) in [
        (
            vec![
                "--config",
                bad_cfg.to_str().unwrap(),
                "--topology",
                good_topo,
            ],
            "key 'Dataflow': 'rs' is not a dataflow",
        ),
        (
            vec!["--config", CFG, "--topology", topo.to_str().unwrap()],
            "t.csv:2: column 'Filter Width'",
        ),
        (
            vec!["--config", "nope.cfg", "--topology", good_topo],
            "nope.cfg",
        ),
    ] {
        let mut a = vec!["scalesim"];
        a.extend(args);
        let o = systole(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.contains(needle), "{a:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
