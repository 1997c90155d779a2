//! `systole scalesim`: a SCALE-Sim 3.0 run (config + topology) on the fast engine, with
//! SCALE-Sim's report files; `--engine exact` also runs every layer on the exact engine with
//! pseudo-random int8 operands and checks its output and cycles.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_sim::exact;
use systole_sim::scalesim::{self, dataflow_name, ScaleConfig, ScaleRun, Topology};

use super::io::print_json;
use super::Failure;

/// Run a SCALE-Sim 3.0 config and topology on Systole's fast engine (ideal memory) and write
/// SCALE-Sim's COMPUTE, BANDWIDTH and DETAILED_ACCESS reports.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  systole scalesim --config hw/topologies/scale-32x32-ws.cfg --topology hw/topologies/resnet18.csv -o out/\n  systole scalesim --config hw/topologies/scale-32x32-ws.cfg --topology hw/topologies/bert_base_seq128.csv --gemm --json"
)]
pub struct Args {
    /// SCALE-Sim 3.0 .cfg (sections general, architecture_presets, layout, sparsity, run_presets).
    #[arg(long)]
    pub config: PathBuf,
    /// Topology .csv: convolution rows, or M, N, K rows with --gemm.
    #[arg(long)]
    pub topology: PathBuf,
    /// The topology holds GEMMs (Layer name, M, N, K,).
    #[arg(long)]
    pub gemm: bool,
    /// Write COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv here.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// fast: closed form (SCALE-Sim's model). exact: also simulate every layer per PE and per
    /// cycle on pseudo-random int8 operands; its output must equal the integer product and its
    /// cycles the fast engine's (exit 1 otherwise).
    #[arg(long, value_enum, default_value_t = Engine::Fast)]
    pub engine: Engine,
    /// Print JSON: engine, run_name, topology, array {rows, cols, dataflow}, layers[] (id, name,
    /// m, k, n, macs, folds, cycles, stall_cycles, scalesim_total_cycles, utilization,
    /// mapping_efficiency, compute_utilization, ifmap_sram_reads, filter_sram_reads,
    /// ofmap_sram_writes, exact), total_cycles, total_macs, utilization, reports, seconds,
    /// pe_updates, pe_updates_per_second, exact.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Fast,
    Exact,
}

#[derive(Serialize)]
struct Array {
    rows: usize,
    cols: usize,
    dataflow: &'static str,
}

#[derive(Serialize)]
struct LayerOut {
    id: usize,
    name: String,
    m: u64,
    k: u64,
    n: u64,
    macs: u64,
    folds: u64,
    cycles: u64,
    stall_cycles: u64,
    scalesim_total_cycles: u64,
    utilization: f64,
    mapping_efficiency: f64,
    compute_utilization: f64,
    ifmap_sram_reads: u64,
    filter_sram_reads: u64,
    ofmap_sram_writes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exact: Option<ExactLayer>,
}

/// One layer on the exact engine.
#[derive(Serialize, Clone, Copy)]
struct ExactLayer {
    /// Cycles measured by the exact engine (equal to `cycles`, or the run failed).
    cycles: u64,
    /// Time of `exact::run_gemm_on` alone.
    seconds: f64,
    /// The `i32`-accumulator path ran.
    narrow: bool,
    /// Operand seed (xorshift64, see docs/cli.md).
    seed: u64,
}

/// Totals of the exact run.
#[derive(Serialize)]
struct ExactTotals {
    /// Sum of the layers' exact-engine times (without operand generation and the check).
    seconds: f64,
    /// Time of the reference integer products that checked the outputs.
    check_seconds: f64,
    /// PE-cycle updates (cycles · rows · cols) per second of exact-engine time.
    pe_updates_per_second: f64,
}

#[derive(Serialize)]
struct Report {
    run_name: String,
    topology: String,
    array: Array,
    layers: Vec<LayerOut>,
    total_cycles: u64,
    total_macs: u64,
    utilization: f64,
    reports: Vec<String>,
    engine: &'static str,
    /// Time of the engine that ran: the fast engine alone, or the fast and exact engines
    /// (operand generation and the output check excluded).
    seconds: f64,
    /// Simulated PE-cycle updates: total_cycles · rows · cols.
    pe_updates: u64,
    /// pe_updates / seconds.
    pe_updates_per_second: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exact: Option<ExactTotals>,
}

