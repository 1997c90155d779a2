//! A sweep's results: the summary (`summary.json`, `--json`), the Pareto front as CSV, the
//! plots (Pareto scatter, the best design's per-layer roofline) and the best design's
//! description (`best.ron`) and program (`best.sysq`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plot::{xy_log, Series};
use serde::{Deserialize, Serialize};
use systole_compiler::schedule;
use systole_hw::cost::Target;

use super::eval::{self, Alloc, Record};
use super::pareto::{cost, Objective, Tracker};
use super::space::Space;
use super::store::{self, Meta};
use super::Run;
use crate::error::{FlowError, Result};
use systole_sim::model::{self, Engine};

/// Most points drawn in the scatter plot (a deterministic sample: every k-th index).
pub const SCATTER_POINTS: u64 = 2000;

/// The best design on one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BestDesign {
    pub target: String,
    /// Feasible points on this target.
    pub feasible: u64,
    /// Size of this target's Pareto front.
    pub pareto_size: usize,
    pub design: Option<Record>,
}

/// One array layer of the best design, for the roofline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerPoint {
    pub name: String,
    pub macs: u64,
    pub dram_bytes: u64,
    pub seconds: f64,
}

/// The best design's roofs and layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestLayers {
    pub peak_macs_per_s: f64,
    pub dram_bytes_per_s: f64,
    pub layers: Vec<LayerPoint>,
}

/// What a sweep found (`summary.json`; `systole sweep --json` prints it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub space: String,
    pub space_hash: String,
    /// Points of the whole space.
    pub space_points: u64,
    /// `i/N`.
    pub shard: String,
    /// Points of this run (its shard), finished now or before a resume.
    pub points: u64,
    /// Points evaluated by this invocation.
    pub evaluated: u64,
    /// Points taken from an interrupted run (`--resume`).
    pub resumed: u64,
    /// Points of the space no shard evaluated (`merge`).
    pub missing: u64,
    /// Feasible points on the first target.
    pub feasible: u64,
    /// Infeasible points on the first target, by the resource that binds.
    pub infeasible: BTreeMap<String, u64>,
    pub objective: Objective,
    pub targets: Vec<String>,
    /// The first target's Pareto front (by point index).
    pub pareto: Vec<Record>,
    /// The best design per target.
    pub best: Vec<BestDesign>,
    pub best_layers: Option<BestLayers>,
    pub files: Vec<String>,
    pub seconds: f64,
}

/// Folds records into the fronts, bests, binding counts and the scatter sample.
pub struct Accumulator {
    pub trackers: Vec<Tracker>,
    pub seen: u64,
    infeasible: BTreeMap<String, u64>,
    stride: u64,
    /// (index, latency, cost, feasible) of every `stride`-th point, first target.
    sample: Vec<(u64, f64, f64, bool)>,
}

impl Accumulator {
    pub fn new(targets: usize, o: Objective, with_accuracy: bool, points: u64) -> Accumulator {
        Accumulator {
            trackers: (0..targets)
                .map(|t| Tracker::new(t, o, with_accuracy))
                .collect(),
            seen: 0,
            infeasible: BTreeMap::new(),
            stride: points.div_ceil(SCATTER_POINTS).max(1),
            sample: Vec::new(),
        }
    }

    pub fn add(&mut self, r: &Record) {
        self.seen += 1;
        for t in &mut self.trackers {
            t.add(r);
        }
        if let Some(c) = r.targets.first() {
            if !c.feasible {
                let b = c.binding.clone().unwrap_or_else(|| "unknown".into());
                *self.infeasible.entry(b).or_default() += 1;
            }
            if r.index.is_multiple_of(self.stride) {
                if let (Some(l), Some(k)) = (r.latency_s, cost(r, 0)) {
                    self.sample.push((r.index, l, k, c.feasible));
                }
            }
        }
    }

