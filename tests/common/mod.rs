//! Helpers shared by the CLI tests: run the built binary from the repository root, scratch dirs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub mod onnx;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `systole ARGS` in the repository root.
pub fn systole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_systole"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// A fresh, empty scratch directory for one test.
pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("systole-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a clean user error: exit 2, a message, no panic text.
pub fn assert_usage_error(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
        "{e}"
    );
    for n in needles {
        assert!(e.contains(n), "expected '{n}' in: {e}");
    }
}

/// Quantizes the bundled digits MLP (int8, its calibration set) into `sysq`; asserts success.
pub fn quantize_mlp(sysq: &std::path::Path) {
    let o = systole(&[
        "quantize",
        "models/digits_mlp.onnx",
        "--calib",
        "models/data/digits_calib_x.npy",
        "-o",
        sysq.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Compiles `sysq` for `hw` into `out`; asserts success.
pub fn compile_ok(sysq: &std::path::Path, hw: &str, out: &std::path::Path) {
    let o = systole(&[
        "compile",
        sysq.to_str().unwrap(),
        "--hw",
        hw,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
