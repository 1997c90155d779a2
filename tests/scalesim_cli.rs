//! `systole scalesim`: JSON fields, report files, and exit code 2 on bad SCALE-Sim files.

mod common;

use common::{repo, systole};

use std::path::PathBuf;

fn tmpdir(tag: &str) -> PathBuf {
    common::tmpdir(&format!("scalesim-{tag}"))
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

#[test]
fn exact_engine_equals_fast_cycles_and_reports_throughput() {
    let d = tmpdir("exact");
    // A convolution, a strided depthwise layer (split per channel) and a layer that does not
    // divide the 32x32 array.
    let topo = d.join("tiny.csv");
    std::fs::write(
        &topo,
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n\
         c1, 10, 10, 3, 3, 3, 40, 1,\n\
         c_DP2, 9, 9, 3, 3, 2, 1, 2,\n\
         c3, 6, 6, 1, 1, 40, 33, 1,\n",
    )
    .unwrap();
    let run = |engine: &str| -> serde_json::Value {
        let o = systole(&[
            "scalesim",
            "--config",
            CFG,
            "--topology",
            topo.to_str().unwrap(),
            "--engine",
            engine,
            "--json",
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{engine}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let fast = run("fast");
    let exact = run("exact");
    assert_eq!(fast["engine"], "fast");
    assert_eq!(exact["engine"], "exact");
    assert!(fast.get("exact").is_none());
    let (fl, el) = (
        fast["layers"].as_array().unwrap(),
        exact["layers"].as_array().unwrap(),
    );
    assert_eq!(el.len(), 4, "c1, two depthwise channels, c3");
    assert_eq!(fl.len(), el.len());
    for (f, e) in fl.iter().zip(el) {
        assert_eq!(e["cycles"], f["cycles"], "{}", e["name"]);
        assert_eq!(e["exact"]["cycles"], f["cycles"], "{}", e["name"]);
        assert!(e["exact"]["seconds"].as_f64().unwrap() >= 0.0);
        assert_eq!(e["exact"]["narrow"], true, "int8 operands fit i32 sums");
        assert!(e["exact"]["seed"].is_u64());
        assert!(f.get("exact").is_none());
    }
    assert_eq!(exact["total_cycles"], fast["total_cycles"]);
    let updates = exact["total_cycles"].as_u64().unwrap() * 32 * 32;
    assert_eq!(exact["pe_updates"].as_u64().unwrap(), updates);
    let e = &exact["exact"];
    for f in ["seconds", "check_seconds", "pe_updates_per_second"] {
        assert!(e[f].as_f64().unwrap() > 0.0, "exact.{f}");
    }
    assert!(exact["pe_updates_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn unknown_engine_is_a_usage_error() {
    let o = systole(&[
        "scalesim",
        "--config",
        CFG,
        "--topology",
        "hw/topologies/resnet18.csv",
        "--engine",
        "rtl",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--engine"));
}
