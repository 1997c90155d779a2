//! `systole verify`: a build directory checked link by link: integer reference, exact
//! simulator, RTL under iverilog and Verilator.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_compiler::backend::read;
use systole_compiler::npy::read_data;
use systole_compiler::reference::int as reference;
use systole_sim::rtl::RtlTool;
use systole_sim::verify::{self, VerifyReport};

use super::io::print_json;
use super::simulate::first_samples;
use super::Failure;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RtlChoice {
    Iverilog,
    Verilator,
    Both,
    /// Reference and simulator only.
    None,
}

/// Check a build directory (from `systole compile`) link by link: the integer reference, the
/// exact simulator (bit for bit) and the RTL of hw/rtl under iverilog and/or Verilator (every
/// tensor bit for bit, every layer cycle for cycle). Exit 1 on any difference.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  systole compile cnn.sysq --hw edge-8x8 -o build/cnn\n  systole verify build/cnn --input models/data/digits_test_x_img.npy\n  systole verify build/cnn --input x.npy --rtl verilator --json"
)]
pub struct Args {
    /// Build directory from `systole compile` (its manifest's hashes are checked first).
    pub build: PathBuf,
    /// Input batch (.npy, float32 `[N, ...]`); the first B samples are used, B = the build's batch.
    #[arg(long)]
    pub input: PathBuf,
    /// Which RTL simulators to run.
    #[arg(long, value_enum, default_value = "both")]
    pub rtl: RtlChoice,
    /// Keep the RTL builds here (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// Print JSON: program, hw, batch, layers[] (index, name, unit, tensor, sim_start_cycle,
    /// sim_cycles, sim_equal, rtl[] {tool, start_cycle, cycles, cycles_equal, equal, mismatch
    /// {layer, tensor, index, expected, got, cycle}}), sim_total_cycles, sim_equal, rtl[] (tool,
    /// total_cycles, equal, cycles_equal, build_seconds, run_seconds), first_failure, equal,
    /// reference_seconds, sim_seconds, seconds.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Out<'a> {
    #[serde(flatten)]
    report: &'a VerifyReport,
    seconds: f64,
}

/// A scratch directory removed when dropped (unless the user named it).
struct Work {
    path: PathBuf,
    remove: bool,
}

impl Drop for Work {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let t0 = Instant::now();
    let b = read::open(&a.build)?;
    let x = read_data(&a.input)?;
    let x = first_samples(x, b.schedule.batch);
    let batch = reference::check_input(&b.program, &x)?;
    if batch != b.schedule.batch {
        return Err(Failure::usage(format!(
            "{}: {batch} samples, the build is scheduled for a batch of {}",
            a.input.display(),
            b.schedule.batch
        )));
    }
    let tools: Vec<RtlTool> = match a.rtl {
        RtlChoice::Iverilog => vec![RtlTool::Iverilog],
        RtlChoice::Verilator => vec![RtlTool::Verilator],
        RtlChoice::Both => vec![RtlTool::Iverilog, RtlTool::Verilator],
        RtlChoice::None => vec![],
    };
    let work = match &a.work {
        Some(p) => Work {
            path: p.clone(),
            remove: false,
        },
        None => Work {
            path: std::env::temp_dir().join(format!("systole-verify-{}", std::process::id())),
            remove: true,
        },
    };
    let tty = std::io::stderr().is_terminal() && !a.json;
    let mut progress = |what: &str| {
        if tty {
            eprintln!("verify: {what} ({:.1} s)", t0.elapsed().as_secs_f64());
        }
    };
    let r = verify::verify(&b, &x, &tools, &work.path, &mut progress)?;
    if a.json {
        print_json(&Out {
            report: &r,
            seconds: t0.elapsed().as_secs_f64(),
        })?;
    } else {
        print_table(&r);
    }
    Ok(if r.equal { 0 } else { 1 })
}

fn mark(e: Option<bool>) -> &'static str {
    match e {
        Some(true) => "equal",
        Some(false) => "DIFFERS",
        None => "-",
    }
}

fn print_table(r: &VerifyReport) {
    println!(
        "verify {} on {} (batch {}): reference vs exact simulator{}",
        r.program,
        r.hw,
        r.batch,
        r.rtl
            .iter()
            .map(|t| format!(" vs {}", t.tool.name()))
            .collect::<String>()
    );
    let mut head = format!(
        "{:>3}  {:<34} {:<7} {:>10} {:>8}",
        "#", "layer", "unit", "cycles", "sim"
    );
    for t in &r.rtl {
        head.push_str(&format!("  {:>10} {:>8}", t.tool.name(), "data"));
    }
    println!("{head}");
    for l in &r.layers {
        let name: String = l
            .name
            .chars()
            .rev()
            .take(34)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let mut line = format!(
            "{:>3}  {:<34} {:<7} {:>10} {:>8}",
            l.index,
            name,
            l.unit,
            l.sim_cycles,
            mark(l.sim_equal)
        );
        for c in &l.rtl {
            let cyc = if c.cycles_equal {
                c.cycles.to_string()
            } else {
                format!("{}!", c.cycles)
            };
            line.push_str(&format!("  {:>10} {:>8}", cyc, mark(c.equal)));
        }
        println!("{line}");
    }
    println!(
        "simulator: {} cycles, {:.3} s",
        r.sim_total_cycles, r.sim_seconds
    );
    for t in &r.rtl {
        println!(
            "{}: {} cycles, build {:.1} s, run {:.3} s ({:.1}x the exact simulator)",
            t.tool.name(),
            t.total_cycles,
            t.build_seconds,
            t.run_seconds,
            t.run_seconds / r.sim_seconds.max(1e-9)
        );
    }
    match &r.first_failure {
        None => println!("all equal"),
        Some(f) => println!("FIRST DIFFERENCE: {f}"),
    }
}
