//! `systole simulate`: the exact engine on a bundled model with every output file, the fast
//! engine's equal cycles, and clean errors (exit 2) for bad descriptions and inputs.

mod common;

use common::{assert_usage_error, systole, tmpdir};

fn quantized(dir: &std::path::Path) -> String {
    let p = dir.join("cnn.sysq");
    let o = systole(&[
        "quantize",
        "models/digits_cnn.onnx",
        "--calib",
        "models/data/digits_calib_x_img.npy",
        "-o",
        p.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    p.display().to_string()
}

#[test]
fn exact_and_fast_agree_and_every_file_is_written() {
    let d = tmpdir("simulate");
    let sysq = quantized(&d);
    let f = |n: &str| d.join(n).display().to_string();
    let (csv, sched, out, plots) = (f("layers.csv"), f("schedule.txt"), f("y.npy"), f("plots"));
    let run = |engine: &str| {
        let o = systole(&[
            "simulate",
            &sysq,
            "--hw",
            "edge-8x8",
            "--input",
            "models/data/digits_test_x_img.npy",
            "--batch",
            "16",
            engine,
            "--json",
            "--csv",
            &csv,
            "--schedule",
            &sched,
            "--output",
            &out,
            "--plot-dir",
            &plots,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let exact = run("--exact");
    let fast = run("--fast");
    assert_eq!(exact["engine"], "exact");
    assert_eq!(exact["equal"], true);
    assert!(exact["mismatch"].is_null());
    assert_eq!(exact["batch"], 16);
    assert_eq!(exact["total_cycles"], fast["total_cycles"]);
    let layers = exact["layers"].as_array().unwrap();
    let sum: u64 = layers.iter().map(|l| l["cycles"].as_u64().unwrap()).sum();
    assert_eq!(exact["total_cycles"].as_u64().unwrap(), sum);
    for (a, b) in layers.iter().zip(fast["layers"].as_array().unwrap()) {
        for k in ["name", "cycles", "stall_cycles", "utilization"] {
            assert_eq!(a[k], b[k], "{k}");
        }
    }
    let conv = layers.iter().find(|l| l["unit"] == "array").unwrap();
    assert!(conv["utilization"].as_f64().unwrap() > 0.0);
    assert!(conv["sram"]["ifmap"]["reads"].as_u64().unwrap() > 0);
    assert_eq!(conv["equal"], true);
    assert!(exact["inferences_per_s"].as_f64().unwrap() > 0.0);
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv_text.lines().count(), layers.len() + 1);
    assert!(std::fs::read_to_string(&sched).unwrap().contains("fold"));
    assert!(std::fs::read_to_string(d.join("plots/cycles.svg"))
        .unwrap()
        .contains("<svg"));
    assert!(d.join("plots/utilization.svg").exists());
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
    assert_eq!(exact["files"].as_array().unwrap().len(), 5);
}

#[test]
fn bad_descriptions_and_inputs_exit_2_naming_the_problem() {
    let d = tmpdir("simulate-bad");
    let sysq = quantized(&d);
    let x = "models/data/digits_test_x_img.npy";
    let o = systole(&["simulate", &sysq, "--hw", "no-such-array", "--input", x]);
    assert_usage_error(&o, &["no-such-array", "presets", "edge-8x8"]);
    let bad_hw = d.join("bad.ron");
    std::fs::write(&bad_hw, "(name: \"z\", rows: 0, cols: 4, clock_mhz: 100.0)").unwrap();
    let o = systole(&[
        "simulate",
        &sysq,
        "--hw",
        bad_hw.to_str().unwrap(),
        "--input",
        x,
    ]);
    assert_usage_error(&o, &["rows", "bad.ron"]);
    let df = d.join("df.ron");
    std::fs::write(
        &df,
        "(name: \"z\", rows: 4, cols: 4, clock_mhz: 100.0, dataflow: Diagonal)",
    )
    .unwrap();
    let o = systole(&[
        "simulate",
        &sysq,
        "--hw",
        df.to_str().unwrap(),
        "--input",
        x,
    ]);
    assert_usage_error(&o, &["Diagonal"]);
    // The MLP's flat input is the wrong shape for the CNN.
    let o = systole(&[
        "simulate",
        &sysq,
        "--hw",
        "edge-8x8",
        "--input",
        "models/data/digits_test_x.npy",
    ]);
    assert_usage_error(&o, &["shape"]);
    let small = d.join("small.ron");
    std::fs::write(
        &small,
        "(name: \"tiny-sram\", rows: 64, cols: 64, clock_mhz: 100.0, buffers: Separate(\
         ifmap: (size_kib: 1), filter: (size_kib: 1), ofmap: (size_kib: 1)))",
    )
    .unwrap();
    let o = systole(&[
        "simulate",
        &sysq,
        "--hw",
        small.to_str().unwrap(),
        "--input",
        x,
    ]);
    assert_usage_error(&o, &["conv2", "filter buffer", "KiB"]);
    let o = systole(&[
        "simulate",
        d.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "--input",
        x,
    ]);
    assert_usage_error(&o, &["directory"]);
}

#[test]
fn a_waveform_of_the_whole_model_is_written_and_fast_refuses_it() {
    let d = tmpdir("simulate-vcd");
    let sysq = quantized(&d);
    let vcd = d.join("cnn.vcd");
    let x = "models/data/digits_test_x_img.npy";
    let o = systole(&[
        "simulate",
        &sysq,
        "--hw",
        "edge-8x8",
        "--input",
        x,
        "--batch",
        "1",
        "--vcd",
        vcd.to_str().unwrap(),
        "--vcd-pes",
        "0,0;7,7",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let text = std::fs::read_to_string(&vcd).unwrap();
    assert!(text.starts_with("$version"));
    assert!(text.contains("pe_7_7") && !text.contains("pe_0_7"));
    // Every array layer is announced; the last time stamp is the run's last cycle.
    let layers = j["layers"].as_array().unwrap();
    let arrays = layers.iter().filter(|l| l["unit"] == "array").count();
    assert_eq!(text.matches("$comment\n    layer ").count(), arrays);
    let last: u64 = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix('#').and_then(|t| t.parse().ok()))
        .unwrap();
    let period = 5000; // 200 MHz in ps
    assert_eq!(last / period, j["total_cycles"].as_u64().unwrap());
    assert!(!d.read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp-")));
    let o = systole(&[
        "simulate",
        &sysq,
        "--hw",
        "edge-8x8",
        "--input",
        x,
        "--fast",
        "--vcd",
        vcd.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["--vcd", "exact"]);
    let o = systole(&[
        "simulate",
        &sysq,
        "--hw",
        "edge-8x8",
        "--input",
        x,
        "--vcd",
        "/tmp/x.vcd",
        "--vcd-pes",
        "9,9",
    ]);
    assert_usage_error(&o, &["(9, 9)", "8×8"]);
}

#[test]
fn a_build_directory_simulates_with_its_own_description_and_schedule() {
    let d = tmpdir("simulate-build");
    let sysq = quantized(&d);
    let build = d.join("build");
    let o = systole(&[
        "compile",
        &sysq,
        "--hw",
        "edge-16x16",
        "--batch",
        "3",
        "-o",
        build.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let x = "models/data/digits_test_x_img.npy";
    let o = systole(&["simulate", build.to_str().unwrap(), "--input", x, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (j["hw"].as_str(), j["batch"].as_u64()),
        (Some("edge-16x16"), Some(3))
    );
    assert_eq!(j["equal"], true);
    let direct = systole(&[
        "simulate",
        &sysq,
        "--hw",
        "edge-16x16",
        "--input",
        x,
        "--batch",
        "3",
        "--json",
    ]);
    let k: serde_json::Value = serde_json::from_slice(&direct.stdout).unwrap();
    assert_eq!(j["total_cycles"], k["total_cycles"]);
    let o = systole(&[
        "simulate",
        build.to_str().unwrap(),
        "--input",
        x,
        "--hw",
        "edge-8x8",
    ]);
    assert_usage_error(&o, &["hw.ron", "drop --hw"]);
}

/// `quantize --dynamic`: `simulate` runs the program on both engines with equal cycles, its
/// exponents charged as `RowMax` on edge-16x16's vector unit (the host on edge-8x8, which has
/// none), the exact engine equal to the reference; `compile` still refuses it by stage name.
#[test]
fn dynamic_programs_simulate_with_row_max_and_compile_refuses_them() {
    let d = tmpdir("simulate-dynamic");
    let f = |n: &str| d.join(n).display().to_string();
    let (dynamic, fixed) = (f("mlp-dyn.sysq"), f("mlp.sysq"));
    for (out, extra) in [(&dynamic, Some("--dynamic")), (&fixed, None)] {
        let mut args = vec![
            "quantize",
            "models/digits_mlp.onnx",
            "--calib",
            "models/data/digits_calib_x.npy",
            "-o",
            out,
        ];
        args.extend(extra);
        let o = systole(&args);
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    }
    let run = |sysq: &str, hw: &str, engine: &str| {
        let o = systole(&[
            "simulate",
            sysq,
            "--hw",
            hw,
            "--input",
            "models/data/digits_test_x.npy",
            "--batch",
            "4",
            engine,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let exact = run(&dynamic, "edge-16x16", "--exact");
    let fast = run(&dynamic, "edge-16x16", "--fast");
    assert_eq!(exact["equal"], true, "{}", exact["mismatch"]);
    assert!(exact["total_cycles"].as_u64().unwrap() > 0);
    assert_eq!(exact["total_cycles"], fast["total_cycles"]);
    let layers = exact["layers"].as_array().unwrap();
    let row_max: Vec<&serde_json::Value> = layers
        .iter()
        .filter(|l| l["name"].as_str().unwrap().ends_with("/dynamic-exponent"))
        .collect();
    assert_eq!(row_max.len(), 3, "one exponent per array layer");
    for l in &row_max {
        assert_eq!(l["unit"], "vector", "{l}");
        assert!(l["compute_cycles"].as_u64().unwrap() > 0, "{l}");
        assert_eq!(l["equal"], true, "{l}");
    }
    for l in layers.iter().filter(|l| l["unit"] == "array") {
        assert_eq!(l["equal"], true, "{l}");
    }
    // The dynamic program costs more cycles than the static one (its exponent and quantizer
    // passes), and without RowMax the exponents are host work.
    let stat = run(&fixed, "edge-16x16", "--fast");
    assert!(exact["total_cycles"].as_u64() > stat["total_cycles"].as_u64());
    let host = run(&dynamic, "edge-8x8", "--exact");
    assert_eq!(host["equal"], true);
    for l in host["layers"].as_array().unwrap() {
        if l["name"].as_str().unwrap().ends_with("/dynamic-exponent") {
            assert_eq!(
                (&l["unit"], l["cycles"].as_u64()),
                (&"host".into(), Some(0))
            );
        }
    }
    let o = systole(&["compile", &dynamic, "--hw", "edge-16x16", "-o", &f("build")]);
    assert_usage_error(
        &o,
        &[
            "compile does not take dynamic quantization",
            "/dynamic-exponent'",
        ],
    );
    assert!(!d.join("build").exists(), "compile wrote a build");
}
