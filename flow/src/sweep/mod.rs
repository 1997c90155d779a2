//! Design-space sweeps (`systole sweep`): every point of a [`Space`] scheduled and timed on the
//! fast engine, in parallel with rayon, costed on FPGA parts or an ASIC node
//! (`systole_hw::cost`), streamed to `points.jsonl` and `points.csv` as points finish, and
//! summarised as a Pareto front and the best design per target.
//!
//! Memory stays flat in the number of points: records are written as they arrive and only the
//! front, the best design and a bounded sample for the scatter plot are kept. A run can be cut
//! into shards (`point index % N == i`) and the shards merged into the result a single run
//! gives ([`merge`]); `--resume` skips points already in `points.jsonl`.

pub mod alloc;
pub mod eval;
pub mod pareto;
pub mod report;
pub mod space;
mod store;

pub use eval::{Alloc, Record, TargetCost};
pub use pareto::{Objective, Tracker};
pub use report::{BestDesign, Summary};
pub use space::{Bits, Point, Space};

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use rayon::prelude::*;
use systole_compiler::Tensor;
use systole_hw::cost::Target;

use crate::error::{FlowError, Result};
use store::{Meta, Sink};

/// Which part of the space a run covers: points with `index % count == index_of_shard`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// `i/N` with `0 <= i < N`.
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = |why: &str| FlowError::Sweep {
            msg: format!("--shard {s}: {why}"),
        };
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| bad("expected i/N, e.g. 0/4 (shards are numbered from 0)"))?;
        let i: u64 = i
            .trim()
            .parse()
            .map_err(|_| bad("i is not a whole number"))?;
        let n: u64 = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        if n == 0 {
            return Err(bad("N must be at least 1"));
        }
        if i >= n {
            return Err(bad(&format!(
                "index {i} is out of range: shards are 0..{} for N = {n}",
                n - 1
            )));
        }
        Ok(Shard { index: i, count: n })
    }

    pub fn holds(&self, point: u64) -> bool {
        point % self.count == self.index
    }

    /// Points of a space of `n` in this shard.
    pub fn len(&self, n: u64) -> u64 {
        n / self.count + u64::from(n % self.count > self.index)
    }

    pub fn is_empty(&self, n: u64) -> bool {
        self.len(n) == 0
    }
}

/// Everything a run needs.
pub struct Run<'a> {
    pub space: &'a Space,
    /// The space file's text, kept in `sweep.json` so `merge` can rebuild descriptions.
    pub space_text: &'a str,
    /// One per [`Space::bits`] entry (or one: the program's own widths).
    pub allocs: &'a [Alloc],
    /// The input batch the fast engine runs on.
    pub x: &'a SweepBatch,
    pub targets: &'a [Target],
    pub objective: Objective,
    pub shard: Shard,
    /// Hash of the space, the model and the targets: shards must agree on it to merge.
    pub hash: u64,
    pub out: &'a Path,
    pub resume: bool,
    /// Write `best.ron` (and `best.sysq`) for the best design on the first target.
    pub write_best: bool,
}

