//! Build snapshots a reviewer can read (insta, `compiler/tests/snapshots/build_snapshots__*`):
//! for each build, its files (size, sha256 prefix, and the first words of every ROM, which are
//! too big to read), the schedule text, the instruction ROM as a disassembled listing
//! (`backend::listing`) and `systole_params.vh`. Schedules and listings are capped: in each layer
//! the first [`PER_KIND`] lines of each kind, then a count of the rest.
//!
//! Builds: the digits MLP (edge-8x8) and CNN (edge-16x16) at int8; the CNN with a mixed-precision
//! allocation (the one `quantize --act-candidates int4,int8 --budget bitops=1.5M` chose in
//! docs/quantization.md, read as an allocation file); the MLP in hls4ml mode (the `dict`
//! precision of docs/hls4ml.md); and a one-layer BERT-style encoder
//! (`tests/data/tiny_encoder.onnx`, `scripts/gen-test-models.py`), which `compile` does not take
//! yet, so its snapshot is the schedule and the instruction words that schedule encodes to.
//!
//! `cargo insta review` (or `INSTA_UPDATE=always`) accepts changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use systole_compiler::backend::isa;
use systole_compiler::backend::listing::{listing, parse_rom};
use systole_compiler::backend::{build, Build, Inputs};
use systole_compiler::frontend::load_model;
use systole_compiler::fxir::{dump as program_dump, Program};
use systole_compiler::ir::Graph;
use systole_compiler::lower::hls4ml::{lower_hls4ml, Hls4mlPrecision};
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::npy::read_npy;
use systole_compiler::passes::{run_pipeline, PipelineOptions, QUANTIZE_PREP};
use systole_compiler::quant::bitalloc::AllocFile;
use systole_compiler::quant::calibrate::{calibrate, Calibration, TensorStats, BINS};
use systole_compiler::reference::{int, interp};
use systole_compiler::schedule::{dump as schedule_dump, schedule, Schedule};
use systole_compiler::Tensor;
use systole_hw::{presets, Accelerator};

/// Lines of each kind kept per layer in the capped schedule and listing.
const PER_KIND: usize = 2;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The graph `quantize` lowers: the quantize-only passes, then the pipeline.
fn prepared(model: &Path) -> Graph {
    let mut g = load_model(model).unwrap();
    for p in QUANTIZE_PREP {
        (p.run)(&mut g).unwrap();
    }
    run_pipeline(&mut g, &PipelineOptions::default(), |_, _| {}).unwrap();
    g
}

fn quantized(model: &str, calib: &str, cfg: &QuantConfig) -> Program {
    let g = prepared(&repo().join("models").join(model));
    let x = read_npy(&repo().join("models/data").join(calib)).unwrap();
    let cal = calibrate(&g, &x, 64, &mut |_, _| {}).unwrap();
    lower(&g, &cal, cfg).unwrap()
}

fn inputs(program: &str) -> Inputs {
    Inputs {
        program_file: format!("{program}.sysq"),
        program_sha256: "0".repeat(64),
        hw_source: "preset".into(),
        hw_sha256: "0".repeat(64),
        tool: "systole test".into(),
        program_bytes: b"sysq bytes".to_vec(),
    }
}

fn built(p: &Program, hw: &Accelerator, batch: usize) -> Build {
    let s = schedule(p, hw, batch).unwrap();
    s.validate(p).unwrap();
    build(p, &s, hw, &inputs(&p.name)).unwrap()
}

fn preset(name: &str) -> Accelerator {
    presets::load(name).unwrap()
}

fn text(b: &Build, f: &str) -> String {
    String::from_utf8(b.files[f].clone()).unwrap()
}