    pub fn summary(
        &self,
        meta: &Meta,
        targets: &[Target],
        best_layers: Option<BestLayers>,
        evaluated: u64,
        resumed: u64,
    ) -> Summary {
        Summary {
            space: meta.space.clone(),
            space_hash: meta.space_hash.clone(),
            space_points: meta.points,
            shard: format!("{}/{}", meta.shard_index, meta.shard_count),
            points: self.seen,
            evaluated,
            resumed,
            missing: 0,
            feasible: self.trackers.first().map_or(0, |t| t.feasible),
            infeasible: self.infeasible.clone(),
            objective: self
                .trackers
                .first()
                .map_or(Objective::Latency, |t| t.objective),
            targets: targets.iter().map(Target::name).collect(),
            pareto: self
                .trackers
                .first()
                .map(Tracker::front)
                .unwrap_or_default(),
            best: self
                .trackers
                .iter()
                .zip(targets)
                .map(|(t, tg)| BestDesign {
                    target: tg.name(),
                    feasible: t.feasible,
                    pareto_size: t.front().len(),
                    design: t.best().cloned(),
                })
                .collect(),
            best_layers,
            files: Vec::new(),
            seconds: 0.0,
        }
    }
}

/// Re-simulates the best record to get its per-layer figures for the roofline.
pub fn best_layers(r: &Run, best: &Record) -> Result<Option<BestLayers>> {
    let p = r.space.point(best.index);
    let a = &r.allocs[p.alloc];
    let hw = eval::accelerator(r.space, &p, a);
    let Ok(s) = schedule::schedule(&a.program, &hw, r.space.batch) else {
        return Ok(None);
    };
    let rep = model::simulate_inputs(&a.program, &s, &hw, r.x.inputs(), Engine::Fast, None)?.report;
    Ok(Some(BestLayers {
        peak_macs_per_s: hw.peak_macs_per_second(),
        dram_bytes_per_s: hw.dram_bytes_per_second(),
        layers: rep
            .layers
            .iter()
            .filter(|l| l.unit == "array")
            .map(|l| LayerPoint {
                name: l.name.clone(),
                macs: l.macs,
                dram_bytes: l.dram_read_bytes + l.dram_write_bytes,
                seconds: l.cycles as f64 * hw.cycle_seconds(),
            })
            .collect(),
    }))
}

/// The per-layer figures of the best point `index` from the shard summary that has them.
pub fn shard_best_layers(dirs: &[PathBuf], index: u64) -> Option<BestLayers> {
    #[derive(Deserialize)]
    struct Part {
        best: Vec<PartBest>,
        best_layers: Option<BestLayers>,
    }
    #[derive(Deserialize)]
    struct PartBest {
        design: Option<Record>,
    }
    dirs.iter().find_map(|d| {
        let text = systole_hw::fsio::read_input_string(&d.join("summary.json")).ok()?;
        let s: Part = serde_json::from_str(&text).ok()?;
        let first = s.best.first()?.design.as_ref()?;
        if first.index == index {
            s.best_layers
        } else {
            None
        }
    })
}

fn json_err(e: serde_json::Error) -> FlowError {
    FlowError::Sweep {
        msg: format!("json: {e}"),
    }
}

/// `summary.json`, atomically.
pub fn write_summary(out: &Path, s: &Summary) -> Result<()> {
    let text = serde_json::to_string_pretty(s).map_err(json_err)?;
    store::write_file(&out.join("summary.json"), text.as_bytes())
}

fn file_name(target: &str) -> String {
    target.replace([':', '/'], "-")
}