/// Runs the sweep; `progress(done, total)` is called after each point (on the calling
/// thread). Bad input (a different space in `out`, results present without `resume`) is a
/// [`FlowError::Sweep`].
pub fn run(r: &Run, progress: &mut dyn FnMut(u64, u64)) -> Result<Summary> {
    let t0 = Instant::now();
    if r.allocs.is_empty() {
        return Err(FlowError::Sweep {
            msg: "no program to sweep".into(),
        });
    }
    let n = r.space.len();
    let meta = Meta {
        format: store::FORMAT.into(),
        space: r.space.name.clone(),
        space_hash: format!("{:016x}", r.hash),
        space_text: r.space_text.to_string(),
        points: n,
        shard_index: r.shard.index,
        shard_count: r.shard.count,
        targets: r.targets.iter().map(Target::name).collect(),
        objective: r.objective.name().into(),
        with_accuracy: r.allocs.len() > 1,
        alloc_widths: r.allocs.iter().map(|a| a.acc_bits).collect(),
    };
    let mut acc = report::Accumulator::new(r.targets.len(), r.objective, meta.with_accuracy, n);
    // Records of the directory being resumed are data a user can edit: each must be one this
    // run could have written (in the space and this shard, once, with its point's design and
    // sane figures), or the summary and best design would rest on a forged point.
    let mut resumed_points = std::collections::HashSet::new();
    let shard = r.shard;
    let mut sink = Sink::open(r.out, &meta, r.resume, &mut |rec| {
        if !shard.holds(rec.index) {
            return Err(FlowError::Sweep {
                msg: format!(
                    "--resume: point {} is not in shard {}/{}",
                    rec.index, shard.index, shard.count
                ),
            });
        }
        if !resumed_points.insert(rec.index) {
            return Err(FlowError::Sweep {
                msg: format!("--resume: point {} is recorded twice", rec.index),
            });
        }
        check_record(rec, r.space, r.targets.len())?;
        acc.add(rec);
        Ok(())
    })?;
    let resumed = acc.seen;
    let todo = r.shard.len(n) - resumed;
    let total = r.shard.len(n);
    let (tx, rx) = mpsc::channel::<Record>();
    let done = sink.done.clone();
    let shard = r.shard;
    let mut write_err: Option<FlowError> = None;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            (0..n)
                .into_par_iter()
                .filter(|&i| shard.holds(i) && !done.contains(i))
                .for_each_with(tx, |tx, i| {
                    let p = r.space.point(i);
                    let rec =
                        eval::evaluate(r.space, &p, &r.allocs[p.alloc], r.x.inputs(), r.targets);
                    // The receiver only goes away after an error; the rest is then discarded.
                    let _ = tx.send(rec);
                });
        });
        let mut k = resumed;
        for rec in rx {
            if write_err.is_none() {
                if let Err(e) = sink.write(&rec) {
                    write_err = Some(e);
                }
            }
            acc.add(&rec);
            k += 1;
            progress(k, total);
        }
    });
    if let Some(e) = write_err {
        return Err(e);
    }
    sink.finish()?;
    let mut files = sink.files();
    let best_layers = match acc.trackers[0].best() {
        Some(b) => report::best_layers(r, b)?,
        None => None,
    };
    let mut summary = acc.summary(&meta, r.targets, best_layers, todo, resumed);
    if r.write_best {
        files.extend(report::write_best(r.out, &meta, &summary, Some(r.allocs))?);
    }
    files.extend(report::write_outputs(r.out, &summary, &acc)?);
    summary.files = files;
    summary.seconds = t0.elapsed().as_secs_f64();
    report::write_summary(r.out, &summary)?;
    Ok(summary)
}

