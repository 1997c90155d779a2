//! `systole verify`: the manifest guards the build (a changed, truncated or missing file is
//! named, exit 2), the reference and the exact simulator agree on a bundled model, and the JSON
//! carries the documented fields. The RTL links are exercised by `simulator/tests/rtl_top.rs`
//! and, end to end through this verb, by `verify_rtl_*` below when the tools are present.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_usage_error, systole, tmpdir};

/// `sysq` compiled for edge-8x8 into `dir/build`.
fn compile_edge8(sysq: &Path, dir: &Path) -> PathBuf {
    let build = dir.join("build");
    let o = systole(&[
        "compile",
        sysq.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "-o",
        build.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    build
}

/// The MLP quantized and compiled for edge-8x8 into `dir/build`.
fn mlp_build(dir: &Path) -> PathBuf {
    let sysq = dir.join("mlp.sysq");
    common::quantize_mlp(&sysq);
    compile_edge8(&sysq, dir)
}

fn verify(build: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "verify",
        build.to_str().unwrap(),
        "--input",
        "models/data/digits_test_x.npy",
    ];
    args.extend_from_slice(extra);
    systole(&args)
}

#[test]
fn reference_and_simulator_agree_and_json_has_the_documented_fields() {
    let d = tmpdir("verify-ok");
    let b = mlp_build(&d);
    let o = verify(&b, &["--rtl", "none", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "program",
        "hw",
        "batch",
        "layers",
        "sim_total_cycles",
        "sim_equal",
        "rtl",
        "first_failure",
        "equal",
        "reference_seconds",
        "sim_seconds",
        "seconds",
    ] {
        assert!(v.get(k).is_some(), "missing '{k}' in {v}");
    }
    assert_eq!(v["equal"], true);
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 5);
    assert_eq!(layers[1]["unit"], "array");
    assert_eq!(layers[1]["sim_equal"], true);
    let total: u64 = layers
        .iter()
        .map(|l| l["sim_cycles"].as_u64().unwrap())
        .sum();
    assert_eq!(total, v["sim_total_cycles"].as_u64().unwrap());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_build_changed_after_compile_is_refused_naming_the_file() {
    let d = tmpdir("verify-tamper");
    let b = mlp_build(&d);
    // Same size, one digit changed: only the hash can tell.
    let f = b.join("rom/L1_bias.mem");
    let mut bytes = std::fs::read(&f).unwrap();
    let i = bytes.iter().position(|c| c.is_ascii_hexdigit()).unwrap();
    bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
    std::fs::write(&f, &bytes).unwrap();
    assert_usage_error(
        &verify(&b, &["--rtl", "none"]),
        &["rom/L1_bias.mem", "sha256", "manifest.json"],
    );
    // simulate reads build directories through the same check.
    let o = systole(&[
        "simulate",
        b.to_str().unwrap(),
        "--input",
        "models/data/digits_test_x.npy",
    ]);
    assert_usage_error(&o, &["rom/L1_bias.mem", "sha256"]);
    // Truncated.
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    assert_usage_error(&verify(&b, &["--rtl", "none"]), &["L1_bias.mem", "bytes"]);
    // Missing.
    std::fs::remove_file(&f).unwrap();
    assert_usage_error(
        &verify(&b, &["--rtl", "none"]),
        &["L1_bias.mem", "incomplete"],
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn not_a_build_directory() {
    let d = tmpdir("verify-notbuild");
    let b = mlp_build(&d);
    // A file where the directory should be.
    assert_usage_error(
        &verify(&b.join("hw.ron"), &["--rtl", "none"]),
        &["hw.ron", "is a file"],
    );
    // A directory without a manifest.
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_usage_error(&verify(&empty, &["--rtl", "none"]), &["manifest.json"]);
    // A manifest of another version.
    let mf = b.join("manifest.json");
    let text = std::fs::read_to_string(&mf).unwrap();
    std::fs::write(&mf, text.replacen("\"version\": 1", "\"version\": 99", 1)).unwrap();
    assert_usage_error(&verify(&b, &["--rtl", "none"]), &["manifest version 99"]);
    // Garbage manifest.
    std::fs::write(&mf, "{").unwrap();
    assert_usage_error(
        &verify(&b, &["--rtl", "none"]),
        &["not a Systole build manifest"],
    );
    // An input of the wrong shape.
    std::fs::create_dir_all(d.join("again")).unwrap();
    let b2 = mlp_build(&d.join("again"));
    let o = systole(&[
        "verify",
        b2.to_str().unwrap(),
        "--input",
        "models/data/digits_test_x_img.npy",
        "--rtl",
        "none",
    ]);
    assert_usage_error(&o, &[]);
    let _ = std::fs::remove_dir_all(&d);
}

/// A format the RTL does not support is refused before any tool starts (so this runs without
/// iverilog or Verilator): exit 2, naming the layer, the field and the format.
#[test]
fn a_format_the_rtl_does_not_support_is_refused_naming_it() {
    let d = tmpdir("verify-rtl-format");
    let sysq = d.join("trn.sysq");
    let o = systole(&[
        "quantize",
        "models/digits_mlp.onnx",
        "--calib",
        "models/data/digits_calib_x.npy",
        "--rounding",
        "TRN",
        "-o",
        sysq.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let build = compile_edge8(&sysq, &d);
    assert_usage_error(
        &verify(&build, &["--rtl", "iverilog"]),
        &["requant rounding/overflow", "Trn", "RND and SAT"],
    );
    // The reference and the simulator alone still run it.
    let o = verify(&build, &["--rtl", "none"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let _ = std::fs::remove_dir_all(&d);
}

/// `verify --rtl iverilog` end to end through the CLI, run from the build's parent with relative
/// BUILD_DIR and `--work` paths (the testbench runs in the work directory and must still find
/// the ROMs): every layer equal, exit 0, and the work directory kept.
#[test]
fn verify_rtl_iverilog_with_relative_paths() {
    let have = |t: &str| {
        std::process::Command::new(t)
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("iverilog") && have("vvp")) {
        systole_hw::testing::oracle_missing("iverilog/vvp", "run scripts/test.sh");
        return;
    }
    let d = tmpdir("verify-rtl-relative");
    mlp_build(&d);
    let x = common::repo().join("models/data/digits_test_x.npy");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_systole"))
        .args(["verify", "build", "--input"])
        .arg(&x)
        .args(["--rtl", "iverilog", "--work", "rtl-work", "--json"])
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["equal"], true, "{v}");
    assert_eq!(v["rtl"][0]["tool"], "iverilog", "{v}");
    assert_eq!(v["rtl"][0]["cycles_equal"], true, "{v}");
    assert_eq!(v["rtl"][0]["total_cycles"], v["sim_total_cycles"], "{v}");
    assert!(d.join("rtl-work/iverilog/report.txt").is_file());
    let _ = std::fs::remove_dir_all(&d);
}
