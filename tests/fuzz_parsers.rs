//! Structured fuzzing of every parser on stable Rust: proptest mutates real files (the bundled
//! models, descriptions, sweep spaces, SCALE-Sim configs and topologies, `.npy` data, a `.sysq` program) with
//! bit flips, byte overwrites, insertions, deletions, truncation and chunk duplication, and each
//! parser must return (a value or an error), never panic.
//!
//! `SYSTOLE_FUZZ_CASES` sets the cases per target (default 200, what CI runs).
//! `SYSTOLE_FUZZ_SECONDS=600` instead runs batches of 50,000 cases (batch `i` seeded with `i`, so
//! a run is reproducible) until that many seconds have passed: the long runs of
//! `docs/robustness.md` (`cargo test --release --test fuzz_parsers -- --nocapture`).
//! A panic is shrunk by proptest to a small input and reported with the target's name.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases() -> u32 {
    std::env::var("SYSTOLE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// One edit of a seed file.
#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Duplicate(usize, usize),
    /// A boundary value written over 4 bytes (lengths, counts, dims in binary formats).
    Boundary(usize, u32),
}

fn edit() -> impl Strategy<Value = Edit> {
    let pos = any::<usize>();
    prop_oneof![
        (pos, 0u8..8).prop_map(|(p, b)| Edit::Flip(p, b)),
        (pos, any::<u8>()).prop_map(|(p, v)| Edit::Set(p, v)),
        (pos, prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(p, v)| Edit::Insert(p, v)),
        (pos, 1usize..64).prop_map(|(p, n)| Edit::Delete(p, n)),
        pos.prop_map(Edit::Truncate),
        (pos, 1usize..256).prop_map(|(p, n)| Edit::Duplicate(p, n)),
        (
            pos,
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(0x7fff_ffff),
                Just(u32::MAX),
                Just(1 << 16)
            ]
        )
            .prop_map(|(p, v)| Edit::Boundary(p, v)),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let n = b.len().max(1);
        match e {
            Edit::Flip(p, bit) => {
                if !b.is_empty() {
                    b[p % n] ^= 1 << bit;
                }
            }
            Edit::Set(p, v) => {
                if !b.is_empty() {
                    b[p % n] = *v;
                }
            }
            Edit::Insert(p, v) => {
                let at = p % (b.len() + 1);
                b.splice(at..at, v.iter().copied());
            }
            Edit::Delete(p, k) => {
                if !b.is_empty() {
                    let at = p % n;
                    let end = (at + k).min(b.len());
                    b.drain(at..end);
                }
            }
            Edit::Truncate(p) => b.truncate(p % (b.len() + 1)),
            Edit::Duplicate(p, k) => {
                if !b.is_empty() {
                    let at = p % n;
                    let end = (at + k).min(b.len());
                    let chunk = b[at..end].to_vec();
                    b.splice(end..end, chunk);
                }
            }
            Edit::Boundary(p, v) => {
                if b.len() >= 4 {
                    let at = p % (b.len() - 3);
                    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    b
}

fn seeds(files: &[&str]) -> Vec<Vec<u8>> {
    files
        .iter()
        .map(|f| std::fs::read(repo().join(f)).unwrap())
        .collect()
}

fn sysq_seed() -> &'static Vec<u8> {
    static S: OnceLock<Vec<u8>> = OnceLock::new();
    S.get_or_init(|| {
        use systole_flow::load::load_optimized;
        use systole_flow::quantize::quantize;
        let g = load_optimized(&repo().join("models/digits_mlp.onnx")).unwrap();
        let x = systole_compiler::npy::read_npy(&repo().join("models/data/digits_calib_x.npy"))
            .unwrap();
        let p = quantize(&g, &x, &Default::default(), &mut |_, _| {})
            .unwrap()
            .0;
        systole_compiler::sysq::SysqFile::new(Default::default(), p).to_bytes()
    })
}

/// Runs `parse` on mutations of `seeds` (see the module doc for how long); panics fail the test.
fn fuzz(target: &str, seeds: Vec<Vec<u8>>, parse: fn(&[u8])) {
    let t0 = Instant::now();
    let budget = std::env::var("SYSTOLE_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok());
    let strategy = (0..seeds.len(), prop::collection::vec(edit(), 0..6));
    let execs = std::sync::atomic::AtomicU64::new(0);
    let mut batch = 0u64;
    loop {
        let cases = if budget.is_some() { 50_000 } else { cases() };
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&batch.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases,
                failure_persistence: None,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
        );
        let result = runner.run(&strategy, |(which, edits)| {
            let input = apply(&seeds[which], &edits);
            execs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let r = std::panic::catch_unwind(|| parse(&input));
            prop_assert!(r.is_ok(), "{target}: the parser panicked (batch {batch})");
            Ok(())
        });
        if let Err(e) = result {
            panic!("{target}: {e}");
        }
        batch += 1;
        match budget {
            Some(s) if t0.elapsed().as_secs_f64() < s => {}
            _ => break,
        }
    }
    eprintln!(
        "fuzz {target}: {} executions in {:.1} s ({batch} batch(es)), no panic",
        execs.load(std::sync::atomic::Ordering::Relaxed),
        t0.elapsed().as_secs_f64()
    );
}

fn p(name: &str) -> &Path {
    Path::new(name)
}

#[test]
fn fuzz_onnx() {
    fuzz(
        "onnx",
        seeds(&[
            "models/digits_mlp.onnx",
            "models/digits_cnn.onnx",
            "models/digits_cnn_qat4.onnx",
        ]),
        |b| {
            let _ = systole_compiler::frontend::load_model_bytes(b, "fuzz.onnx");
        },
    );
}

#[test]
fn fuzz_accelerator_ron() {
    let s: Vec<Vec<u8>> = systole_hw::presets::PRESETS
        .iter()
        .map(|(_, t)| t.as_bytes().to_vec())
        .collect();
    fuzz("accelerator-ron", s, |b| {
        let _ = systole_hw::Accelerator::from_ron_str(&String::from_utf8_lossy(b), p("f.ron"));
    });
}

#[test]
fn fuzz_sweep_space() {
    let s = seeds(&[
        "hw/sweeps/digits-cnn-small.ron",
        "hw/sweeps/digits-cnn-1k.ron",
        "hw/sweeps/digits-cnn-ice40.ron",
    ]);
    fuzz("sweep-space-ron", s, |b| {
        if let Ok(sp) = systole_flow::sweep::Space::from_ron(&String::from_utf8_lossy(b), "f.ron") {
            // A valid space must also enumerate: its first and last points.
            let n = sp.len();
            if n > 0 {
                let _ = sp.point(0);
                let _ = sp.point(n - 1);
            }
        }
    });
}

#[test]
fn fuzz_scalesim_cfg() {
    fuzz(
        "scalesim-cfg",
        seeds(&["hw/topologies/scale-32x32-ws.cfg"]),
        |b| {
            let _ =
                systole_sim::scalesim::ScaleConfig::parse(&String::from_utf8_lossy(b), p("f.cfg"));
        },
    );
}

#[test]
fn fuzz_scalesim_topology() {
    fuzz(
        "scalesim-csv",
        seeds(&[
            "hw/topologies/resnet18.csv",
            "hw/topologies/bert_base_seq128.csv",
        ]),
        |b| {
            let t = String::from_utf8_lossy(b);
            let _ = systole_sim::scalesim::Topology::parse(&t, p("f.csv"), false);
            let _ = systole_sim::scalesim::Topology::parse(&t, p("f.csv"), true);
        },
    );
}

#[test]
fn fuzz_npy() {
    fuzz(
        "npy",
        {
            // Format 2.0 (a 32-bit header length, where a "4 GB header" hides) beside the
            // bundled files' format 1.0.
            let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
            let mut header =
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".to_string();
            while !(12 + header.len() + 1).is_multiple_of(64) {
                header.push(' ');
            }
            header.push('\n');
            v2.extend((header.len() as u32).to_le_bytes());
            v2.extend(header.as_bytes());
            v2.extend(
                [1.5f32, -2.0, 0.0, 3.0, 4.0, 5.0]
                    .iter()
                    .flat_map(|x| x.to_le_bytes()),
            );
            assert!(systole_compiler::npy::npy_from_bytes(&v2, p("v2.npy")).is_ok());
            let mut s = seeds(&[
                "models/data/digits_test_y.npy",
                "models/data/digits_calib_x_img.npy",
            ]);
            s.push(v2);
            s
        },
        |b| {
            let _ = systole_compiler::npy::npy_from_bytes(b, p("f.npy"));
        },
    );
}

#[test]
fn fuzz_sysq() {
    fuzz("sysq", vec![sysq_seed().clone()], |b| {
        if let Ok(f) = systole_compiler::sysq::SysqFile::from_bytes(p("f.sysq"), b) {
            // A program that reads back must also validate or be refused cleanly.
            let _ = f.program.validate();
        }
    });
}

/// A real build of the int8 digits MLP on `edge-8x8` (batch 1 and 3), made in memory the way
/// `systole compile` makes it: its program and the bytes of `schedule.json` and
/// `manifest.json`, the seeds of the build-directory parsers (`backend::read`).
/// The program, the schedules' bytes and the manifests' bytes.
type BuildSeeds = (systole_compiler::fxir::Program, Vec<Vec<u8>>, Vec<Vec<u8>>);

fn build_seeds() -> &'static BuildSeeds {
    static S: OnceLock<BuildSeeds> = OnceLock::new();
    S.get_or_init(|| {
        use systole_compiler::backend;
        let sysq = sysq_seed().clone();
        let prog = systole_compiler::sysq::SysqFile::from_bytes(p("f.sysq"), &sysq)
            .unwrap()
            .program;
        let hw_text = systole_hw::presets::text("edge-8x8").unwrap();
        let hw = systole_hw::Accelerator::from_ron_str(hw_text, p("edge-8x8.ron")).unwrap();
        let (mut scheds, mut manifests) = (Vec::new(), Vec::new());
        for batch in [1, 3] {
            let s = systole_compiler::schedule::schedule(&prog, &hw, batch).unwrap();
            let inputs = backend::Inputs {
                program_file: "mlp.sysq".into(),
                program_sha256: backend::sha256_hex(&sysq),
                hw_source: "preset edge-8x8".into(),
                hw_sha256: backend::sha256_hex(hw_text.as_bytes()),
                tool: "systole fuzz".into(),
                program_bytes: sysq.clone(),
            };
            let b = backend::build(&prog, &s, &hw, &inputs).unwrap();
            scheds.push(b.files["schedule.json"].clone());
            manifests.push(b.files["manifest.json"].clone());
        }
        (prog, scheds, manifests)
    })
}

#[test]
fn fuzz_build_schedule() {
    let (_, scheds, _) = build_seeds();
    // The unmutated seeds read back.
    for s in scheds {
        systole_compiler::backend::read::parse_schedule(p("schedule.json"), s, &build_seeds().0)
            .unwrap();
    }
    fuzz("build-schedule-json", scheds.clone(), |b| {
        let _ = systole_compiler::backend::read::parse_schedule(
            p("schedule.json"),
            b,
            &build_seeds().0,
        );
    });
}

#[test]
fn fuzz_build_manifest() {
    let (_, _, manifests) = build_seeds();
    for m in manifests {
        systole_compiler::backend::read::parse_manifest(p("manifest.json"), m).unwrap();
    }
    fuzz("build-manifest-json", manifests.clone(), |b| {
        let _ = systole_compiler::backend::read::parse_manifest(p("manifest.json"), b);
    });
}