/// Combines the shards in `dirs` into `out`: the same `points.jsonl` (sorted by index),
/// front, best designs and plots a single run gives. Shards of different spaces (their hashes
/// differ) are refused.
pub fn merge(dirs: &[PathBuf], out: &Path, write_best: bool) -> Result<Summary> {
    let t0 = Instant::now();
    if dirs.is_empty() {
        return Err(FlowError::Sweep {
            msg: "merge: name at least one shard directory".into(),
        });
    }
    let metas: Vec<Meta> = dirs.iter().map(|d| Meta::read(d)).collect::<Result<_>>()?;
    let first = &metas[0];
    for (d, m) in dirs.iter().zip(&metas).skip(1) {
        if m.space_hash != first.space_hash {
            return Err(FlowError::Sweep {
                msg: format!(
                    "merge: {} is a sweep of a different space or model (hash {}, '{}') than {} (hash {}, '{}')",
                    d.display(),
                    m.space_hash,
                    m.space,
                    dirs[0].display(),
                    first.space_hash,
                    first.space
                ),
            });
        }
    }
    let space = Space::from_ron(&first.space_text, "sweep.json space_text")?;
    let targets: Vec<Target> = first
        .targets
        .iter()
        .map(|t| Target::parse(t).map_err(|e| FlowError::Sweep { msg: e.to_string() }))
        .collect::<Result<_>>()?;
    let objective = Objective::parse(&first.objective).ok_or_else(|| FlowError::Sweep {
        msg: format!("sweep.json: unknown objective '{}'", first.objective),
    })?;
    for (i, (d, m)) in dirs.iter().zip(&metas).enumerate() {
        if let Some((e, _)) = dirs
            .iter()
            .zip(&metas)
            .take(i)
            .find(|(_, o)| o.shard_index == m.shard_index && o.shard_count == m.shard_count)
        {
            return Err(FlowError::Sweep {
                msg: format!(
                    "merge: {} and {} are both shard {}/{}; name each shard once",
                    e.display(),
                    d.display(),
                    m.shard_index,
                    m.shard_count
                ),
            });
        }
    }
    let mut records = store::read_all(dirs, &|r| check_record(r, &space, targets.len()))?;
    records.sort_by_key(|r| r.index);
    records.dedup_by_key(|r| r.index);
    let mut meta = first.clone();
    meta.shard_index = 0;
    meta.shard_count = 1;
    let mut acc =
        report::Accumulator::new(targets.len(), objective, meta.with_accuracy, space.len());
    let mut sink = Sink::open(out, &meta, false, &mut |_| Ok(()))?;
    for r in &records {
        sink.write(r)?;
        acc.add(r);
    }
    sink.finish()?;
    let mut files = sink.files();
    // The best design's per-layer figures come from the shard that evaluated it.
    let best_layers = acc.trackers[0]
        .best()
        .and_then(|b| report::shard_best_layers(dirs, b.index));
    let evaluated = records.len() as u64;
    let mut summary = acc.summary(&meta, &targets, best_layers, evaluated, 0);
    summary.missing = space.len() - evaluated;
    if write_best {
        files.extend(report::write_best(out, &meta, &summary, None)?);
    }
    files.extend(report::write_outputs(out, &summary, &acc)?);
    summary.files = files;
    summary.seconds = t0.elapsed().as_secs_f64();
    report::write_summary(out, &summary)?;
    Ok(summary)
}

/// Refuses a merged record no sweep could have written: an index outside the space, or a
/// figure that is negative, NaN or infinite. Records are data from files a user can edit, and a
/// latency of 1e308 hung the Pareto plot's axis ticks.
fn check_record(r: &eval::Record, space: &Space, targets: usize) -> Result<()> {
    let bad = |what: String| FlowError::Sweep {
        msg: format!("record of point {}: {what}", r.index),
    };
    let points = space.len();
    if r.index >= points {
        return Err(bad(format!(
            "index {} is outside the space's {points} points",
            r.index
        )));
    }
    // The design fields are a function of the index: a record whose design is not its point's
    // (rows 4096 where the space has 8) would enter the front as a design no one evaluated.
    let p = space.point(r.index);
    let design = (
        p.rows,
        p.cols,
        eval::dataflow_name(p.dataflow),
        p.buffer_kib,
        p.clock_mhz.to_bits(),
        p.dram_bytes_per_cycle.to_bits(),
    );
    let recorded = (
        r.rows,
        r.cols,
        r.dataflow.as_str(),
        r.buffer_kib,
        r.clock_mhz.to_bits(),
        r.dram_bytes_per_cycle.to_bits(),
    );
    if design != recorded {
        return Err(bad(format!(
            "its design ({}x{} {}, {} KiB, {} MHz, {} B/cycle) is not the space's point {} \
             ({}x{} {}, {} KiB, {} MHz, {} B/cycle); the file was edited",
            r.rows,
            r.cols,
            r.dataflow,
            r.buffer_kib,
            r.clock_mhz,
            r.dram_bytes_per_cycle,
            r.index,
            p.rows,
            p.cols,
            design.2,
            p.buffer_kib,
            p.clock_mhz,
            p.dram_bytes_per_cycle
        )));
    }
    if r.targets.len() != targets {
        return Err(bad(format!(
            "{} target figures, the run has {targets} targets",
            r.targets.len()
        )));
    }
    if let (Some(c), Some(l)) = (r.cycles, r.latency_s) {
        let want = c as f64 / (r.clock_mhz * 1e6);
        if (l - want).abs() > 1e-9 * want.max(1e-30) {
            return Err(bad(format!(
                "latency_s = {l:e} but {c} cycles at {} MHz take {want:e} s",
                r.clock_mhz
            )));
        }
    }
    let finite = |name: &str, v: Option<f64>| match v {
        Some(x) if !(0.0..=1e30).contains(&x) => Err(bad(format!(
            "{name} = {x:e}; expected a finite, non-negative figure of at most 1e30"
        ))),
        _ => Ok(()),
    };
    finite("clock_mhz", Some(r.clock_mhz))?;
    finite("dram_bytes_per_cycle", Some(r.dram_bytes_per_cycle))?;
    finite("accuracy", r.accuracy)?;
    // Fractions: at most 1 (a utilization of 7.5 would rank a design above every real one).
    for (name, v) in [("accuracy", r.accuracy), ("utilization", r.utilization)] {
        if let Some(x) = v.filter(|x| *x > 1.0) {
            return Err(bad(format!(
                "{name} = {x}; expected a fraction of at most 1"
            )));
        }
    }
    finite("latency_s", r.latency_s)?;
    finite("inferences_per_s", r.inferences_per_s)?;
    finite("utilization", r.utilization)?;
    for t in &r.targets {
        finite("resource_utilization", t.resource_utilization)?;
        finite("area_mm2", t.area_mm2)?;
        finite("energy_uj", t.energy_uj)?;
    }
    Ok(())
}

