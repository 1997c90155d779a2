//! `systole compile`: byte-identical builds across runs and thread counts, the build directory's
//! ownership rules (user files kept, never overwritten), stale files of an earlier build
//! removed, and clean errors.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{assert_usage_error, repo, systole, tmpdir};

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Quantizes and compiles the MLP with `threads` rayon threads, into `dir`.
fn quantize_and_compile(dir: &Path, threads: &str) {
    let sysq = dir.join("mlp.sysq");
    for args in [
        vec![
            "quantize",
            "models/digits_mlp.onnx",
            "--calib",
            "models/data/digits_calib_x.npy",
            "-o",
            sysq.to_str().unwrap(),
        ],
        vec![
            "compile",
            sysq.to_str().unwrap(),
            "--hw",
            "edge-8x8",
            "-o",
            dir.join("build").to_str().unwrap(),
        ],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_systole"))
            .args(&args)
            .current_dir(repo())
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    }
}

#[test]
fn builds_are_byte_identical_across_runs_and_thread_counts() {
    let a = tmpdir("compile-det-1");
    let b = tmpdir("compile-det-2");
    quantize_and_compile(&a, "1");
    quantize_and_compile(&b, "2");
    let (ta, tb) = (tree(&a.join("build")), tree(&b.join("build")));
    assert!(ta.len() > 40, "{} files", ta.len());
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(v == &tb[k], "{k} differs between runs");
    }
    let m: serde_json::Value = serde_json::from_slice(&ta["manifest.json"]).unwrap();
    assert_eq!(m["format"], "systole-build");
    assert_eq!(m["files"].as_array().unwrap().len(), ta.len() - 1);
}

#[test]
fn the_build_directory_keeps_user_files_and_replaces_its_own() {
    let d = tmpdir("compile-own");
    quantize_and_compile(&d, "2");
    let build = d.join("build");
    let sysq = d.join("mlp.sysq");
    let compile = |hw: &str, extra: &[&str]| {
        let mut args = vec!["compile", sysq.to_str().unwrap(), "--hw", hw, "-o"];
        args.push(build.to_str().unwrap());
        args.extend(extra);
        args.push("--json");
        systole(&args)
    };
    // Rebuilding over our own build is fine; an IS array has row banks, so column ROMs go.
    let is_hw = d.join("is.ron");
    std::fs::write(
        &is_hw,
        "(name: \"is-4x4\", rows: 4, cols: 4, clock_mhz: 100.0, dataflow: InputStationary)",
    )
    .unwrap();
    let o = compile(is_hw.to_str().unwrap(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!j["removed"].as_array().unwrap().is_empty());
    assert!(!build.join("rom/weights_col0.mem").exists());
    assert!(build.join("rom/weights_row0.mem").exists());
    // A user's file refuses the build without --force, and is kept with it.
    std::fs::write(build.join("notes.txt"), "mine").unwrap();
    assert_usage_error(&compile("edge-8x8", &[]), &["notes.txt", "--force"]);
    let o = compile("edge-8x8", &["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert_eq!(
        std::fs::read_to_string(build.join("notes.txt")).unwrap(),
        "mine"
    );
    // A user's file where the build writes one is never overwritten, even with --force.
    let fresh = d.join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("systole_params.vh"), "// mine").unwrap();
    let o = systole(&[
        "compile",
        sysq.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "-o",
        fresh.to_str().unwrap(),
        "--force",
    ]);
    assert_usage_error(&o, &["systole_params.vh", "never overwrites"]);
    assert_eq!(
        std::fs::read_to_string(fresh.join("systole_params.vh")).unwrap(),
        "// mine"
    );
    // A build of another manifest version is refused by name, not overwritten.
    let old = d.join("old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(
        old.join("manifest.json"),
        r#"{"format": "systole-build", "version": 99, "files": []}"#,
    )
    .unwrap();
    let o = systole(&[
        "compile",
        sysq.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "-o",
        old.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["manifest.json", "version 99", "version 1"]);
    // No staging directory is left behind.
    assert!(std::fs::read_dir(&build).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".systole")));
}

#[test]
fn bad_inputs_exit_2() {
    let d = tmpdir("compile-bad");
    let out = d.join("b");
    let o = systole(&[
        "compile",
        "nope.sysq",
        "--hw",
        "edge-8x8",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["nope.sysq"]);
    let junk = d.join("junk.sysq");
    std::fs::write(&junk, b"not a sysq").unwrap();
    let o = systole(&[
        "compile",
        junk.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["junk.sysq"]);
    assert!(!out.exists(), "nothing written on a failed compile");
    let file = d.join("a-file");
    std::fs::write(&file, "x").unwrap();
    quantize_and_compile(&d, "1");
    let o = systole(&[
        "compile",
        d.join("mlp.sysq").to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_usage_error(&o, &["a-file", "not a directory"]);
}
