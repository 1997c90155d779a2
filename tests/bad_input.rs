//! The bad-input table: every CLI verb × every file argument × (missing file, directory instead
//! of a file, empty file, wrong content, truncated file, non-UTF-8 path, and permission denied
//! when not running as root) → exit 2, a message naming the file, no panic text or backtrace,
//! and no output file written.

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo, tmpdir};

/// How a bad file is made from a good one.
#[derive(Clone, Copy, Debug)]
enum Bad {
    Missing,
    Directory,
    Empty,
    WrongContent,
    Truncated,
    NonUtf8Path,
    PermissionDenied,
}

const ALL: [Bad; 7] = [
    Bad::Missing,
    Bad::Directory,
    Bad::Empty,
    Bad::WrongContent,
    Bad::Truncated,
    Bad::NonUtf8Path,
    Bad::PermissionDenied,
];

fn is_root() -> bool {
    // Root reads files whatever their mode: permission-denied cannot be provoked then.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Makes the bad variant of `good` in `dir`; returns the path to pass and a name the message
/// must contain.
fn make(bad: Bad, good: &Path, dir: &Path) -> (PathBuf, String) {
    let ext = good
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = format!("bad_{bad:?}.{ext}").to_lowercase();
    let p = dir.join(&name);
    match bad {
        Bad::Missing => {}
        Bad::Directory => std::fs::create_dir_all(&p).unwrap(),
        Bad::Empty => std::fs::write(&p, b"").unwrap(),
        Bad::WrongContent => {
            std::fs::write(&p, b"\x89PNG\r\n\x1a\n this is not it \xff\xfe").unwrap()
        }
        Bad::Truncated => {
            let bytes = std::fs::read(good).unwrap();
            std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        }
        Bad::NonUtf8Path => {
            let mut raw = dir.as_os_str().to_owned().into_vec();
            raw.extend_from_slice(b"/bad_\xff\xfe.");
            raw.extend_from_slice(ext.as_bytes());
            let p = PathBuf::from(OsString::from_vec(raw));
            std::fs::copy(good, &p).unwrap();
            // The file is fine; only its name is not UTF-8. Truncate it so the content is bad
            // too and the message must name the path.
            let bytes = std::fs::read(good).unwrap();
            std::fs::write(&p, &bytes[..bytes.len() / 3]).unwrap();
            return (p, "bad_".into());
        }
        Bad::PermissionDenied => {
            std::fs::copy(good, &p).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        }
    }
    (p, name)
}

/// One row: a verb, its arguments with `{}` where the bad file goes, the good file it replaces,
/// and the output paths that must not appear.
struct Row {
    verb: &'static str,
    args: Vec<String>,
    good: PathBuf,
    outputs: Vec<PathBuf>,
}

fn rows(work: &Path, sysq: &Path) -> Vec<Row> {
    let r = |p: &str| repo().join(p);
    let s = |p: &Path| p.display().to_string();
    let model = r("models/digits_mlp.onnx");
    let x = r("models/data/digits_test_x.npy");
    let y = r("models/data/digits_test_y.npy");
    let cfg = r("hw/topologies/scale-32x32-ws.cfg");
    let topo = r("hw/topologies/resnet18.csv");
    let out_sysq = work.join("out.sysq");
    let out_dir = work.join("out_dir");
    let out_csv = work.join("out.csv");
    let minilm = std::env::var_os("SYSTOLE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache"))
        .join("minilm");
    let row = |verb: &'static str, args: &[&str], good: &Path, outputs: &[&Path]| Row {
        verb,
        args: args.iter().map(|a| a.to_string()).collect(),
        good: good.to_path_buf(),
        outputs: outputs.iter().map(|p| p.to_path_buf()).collect(),
    };
    vec![
        row("inspect", &["inspect", "{}"], &model, &[]),
        row("run", &["run", "{}", "--input", &s(&x)], &model, &[]),
        row(
            "run --input",
            &["run", &s(&model), "--input", "{}"],
            &x,
            &[],
        ),
        row(
            "quantize",
            &["quantize", "{}", "--calib", &s(&x), "-o", &s(&out_sysq)],
            &model,
            &[&out_sysq],
        ),
        row(
            "quantize --calib",
            &["quantize", &s(&model), "--calib", "{}", "-o", &s(&out_sysq)],
            &x,
            &[&out_sysq],
        ),
        row(
            "eval",
            &["eval", "{}", "--data", &s(&x), "--labels", &s(&y)],
            &model,
            &[],
        ),
        row(
            "eval sysq",
            &["eval", "{}", "--data", &s(&x), "--labels", &s(&y)],
            sysq,
            &[],
        ),
        row(
            "eval --labels",
            &["eval", &s(&model), "--data", &s(&x), "--labels", "{}"],
            &y,
            &[],
        ),
        row(
            "eval --reference",
            &[
                "eval",
                &s(&model),
                "--data",
                &s(&x),
                "--labels",
                &s(&y),
                "--reference",
                "{}",
            ],
            &model,
            &[],
        ),
        row(
            "profile",
            &["profile", "{}", "--calib", &s(&x), "-o", &s(&out_dir)],
            &model,
            &[&out_dir],
        ),
        row(
            "scalesim --config",
            &["scalesim", "--config", "{}", "--topology", &s(&topo)],
            &cfg,
            &[],
        ),
        row(
            "scalesim --topology",
            &["scalesim", "--config", &s(&cfg), "--topology", "{}"],
            &topo,
            &[],
        ),
        row(
            "simulate",
            &[
                "simulate",
                "{}",
                "--hw",
                "edge-8x8",
                "--input",
                &s(&x),
                "--csv",
                &s(&out_csv),
            ],
            sysq,
            &[&out_csv],
        ),
        row(
            "simulate --input",
            &[
                "simulate",
                &s(sysq),
                "--hw",
                "edge-8x8",
                "--input",
                "{}",
                "--csv",
                &s(&out_csv),
            ],
            &x,
            &[&out_csv],
        ),
        row(
            "simulate --hw",
            &["simulate", &s(sysq), "--hw", "{}", "--input", &s(&x)],
            &r("hw/presets/edge-8x8.ron"),
            &[],
        ),
        row(
            "compile",
            &["compile", "{}", "--hw", "edge-8x8", "-o", &s(&out_dir)],
            sysq,
            &[&out_dir],
        ),
        row(
            "compile --hw",
            &["compile", &s(sysq), "--hw", "{}", "-o", &s(&out_dir)],
            &r("hw/presets/edge-8x8.ron"),
            &[&out_dir],
        ),
        row(
            "verify --input",
            &[
                "verify",
                &s(&work.join("build")),
                "--input",
                "{}",
                "--rtl",
                "none",
            ],
            &x,
            &[],
        ),
        row(
            "embed --sentences",
            &[
                "embed",
                &s(&minilm.join("model.onnx")),
                "--tokenizer",
                &s(&minilm.join("tokenizer.json")),
                "--sentences",
                "{}",
                "-o",
                &s(&work.join("emb.npy")),
            ],
            &r("models/text/sentences.tsv"),
            &[&work.join("emb.npy")],
        ),
        row(
            "embed --tokenizer",
            &[
                "embed",
                &s(&minilm.join("model.onnx")),
                "--tokenizer",
                "{}",
                "--text",
                "a cat",
                "-o",
                &s(&work.join("emb.npy")),
            ],
            &minilm.join("tokenizer.json"),
            &[&work.join("emb.npy")],
        ),
        row(
            "sweep",
            &[
                "sweep",
                "{}",
                "--space",
                &s(&r("hw/sweeps/digits-cnn-small.ron")),
                "--out",
                &s(&out_dir),
            ],
            sysq,
            &[&out_dir],
        ),
        row(
            "sweep --space",
            &["sweep", &s(sysq), "--space", "{}", "--out", &s(&out_dir)],
            &r("hw/sweeps/digits-cnn-small.ron"),
            &[&out_dir],
        ),
    ]
}

