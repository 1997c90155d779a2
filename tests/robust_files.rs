//! Files and outputs (issue 18): outputs to devices, pipes and symlinks are written through,
//! never replaced; inputs must be regular files within a size limit (a FIFO or /dev/zero is
//! refused at once); an output that is an input is refused; a failed `profile` leaves nothing;
//! a sweep space's name cannot put the default output directory elsewhere; one `write_atomic`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_usage_error, quantize_mlp, repo, stderr, systole, tmpdir};

const MLP: &str = "models/digits_mlp.onnx";
const X: &str = "models/data/digits_calib_x.npy";

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(unix)]
fn is_char_device(p: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_char_device())
}

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

/// Runs `systole ARGS` in `dir`, killed after `limit` (a FIFO input used to block forever).
fn systole_within(args: &[&str], dir: &Path, limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_systole"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("systole {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A quantized MLP program in `d`.
fn sysq(d: &Path) -> String {
    let p = d.join("mlp.sysq");
    quantize_mlp(&p);
    s(&p)
}

#[cfg(unix)]
#[test]
fn outputs_to_dev_null_and_dev_full_write_through_the_device() {
    if !is_char_device("/dev/null") || !is_char_device("/dev/full") {
        eprintln!("skipped: /dev/null or /dev/full is not a character device here");
        return;
    }
    let d = tmpdir("robust-devices");
    let prog = sysq(&d);
    let sim = |flag: &str, dev: &str| {
        systole(&[
            "simulate", &prog, "--hw", "edge-8x8", "--input", X, "--batch", "2", flag, dev,
        ])
    };
    // Every file output flag, to /dev/null (succeeds) and /dev/full (exit 2 naming it).
    type Case<'a> = (&'static str, Box<dyn Fn(&str) -> Output + 'a>);
    let cases: Vec<Case> = vec![
        (
            "quantize -o",
            Box::new(|dev| systole(&["quantize", MLP, "--calib", X, "-o", dev])),
        ),
        (
            "run --output",
            Box::new(|dev| systole(&["run", MLP, "--input", X, "--output", dev])),
        ),
        ("simulate --output", Box::new(|dev| sim("--output", dev))),
        ("simulate --csv", Box::new(|dev| sim("--csv", dev))),
        (
            "simulate --schedule",
            Box::new(|dev| sim("--schedule", dev)),
        ),
        ("simulate --vcd", Box::new(|dev| sim("--vcd", dev))),
    ];
    for (what, run) in &cases {
        let o = run("/dev/null");
        assert_eq!(o.status.code(), Some(0), "{what} /dev/null: {}", stderr(&o));
        assert!(is_char_device("/dev/null"), "{what} replaced /dev/null");
        let o = run("/dev/full");
        assert_usage_error(&o, &["/dev/full", "No space left on device"]);
        assert!(is_char_device("/dev/full"), "{what} replaced /dev/full");
    }
    // Directory outputs refuse a device, and leave it a device.
    let dir_cases: Vec<Vec<&str>> = vec![
        vec!["compile", &prog, "--hw", "edge-8x8", "-o", "/dev/null"],
        vec!["profile", MLP, "--calib", X, "-o", "/dev/null"],
        vec![
            "scalesim",
            "--config",
            "hw/topologies/scale-32x32-ws.cfg",
            "--topology",
            "hw/topologies/resnet18.csv",
            "-o",
            "/dev/null",
        ],
        vec![
            "sweep",
            &prog,
            "--space",
            "hw/sweeps/digits-cnn-small.ron",
            "--out",
            "/dev/null",
        ],
        vec![
            "simulate",
            &prog,
            "--hw",
            "edge-8x8",
            "--input",
            X,
            "--plot-dir",
            "/dev/null",
        ],
    ];
    for args in &dir_cases {
        let o = systole(args);
        assert_usage_error(&o, &["/dev/null"]);
        assert!(
            is_char_device("/dev/null"),
            "{} replaced /dev/null",
            args[0]
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn outputs_through_symlinks_keep_the_link_and_write_its_target() {
    let d = tmpdir("robust-symlinks");
    std::fs::create_dir_all(d.join("real")).unwrap();
    // A link to an existing file: the file gets the output, the link stays a link.
    let target = d.join("real/out.npy");
    std::fs::write(&target, b"old").unwrap();
    let link = d.join("link.npy");
    std::os::unix::fs::symlink("real/out.npy", &link).unwrap();
    let o = systole(&["run", MLP, "--input", X, "--output", &s(&link)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(is_symlink(&link), "the symlink was replaced by a file");
    assert!(std::fs::read(&target).unwrap().starts_with(b"\x93NUMPY"));
    // A dangling link: its target is created.
    let dangling = d.join("dangling.sysq");
    std::os::unix::fs::symlink("real/new.sysq", &dangling).unwrap();
    let o = systole(&["quantize", MLP, "--calib", X, "-o", &s(&dangling)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(is_symlink(&dangling));
    assert!(d.join("real/new.sysq").is_file());
    assert_eq!(
        std::fs::read_dir(d.join("real")).unwrap().count(),
        2,
        "a temporary file was left beside the target"
    );
    // A link to the process's stdout (what /dev/stdout is): written into the pipe.
    let stdout = d.join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &stdout).unwrap();
    let o = systole(&["quantize", MLP, "--calib", X, "-o", &s(&stdout)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        is_symlink(&stdout),
        "the stdout link was replaced by a file"
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("\"format\""),
        "no program on stdout: {text:.200}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn inputs_that_are_not_regular_files_are_refused_at_once() {
    let d = tmpdir("robust-inputs");
    let prog = sysq(&d);
    let fifo = d.join("fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|st| st.success());
    let limit = Duration::from_secs(60);
    let out = s(&d.join("out"));
    let mut cases: Vec<Vec<String>> = Vec::new();
    for bad in ["/dev/zero", "/dev/urandom"] {
        cases.push(vec!["inspect".into(), bad.into()]);
        cases.push(vec![
            "compile".into(),
            prog.clone(),
            "--hw".into(),
            bad.into(),
            "-o".into(),
            out.clone(),
        ]);
        cases.push(vec![
            "quantize".into(),
            MLP.into(),
            "--calib".into(),
            bad.into(),
            "-o".into(),
            format!("{out}.sysq"),
        ]);
    }
    if made {
        let f = s(&fifo);
        cases.push(vec!["inspect".into(), f.clone()]);
        cases.push(vec!["run".into(), MLP.into(), "--input".into(), f.clone()]);
        cases.push(vec![
            "simulate".into(),
            prog.clone(),
            "--hw".into(),
            f.clone(),
            "--input".into(),
            X.into(),
        ]);
        cases.push(vec![
            "scalesim".into(),
            "--config".into(),
            f.clone(),
            "--topology".into(),
            "hw/topologies/resnet18.csv".into(),
        ]);
        cases.push(vec![
            "sweep".into(),
            prog.clone(),
            "--space".into(),
            f.clone(),
            "--out".into(),
            out.clone(),
        ]);
    }
    for args in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let t0 = Instant::now();
        let o = systole_within(&a, &repo(), limit);
        let bad = a
            .iter()
            .find(|x| x.starts_with("/dev/") || x.ends_with("fifo"));
        assert_usage_error(&o, &[bad.unwrap(), "expected a regular file"]);
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{a:?} took {:?}",
            t0.elapsed()
        );
        assert!(!Path::new(&out).exists(), "{a:?} wrote output");
    }
    // The process-wide limit on input files, and its flag.
    let o = systole(&["--max-file-bytes", "1000", "inspect", MLP]);
    assert_usage_error(&o, &[MLP, "at most 1000 bytes", "--max-file-bytes"]);
    let o = systole(&["--max-file-bytes", "100000000", "inspect", MLP]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let d = tmpdir("robust-same");
    let prog = sysq(&d);
    let model = d.join("m.onnx");
    std::fs::copy(repo().join(MLP), &model).unwrap();
    let x = d.join("x.npy");
    std::fs::copy(repo().join(X), &x).unwrap();
    let before = |p: &Path| std::fs::read(p).unwrap();
    let (m0, x0, p0) = (before(&model), before(&x), before(Path::new(&prog)));
    // Spelled differently (./, a symlink), still the same file.
    let dotted = d.join(".").join("m.onnx");
    #[cfg(unix)]
    let alias = {
        let a = d.join("alias.npy");
        std::os::unix::fs::symlink(&x, &a).unwrap();
        a
    };
    #[cfg(not(unix))]
    let alias = x.clone();
    let cases: Vec<(Vec<String>, [&str; 2])> = vec![
        (
            vec![
                "quantize".into(),
                s(&model),
                "--calib".into(),
                s(&x),
                "-o".into(),
                s(&dotted),
            ],
            ["-o", "MODEL"],
        ),
        (
            vec![
                "quantize".into(),
                s(&model),
                "--calib".into(),
                s(&x),
                "-o".into(),
                s(&alias),
            ],
            ["-o", "--calib"],
        ),
        (
            vec![
                "run".into(),
                s(&model),
                "--input".into(),
                s(&x),
                "--output".into(),
                s(&alias),
            ],
            ["--output", "--input"],
        ),
        (
            vec![
                "simulate".into(),
                prog.clone(),
                "--hw".into(),
                "edge-8x8".into(),
                "--input".into(),
                s(&x),
                "--csv".into(),
                s(&x),
            ],
            ["--csv", "--input"],
        ),
        (
            vec![
                "simulate".into(),
                prog.clone(),
                "--hw".into(),
                "edge-8x8".into(),
                "--input".into(),
                s(&x),
                "--output".into(),
                prog.clone(),
            ],
            ["--output", "PROGRAM"],
        ),
        (
            vec![
                "simulate".into(),
                prog.clone(),
                "--hw".into(),
                "edge-8x8".into(),
                "--input".into(),
                s(&x),
                "--vcd".into(),
                s(&x),
            ],
            ["--vcd", "--input"],
        ),
    ];
    for (args, flags) in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = systole(&a);
        assert_usage_error(&o, &[flags[0], flags[1], "same file"]);
        assert_eq!(before(&model), m0, "{a:?} changed the model");
        assert_eq!(before(&x), x0, "{a:?} changed the input");
        assert_eq!(before(Path::new(&prog)), p0, "{a:?} changed the program");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// The MLP with its first node renamed to 300 characters: `profile` names a plot after it, a
/// name longer than any file system takes.
fn mlp_with_a_long_node_name(path: &Path) {
    use prost::Message;
    let bytes = std::fs::read(repo().join(MLP)).unwrap();
    let mut m = systole_compiler::frontend::proto::ModelProto::decode(bytes.as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    for n in &mut g.node {
        n.name = Some(format!(
            "{}{}",
            "n".repeat(300),
            n.name.clone().unwrap_or_default()
        ));
    }
    std::fs::write(path, m.encode_to_vec()).unwrap();
}

#[test]
fn a_failed_profile_leaves_nothing_behind() {
    let d = tmpdir("robust-profile");
    let model = d.join("long.onnx");
    mlp_with_a_long_node_name(&model);
    // Layer names of 300 characters are cut in the plots' file names (they used to fail).
    let out = d.join("prof");
    let o = systole(&[
        "profile",
        &s(&model),
        "--calib",
        X,
        "-o",
        &s(&out),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.len() > 2, "{names:?}");
    assert!(names.iter().all(|n| n.len() < 100), "{names:?}");
    // A write that fails part way (here a directory where the plot goes) removes what it wrote.
    let out = d.join("blocked");
    std::fs::create_dir_all(out.join("sensitivity.svg").join("x")).unwrap();
    let o = systole(&["profile", MLP, "--calib", X, "-o", &s(&out)]);
    assert_usage_error(&o, &["sensitivity.svg"]);
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["sensitivity.svg".to_string()],
        "profile failed but left files"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_sweep_name_cannot_leave_the_working_directory() {
    let d = tmpdir("robust-sweep-name");
    let prog = sysq(&d);
    let work = d.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let space = std::fs::read_to_string(repo().join("hw/sweeps/digits-cnn-small.ron")).unwrap();
    for name in ["../../escape", "a/b", "/tmp/abs", "..", "."] {
        let p = d.join("space.ron");
        std::fs::write(
            &p,
            space.replace("\"digits-cnn-small\"", &format!("{name:?}")),
        )
        .unwrap();
        let o = systole_within(
            &["sweep", &prog, "--space", &s(&p)],
            &work,
            Duration::from_secs(120),
        );
        assert_usage_error(&o, &["space.ron", "field 'name'", "plain name"]);
        assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0, "{name}");
        assert!(!d.join("escape").exists() && !d.join("sweep-..").exists());
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Every source file of the workspace, for the check below.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn there_is_one_write_atomic() {
    let mut files = Vec::new();
    for d in ["hw/src", "compiler/src", "simulator/src", "src"] {
        sources(&repo().join(d), &mut files);
    }
    let defs: Vec<String> = files
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains(concat!("fn ", "write_atomic"))
        })
        .map(|p| s(p))
        .collect();
    assert_eq!(defs.len(), 1, "{defs:?}");
    assert!(defs[0].ends_with("hw/src/fsio.rs"), "{defs:?}");
}

#[test]
fn force_replaces_a_build_of_another_manifest_version_without_keeping_its_roms() {
    let d = tmpdir("robust-force-old");
    let prog = sysq(&d);
    let out = d.join("build");
    std::fs::create_dir_all(out.join("rom")).unwrap();
    std::fs::write(out.join("rom/stale.mem"), "00\n").unwrap();
    std::fs::write(
        out.join("manifest.json"),
        r#"{"format": "systole-build", "version": 99,
            "files": [{"path": "rom/stale.mem", "bytes": 3, "sha256": "x"}]}"#,
    )
    .unwrap();
    let args = |force: bool| {
        let mut a = vec![
            "compile",
            &prog,
            "--hw",
            "edge-8x8",
            "-o",
            out.to_str().unwrap(),
        ];
        if force {
            a.push("--force");
        }
        systole(&a)
    };
    assert_usage_error(&args(false), &["version 99", "--force"]);
    let o = args(true);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        !out.join("rom/stale.mem").exists(),
        "--force kept a ROM of the older build"
    );
    assert!(out.join("rom/instructions.mem").is_file());
    let _ = std::fs::remove_dir_all(&d);
}
