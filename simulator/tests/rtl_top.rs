//! The whole-program RTL (`hw/rtl/systole_top.v`) runs compiled build directories end to end:
//! for the digits MLP and CNN on edge-8x8 and edge-16x16, WS and OS, under Icarus Verilog and
//! Verilator, every tensor the accelerator writes equals the integer reference bit for bit and
//! every layer's start cycle and cycle count equal the exact simulator's (`docs/rtl.md`).
//!
//! Build directories are made in-process with the compiler's APIs. Each configuration builds
//! each simulator once. Without the tools the test prints why and passes, unless
//! `SYSTOLE_REQUIRE_ORACLES=1`. By default (and in CI) it runs all eight configurations;
//! `SYSTOLE_RTL_CONFIGS=mlp-edge-16x16-ws,...` runs a list.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use common::{data, have, load_optimized, quantize, repo, tools_present};

use systole_compiler::backend::{build, write, Inputs};
use systole_compiler::fxir::Program;
use systole_compiler::lower::QuantConfig;
use systole_compiler::reference::int::run_observed;
use systole_compiler::schedule::{schedule, Work};
use systole_compiler::Tensor;
use systole_hw::{presets, Dataflow};
use systole_sim::model::{simulate, Engine};
use systole_sim::rtl::{self, RtlRun, RtlTool};

/// The first sample.
fn first(x: &Tensor) -> Tensor {
    let per = x.len() / x.shape[0];
    let mut shape = x.shape.clone();
    shape[0] = 1;
    Tensor::f32(shape, x.as_f32().unwrap()[..per].to_vec())
}

fn model(name: &str) -> &'static (Program, Tensor) {
    static MLP: OnceLock<(Program, Tensor)> = OnceLock::new();
    static CNN: OnceLock<(Program, Tensor)> = OnceLock::new();
    let (cell, calib, test) = match name {
        "mlp" => (&MLP, "digits_calib_x.npy", "digits_test_x.npy"),
        _ => (&CNN, "digits_calib_x_img.npy", "digits_test_x_img.npy"),
    };
    cell.get_or_init(|| {
        let onnx = repo().join(format!("models/digits_{name}.onnx"));
        let g = load_optimized(&onnx).unwrap();
        let p = quantize(&g, &data(calib), &QuantConfig::default(), &mut |_, _| {})
            .unwrap()
            .0;
        (p, first(&data(test)))
    })
}

/// Compares one RTL run with the reference and the exact simulator; returns the differences.
fn check(
    cfg: &str,
    p: &Program,
    s: &systole_compiler::schedule::Schedule,
    run: &RtlRun,
    expected: &[Vec<i32>],
    sim: &systole_sim::model::SimReport,
) -> Vec<String> {
    let tool = run.tool.name();
    let mut errs = Vec::new();
    for (i, (l, st)) in s.layers.iter().zip(&p.stages).enumerate() {
        let (rl, sl) = (&run.layers[i], &sim.layers[i]);
        if (rl.start_cycle, rl.cycles) != (sl.start_cycle, sl.cycles) {
            errs.push(format!(
                "{cfg} {tool}: layer {i} '{}': RTL starts at {} for {} cycles, the simulator at \
                 {} for {}",
                st.name, rl.start_cycle, rl.cycles, sl.start_cycle, sl.cycles
            ));
        }
        if matches!(l.work, Work::Host { .. } | Work::View) {
            continue;
        }
        let t = p.tensor(st.output);
        let Some(got) = run.tensors.get(&st.output.0) else {
            errs.push(format!("{cfg} {tool}: layer {i} '{}': no tensor", st.name));
            continue;
        };
        let want = &expected[i];
        let per = t.len().max(1);
        if let Some(j) = (0..want.len().max(got.len())).find(|&j| got.get(j) != want.get(j)) {
            errs.push(format!(
                "{cfg} {tool}: layer {i} '{}', tensor '{}': first difference at sample {} index \
                 {}: reference {:?}, RTL {:?} (the layer ran cycles {}..{})",
                st.name,
                t.name,
                j / per,
                j % per,
                want.get(j),
                got.get(j),
                rl.start_cycle,
                rl.start_cycle + rl.cycles
            ));
        }
    }
    if run.total_cycles != sim.total_cycles {
        errs.push(format!(
            "{cfg} {tool}: total {} cycles, the simulator {}",
            run.total_cycles, sim.total_cycles
        ));
    }
    errs
}

