//! Interrupted work (issue 9): `compile` killed with SIGKILL at many points leaves no partial
//! file under a final name, and the next `compile` into the same directory succeeds and gives
//! the same tree as an uninterrupted run; killed at each of 40 points of the swap of a new build
//! over an older one (issue 18), the next `compile`, with or without `--force`, recovers and
//! leaves no file of the older build; a second `compile` into a directory being written is
//! refused, and a killed one's lock does not outlive it. (`sweep --resume` has its own kill
//! test.)

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{quantize_mlp, repo, systole, tmpdir};

/// Every file under `dir` whose name is final (not a hidden staging entry or journal).
fn final_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            // Staging, the journal, and temporary files (`.NAME.systole-tmp-PID-N`, written
            // and renamed whole) are not final names.
            if name.starts_with(".systole-") || name.contains(".systole-tmp-") {
                continue;
            }
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

fn compile_args<'a>(sysq: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "compile", sysq, "--hw", "edge-8x8", "--batch", "1024", "-o", out,
    ]
}

#[test]
fn compile_killed_midway_leaves_no_partial_file() {
    let d = tmpdir("kill-compile");
    let sysq = d.join("cnn.sysq");
    let o = systole(&[
        "quantize",
        "models/digits_cnn.onnx",
        "--calib",
        "models/data/digits_calib_x_img.npy",
        "-o",
        sysq.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let sysq = sysq.to_str().unwrap().to_string();

    // The tree an uninterrupted compile writes, and how long it takes.
    let reference = d.join("reference");
    let t0 = Instant::now();
    let o = systole(&compile_args(&sysq, reference.to_str().unwrap()));
    let full = t0.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let want = final_files(&reference);
    assert!(want.len() > 20 && want.contains_key("manifest.json"));

    // Kill at 8 points spread over the run, into a new directory and over an earlier build
    // (the two ways `compile` writes).
    let mut interrupted = 0;
    for over_earlier in [false, true] {
        for i in 0..8u32 {
            let out = d.join(format!("out-{over_earlier}-{i}"));
            let old = if over_earlier {
                // An earlier, different build in place (batch 1).
                let o = systole(&[
                    "compile",
                    &sysq,
                    "--hw",
                    "edge-8x8",
                    "-o",
                    out.to_str().unwrap(),
                ]);
                assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
                final_files(&out)
            } else {
                BTreeMap::new()
            };
            let mut child = Command::new(env!("CARGO_BIN_EXE_systole"))
                .args(compile_args(&sysq, out.to_str().unwrap()))
                .current_dir(repo())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(full.mul_f64(f64::from(i) / 7.0));
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
            let got = final_files(&out);
            if got != want {
                interrupted += 1;
            }
            for (rel, bytes) in &got {
                // Each final name holds the new build's complete file or the earlier build's
                // complete file: never a part of either.
                assert!(
                    want.get(rel) == Some(bytes) || old.get(rel) == Some(bytes),
                    "kill {i} ({}): {rel} is under its final name but is not the file a \
                     complete compile writes ({} bytes vs {:?})",
                    if over_earlier {
                        "over an earlier build"
                    } else {
                        "new directory"
                    },
                    bytes.len(),
                    want.get(rel).map(|w| w.len())
                );
            }
            if !over_earlier && got.contains_key("manifest.json") {
                assert_eq!(
                    got, want,
                    "kill {i}: a manifest is there but the tree is not complete"
                );
            }
            // The next compile, without --force, finishes the job.
            let o = systole(&compile_args(&sysq, out.to_str().unwrap()));
            assert_eq!(
                o.status.code(),
                Some(0),
                "recompiling after kill {i}: {}",
                common::stderr(&o)
            );
            assert_eq!(
                final_files(&out),
                want,
                "kill {i}: the rebuilt tree differs"
            );
            let leftovers: Vec<String> = std::fs::read_dir(&out)
                .unwrap()
                .chain(std::fs::read_dir(&d).unwrap())
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".systole-"))
                .collect();
            assert!(
                leftovers.is_empty(),
                "kill {i}: staging left behind: {leftovers:?}"
            );
        }
    }
    assert!(
        interrupted > 0,
        "every kill came after compile had finished: nothing was tested"
    );
    let _ = std::fs::remove_dir_all(&d);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Starts `compile` paused before step `step` of its swap (the test hook
/// `SYSTOLE_TEST_PAUSE_AT_SWAP_STEP`), SIGKILLs it there; returns the step count it printed.
fn compile_killed_at_swap_step(args: &[&str], step: u64) -> u64 {
    let (mut child, total) = compile_paused_at_swap_step(args, step);
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
    total
}

/// Starts `compile` and returns it paused before step `step` of its swap, with the step count.
fn compile_paused_at_swap_step(args: &[&str], step: u64) -> (std::process::Child, u64) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_systole"))
        .args(args)
        .current_dir(repo())
        .env("SYSTOLE_TEST_PAUSE_AT_SWAP_STEP", step.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut total = None;
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("swap step ") {
            total = rest
                .split(" of ")
                .nth(1)
                .and_then(|t| t.trim().parse().ok());
            break;
        }
    }
    let total = total.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("compile never reached swap step {step}")
    });
    (child, total)
}