/// The batch the fast engine runs: the first `batch` samples of `data`, or zeros of the
/// program's input shape (cycles do not depend on values; the numerics are the reference's).
/// The batch a sweep times: a real-valued one for a CNN/MLP program, integer codes for an
/// encoder (token ids and a mask).
pub enum SweepBatch {
    Real(Tensor),
    Int { codes: Vec<Vec<i32>>, batch: usize },
}

impl SweepBatch {
    pub fn inputs(&self) -> systole_sim::model::Inputs<'_> {
        match self {
            SweepBatch::Real(x) => systole_sim::model::Inputs::Real(x),
            SweepBatch::Int { codes, batch } => systole_sim::model::Inputs::Int {
                codes,
                batch: *batch,
            },
        }
    }
}

pub fn input_batch(
    p: &systole_compiler::fxir::Program,
    data: Option<&Tensor>,
    batch: usize,
) -> Result<SweepBatch> {
    if !p.int_inputs.is_empty() {
        if data.is_some() {
            return Err(FlowError::Sweep {
                msg: format!(
                    "--data: the program '{}' is an encoder reading integer inputs; its sweep \
                     times shapes only (drop --data and --labels)",
                    p.name
                ),
            });
        }
        // Cycles depend on shapes only: every code 1 (a valid token id; the mask on),
        // clamped to each input's format.
        let codes = p
            .int_inputs
            .iter()
            .map(|i| {
                let t = p.tensor(i.tensor);
                let v = 1i64.clamp(t.format.min_int(), t.format.max_int()) as i32;
                vec![v; batch * t.len()]
            })
            .collect();
        return Ok(SweepBatch::Int { codes, batch });
    }
    let mut shape = vec![batch];
    shape.extend(&p.input_shape);
    let Some(x) = data else {
        return Ok(SweepBatch::Real(Tensor::zeros(
            systole_compiler::DType::F32,
            shape,
        )));
    };
    let have = x.shape.first().copied().unwrap_or(0);
    if have < batch {
        return Err(FlowError::Sweep {
            msg: format!("--data has {have} samples, the space's batch is {batch}"),
        });
    }
    Ok(SweepBatch::Real(
        systole_compiler::quant::calibrate::batch_slice(x, 0, batch),
    ))
}

#[cfg(test)]
mod tests;
