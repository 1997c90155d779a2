//! Issue 18: `.sysq` validation refuses every field outside what the integer reference, the
//! simulator and the RTL implement. A valid program (the int8 digits CNN, quantized the way
//! `systole quantize` does) is edited one field at a time; each edit must be refused by
//! `SysqFile::from_bytes` with a message naming the stage (or tensor), the field, the value and
//! the accepted range. Before the fix every one of these was accepted (and some hung `run` and
//! both simulator engines, or divided by zero in `backend::rom`).

mod common;

use common::{load_optimized, quantize};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use systole_compiler::npy::read_npy;
use systole_compiler::sysq::SysqFile;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The int8 digits CNN as `.sysq` JSON.
fn cnn() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
        let g = load_optimized(&repo().join("models/digits_cnn.onnx")).unwrap();
        let x = read_npy(&repo().join("models/data/digits_calib_x_img.npy")).unwrap();
        let p = quantize(&g, &x, &Default::default(), &mut |_, _| {})
            .unwrap()
            .0;
        serde_json::from_slice(&SysqFile::new(Default::default(), p).to_bytes()).unwrap()
    })
}

/// JSON pointer of the first stage whose kind matches, e.g. `/program/stages/1/kind/Gemm`.
fn stage(v: &Value, kind: &str) -> (String, String) {
    let stages = v["program"]["stages"].as_array().unwrap();
    for (i, s) in stages.iter().enumerate() {
        let k = &s["kind"];
        let hit = match kind {
            "conv" => k["Gemm"]["conv"].is_object(),
            "maxpool" => k["Vector"]["MaxPool"].is_object(),
            _ => unreachable!(),
        };
        if hit {
            let at = match kind {
                "conv" => format!("/program/stages/{i}/kind/Gemm"),
                _ => format!("/program/stages/{i}/kind/Vector/MaxPool"),
            };
            return (at, s["name"].as_str().unwrap().to_string());
        }
    }
    panic!("no {kind} stage")
}

fn read(v: &Value) -> Result<SysqFile, String> {
    SysqFile::from_bytes(Path::new("edited.sysq"), &serde_json::to_vec(v).unwrap())
        .map_err(|e| e.to_string())
}

#[test]
fn every_out_of_range_field_is_refused_naming_stage_field_value_and_range() {
    let base = cnn();
    read(base).expect("the unedited program reads");
    let (conv, conv_name) = stage(base, "conv");
    let (pool, pool_name) = stage(base, "maxpool");
    let cs = conv_name.as_str();
    let ps = pool_name.as_str();
    // (where, the new value, what the message must contain)
    let cases: Vec<(String, Value, Vec<&str>)> = vec![
        // Requantizer: 31 + shift must be 1..=95 (the RTL adds 2^(30 + shift)).
        (
            format!("{conv}/requant/0/shift"),
            json!(-31),
            vec![cs, "channel 0: requant.shift = -31", "-30..=64"],
        ),
        (
            format!("{conv}/requant/0/shift"),
            json!(65),
            vec![cs, "shift 65", "-31..=64"],
        ),
        (
            format!("{conv}/requant/0/m0"),
            json!(12345),
            vec![cs, "channel 0", "multiplier 12345"],
        ),
        // Multiplier 0 with a nonzero shift (quantize_multiplier writes 0 with shift 0).
        (
            format!("{conv}/requant/0/m0"),
            json!(0),
            vec![cs, "requant.m0 = 0 with shift"],
        ),
        // Conv window.
        (
            format!("{conv}/conv/strides"),
            json!([0, 1]),
            vec![cs, "conv.strides[0] = 0", "1.."],
        ),
        (
            format!("{conv}/conv/dilations"),
            json!([1, 0]),
            vec![cs, "conv.dilations[1] = 0", "1.."],
        ),
        (
            format!("{conv}/conv/pad_begin"),
            json!([100, 100]),
            vec![
                cs,
                "conv.pad_begin[0] = 100",
                "0..=2",
                "smaller than the kernel",
            ],
        ),
        // MaxPool window: kernel or stride 0, a kernel of 2^40 (hung run and both engines).
        (
            format!("{pool}/window/kernel"),
            json!([0, 2]),
            vec![ps, "window.kernel[0] = 0", "1..=65536"],
        ),
        (
            format!("{pool}/window/strides"),
            json!([2, 0]),
            vec![ps, "window.strides[1] = 0", "1..=65536"],
        ),
        (
            format!("{pool}/window/kernel"),
            json!([1u64 << 40, 2]),
            vec![ps, "window.kernel[0] = 1099511627776", "1..=65536"],
        ),
        (
            format!("{pool}/window/output"),
            json!([1000, 4]),
            vec![ps, "window.output[0] = 1000", "padding after an input"],
        ),
        // Weight widths: 0 divided by zero in backend::rom; 64 and 255 overflow code ranges.
        (
            format!("{conv}/weights/coding/bits"),
            json!(0),
            vec![cs, "weights.coding.bits = 0", "2..=16"],
        ),
        (
            format!("{conv}/weights/coding/bits"),
            json!(64),
            vec![cs, "weights.coding.bits = 64", "2..=16"],
        ),
        (
            format!("{conv}/weights/coding/bits"),
            json!(255),
            vec![cs, "weights.coding.bits = 255", "2..=16"],
        ),
        // Block (MX) shifts and FP8 shifts outside their ranges.
        (
            format!("{conv}/weights/coding"),
            json!({"coding": "block", "bits": 8, "group": 9, "shifts": vec![63; 16]}),
            vec![cs, "weights.coding.shifts[0] = 63", "0..=16"],
        ),
        (
            format!("{conv}/weights/coding"),
            json!({"coding": "block", "bits": 8, "group": 9, "shifts": vec![-5; 16]}),
            vec![cs, "weights.coding.shifts[0] = -5", "0..=16"],
        ),
        (
            format!("{conv}/weights/coding"),
            json!({"coding": "fp8", "kind": "E4M3", "shifts": vec![64; 16]}),
            vec![cs, "weights.coding.shifts[0] = 64", "-9..=5"],
        ),
        // An activation step of 0 and a shape whose size overflows.
        (
            "/program/tensors/1/format/scale/multiplier".to_string(),
            json!(0),
            vec!["tensor t1", "multiplier = 0"],
        ),
        (
            "/program/tensors/1/shape".to_string(),
            json!([1u64 << 40, 1u64 << 40, 1u64 << 40]),
            vec!["tensor t1", "exceeds the limit", "--max-tensor-elements"],
        ),
    ];
    for (at, v, needles) in cases {
        let mut e = base.clone();
        *e.pointer_mut(&at).unwrap_or_else(|| panic!("no {at}")) = v.clone();
        let msg = match read(&e) {
            Ok(_) => panic!("{at} = {v} was accepted"),
            Err(m) => m,
        };
        assert!(msg.starts_with("edited.sysq: invalid program:"), "{msg}");
        for n in needles {
            assert!(msg.contains(n), "{at} = {v}: expected '{n}' in: {msg}");
        }
    }
}