fn fail(e: systole_sim::SimError) -> Failure {
    Failure::usage(e.to_string())
}

/// Deterministic int8 operands of layer `id`: `A` (`m×k`) then `B` (`k×n`) from one xorshift64
/// stream seeded with `seed_of(id)`; each value is the top byte of the state as `i8`.
fn operands(seed: u64, m: usize, k: usize, n: usize) -> (Vec<i32>, Vec<i32>) {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 56) as u8 as i8 as i32
    };
    let a = (0..m * k).map(|_| next()).collect();
    let b = (0..k * n).map(|_| next()).collect();
    (a, b)
}

fn seed_of(id: usize) -> u64 {
    0x9E37_79B9_7F4A_7C15u64 ^ (id as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// Runs every layer of `run` on the exact engine; returns per-layer results and the time of
/// the reference products, or a failure (exit 1) naming the layer.
fn run_exact(cfg: &ScaleConfig, run: &ScaleRun) -> Result<(Vec<ExactLayer>, f64), Failure> {
    let array = cfg.array();
    let tty = std::io::stderr().is_terminal();
    let nl = run.layers.len();
    let mut out = Vec::with_capacity(nl);
    let mut check_seconds = 0.0;
    // Every layer's memory is estimated before any operand is generated (a 40 GB layer is
    // refused, exit 2, naming its size, the limit and --max-memory-bytes).
    for l in &run.layers {
        exact::check_gemm_memory(array, l.m as usize, l.k as usize, l.n as usize)
            .map_err(|e| Failure::at(format_args!("layer {} ({})", l.id, l.name), e))?;
    }
    for (i, l) in run.layers.iter().enumerate() {
        if tty {
            eprint!(
                "\r\x1b[Kexact engine: layer {}/{nl} {} ({}x{}x{}, {} cycles)",
                i + 1,
                l.name,
                l.m,
                l.k,
                l.n,
                l.stats.cycles
            );
            let _ = std::io::stderr().flush();
        }
        let at = format!("layer {} ({})", l.id, l.name);
        let (m, k, n) = (l.m as usize, l.k as usize, l.n as usize);
        let seed = seed_of(l.id);
        let (av, bv) = operands(seed, m, k, n);
        let t0 = Instant::now();
        let g = exact::run_gemm_on(array, &av, &bv, m, k, n).map_err(|e| Failure::at(&at, e))?;
        let seconds = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let checked = g.check(&av, &bv);
        check_seconds += t1.elapsed().as_secs_f64();
        let failure = |msg: String| {
            if tty {
                eprintln!();
            }
            Failure { code: 1, msg }
        };
        if let Err(e) = checked {
            return Err(failure(format!("{at}: exact engine: {e}")));
        }
        if g.cycles != l.stats.cycles {
            return Err(failure(format!(
                "{at}: tensor cycles: exact engine measured {} cycles, fast engine counts {} \
                 (first fold: {} vs {} per fold)",
                g.cycles,
                l.stats.cycles,
                g.folds.first().map_or(0, |f| f.cycles),
                l.stats.mapping.fold_cycles
            )));
        }
        out.push(ExactLayer {
            cycles: g.cycles,
            seconds,
            narrow: g.narrow,
            seed,
        });
    }
    if tty {
        eprintln!("\r\x1b[Kexact engine: {nl} layers equal to the integer product and the fast engine's cycles");
    }
    Ok((out, check_seconds))
}

pub fn main(a: Args) -> Result<i32, Failure> {
    if let Some(dir) = &a.out {
        let reports: Vec<_> = [
            "COMPUTE_REPORT.csv",
            "BANDWIDTH_REPORT.csv",
            "DETAILED_ACCESS_REPORT.csv",
        ]
        .iter()
        .map(|n| dir.join(n))
        .collect();
        super::io::refuse_output_over_input(
            &reports
                .iter()
                .map(|p| ("-o", Some(p.as_path())))
                .collect::<Vec<_>>(),
            &[
                ("--config", Some(&a.config)),
                ("--topology", Some(&a.topology)),
            ],
        )?;
    }
    let cfg = ScaleConfig::load(&a.config).map_err(fail)?;
    let topo = Topology::load(&a.topology, a.gemm).map_err(fail)?;
    let t0 = Instant::now();
    let run = scalesim::run(&cfg, &topo);
    let fast_seconds = t0.elapsed().as_secs_f64();
    let (exact_layers, check_seconds) = match a.engine {
        Engine::Fast => (None, 0.0),
        Engine::Exact => {
            let (l, c) = run_exact(&cfg, &run)?;
            (Some(l), c)
        }
    };
    let reports = match &a.out {
        Some(dir) => scalesim::write_reports(&run, dir)
            .map_err(fail)?
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        None => Vec::new(),
    };
    let pes = (cfg.array_rows * cfg.array_cols) as f64;
    let total_cycles = run.total_cycles();
    let pe_updates = total_cycles * (cfg.array_rows * cfg.array_cols) as u64;
    let exact_totals = exact_layers.as_ref().map(|ls| {
        let s: f64 = ls.iter().map(|l| l.seconds).sum();
        ExactTotals {
            seconds: s,
            check_seconds,
            pe_updates_per_second: pe_updates as f64 / s,
        }
    });
    let seconds = fast_seconds + exact_totals.as_ref().map_or(0.0, |e| e.seconds);
    let report = Report {
        run_name: cfg.run_name.clone(),
        topology: topo.name.clone(),
        array: Array {
            rows: cfg.array_rows,
            cols: cfg.array_cols,
            dataflow: dataflow_name(cfg.dataflow),
        },
        layers: run
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerOut {
                id: l.id,
                name: l.name.clone(),
                m: l.m,
                k: l.k,
                n: l.n,
                macs: l.stats.macs,
                folds: l.stats.mapping.folds(),
                cycles: l.stats.cycles,
                stall_cycles: l.stall_cycles,
                scalesim_total_cycles: l.total_cycles,
                utilization: l.stats.utilization,
                mapping_efficiency: l.stats.mapping_efficiency,
                compute_utilization: l.stats.compute_utilization,
                ifmap_sram_reads: l.stats.ifmap_sram_reads,
                filter_sram_reads: l.stats.filter_sram_reads,
                ofmap_sram_writes: l.stats.ofmap_sram_writes,
                exact: exact_layers.as_ref().map(|e| e[i]),
            })
            .collect(),
        total_cycles,
        total_macs: run.total_macs(),
        utilization: run.total_macs() as f64 / (total_cycles as f64 * pes),
        reports,
        engine: match a.engine {
            Engine::Fast => "fast",
            Engine::Exact => "exact",
        },
        seconds,
        pe_updates,
        pe_updates_per_second: pe_updates as f64 / seconds,
        exact: exact_totals,
    };
    if a.json {
        print_json(&report)?;
        return Ok(0);
    }
    println!(
        "{}: {} layers of {} on a {}x{} {} array (ideal memory)",
        report.run_name,
        report.layers.len(),
        report.topology,
        cfg.array_rows,
        cfg.array_cols,
        report.array.dataflow
    );
    let w = report
        .layers
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(5)
        .clamp(5, 80); // longer names overflow the column; std refuses widths of 2^16 or more
    println!(
        "{:>4}  {:<w$}  {:>12}  {:>7}  {:>8}  {:>8}",
        "id", "layer", "cycles", "folds", "util %", "map %"
    );
    for l in &report.layers {
        println!(
            "{:>4}  {:<w$}  {:>12}  {:>7}  {:>8.2}  {:>8.2}",
            l.id,
            l.name,
            l.cycles,
            l.folds,
            100.0 * l.utilization,
            100.0 * l.mapping_efficiency
        );
    }
    println!(
        "total: {} cycles, {} MACs, utilization {:.2} %",
        report.total_cycles,
        report.total_macs,
        100.0 * report.utilization
    );
    if let Some(e) = &report.exact {
        println!(
            "exact engine: every layer equal to the integer product and to the fast engine's \
             cycles; {:.3} s ({:.3e} PE-cycle updates/s), check {:.3} s",
            e.seconds, e.pe_updates_per_second, e.check_seconds
        );
    }
    for p in &report.reports {
        println!("wrote {p}");
    }
    Ok(0)
}
