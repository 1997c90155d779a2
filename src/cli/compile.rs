//! `systole compile`: a quantized program scheduled onto an accelerator, as Verilog-ready files.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_compiler::backend::{self, Inputs, WriteReport};
use systole_compiler::schedule;
use systole_compiler::sysq::SysqFile;

use super::io::print_json;
use super::Failure;

/// Compile a .sysq program for an accelerator: weight ROMs per array column (row for IS) in
/// .mem/.memb/.coe/.mif, per-layer code, codebook and requantization ROMs, the instruction ROM
/// (docs/isa.md) with schedule.ron/json/txt, systole_params.vh and manifest.json.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  systole compile digits_mlp.sysq --hw edge-8x8 -o build/mlp\n  systole compile digits_cnn.sysq --hw hw/presets/edge-16x16.ron -o build/cnn --batch 4 --json"
)]
pub struct Args {
    /// Quantized program (.sysq from `systole quantize`).
    pub program: PathBuf,
    /// Accelerator description (.ron) or a preset name.
    #[arg(long)]
    pub hw: PathBuf,
    /// Build directory (created; an earlier build there is replaced).
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Samples per run the schedule is made for.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub batch: u64,
    /// Build into a directory that holds files Systole did not write (they are kept).
    #[arg(long)]
    pub force: bool,
    /// Address bits of the target's ROMs: a ROM deeper than 2^N words is refused, naming it
    /// (hw/rtl's own ROMs take 32).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub rom_addr_bits: u32,
    /// Print JSON: out, program, hw, batch, files (count), bytes, written[], removed[], kept[],
    /// weight_banks {prefix, count, depth, width}, instructions, layers[] (stage, name,
    /// weights_first_word, weights_words, files, n, k, coding, relu), seconds.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Out<'a> {
    out: String,
    program: String,
    hw: String,
    batch: usize,
    files: usize,
    bytes: u64,
    #[serde(flatten)]
    write: &'a WriteReport,
    weight_banks: &'a backend::WeightBanks,
    instructions: usize,
    layers: serde_json::Value,
    seconds: f64,
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let t0 = Instant::now();
    if a.program.is_dir() {
        return Err(Failure::usage(format!(
            "{}: is a directory; compile takes a .sysq program",
            a.program.display()
        )));
    }
    let bytes = systole_hw::fsio::read_input(&a.program)
        .map_err(|e| Failure::usage(format!("{}: {e}", a.program.display())))?;
    let prog = SysqFile::from_bytes(&a.program, &bytes)?.program;
    systole_sim::rtl::supported(&prog, None, "compile")?;
    let hw = systole_hw::presets::load(&a.hw).map_err(|e| Failure::usage(e.to_string()))?;
    let hw_text: Vec<u8> = match systole_hw::fsio::read_limited(
        &a.hw,
        systole_hw::description::MAX_FILE_BYTES,
        None,
    ) {
        Ok(t) => t,
        Err(_) => {
            a.hw.to_str()
                .and_then(systole_hw::presets::text)
                .map(|t| t.as_bytes().to_vec())
                .unwrap_or_default()
        }
    };
    let file_name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let sched = schedule::schedule(&prog, &hw, a.batch as usize)?;
    let inputs = Inputs {
        program_file: file_name(&a.program),
        program_sha256: backend::sha256_hex(&bytes),
        hw_source: if a.hw.exists() {
            file_name(&a.hw)
        } else {
            format!("preset {}", a.hw.display())
        },
        hw_sha256: backend::sha256_hex(&hw_text),
        tool: format!("systole {}", env!("CARGO_PKG_VERSION")),
        program_bytes: bytes.clone(),
    };
    let build = backend::build(&prog, &sched, &hw, &inputs)?;
    build.check_rom_depths(a.rom_addr_bits)?;
    let report = backend::write(&a.out, &build, a.force)?;
    let m = &build.manifest;
    let total: u64 = build.files.values().map(|b| b.len() as u64).sum();
    let instructions = build
        .files
        .get("rom/instructions.mem")
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    if a.json {
        print_json(&Out {
            out: a.out.display().to_string(),
            program: m.program_name.clone(),
            hw: hw.name.clone(),
            batch: sched.batch,
            files: build.files.len(),
            bytes: total,
            write: &report,
            weight_banks: &m.weight_banks,
            instructions,
            layers: serde_json::to_value(&m.layers).unwrap_or_default(),
            seconds: t0.elapsed().as_secs_f64(),
        })?;
    } else {
        println!(
            "{}: {} on {} ({}x{} {:?}, batch {}): {} files, {} bytes",
            a.out.display(),
            m.program_name,
            hw.name,
            hw.rows,
            hw.cols,
            hw.dataflow,
            sched.batch,
            build.files.len(),
            total
        );
        println!(
            "  {} weight banks ({}N.mem/.memb/.coe/.mif) of {} words x {} bits; {} instructions",
            m.weight_banks.count,
            m.weight_banks.prefix,
            m.weight_banks.depth,
            m.weight_banks.width,
            instructions
        );
        for l in &m.layers {
            println!(
                "  s{} {}: {} x {} {}, words {}..{} in each bank",
                l.stage,
                l.name,
                l.n,
                l.k,
                l.coding,
                l.weights_first_word,
                l.weights_first_word + l.weights_words
            );
        }
        if !report.removed.is_empty() {
            println!(
                "  removed {} file(s) of the earlier build",
                report.removed.len()
            );
        }
        if !report.kept.is_empty() {
            println!(
                "  kept {} file(s) not written by Systole",
                report.kept.len()
            );
        }
    }
    Ok(0)
}