fn configs() -> Vec<(&'static str, &'static str, Dataflow)> {
    let mut v = Vec::new();
    for m in ["mlp", "cnn"] {
        for hw in ["edge-8x8", "edge-16x16"] {
            for df in [Dataflow::WeightStationary, Dataflow::OutputStationary] {
                v.push((m, hw, df));
            }
        }
    }
    v
}

#[test]
fn rtl_top_equals_reference_and_simulator() {
    if !tools_present(&[
        ("iverilog", "-V"),
        ("vvp", "-V"),
        ("verilator", "--version"),
    ]) {
        return;
    }
    // All eight by default (`all` says the same); a comma-separated list runs those.
    let only = match std::env::var("SYSTOLE_RTL_CONFIGS") {
        Ok(v) if v != "all" => Some(v),
        _ => None,
    };
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rtl_top");
    let t_all = Instant::now();
    let mut errs = Vec::new();
    let mut ran = 0;
    for (m, hwname, df) in configs() {
        let tag = if df == Dataflow::WeightStationary {
            "ws"
        } else {
            "os"
        };
        let cfg = format!("{m}-{hwname}-{tag}");
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|c| c == cfg))
        {
            continue;
        }
        ran += 1;
        let (p, x) = model(m);
        let mut hw = presets::load(hwname).unwrap();
        hw.dataflow = df;
        let s = schedule(p, &hw, 1).unwrap();
        let dir = root.join(&cfg);
        let _ = std::fs::remove_dir_all(&dir);
        let inputs = Inputs {
            program_file: format!("digits_{m}.sysq"),
            program_sha256: "0".repeat(64),
            hw_source: hwname.into(),
            hw_sha256: "0".repeat(64),
            tool: "systole test".into(),
            program_bytes: Vec::new(),
        };
        let b = build(p, &s, &hw, &inputs).unwrap();
        write(&dir.join("build"), &b, false).unwrap();
        let mut expected = vec![Vec::new(); p.stages.len()];
        run_observed(p, x, &mut |i, y| expected[i] = y.to_vec()).unwrap();
        let t0 = Instant::now();
        let sim = simulate(p, &s, &hw, x, Engine::Exact, None).unwrap().report;
        let exact_s = t0.elapsed().as_secs_f64();
        let runs: Vec<Result<RtlRun, String>> = std::thread::scope(|sc| {
            let hs: Vec<_> = [RtlTool::Iverilog, RtlTool::Verilator]
                .into_iter()
                .map(|tool| {
                    let (dir, s, hw, input, cfg) = (&dir, &s, &hw, &expected[0], &cfg);
                    sc.spawn(move || {
                        rtl::run(
                            &dir.join("build"),
                            p,
                            s,
                            hw,
                            input,
                            tool,
                            &dir.join(tool.name()),
                        )
                        .map_err(|e| format!("{cfg} {}: {e}", tool.name()))
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in runs {
            match r {
                Ok(run) => {
                    eprintln!(
                        "{cfg} {}: {} cycles, build {:.1} s, run {:.2} s (exact engine {:.3} s)",
                        run.tool.name(),
                        run.total_cycles,
                        run.build_seconds,
                        run.run_seconds,
                        exact_s
                    );
                    let found = check(&cfg, p, &s, &run, &expected, &sim);
                    eprintln!(
                        "{cfg} {}: {}",
                        run.tool.name(),
                        if found.is_empty() {
                            "equal".to_string()
                        } else {
                            found.join("\n")
                        }
                    );
                    errs.extend(found);
                }
                Err(e) => {
                    eprintln!("{e}");
                    errs.push(e)
                }
            }
        }
    }
    eprintln!(
        "rtl_top: {ran} configurations, {:.1} s",
        t_all.elapsed().as_secs_f64()
    );
    assert!(
        ran > 0,
        "SYSTOLE_RTL_CONFIGS={:?} names none of the configurations",
        only
    );
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// `verilator --lint-only -Wall` is clean on `systole_top` (with the array core, requantizer,
/// scanner and vector unit) for the MLP and the CNN on edge-8x8 and edge-16x16, WS and OS, and
/// Yosys elaborates it (`proc; check -assert`) for the CNN on edge-8x8 WS.
#[test]
fn rtl_top_lint_clean() {
    if !tools_present(&[("verilator", "--version")]) {
        return;
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rtl_top_lint");
    let srcs: Vec<PathBuf> = rtl::sources()
        .into_iter()
        .filter(|p| !p.ends_with("tb/top_tb.v"))
        .collect();
    for (m, hwname, df) in configs() {
        let (p, _) = model(m);
        let mut hw = presets::load(hwname).unwrap();
        hw.dataflow = df;
        let s = schedule(p, &hw, 1).unwrap();
        let dir = root.join(format!("{m}-{hwname}-{df:?}"));
        let _ = std::fs::remove_dir_all(&dir);
        let inputs = Inputs {
            program_file: "p.sysq".into(),
            program_sha256: "0".repeat(64),
            hw_source: hwname.into(),
            hw_sha256: "0".repeat(64),
            tool: "systole test".into(),
            program_bytes: Vec::new(),
        };
        write(&dir, &build(p, &s, &hw, &inputs).unwrap(), false).unwrap();
        let out = Command::new("verilator")
            .args(["--lint-only", "-Wall", "--unroll-count", "4096"])
            .args(["--unroll-stmts", "1000000"])
            .args(["--top-module", "systole_top"])
            .arg(format!("-I{}", dir.display()))
            .args(&srcs)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && !text.contains("%Warning") && !text.contains("%Error"),
            "verilator -Wall {m} {hwname} {df:?}:\n{text}"
        );
        if m == "cnn"
            && hwname == "edge-8x8"
            && df == Dataflow::WeightStationary
            && have("yosys", "-V")
        {
            let script = format!(
                "read_verilog -I{} {}; hierarchy -check -top systole_top; proc; check -assert",
                dir.display(),
                srcs.iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let y = Command::new("yosys")
                .args(["-q", "-p", &script])
                .output()
                .unwrap();
            assert!(
                y.status.success(),
                "yosys:\n{}{}",
                String::from_utf8_lossy(&y.stdout),
                String::from_utf8_lossy(&y.stderr)
            );
        }
    }
}

/// A build that lost a ROM file is refused naming it, before any tool runs: given a missing
/// `$readmemh` file the simulators only warn, and the controller then never finishes.
#[test]
fn a_missing_rom_is_named_before_the_simulator_starts() {
    let (p, x) = model("mlp");
    let hw = presets::load("edge-8x8").unwrap();
    let s = schedule(p, &hw, 1).unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rtl_top_missing_rom");
    let _ = std::fs::remove_dir_all(&dir);
    let inputs = Inputs {
        program_file: "digits_mlp.sysq".into(),
        program_sha256: "0".repeat(64),
        hw_source: "edge-8x8".into(),
        hw_sha256: "0".repeat(64),
        tool: "systole test".into(),
        program_bytes: Vec::new(),
    };
    let b = build(p, &s, &hw, &inputs).unwrap();
    write(&dir.join("build"), &b, false).unwrap();
    let rom = dir.join("build/rom/L1_mult.mem");
    assert!(rom.is_file(), "the build has no {}", rom.display());
    std::fs::remove_file(&rom).unwrap();
    let mut codes = Vec::new();
    run_observed(p, x, &mut |i, y| {
        if i == 0 {
            codes = y.to_vec()
        }
    })
    .unwrap();
    let run = rtl::run(
        &dir.join("build"),
        p,
        &s,
        &hw,
        &codes,
        RtlTool::Iverilog,
        &dir.join("work"),
    );
    let Err(e) = run else {
        panic!("a build without L1_mult.mem must be refused")
    };
    let msg = e.to_string();
    // The check runs before any tool, so the message is the same with or without iverilog.
    assert!(
        msg.contains("rom/L1_mult.mem") && msg.contains("compile"),
        "{msg}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
