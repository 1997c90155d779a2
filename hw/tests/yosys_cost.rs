//! The FPGA cost model against Yosys: `scripts/rtl-synth.sh` synthesizes small configurations of
//! the array RTL (`synth_xilinx`, `synth_ice40`) and each estimate of LUTs, flip-flops, DSPs and
//! block RAMs must be within ±25 % of Yosys's count (`docs/cost-models.md` has the table).
//!
//! Skipped with a printed reason when yosys is missing, unless `SYSTOLE_REQUIRE_ORACLES` is set (`systole_hw::testing`).

use std::path::Path;
use std::process::Command;

use systole_hw::cost::fpga::{core, ram_blocks, Core, Resources};
use systole_hw::cost::parts;
use systole_hw::Dataflow;

/// The validation set: shapes and widths the model's coefficients were fitted on (xc7: 2×2,
/// 4×4, 8×8 int8 and 4×4 int4; ice40: 2×2, 4×4 int8 and 4×4 int4) and ones that were held out
/// (8×4 int8 on both, 3×5 int6 on xc7, 3×5 int4 on ice40).
const CONFIGS: &[&str] = &[
    "xc7:2x2:8:8",
    "xc7:4x4:8:8",
    "xc7:8x8:8:8",
    "xc7:8x4:8:8",
    "xc7:4x4:4:4",
    "xc7:3x5:6:6",
    "ice40:2x2:8:8",
    "ice40:4x4:8:8",
    "ice40:8x4:8:8",
    "ice40:4x4:4:4",
    "ice40:3x5:4:4",
];

/// The allowed relative difference.
const TOLERANCE: f64 = 0.25;

fn yosys_available() -> bool {
    Command::new("yosys")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn field(line: &serde_json::Value, k: &str) -> u64 {
    line[k]
        .as_u64()
        .unwrap_or_else(|| panic!("rtl-synth.sh line without '{k}': {line}"))
}

/// The model's estimate of what `scripts/synth/systole_synth_top.v` instantiates.
fn estimate(line: &serde_json::Value) -> Resources {
    let part = match line["target"].as_str() {
        Some("xc7") => parts::find("artix7-100t"),
        Some("ice40") => parts::find("ice40-up5k"),
        _ => None,
    }
    .unwrap_or_else(|| panic!("unknown target in {line}"));
    let c = Core {
        rows: field(line, "rows"),
        cols: field(line, "cols"),
        dataflow: Dataflow::WeightStationary,
        in_bits: field(line, "in_w"),
        w_bits: field(line, "w_w"),
        acc_bits: field(line, "acc_w"),
    };
    // Yosys is not told the part's DSP count, so it uses as many as the design has multipliers.
    let mut r = core(&c, part, u64::MAX);
    let depth = field(line, "depth");
    // Two memories with a write port (DMA) and a read port (array).
    for width in [c.rows * c.in_bits, c.cols * c.w_bits] {
        let (bram, large) = ram_blocks(part, width, depth, 2);
        r.bram += bram;
        r.large_ram += large;
    }
    r
}

#[test]
fn fpga_estimates_are_within_25_percent_of_yosys() {
    // `SYSTOLE_SYNTH_JSONL=FILE` compares with an earlier run's output (the same configurations)
    // instead of synthesizing again, for iterating on the model.
    if let Ok(file) = std::env::var("SYSTOLE_SYNTH_JSONL") {
        let text = std::fs::read_to_string(&file).expect("read SYSTOLE_SYNTH_JSONL");
        compare(&text, None);
        return;
    }
    if !yosys_available() {
        systole_hw::testing::oracle_missing(
            "yosys",
            "apt-get install yosys (scripts/test.sh does)",
        );
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/rtl-synth.sh");
    let t0 = std::time::Instant::now();
    let out = Command::new(&script)
        .args(CONFIGS)
        .output()
        .expect("run scripts/rtl-synth.sh");
    assert!(
        out.status.success(),
        "rtl-synth.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    compare(
        &String::from_utf8_lossy(&out.stdout),
        Some(t0.elapsed().as_secs_f64()),
    );
}

fn compare(text: &str, seconds: Option<f64>) {
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("rtl-synth.sh prints JSON lines"))
        .collect();
    if seconds.is_some() {
        assert_eq!(lines.len(), CONFIGS.len(), "one line per configuration");
    }
    let mut failures = Vec::new();
    eprintln!("target config        resource  yosys  model  diff");
    for l in &lines {
        let e = estimate(l);
        let cfg = format!(
            "{} {}x{} {}/{}",
            l["target"].as_str().unwrap_or("?"),
            field(l, "rows"),
            field(l, "cols"),
            field(l, "in_w"),
            field(l, "w_w")
        );
        for (name, model, yosys) in [
            ("lut", e.lut, field(l, "lut")),
            ("ff", e.ff, field(l, "ff")),
            ("dsp", e.dsp, field(l, "dsp")),
            ("bram", e.bram, field(l, "bram")),
        ] {
            let diff = if yosys == 0 {
                if model == 0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                (model as f64 - yosys as f64) / yosys as f64
            };
            eprintln!(
                "{cfg:<20} {name:<8} {yosys:>6} {model:>6} {:>+6.1}%",
                100.0 * diff
            );
            if diff.abs() > TOLERANCE {
                failures.push(format!("{cfg} {name}: yosys {yosys}, model {model}"));
            }
        }
    }
    if let Some(s) = seconds {
        eprintln!("synthesis of {} configurations: {s:.1} s", lines.len());
    }
    assert!(failures.is_empty(), "outside ±25 %: {failures:#?}");
}