/// `best.ron` (first target) and `best-<target>.ron` for every target with a feasible design;
/// `best.sysq` (the program of the first target's best) when the programs are at hand.
pub fn write_best(
    out: &Path,
    meta: &Meta,
    s: &Summary,
    allocs: Option<&[Alloc]>,
) -> Result<Vec<String>> {
    let space = Space::from_ron(&meta.space_text, "sweep.json space_text")?;
    let mut files = Vec::new();
    for (ti, b) in s.best.iter().enumerate() {
        let Some(r) = &b.design else { continue };
        let p = space.point(r.index);
        let acc = meta.alloc_widths.get(p.alloc).copied().unwrap_or(32);
        let mut hw = p.accelerator(&space, r.input_bits, r.weight_bits, acc);
        if let Some(a) = allocs.and_then(|a| a.get(p.alloc)) {
            eval::add_program_ops(&mut hw, &a.program);
        }
        hw.name = format!("{}-best-{}", space.name, file_name(&b.target));
        let header = format!(
            "// {name}: chosen by `systole sweep` (space '{space}', hash {hash}, point {i}) as the\n\
             // best design on {target} for {obj}: {lat:.6e} s per run of {batch}, {bits}.\n",
            name = hw.name,
            space = space.name,
            hash = meta.space_hash,
            i = r.index,
            target = b.target,
            obj = s.objective.name(),
            lat = r.latency_s.unwrap_or(0.0),
            batch = space.batch,
            bits = r.bits,
        );
        let text = format!("{header}{}\n", hw.to_ron_string());
        let mut names = vec![format!("best-{}.ron", file_name(&b.target))];
        if ti == 0 {
            names.push("best.ron".into());
        }
        for n in names {
            let path = out.join(n);
            store::write_file(&path, text.as_bytes())?;
            files.push(path.display().to_string());
        }
        if ti == 0 {
            if let Some(a) = allocs.and_then(|a| a.get(p.alloc)) {
                if !a.sysq.is_empty() {
                    let path = out.join("best.sysq");
                    store::write_file(&path, &a.sysq)?;
                    files.push(path.display().to_string());
                }
            }
        }
    }
    Ok(files)
}

/// `pareto.csv`, `pareto.svg` and, with the best design's layers, `roofline.svg`.
pub fn write_outputs(out: &Path, s: &Summary, acc: &Accumulator) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut csv = String::from(store::CSV_HEADER);
    csv.push('\n');
    for r in &s.pareto {
        let mut one = r.clone();
        one.targets.truncate(1);
        csv.push_str(&store::csv_rows(&one));
    }
    let p = out.join("pareto.csv");
    store::write_file(&p, csv.as_bytes())?;
    files.push(p.display().to_string());

    let target = s.targets.first().cloned().unwrap_or_default();
    let cost_name = if target.starts_with("asic:") {
        "area, mm²"
    } else {
        "largest resource fraction used"
    };
    let pick = |feasible: bool| -> Vec<(f64, f64)> {
        acc.sample
            .iter()
            .filter(|x| x.3 == feasible)
            .map(|x| (x.1, x.2))
            .collect()
    };
    let front: Vec<(f64, f64)> = {
        let mut f: Vec<(f64, f64)> = s
            .pareto
            .iter()
            .filter_map(|r| Some((r.latency_s?, cost(r, 0)?)))
            .collect();
        f.sort_by(|a, b| a.0.total_cmp(&b.0));
        f
    };
    let svg = xy_log(
        &format!("{}: latency vs cost on {target}", s.space),
        "latency per run, s",
        cost_name,
        &[
            Series {
                name: "feasible (sample)".into(),
                points: pick(true),
                line: false,
            },
            Series {
                name: "infeasible (sample)".into(),
                points: pick(false),
                line: false,
            },
            Series {
                name: "Pareto front".into(),
                points: front,
                line: true,
            },
        ],
    )?;
    let p = out.join("pareto.svg");
    store::write_file(&p, svg.as_bytes())?;
    files.push(p.display().to_string());

    if let Some(b) = &s.best_layers {
        let ai: Vec<f64> = b
            .layers
            .iter()
            .map(|l| l.macs as f64 / l.dram_bytes.max(1) as f64)
            .collect();
        let lo = ai.iter().copied().fold(f64::INFINITY, f64::min).min(0.1) / 2.0;
        let hi = ai.iter().copied().fold(0.0, f64::max).max(100.0) * 2.0;
        let knee = b.peak_macs_per_s / b.dram_bytes_per_s;
        let roof = vec![
            (lo, lo * b.dram_bytes_per_s),
            (knee, b.peak_macs_per_s),
            (hi, b.peak_macs_per_s),
        ];
        let mut series = vec![Series {
            name: format!(
                "roofs: {:.3e} MAC/s, {:.3e} B/s",
                b.peak_macs_per_s, b.dram_bytes_per_s
            ),
            points: roof,
            line: true,
        }];
        for (l, x) in b.layers.iter().zip(&ai) {
            series.push(Series {
                name: l.name.clone(),
                points: vec![(*x, l.macs as f64 / l.seconds.max(1e-30))],
                line: false,
            });
        }
        let svg = xy_log(
            &format!("best design on {target}: per-layer roofline"),
            "arithmetic intensity, MAC per DRAM byte",
            "attained MAC/s",
            &series,
        )?;
        let p = out.join("roofline.svg");
        store::write_file(&p, svg.as_bytes())?;
        files.push(p.display().to_string());
    }
    Ok(files)
}

