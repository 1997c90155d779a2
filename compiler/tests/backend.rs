//! The backend's output tree for the digits MLP: independent readers that rebuild the weights
//! from the bank ROMs and the schedule from the instruction ROM. The snapshots of whole builds
//! are in `build_snapshots.rs`.

mod common;

use common::{load_optimized, quantize};

use std::path::{Path, PathBuf};

use systole_compiler::backend::isa::{op, Word, FLAG_ACCUMULATE, FLAG_FINISH};
use systole_compiler::backend::{build, Build, Inputs};
use systole_compiler::fxir::{Program, StageKind};
use systole_compiler::lower::QuantConfig;
use systole_compiler::npy::read_npy;
use systole_compiler::schedule::{schedule, Schedule, Work};
use systole_hw::{presets, Dataflow};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn mlp(cfg: &QuantConfig) -> Program {
    let g = load_optimized(&repo().join("models/digits_mlp.onnx")).unwrap();
    let x = read_npy(&repo().join("models/data/digits_calib_x.npy")).unwrap();
    quantize(&g, &x, cfg, &mut |_, _| {}).unwrap().0
}

fn inputs() -> Inputs {
    Inputs {
        program_file: "digits_mlp.sysq".into(),
        program_sha256: "0".repeat(64),
        hw_source: "preset".into(),
        hw_sha256: "0".repeat(64),
        tool: "systole test".into(),
        program_bytes: b"sysq bytes".to_vec(),
    }
}

fn built(p: &Program, hw: &str, batch: usize) -> (Schedule, Build) {
    let hw = presets::load(hw).unwrap();
    let s = schedule(p, &hw, batch).unwrap();
    let b = build(p, &s, &hw, &inputs()).unwrap();
    (s, b)
}

fn text(b: &Build, f: &str) -> String {
    String::from_utf8(b.files[f].clone()).unwrap()
}

fn hex_words(b: &Build, f: &str) -> Vec<u128> {
    text(b, f)
        .lines()
        .map(|l| u128::from_str_radix(l, 16).unwrap())
        .collect()
}

/// Reads the weights back out of the bank ROMs the way the array consumes them.
fn check_banks(p: &Program, hw: &systole_hw::Accelerator) {
    let s = schedule(p, hw, 2).unwrap();
    let b = build(p, &s, hw, &inputs()).unwrap();
    let banks = b.manifest.weight_banks.count;
    let roms: Vec<Vec<i64>> = (0..banks)
        .map(|i| {
            let w = b.manifest.weight_banks.width;
            hex_words(&b, &format!("{}{i}.mem", b.manifest.weight_banks.prefix))
                .into_iter()
                .map(|v| ((v as i64) << (64 - w)) >> (64 - w))
                .collect()
        })
        .collect();
    let mut at = 0usize;
    for (l, st) in s.layers.iter().zip(&p.stages) {
        let (Work::Array(w), StageKind::Gemm(g)) = (&l.work, &st.kind) else {
            continue;
        };
        let dec = g.weights.decode();
        let mut seen = vec![false; g.n * g.k];
        for step in &w.steps {
            let len = match s.dataflow {
                Dataflow::WeightStationary => s.rows,
                Dataflow::OutputStationary => step.k.len,
                Dataflow::InputStationary => step.n.len,
            };
            for (bank, rom) in roms.iter().enumerate() {
                for i in 0..len {
                    let (kk, nn) = match s.dataflow {
                        Dataflow::WeightStationary => (s.rows - 1 - i, bank),
                        Dataflow::OutputStationary => (i, bank),
                        Dataflow::InputStationary => (bank, i),
                    };
                    let v = rom[at + i];
                    let inside = match s.dataflow {
                        Dataflow::InputStationary => kk < step.k.len,
                        _ => kk < step.k.len && nn < step.n.len,
                    };
                    if inside {
                        let (k, n) = (step.k.start + kk, step.n.start + nn);
                        assert_eq!(v, i64::from(dec[n * g.k + k]), "{} k={k} n={n}", l.name);
                        seen[n * g.k + k] = true;
                    } else {
                        assert_eq!(v, 0, "padding");
                    }
                }
            }
            at += len;
        }
        assert!(seen.iter().all(|&x| x), "{}: every weight streamed", l.name);
    }
    assert_eq!(at, roms[0].len());
}

#[test]
fn weight_banks_hold_every_weight_in_stream_order_for_each_dataflow() {
    let p = mlp(&QuantConfig::default());
    for df in ["WeightStationary", "OutputStationary", "InputStationary"] {
        let text = presets::PRESETS[0].1.replace("WeightStationary", df);
        let hw = systole_hw::Accelerator::from_ron_str(&text, Path::new("t.ron")).unwrap();
        assert_eq!(format!("{:?}", hw.dataflow), df);
        check_banks(&p, &hw);
    }
}

#[test]
fn the_instruction_rom_decodes_to_the_schedule() {
    let p = mlp(&QuantConfig {
        weights: "int4".parse().unwrap(),
        ..QuantConfig::default()
    });
    let (s, b) = built(&p, "edge-16x16", 3);
    let words = hex_words(&b, "rom/instructions.mem");
    assert_eq!(words.len(), s.instructions().len() + 1);
    assert_eq!(Word::decode(*words.last().unwrap()).op, op::END);
    let mut layer = 0;
    for (w, ins) in words.iter().zip(s.instructions()) {
        let d = Word::decode(*w);
        use systole_compiler::schedule::Instr;
        match ins {
            Instr::Layer { index } => {
                layer = index;
                assert_eq!(d.op, op::LAYER);
            }
            Instr::Fold { step } => {
                let Work::Array(a) = &s.layers[layer].work else {
                    panic!()
                };
                let st = &a.steps[step];
                assert_eq!(d.op, op::FOLD);
                assert_eq!(usize::from(d.layer), layer);
                let want = [
                    st.m.start, st.m.len, st.k.start, st.k.len, st.n.start, st.n.len,
                ];
                assert_eq!(d.f.map(|x| x as usize), want);
                assert_eq!(d.flags & FLAG_ACCUMULATE != 0, st.accumulate);
                assert_eq!(d.flags & FLAG_FINISH != 0, st.store > 0);
            }
            Instr::LoadIfmap { step, bytes } => {
                assert_eq!((d.op, d.f[0], d.f[1]), (op::LD_IFMAP, step as u64, bytes))
            }
            Instr::Sync => assert_eq!(d.op, op::SYNC),
            _ => {}
        }
    }
    // int4 codes are packed eight to a 32-bit word.
    let codes = text(&b, "rom/L1_codes.mem");
    assert_eq!(codes.lines().count(), (64 * 64usize).div_ceil(8));
}