#[test]
fn every_verb_refuses_every_bad_file_cleanly() {
    let work = tmpdir("bad-input");
    let sysq = work.join("mlp.sysq");
    common::quantize_mlp(&sysq);
    // A build directory for `verify` (its file argument is the input).
    let o = common::systole(&[
        "compile",
        sysq.to_str().unwrap(),
        "--hw",
        "edge-8x8",
        "-o",
        work.join("build").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let root = is_root();
    let mut failures = Vec::new();
    let mut checked = 0;
    let have_minilm = std::env::var_os("SYSTOLE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache"))
        .join("minilm/model.onnx")
        .is_file();
    if !have_minilm {
        systole_hw::testing::oracle_missing(
            ".cache/minilm (the embed rows)",
            "run scripts/setup-minilm.sh",
        );
    }
    for row in rows(&work, &sysq) {
        if row.verb.starts_with("embed") && !have_minilm {
            continue;
        }
        for bad in ALL {
            if matches!(bad, Bad::PermissionDenied) && root {
                continue;
            }
            let dir = work.join(format!("{}-{bad:?}", row.verb.replace([' ', '-'], "_")));
            std::fs::create_dir_all(&dir).unwrap();
            let (path, name) = make(bad, &row.good, &dir);
            let args: Vec<OsString> = row
                .args
                .iter()
                .map(|a| {
                    if a == "{}" {
                        path.clone().into_os_string()
                    } else {
                        OsString::from(a)
                    }
                })
                .collect();
            let o = Command::new(env!("CARGO_BIN_EXE_systole"))
                .args(&args)
                .current_dir(repo())
                .output()
                .unwrap();
            checked += 1;
            let err = String::from_utf8_lossy(&o.stderr);
            let mut why = Vec::new();
            if o.status.code() != Some(2) {
                why.push(format!("exit {:?}", o.status.code()));
            }
            if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
                why.push("panic text".into());
            }
            if !err.contains(&name) {
                why.push(format!("message does not name '{name}'"));
            }
            for out in &row.outputs {
                if out.exists() {
                    why.push(format!("{} was written", out.display()));
                    let _ = std::fs::remove_dir_all(out);
                    let _ = std::fs::remove_file(out);
                }
            }
            if !why.is_empty() {
                failures.push(format!(
                    "{} × {bad:?}: {} — stderr: {}",
                    row.verb,
                    why.join(", "),
                    err.trim().chars().take(300).collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{checked} bad-input cases: exit 2, file named, no panic, nothing written");
}

/// A ROM deeper than the target's ROM address width allows: `compile --rom-addr-bits` refuses it
/// (exit 2) naming the ROM, its depth and what the address reaches, and writes nothing; the same
/// build at a width that reaches every ROM is written.
#[test]
fn compile_refuses_a_rom_deeper_than_the_address_width() {
    let work = tmpdir("bad-input-rom-depth");
    let sysq = work.join("mlp.sysq");
    common::quantize_mlp(&sysq);
    let out = work.join("build");
    let compile = |bits: &str| {
        common::systole(&[
            "compile",
            sysq.to_str().unwrap(),
            "--hw",
            "edge-8x8",
            "--rom-addr-bits",
            bits,
            "-o",
            out.to_str().unwrap(),
        ])
    };
    // The MLP's first layer stores 64 × 64 codes, one per word: 4096 words; 8 bits reach 256.
    let o = compile("8");
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ROM rom/L1_codes.mem is 4096 words deep")
            && err.contains("8 address bits reach 256 words"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "{} was written", out.display());
    // 13 bits reach 8192 words: every ROM fits (the deepest is systole_top's weight ROM, 8
    // banks × 832 words).
    let o = compile("13");
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert!(out.join("manifest.json").is_file());
    let _ = std::fs::remove_dir_all(&work);
}