#[test]
fn compile_killed_at_every_point_of_the_swap_recovers() {
    let t0 = Instant::now();
    let d = tmpdir("kill-swap");
    let sysq = d.join("mlp.sysq");
    quantize_mlp(&sysq);
    let sysq = sysq.to_str().unwrap().to_string();
    // The older build: an input-stationary array, whose row ROMs the new (weight-stationary)
    // build does not write, so a kept stale ROM would show.
    let is_hw = d.join("is.ron");
    std::fs::write(
        &is_hw,
        "(name: \"is-4x4\", rows: 4, cols: 4, clock_mhz: 100.0, dataflow: InputStationary)",
    )
    .unwrap();
    let build = |hw: &str, out: &Path| {
        let o = systole(&["compile", &sysq, "--hw", hw, "-o", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        final_files(out)
    };
    let old_dir = d.join("old");
    let old = build(is_hw.to_str().unwrap(), &old_dir);
    let want = build("edge-8x8", &d.join("new"));
    let stale: Vec<&String> = old.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(!stale.is_empty(), "the two builds have the same files");

    let args = |out: &Path| -> Vec<String> {
        [
            "compile",
            &sysq,
            "--hw",
            "edge-8x8",
            "-o",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let probe = d.join("probe");
    copy_tree(&old_dir, &probe);
    let a = args(&probe);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (mut first, total) = compile_paused_at_swap_step(&a, 1);
    assert!(total > 20, "only {total} swap steps");
    // A second compile into the directory the first is writing is refused, not interleaved.
    let o = systole(&a);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("another Systole process is writing this build"),
        "{}",
        common::stderr(&o)
    );
    let _ = first.kill();
    let _ = first.wait();
    // The kernel dropped the killed run's lock: the next compile goes ahead and cleans up.
    let o = systole(&a);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert_eq!(final_files(&probe), want);
    let points = 40u64;
    let mut recovered = 0;
    for i in 0..points {
        // Spread over the whole swap: the journal, every rename, every removal, the end.
        let step = 1 + i * (total - 1) / (points - 1);
        let out = d.join(format!("swap-{i}"));
        copy_tree(&old_dir, &out);
        let a = args(&out);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        compile_killed_at_swap_step(&a, step);
        for (rel, bytes) in &final_files(&out) {
            assert!(
                want.get(rel) == Some(bytes) || old.get(rel) == Some(bytes),
                "kill at swap step {step}/{total}: {rel} is neither build's complete file"
            );
        }
        // Recover: without --force on even points, with it on odd ones.
        let mut a = a.clone();
        if i % 2 == 1 {
            a.push("--force");
        }
        let o = systole(&a);
        assert_eq!(
            o.status.code(),
            Some(0),
            "recompiling after a kill at swap step {step}/{total}: {}",
            common::stderr(&o)
        );
        assert_eq!(
            final_files(&out),
            want,
            "after a kill at swap step {step}/{total}{}, the rebuilt tree differs (stale files \
             of the older build kept?)",
            if i % 2 == 1 { " and --force" } else { "" }
        );
        let leftovers: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .chain(std::fs::read_dir(&d).unwrap())
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".systole-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "step {step}: left behind: {leftovers:?}"
        );
        recovered += 1;
        let _ = std::fs::remove_dir_all(&out);
    }
    assert_eq!(recovered, points);
    eprintln!(
        "{recovered} of {points} kills over {total} swap steps recovered in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// The sweep's records, sorted (points finish in any order).
fn sorted_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn sweep_args(out: &str) -> Vec<&str> {
    vec![
        "sweep",
        "models/digits_cnn.onnx",
        "--calib",
        "models/data/digits_calib_x_img.npy",
        "--space",
        "hw/sweeps/digits-cnn-1k.ron",
        "--out",
        out,
    ]
}

#[test]
fn sweep_killed_midway_resumes_without_losing_or_repeating_a_point() {
    let d = tmpdir("kill-sweep");
    let full = d.join("full");
    let t0 = Instant::now();
    let o = systole(&sweep_args(full.to_str().unwrap()));
    let took = t0.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let want = sorted_lines(&full.join("points.jsonl"));
    assert!(want.len() >= 1000, "{}", want.len());
    let summary = |dir: &Path| {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        (
            v["pareto"].clone(),
            v["feasible"].clone(),
            v["points"].clone(),
        )
    };
    let mut partial = 0;
    for i in 0..6u32 {
        let out = d.join(format!("cut-{i}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_systole"))
            .args(sweep_args(out.to_str().unwrap()))
            .current_dir(repo())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(took.mul_f64(0.3 + f64::from(i) / 8.0));
        let _ = child.kill();
        let _ = child.wait();
        let got = sorted_lines(&out.join("points.jsonl"));
        if got.len() < want.len() {
            partial += 1;
        }
        let mut args = sweep_args(out.to_str().unwrap());
        args.push("--resume");
        let o = systole(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "resume after kill {i}: {}",
            common::stderr(&o)
        );
        assert_eq!(
            sorted_lines(&out.join("points.jsonl")),
            want,
            "kill {i}: the resumed run's points differ from an uninterrupted run's"
        );
        assert_eq!(summary(&out), summary(&full), "kill {i}: summary differs");
    }
    assert!(
        partial > 0,
        "every kill came after the sweep had finished: nothing was tested"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn sweeps_are_identical_across_thread_counts() {
    let d = tmpdir("sweep-threads");
    let mut results = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = d.join(format!("t{threads}"));
        let o = Command::new(env!("CARGO_BIN_EXE_systole"))
            .args(sweep_args(out.to_str().unwrap()))
            .current_dir(repo())
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        let mut summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        // Wall time and the output paths differ by nature; everything else must not.
        for k in ["seconds", "files", "out"] {
            if let Some(o) = summary.as_object_mut() {
                o.remove(k);
            }
        }
        let pareto = std::fs::read_to_string(out.join("pareto.csv")).unwrap();
        results.push((
            sorted_lines(&out.join("points.jsonl")),
            summary.to_string(),
            pareto,
        ));
    }
    for (i, r) in results.iter().enumerate().skip(1) {
        assert!(
            r.0 == results[0].0,
            "points differ between 1 and {} threads",
            i + 1
        );
        assert!(
            r.1 == results[0].1,
            "summary differs between 1 and {} threads",
            i + 1
        );
        assert!(
            r.2 == results[0].2,
            "pareto.csv differs between 1 and {} threads",
            i + 1
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}
