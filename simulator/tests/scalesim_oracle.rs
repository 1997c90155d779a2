//! The fast engine against SCALE-Sim 3.0 itself: `scripts/scalesim-compare.sh` runs SCALE-Sim on
//! topologies of `hw/topologies/` for os/ws/is and keeps its reports in
//! `$SYSTOLE_CACHE/scalesim/<run>/` (CI set) and `$SYSTOLE_CACHE/scalesim-full/` (whole networks,
//! when someone ran `--set full`). Every layer's Total Cycles, utilisation, mapping efficiency,
//! compute utilisation, SRAM reads/writes and SRAM start/stop cycles must be equal (floats to
//! 1e-9 relative: SCALE-Sim averages per fold, Systole uses the closed form).

mod common;

use common::repo;

use std::path::{Path, PathBuf};

use systole_sim::scalesim::{self, ScaleConfig, Topology};

fn cache() -> PathBuf {
    std::env::var_os("SYSTOLE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache"))
}

fn rows(p: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut f: Vec<String> = l.split(',').map(|x| x.trim().to_string()).collect();
            f.pop(); // trailing comma
            f
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn check_run(dir: &Path) -> usize {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let topo_path = PathBuf::from(meta["topology"].as_str().unwrap());
    let topo_path = if topo_path.is_absolute() {
        topo_path
    } else {
        repo().join(topo_path)
    };
    let gemm = meta["gemm"].as_bool().unwrap();
    let cfg = ScaleConfig::load(&dir.join("scale.cfg")).unwrap();
    let topo = Topology::load(&topo_path, gemm).unwrap();
    let run = scalesim::run(&cfg, &topo);
    let comp = rows(&dir.join("COMPUTE_REPORT.csv"));
    let det = rows(&dir.join("DETAILED_ACCESS_REPORT.csv"));
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(comp.len(), run.layers.len(), "{name}: layer count");
    for (l, (c, d)) in run.layers.iter().zip(comp.iter().zip(&det)) {
        let at = format!("{name} layer {} ({})", l.id, l.name);
        let total: u64 = c[2].parse().unwrap();
        let stall: u64 = c[3].parse().unwrap();
        assert_eq!(stall, 0, "{at}: SCALE-Sim reports stalls in CALC mode");
        assert_eq!(l.total_cycles, total, "{at}: Total Cycles");
        for (i, ours) in [
            (4, l.overall_util_pct),
            (5, l.mapping_efficiency_pct),
            (6, l.compute_util_pct),
        ] {
            let theirs: f64 = c[i].parse().unwrap();
            assert!(close(ours, theirs), "{at}: column {i}: {ours} vs {theirs}");
        }
        let sram = [l.sram_ifmap, l.sram_filter, l.sram_ofmap];
        for (j, a) in sram.iter().enumerate() {
            let f = |k: usize| -> f64 { d[1 + 3 * j + k].parse().unwrap() };
            assert_eq!(a.count as f64, f(2), "{at}: SRAM accesses of operand {j}");
            assert_eq!(
                a.start as f64,
                f(0),
                "{at}: SRAM start cycle of operand {j}"
            );
            assert_eq!(a.stop as f64, f(1), "{at}: SRAM stop cycle of operand {j}");
        }
    }
    run.layers.len()
}

#[test]
fn fast_engine_equals_scalesim_3_per_layer() {
    let mut dirs: Vec<PathBuf> = ["scalesim", "scalesim-full"]
        .iter()
        .map(|d| cache().join(d))
        .filter(|d| d.is_dir())
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.join("run.json").exists())
        .collect();
    if !dirs.iter().any(|d| d.starts_with(cache().join("scalesim"))) {
        let msg = format!(
            "{} has no SCALE-Sim runs: run scripts/scalesim-compare.sh",
            cache().join("scalesim").display()
        );
        systole_hw::testing::oracle_missing("SCALE-Sim's reports", &msg);
        return;
    }
    dirs.sort();
    let mut layers = 0;
    for d in &dirs {
        layers += check_run(d);
    }
    eprintln!(
        "{} SCALE-Sim runs, {layers} layers: equal per layer",
        dirs.len()
    );
}