/// Keeps, in each group (a header line and the lines after it), the first `n` lines of each
/// kind, and closes the group with a count of what it left out.
fn cap(
    text: &str,
    n: usize,
    header: impl Fn(&str) -> bool,
    kind: impl Fn(&str) -> String,
) -> String {
    let mut out = String::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut left: BTreeMap<String, usize> = BTreeMap::new();
    let close = |out: &mut String, left: &mut BTreeMap<String, usize>| {
        if !left.is_empty() {
            let total: usize = left.values().sum();
            let what: Vec<String> = left.iter().map(|(k, c)| format!("{c} {k}")).collect();
            out.push_str(&format!("      … {total} more: {}\n", what.join(", ")));
            left.clear();
        }
    };
    for line in text.lines() {
        if header(line) {
            close(&mut out, &mut left);
            seen.clear();
        } else {
            let k = kind(line);
            let c = seen.entry(k.clone()).or_default();
            *c += 1;
            if *c > n {
                *left.entry(k).or_default() += 1;
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    close(&mut out, &mut left);
    out
}

/// The schedule text, capped: a layer's header is the unindented line; a line's kind is its
/// mnemonic, with `+=` for an accumulating fold.
fn capped_schedule(s: &str) -> String {
    cap(
        s,
        PER_KIND,
        |l| !l.starts_with(' '),
        |l| {
            let m = l.split_whitespace().next().unwrap_or("").to_string();
            if l.ends_with("+=") {
                m + " +="
            } else {
                m
            }
        },
    )
}

/// The listing of `words`, capped: a group starts at each LAYER word; a line's kind is its
/// mnemonic and flags.
fn capped_listing(words: &[u128]) -> String {
    let mnemonic = |l: &str| l.split_whitespace().nth(2).unwrap_or("").to_string();
    cap(
        &listing(words),
        PER_KIND,
        |l| mnemonic(l) == "LAYER",
        |l| {
            let flags = l.split_whitespace().find(|t| t.starts_with("flags="));
            match flags {
                Some(f) => format!("{} {f}", mnemonic(l)),
                None => mnemonic(l),
            }
        },
    )
}

/// Every file of the build: size and sha256 prefix; for each `.mem` ROM its depth and first
/// words (the instruction ROM is in the listing).
fn files(b: &Build) -> String {
    let mut s = String::new();
    for f in &b.manifest.files {
        s.push_str(&format!(
            "{:<28} {:>7} B  {}",
            f.path,
            f.bytes,
            &f.sha256[..16]
        ));
        if f.path.starts_with("rom/")
            && f.path.ends_with(".mem")
            && !f.path.ends_with("instructions.mem")
        {
            let t = text(b, &f.path);
            let words: Vec<&str> = t.lines().collect();
            let first: Vec<&str> = words.iter().take(4).copied().collect();
            s.push_str(&format!(
                "  {:>5} words: {} …",
                words.len(),
                first.join(" ")
            ));
        }
        s.push('\n');
    }
    s
}

/// The four snapshots of a build, named `<name>__files`, `__schedule`, `__instructions` and
/// `__params_vh`.
fn snapshot_build(name: &str, b: &Build) {
    snapshot_stream(name, b);
    snapshot_data(name, b);
}

/// The schedule and the instruction listing.
fn snapshot_stream(name: &str, b: &Build) {
    insta::assert_snapshot!(
        format!("{name}__schedule"),
        capped_schedule(&text(b, "schedule.txt"))
    );
    let words = parse_rom(&text(b, "rom/instructions.mem")).unwrap();
    insta::assert_snapshot!(format!("{name}__instructions"), capped_listing(&words));
}

/// The file table and the parameter header.
fn snapshot_data(name: &str, b: &Build) {
    insta::assert_snapshot!(format!("{name}__files"), files(b));
    insta::assert_snapshot!(format!("{name}__params_vh"), text(b, "systole_params.vh"));
}

#[test]
fn digits_mlp_int8_on_edge_8x8() {
    let p = quantized(
        "digits_mlp.onnx",
        "digits_calib_x.npy",
        &QuantConfig::default(),
    );
    let b = built(&p, &preset("edge-8x8"), 1);
    snapshot_build("digits_mlp", &b);
    // The same inputs give the same bytes.
    assert!(b.files == built(&p, &preset("edge-8x8"), 1).files);
}

#[test]
fn digits_cnn_int8_on_edge_16x16() {
    let p = quantized(
        "digits_cnn.onnx",
        "digits_calib_x_img.npy",
        &QuantConfig::default(),
    );
    snapshot_build("digits_cnn", &built(&p, &preset("edge-16x16"), 1));
}

/// docs/quantization.md, "Bit allocation": `--act-candidates int4,int8`, `bitops=1.5M`.
const MIXED_ALLOC: &str = r#"(
    layers: {
        "digits_cnn/conv1/Conv2D": "int5",
        "digits_cnn/conv2/Conv2D": "int3",
        "digits_cnn/dense/MatMul": "int8",
    },
    acts: {
        "digits_cnn/conv1/Conv2D": "int4",
    },
)"#;

#[test]
fn digits_cnn_mixed_precision_on_edge_16x16() {
    let alloc = AllocFile::from_ron(MIXED_ALLOC).unwrap();
    let mut cfg = QuantConfig::default();
    for (layer, w) in &alloc.layers {
        cfg.layers.entry(layer.clone()).or_default().weights = Some(w.parse().unwrap());
    }
    for (layer, a) in &alloc.acts {
        cfg.layers.entry(layer.clone()).or_default().acts = Some(a.parse().unwrap());
    }
    let p = quantized("digits_cnn.onnx", "digits_calib_x_img.npy", &cfg);
    // Every layer of the allocation is in the program with its format.
    let codings: BTreeMap<String, String> = p
        .gemms()
        .map(|(s, g)| (s.name.clone(), g.weights.coding.label()))
        .collect();
    assert_eq!(codings, alloc.layers);
    insta::assert_snapshot!("digits_cnn_mixed__program", program_dump(&p));
    let b = built(&p, &preset("edge-16x16"), 1);
    snapshot_data("digits_cnn_mixed", &b);
    // The array takes decoded operands of one width, so the folds, the stream and the
    // instruction ROM are the int8 build's (its snapshots); the ROMs and the header differ.
    let int8 = quantized(
        "digits_cnn.onnx",
        "digits_calib_x_img.npy",
        &QuantConfig::default(),
    );
    let b8 = built(&int8, &preset("edge-16x16"), 1);
    for f in ["schedule.txt", "rom/instructions.mem"] {
        assert!(b.files[f] == b8.files[f], "{f}");
    }
}

/// docs/hls4ml.md, the `dict` variant, as `scripts/hls4ml-oracle.py` writes it.
const HLS4ML_DICT: &str = r#"{
 "input": "ap_fixed<10,2,AP_RND,AP_SAT>",
 "layers": [
  {"name": "fc1", "op": "dense", "weight": "ap_fixed<8,2,AP_RND,AP_SAT>", "bias": "ap_fixed<16,6,AP_RND,AP_SAT>",
   "accum": "ap_fixed<32,16>", "result": "ap_fixed<16,6>", "relu_result": "ap_ufixed<8,4,AP_RND_CONV,AP_SAT>"},
  {"name": "fc2", "op": "dense", "weight": "ap_fixed<8,2,AP_RND,AP_SAT>", "bias": "ap_fixed<16,6,AP_RND,AP_SAT>",
   "accum": "ap_fixed<32,16>", "result": "ap_fixed<16,6>", "relu_result": "ap_ufixed<8,4,AP_RND_CONV,AP_SAT>"},
  {"name": "fc3", "op": "dense", "weight": "ap_fixed<8,2,AP_RND,AP_SAT>", "bias": "ap_fixed<16,6,AP_RND,AP_SAT>",
   "accum": "ap_fixed<32,16>", "result": "ap_fixed<16,6,AP_RND,AP_SAT>", "relu_result": null}
 ]
}"#;

#[test]
fn digits_mlp_hls4ml_mode_on_edge_8x8() {
    let prec = Hls4mlPrecision::from_json(HLS4ML_DICT).unwrap();
    let g = prepared(&repo().join("models/digits_mlp.onnx"));
    let p = lower_hls4ml(&g, &prec).unwrap();
    insta::assert_snapshot!("digits_mlp_hls4ml__program", program_dump(&p));
    // The input type is ap_fixed<10,2>: edge-8x8 with 10-bit array inputs.
    let ron = presets::PRESETS[0]
        .1
        .replace("\"edge-8x8\"", "\"edge-8x8-in10\"")
        .replace("    dataflow:", "    input_bits: 10,\n    dataflow:");
    let hw = Accelerator::from_ron_str(&ron, Path::new("edge-8x8-in10.ron")).unwrap();
    assert_eq!((hw.name.as_str(), hw.input_bits), ("edge-8x8-in10", 10));
    snapshot_build("digits_mlp_hls4ml", &built(&p, &hw, 1));
}

/// Activation statistics of the encoder over `samples` (ids, mask), two passes like
/// `quant::calibrate` (range, then histogram).
fn calibrate_encoder(g: &Graph, samples: &[(Vec<i64>, Vec<i64>)]) -> Calibration {
    let mut stats: BTreeMap<String, TensorStats> = BTreeMap::new();
    for pass in 0..2 {
        for (ids, mask) in samples {
            let inputs = BTreeMap::from([
                (
                    "input_ids".to_string(),
                    Tensor::i64(vec![1, ids.len()], ids.clone()),
                ),
                (
                    "attention_mask".to_string(),
                    Tensor::i64(vec![1, mask.len()], mask.clone()),
                ),
            ]);
            interp::run_observed(g, &inputs, &mut |node, outs, _| {
                for (o, t) in node.outputs.iter().zip(outs) {
                    let Some(v) = t.as_f32() else { continue };
                    let s = stats
                        .entry(g.value(*o).name.clone())
                        .or_insert_with(|| TensorStats {
                            min: f64::INFINITY,
                            max: f64::NEG_INFINITY,
                            count: 0,
                            hist: vec![0; BINS],
                        });
                    if pass == 0 {
                        for &x in v {
                            s.min = s.min.min(f64::from(x));
                            s.max = s.max.max(f64::from(x));
                        }
                        s.count += v.len() as u64;
                    } else {
                        let w = s.bin_width();
                        for &x in v {
                            let b = if w > 0.0 {
                                (f64::from(x).abs() / w) as usize
                            } else {
                                0
                            };
                            s.hist[b.min(BINS - 1)] += 1;
                        }
                    }
                }
            })
            .unwrap();
        }
    }
    Calibration {
        stats,
        samples: samples.len(),
        hessians: BTreeMap::new(),
    }
}

#[test]
fn tiny_encoder_w8a8_on_transformer_128x128() {
    let g = prepared(&repo().join("compiler/tests/data/tiny_encoder.onnx"));
    // Eight sequences of six ids in [1, 16), the last ones padded (id 0, mask 0).
    let samples: Vec<(Vec<i64>, Vec<i64>)> = (0..8i64)
        .map(|i| {
            let len = 3 + (i % 4) as usize;
            let ids = (0..6i64)
                .map(|j| {
                    if (j as usize) < len {
                        1 + (i * 5 + j * 3) % 15
                    } else {
                        0
                    }
                })
                .collect();
            let mask = (0..6).map(|j| i64::from(j < len)).collect();
            (ids, mask)
        })
        .collect();
    let cal = calibrate_encoder(&g, &samples);
    let p = lower(&g, &cal, &QuantConfig::default()).unwrap();
    insta::assert_snapshot!("tiny_encoder__program", program_dump(&p));
    // The fixture is not degenerate: the integer program tracks the float graph on the tokens
    // the mask keeps.
    let (ids, mask) = &samples[1];
    let names: Vec<&str> = p.int_inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["input_ids", "attention_mask"]);
    let codes = int::run_int(
        &p,
        &[
            ids.iter().map(|&v| v as i32).collect(),
            mask.iter().map(|&v| v as i32).collect(),
        ],
        1,
        &mut |_, _| {},
    )
    .unwrap();
    let got = int::output_tensor(&p, &codes).to_f32_vec();
    let float = interp::run(
        &g,
        &BTreeMap::from([
            (
                "input_ids".to_string(),
                Tensor::i64(vec![1, 6], ids.clone()),
            ),
            (
                "attention_mask".to_string(),
                Tensor::i64(vec![1, 6], mask.clone()),
            ),
        ]),
    )
    .unwrap();
    let want = float["token_embeddings"].to_f32_vec();
    let kept = 8 * mask.iter().filter(|&&m| m == 1).count();
    let err: f32 = got[..kept]
        .iter()
        .zip(&want[..kept])
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let norm: f32 = want[..kept].iter().map(|b| b * b).sum();
    assert!(
        (err / norm).sqrt() < 0.1,
        "relative rms {}",
        (err / norm).sqrt()
    );
    let hw = presets::load("transformer-128x128").unwrap();
    let s: Schedule = schedule(&p, &hw, 1).unwrap();
    s.validate(&p).unwrap();
    insta::assert_snapshot!(
        "tiny_encoder__schedule",
        capped_schedule(&schedule_dump(&s))
    );
    let words = isa::encode(&s).unwrap();
    insta::assert_snapshot!("tiny_encoder__instructions", capped_listing(&words));
}