/// The human-readable summary `systole sweep` prints.
pub fn text(s: &Summary) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let target = s.targets.first().cloned().unwrap_or_default();
    let _ = writeln!(
        o,
        "sweep '{}' (hash {}, shard {}): {} points ({} evaluated, {} resumed{}), {} feasible on {target}, {:.1} s",
        s.space,
        s.space_hash,
        s.shard,
        s.points,
        s.evaluated,
        s.resumed,
        if s.missing > 0 {
            format!(", {} missing", s.missing)
        } else {
            String::new()
        },
        s.feasible,
        s.seconds
    );
    if !s.infeasible.is_empty() {
        let parts: Vec<String> = s
            .infeasible
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(o, "infeasible, by binding resource: {}", parts.join(", "));
    }
    let _ = writeln!(
        o,
        "Pareto front on {target} ({} designs; objective {}):",
        s.pareto.len(),
        s.objective.name()
    );
    let _ = writeln!(
        o,
        "  {:>7} {:>9} {:>3} {:>6} {:>14} {:>6} {:>12} {:>8} {:>10} {:>8}",
        "index", "array", "df", "KiB", "bits", "MHz", "latency s", "cost", "energy uJ", "top-1"
    );
    let row = |o: &mut String, r: &Record, t: usize| {
        let c = r.targets.get(t);
        let _ = writeln!(
            o,
            "  {:>7} {:>9} {:>3} {:>6} {:>14} {:>6} {:>12.4e} {:>8.4} {:>10.4} {:>8}",
            r.index,
            format!("{}x{}", r.rows, r.cols),
            r.dataflow,
            r.buffer_kib,
            r.bits,
            r.clock_mhz,
            r.latency_s.unwrap_or(f64::NAN),
            cost(r, t).unwrap_or(f64::NAN),
            c.and_then(|c| c.energy_uj).unwrap_or(f64::NAN),
            r.accuracy
                .map(|a| format!("{:.2}%", 100.0 * a))
                .unwrap_or_else(|| "-".into())
        );
    };
    for r in s.pareto.iter().take(20) {
        row(&mut o, r, 0);
    }
    if s.pareto.len() > 20 {
        let _ = writeln!(o, "  … {} more in pareto.csv", s.pareto.len() - 20);
    }
    let _ = writeln!(o, "best design per target ({}):", s.objective.name());
    for (t, b) in s.best.iter().enumerate() {
        match &b.design {
            Some(r) => {
                let _ = write!(o, "  {:<12} ({} feasible)", b.target, b.feasible);
                let c = &r.targets[t];
                let res = match (c.lut, c.area_mm2) {
                    (Some(l), _) => format!(
                        " LUT {l} FF {} DSP {} BRAM {} large RAM {}",
                        c.ff.unwrap_or(0),
                        c.dsp.unwrap_or(0),
                        c.bram.unwrap_or(0),
                        c.large_ram.unwrap_or(0)
                    ),
                    (_, Some(a)) => format!(" {a:.4} mm²"),
                    _ => String::new(),
                };
                let _ = writeln!(o, "{res}");
                row(&mut o, r, t);
            }
            None => {
                let _ = writeln!(o, "  {:<12} no feasible design", b.target);
            }
        }
    }
    for f in &s.files {
        let _ = writeln!(o, "wrote {f}");
    }
    o
}
