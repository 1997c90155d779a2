//! `systole scalesim`: a SCALE-Sim 3.0 run (config + topology) on the fast engine, with
//! SCALE-Sim's report files.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_sim::scalesim::{self, dataflow_name, ScaleConfig, Topology};

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
    /// Print JSON: run_name, topology, array {rows, cols, dataflow}, layers[] (id, name, m, k,
    /// n, macs, folds, cycles, stall_cycles, scalesim_total_cycles, utilization,
    /// mapping_efficiency, compute_utilization, ifmap_sram_reads, filter_sram_reads,
    /// ofmap_sram_writes), total_cycles, total_macs, utilization, reports, seconds.
    #[arg(long)]
    pub json: bool,
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
    seconds: f64,
}

fn fail(e: systole_sim::SimError) -> Failure {
    Failure::usage(e.to_string())
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let cfg = ScaleConfig::load(&a.config).map_err(fail)?;
    let topo = Topology::load(&a.topology, a.gemm).map_err(fail)?;
    let t0 = Instant::now();
    let run = scalesim::run(&cfg, &topo);
    let seconds = t0.elapsed().as_secs_f64();
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
            .map(|l| LayerOut {
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
            })
            .collect(),
        total_cycles,
        total_macs: run.total_macs(),
        utilization: run.total_macs() as f64 / (total_cycles as f64 * pes),
        reports,
        seconds,
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
        .max(5);
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
    for p in &report.reports {
        println!("wrote {p}");
    }
    Ok(0)
}
