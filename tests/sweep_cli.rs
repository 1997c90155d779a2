//! `systole sweep`: streaming results, the Pareto front and best design checked against the
//! points themselves, `--best` feeding `compile`, shards merging into the single run's result,
//! `--resume`, and bad input.
mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{assert_usage_error, stderr, systole, tmpdir};
use serde_json::Value;
use systole_flow::sweep::Space;

const X: &str = "models/data/digits_test_x_img.npy";
const Y: &str = "models/data/digits_test_y.npy";
const CALIB: &str = "models/data/digits_calib_x_img.npy";
const SMALL: &str = "hw/sweeps/digits-cnn-small.ron";

fn quantized(dir: &Path) -> String {
    let out = dir.join("cnn.sysq").display().to_string();
    let o = systole(&[
        "quantize",
        "models/digits_cnn.onnx",
        "--calib",
        CALIB,
        "-o",
        &out,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn space_len(path: &str) -> u64 {
    let text = std::fs::read_to_string(common::repo().join(path)).unwrap();
    Space::from_ron(&text, path).unwrap().len()
}

fn json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn records(dir: &Path) -> Vec<Value> {
    let mut v: Vec<Value> = std::fs::read_to_string(dir.join("points.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    v.sort_by_key(|r| r["index"].as_u64().unwrap());
    v
}

fn feasible(r: &Value, t: usize) -> bool {
    r["targets"][t]["feasible"].as_bool().unwrap()
}

fn latency(r: &Value) -> f64 {
    r["latency_s"].as_f64().unwrap()
}

fn cost(r: &Value, t: usize) -> f64 {
    let c = &r["targets"][t];
    c["resource_utilization"]
        .as_f64()
        .or(c["area_mm2"].as_f64())
        .unwrap()
}

#[test]
fn a_sweep_streams_every_point_and_its_front_and_best_design_hold() {
    let d = tmpdir("sweep-main");
    let sysq = quantized(&d);
    let out = d.join("out");
    let o = systole(&[
        "sweep",
        &sysq,
        "--space",
        SMALL,
        "--part",
        "artix7-100t",
        "--part",
        "asic:28nm",
        "--data",
        X,
        "--labels",
        Y,
        "--best",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let s = json(&o);
    let n = space_len(SMALL);
    assert_eq!(s["points"].as_u64(), Some(n));
    assert!(s["seconds"].as_f64().unwrap() > 0.0);
    let recs = records(&out);
    let idx: BTreeSet<u64> = recs.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(idx, (0..n).collect::<BTreeSet<u64>>(), "every point once");
    let csv = std::fs::read_to_string(out.join("points.csv")).unwrap();
    assert_eq!(
        csv.lines().count() as u64,
        1 + 2 * n,
        "a row per point and target"
    );
    // Feasible count and infeasible points with their binding resource.
    let feas: Vec<&Value> = recs.iter().filter(|r| feasible(r, 0)).collect();
    assert_eq!(s["feasible"].as_u64(), Some(feas.len() as u64));
    for r in recs.iter().filter(|r| !feasible(r, 0)) {
        assert!(r["targets"][0]["binding"].is_string(), "{r}");
    }
    // The front: feasible, mutually non-dominated, and no feasible point dominates a member.
    let pareto = s["pareto"].as_array().unwrap();
    assert!(!pareto.is_empty());
    let dom = |a: &Value, b: &Value| {
        let (la, ca, lb, cb) = (latency(a), cost(a, 0), latency(b), cost(b, 0));
        la <= lb && ca <= cb && (la < lb || ca < cb)
    };
    for p in pareto {
        assert!(feasible(p, 0));
        assert!(!feas.iter().any(|q| dom(q, p)), "{p} is dominated");
    }
    for (i, p) in pareto.iter().enumerate() {
        for q in &pareto[..i] {
            let same = latency(p) == latency(q) && cost(p, 0) == cost(q, 0);
            assert!(!same, "equal designs are kept once: {p} {q}");
        }
    }
    for q in &feas {
        let on_front = pareto.iter().any(|p| p["index"] == q["index"]);
        let dominated = pareto.iter().any(|p| dom(p, q));
        let tied = pareto
            .iter()
            .any(|p| latency(p) == latency(q) && cost(p, 0) == cost(q, 0));
        assert!(
            on_front || dominated || tied,
            "{q} is neither on nor behind the front"
        );
    }
    // The best design on each target has the lowest latency among its feasible points.
    for t in 0..2 {
        let best = &s["best"][t]["design"];
        let min = recs
            .iter()
            .filter(|r| feasible(r, t))
            .map(latency)
            .fold(f64::INFINITY, f64::min);
        assert_eq!(latency(best), min);
    }
    for f in ["pareto.svg", "roofline.svg"] {
        let svg = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(svg.starts_with("<svg"), "{f}");
    }
    // --best: the description and program compile as they are.
    let build = d.join("build");
    let o = systole(&[
        "compile",
        out.join("best.sysq").to_str().unwrap(),
        "--hw",
        out.join("best.ron").to_str().unwrap(),
        "-o",
        build.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A second run into the same directory needs --resume.
    let o = systole(&[
        "sweep",
        &sysq,
        "--space",
        SMALL,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["--resume"]);
}

#[test]
fn shards_merge_into_the_single_run_result_and_resume_skips_finished_points() {
    let d = tmpdir("sweep-shards");
    let sysq = quantized(&d);
    let run = |extra: &[&str], out: &Path| {
        let mut a = vec!["sweep", &sysq, "--space", SMALL, "--json", "--out"];
        a.push(out.to_str().unwrap());
        a.extend(extra);
        json(&systole(&a))
    };
    let single = run(&[], &d.join("single"));
    let n = 3;
    let mut dirs = Vec::new();
    for i in 0..n {
        let dir = d.join(format!("shard{i}"));
        let shard = format!("{i}/{n}");
        let s = run(&["--shard", &shard], &dir);
        assert_eq!(s["space_hash"], single["space_hash"]);
        dirs.push(dir.to_str().unwrap().to_string());
    }
    let merged_dir = d.join("merged");
    let mut a = vec!["sweep", "merge"];
    a.extend(dirs.iter().map(String::as_str));
    a.extend(["--out", merged_dir.to_str().unwrap(), "--json"]);
    let merged = json(&systole(&a));
    for k in [
        "points",
        "feasible",
        "pareto",
        "best",
        "infeasible",
        "space_hash",
    ] {
        assert_eq!(merged[k], single[k], "{k}");
    }
    assert_eq!(records(&merged_dir), records(&d.join("single")));

    // Interrupt: keep the first third of the points and half a line, then resume.
    let resumed_dir = d.join("resumed");
    let first = run(&[], &resumed_dir);
    let text = std::fs::read_to_string(resumed_dir.join("points.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let keep = lines.len() / 3;
    let mut cut: String = lines[..keep].iter().map(|l| format!("{l}\n")).collect();
    cut.push_str(&lines[keep][..lines[keep].len() / 2]);
    std::fs::write(resumed_dir.join("points.jsonl"), cut).unwrap();
    let again = run(&["--resume"], &resumed_dir);
    assert_eq!(again["resumed"].as_u64(), Some(keep as u64));
    assert_eq!(
        again["evaluated"].as_u64(),
        Some(first["points"].as_u64().unwrap() - keep as u64)
    );
    for k in ["points", "feasible", "pareto", "best"] {
        assert_eq!(again[k], first[k], "{k}");
    }
    assert_eq!(records(&resumed_dir), records(&d.join("single")));

    // Shards of another space do not merge.
    let other = d.join("other.ron");
    let text = std::fs::read_to_string(common::repo().join(SMALL)).unwrap();
    std::fs::write(&other, text.replace("rows: [4, 8]", "rows: [4]")).unwrap();
    let odir = d.join("other");
    let o = systole(&[
        "sweep",
        &sysq,
        "--space",
        other.to_str().unwrap(),
        "--shard",
        "0/3",
        "--out",
        odir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = systole(&[
        "sweep",
        "merge",
        &dirs[1],
        odir.to_str().unwrap(),
        "--out",
        d.join("bad-merge").to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["different space", "hash"]);
}

#[test]
fn onnx_allocations_are_quantized_once_each_and_report_accuracy() {
    let d = tmpdir("sweep-onnx");
    let space = d.join("s.ron");
    std::fs::write(
        &space,
        r#"(name: "t", rows: [4], cols: [4], dataflow: [WeightStationary], buffer_kib: [16],
           bits: [(weights: "int8", acts: "int8"), (weights: "int4", acts: "int4")],
           clock_mhz: [100.0], dram_bytes_per_cycle: [8.0])"#,
    )
    .unwrap();
    let out = d.join("out");
    let s = json(&systole(&[
        "sweep",
        "models/digits_cnn.onnx",
        "--space",
        space.to_str().unwrap(),
        "--calib",
        CALIB,
        "--data",
        X,
        "--labels",
        Y,
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]));
    let recs = records(&out);
    assert_eq!(recs.len(), 2);
    let acc: Vec<f64> = recs
        .iter()
        .map(|r| r["accuracy"].as_f64().unwrap())
        .collect();
    let w: Vec<u64> = recs
        .iter()
        .map(|r| r["weight_bits"].as_u64().unwrap())
        .collect();
    assert!(w[1] < w[0], "int4 weights need narrower PEs: {w:?}");
    assert!(acc[0] > acc[1], "int4 loses accuracy: {acc:?}");
    let area: Vec<f64> = recs.iter().map(|r| cost(r, 0)).collect();
    assert!(area[1] < area[0], "narrower PEs take less area: {area:?}");
    // One is smaller, the other more accurate: with accuracy as an axis both are on the front.
    assert_eq!(s["pareto"].as_array().unwrap().len(), 2, "{s}");

    // A budget allocation: the quantizer's per-layer choice at 3 bits per weight on average.
    std::fs::write(
        &space,
        r#"(name: "t", rows: [4], cols: [4], dataflow: [WeightStationary], buffer_kib: [16],
           bits: [(weights: "int8", acts: "int8", avg_bits: Some(3.0))],
           clock_mhz: [100.0], dram_bytes_per_cycle: [8.0])"#,
    )
    .unwrap();
    let out = d.join("budget");
    json(&systole(&[
        "sweep",
        "models/digits_cnn.onnx",
        "--space",
        space.to_str().unwrap(),
        "--calib",
        CALIB,
        "--data",
        X,
        "--labels",
        Y,
        "--part",
        "asic:28nm",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]));
    let r = &records(&out)[0];
    assert_eq!(r["bits"], "avg3/aint8");
    assert!(r["weight_bits"].as_u64().unwrap() < 8, "{r}");
    // An unreachable budget is bad input naming the smallest one.
    std::fs::write(
        &space,
        r#"(name: "t", rows: [4], cols: [4], dataflow: [WeightStationary], buffer_kib: [16],
           bits: [(weights: "int8", acts: "int8", avg_bits: Some(0.5))],
           clock_mhz: [100.0], dram_bytes_per_cycle: [8.0])"#,
    )
    .unwrap();
    let o = systole(&[
        "sweep",
        "models/digits_cnn.onnx",
        "--space",
        space.to_str().unwrap(),
        "--calib",
        CALIB,
        "--out",
        d.join("budget-bad").to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["avg_bits", "smallest achievable"]);
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let d = tmpdir("sweep-bad");
    let sysq = quantized(&d);
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let base = std::fs::read_to_string(common::repo().join(SMALL)).unwrap();
    let empty = write("empty.ron", &base.replace("rows: [4, 8]", "rows: []"));
    let o = systole(&["sweep", &sysq, "--space", &empty]);
    assert_usage_error(&o, &["axis 'rows' is empty"]);
    let dup = write("dup.ron", &base.replace("cols: [4, 8]", "cols: [8, 8]"));
    let o = systole(&["sweep", &sysq, "--space", &dup]);
    assert_usage_error(&o, &["axis 'cols' lists 8 twice"]);
    let range = write("range.ron", &base.replace("rows: [4, 8]", "rows: [0]"));
    let o = systole(&["sweep", &sysq, "--space", &range]);
    assert_usage_error(&o, &["axis 'rows'", "not in"]);
    let bits = write(
        "bits.ron",
        &base.replace(
            "clock_mhz",
            "bits: [(weights: \"int4\", acts: \"int8\")], clock_mhz",
        ),
    );
    let o = systole(&["sweep", &sysq, "--space", &bits]);
    assert_usage_error(&o, &["already quantized"]);
    let o = systole(&["sweep", &sysq, "--space", SMALL, "--part", "virtex2"]);
    assert_usage_error(
        &o,
        &[
            "unknown part 'virtex2'",
            "ice40-up5k",
            "alveo-u250",
            "asic:28nm",
        ],
    );
    for shard in ["3/3", "1/0", "x"] {
        let o = systole(&["sweep", &sysq, "--space", SMALL, "--shard", shard]);
        assert_usage_error(&o, &["--shard"]);
    }
    let o = systole(&["sweep", "models/digits_cnn.onnx", "--space", SMALL]);
    assert_usage_error(&o, &["--calib"]);
    let o = systole(&["sweep", &sysq, "--space", SMALL, "--objective", "speed"]);
    assert_usage_error(&o, &["--objective"]);
    let o = systole(&["sweep", "merge", d.to_str().unwrap(), "--out", "x"]);
    assert_usage_error(&o, &["not a sweep directory"]);
    // --resume into a directory of another space.
    let out = d.join("out");
    let o = systole(&[
        "sweep",
        &sysq,
        "--space",
        SMALL,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let other = write("other.ron", &base.replace("rows: [4, 8]", "rows: [8]"));
    let o = systole(&[
        "sweep",
        &sysq,
        "--space",
        &other,
        "--resume",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["--resume", "hash"]);
}

#[test]
fn results_of_another_format_version_are_refused_on_resume_and_merge() {
    let d = tmpdir("sweep-version");
    let sysq = quantized(&d);
    let out = d.join("out");
    let o = systole(&[
        "sweep",
        &sysq,
        "--space",
        SMALL,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let meta = out.join("sweep.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    assert!(text.contains("\"systole-sweep-1\""), "{text}");
    std::fs::write(
        &meta,
        text.replace("\"systole-sweep-1\"", "\"systole-sweep-99\""),
    )
    .unwrap();
    let o = systole(&[
        "sweep",
        &sysq,
        "--space",
        SMALL,
        "--out",
        out.to_str().unwrap(),
        "--resume",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("sweep.json") && e.contains("systole-sweep-99") && e.contains("systole-sweep-1"),
        "{e}"
    );
    let merged = d.join("merged");
    let o = systole(&[
        "sweep",
        "merge",
        out.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("systole-sweep-99"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&d);
}

/// A `quantize --dynamic` program sweeps like a static one: every point simulated, each
/// design's vector unit given `RowMax` for the exponents.
#[test]
fn a_dynamic_program_sweeps_every_point() {
    let d = tmpdir("sweep-dynamic");
    let sysq = d.join("cnn-dyn.sysq").display().to_string();
    let o = systole(&[
        "quantize",
        "models/digits_cnn.onnx",
        "--calib",
        CALIB,
        "--dynamic",
        "-o",
        &sysq,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = d.join("out");
    let s = json(&systole(&[
        "sweep",
        &sysq,
        "--space",
        SMALL,
        "--data",
        X,
        "--labels",
        Y,
        "--best",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]));
    let n = space_len(SMALL);
    assert_eq!(s["points"].as_u64(), Some(n));
    let recs = records(&out);
    assert_eq!(recs.len() as u64, n);
    assert!(
        recs.iter().all(|r| latency(r) > 0.0),
        "every point simulated"
    );
    let best = std::fs::read_to_string(out.join("best.ron")).unwrap();
    assert!(best.contains("RowMax"), "{best}");
}
