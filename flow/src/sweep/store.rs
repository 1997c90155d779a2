//! A sweep's directory: `sweep.json` (what is being swept and its hash), `points.jsonl` and
//! `points.csv` (one line per point, appended as points finish, so an interrupted run keeps
//! every finished point), and resuming from them.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::eval::Record;
use crate::error::{FlowError, Result};

/// `format` of `sweep.json`.
pub const FORMAT: &str = "systole-sweep-1";

/// `sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub format: String,
    pub space: String,
    pub space_hash: String,
    pub space_text: String,
    pub points: u64,
    pub shard_index: u64,
    pub shard_count: u64,
    pub targets: Vec<String>,
    pub objective: String,
    pub with_accuracy: bool,
    /// Accumulator width of each allocation (to rebuild a description from a record).
    pub alloc_widths: Vec<u32>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> FlowError + '_ {
    move |source| FlowError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn bad(msg: String) -> FlowError {
    FlowError::Sweep { msg }
}

impl Meta {
    pub fn read(dir: &Path) -> Result<Meta> {
        let p = dir.join("sweep.json");
        let text = systole_hw::fsio::read_input_string(&p).map_err(|e| {
            bad(format!(
                "{}: not a sweep directory ({e}); it needs the sweep.json a run writes",
                dir.display()
            ))
        })?;
        let m: Meta = serde_json::from_str(&text)
            .map_err(|e| bad(format!("{}: not a sweep description: {e}", p.display())))?;
        if m.format != FORMAT {
            return Err(bad(format!(
                "{}: format '{}', this systole reads '{FORMAT}'",
                p.display(),
                m.format
            )));
        }
        Ok(m)
    }
}

/// Writes an output file through `systole_hw::fsio` (atomic for a regular file).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    systole_hw::fsio::write_atomic(path, bytes).map_err(io(path))
}

/// The set of finished point indices: one bit per point, so it stays small for any space.
#[derive(Clone, Debug)]
pub struct Done(Arc<Vec<u64>>);

impl Done {
    fn new(n: u64, indices: &[u64]) -> Done {
        let mut bits = vec![0u64; n.div_ceil(64) as usize];
        for &i in indices {
            bits[(i / 64) as usize] |= 1 << (i % 64);
        }
        Done(Arc::new(bits))
    }

    pub fn contains(&self, i: u64) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// The appending writer of a run's point files.
pub struct Sink {
    dir: PathBuf,
    jsonl: File,
    csv: File,
    pub done: Done,
}

pub const CSV_HEADER: &str = "index,rows,cols,dataflow,buffer_kib,bits,input_bits,weight_bits,clock_mhz,dram_bytes_per_cycle,accuracy,cycles,latency_s,inferences_per_s,utilization,dram_bytes,target,feasible,binding,resource_utilization,lut,ff,dsp,bram,large_ram,area_mm2,energy_uj,error";

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

/// CSV rows of a record: one per target.
pub fn csv_rows(r: &Record) -> String {
    let mut s = String::new();
    let err = r
        .error
        .as_deref()
        .map(|e| format!("\"{}\"", e.replace('"', "'")))
        .unwrap_or_default();
    for t in &r.targets {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.index,
            r.rows,
            r.cols,
            r.dataflow,
            r.buffer_kib,
            r.bits,
            r.input_bits,
            r.weight_bits,
            r.clock_mhz,
            r.dram_bytes_per_cycle,
            opt(&r.accuracy),
            opt(&r.cycles),
            opt(&r.latency_s),
            opt(&r.inferences_per_s),
            opt(&r.utilization),
            opt(&r.dram_bytes),
            t.target,
            t.feasible,
            opt(&t.binding),
            opt(&t.resource_utilization),
            opt(&t.lut),
            opt(&t.ff),
            opt(&t.dsp),
            opt(&t.bram),
            opt(&t.large_ram),
            opt(&t.area_mm2),
            opt(&t.energy_uj),
            err
        ));
    }
    s
}

/// Complete records of `points.jsonl`, each passed to `f`; returns their indices. A last line
/// without its newline was cut by an interruption (each record is appended with one write) and
/// is dropped; any other line that is not a record is refused, naming the file and line: the
/// file was edited or damaged, and skipping it would lose a point without a word.
fn scan(path: &Path, f: &mut dyn FnMut(&Record) -> Result<()>) -> Result<Vec<u64>> {
    // Streamed line by line, so no size limit; but a FIFO or device is refused.
    let file = match systole_hw::fsio::open_input(path, u64::MAX, None) {
        Ok((f, _)) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path)(e)),
    };
    let mut out = Vec::new();
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    for number in 1u64.. {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io(path))? == 0 {
            break;
        }
        let complete = buf.last() == Some(&b'\n');
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        match serde_json::from_slice::<Record>(line) {
            Ok(r) => {
                f(&r).map_err(|e| match e {
                    FlowError::Sweep { msg } => {
                        bad(format!("{} line {number}: {msg}", path.display()))
                    }
                    other => other,
                })?;
                out.push(r.index);
            }
            Err(_) if !complete => {}
            Err(e) => {
                return Err(bad(format!(
                    "{} line {number}: not a sweep record ({e}); the file was edited or \
                     damaged: remove that line to re-evaluate the point with --resume",
                    path.display()
                )))
            }
        }
    }
    Ok(out)
}

/// The first entry of `dir` by name, if it has any.
fn first_entry(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().next()
}

impl Sink {
    /// Opens `dir` for a run described by `meta`. Without `resume`, `dir` must not hold
    /// results; with it, its `sweep.json` must be of the same space and shard, and its
    /// complete records are passed to `seen` and rewritten (dropping a cut last line).
    pub fn open(
        dir: &Path,
        meta: &Meta,
        resume: bool,
        seen: &mut dyn FnMut(&Record) -> Result<()>,
    ) -> Result<Sink> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let jsonl_path = dir.join("points.jsonl");
        let csv_path = dir.join("points.csv");
        let mut indices = Vec::new();
        let existing = jsonl_path.exists();
        match (Meta::read(dir), resume) {
            (Ok(old), true) => {
                if old.space_hash != meta.space_hash
                    || old.shard_index != meta.shard_index
                    || old.shard_count != meta.shard_count
                {
                    return Err(bad(format!(
                        "--resume: {} holds shard {}/{} of space '{}' (hash {}), this run is shard {}/{} of '{}' (hash {})",
                        dir.display(),
                        old.shard_index,
                        old.shard_count,
                        old.space,
                        old.space_hash,
                        meta.shard_index,
                        meta.shard_count,
                        meta.space,
                        meta.space_hash
                    )));
                }
                // Rewrite both files from the complete records, line by line.
                let tmp_j = dir.join(".points.jsonl.resume");
                let tmp_c = dir.join(".points.csv.resume");
                {
                    let mut j = File::create(&tmp_j).map_err(io(&tmp_j))?;
                    let mut c = File::create(&tmp_c).map_err(io(&tmp_c))?;
                    writeln!(c, "{CSV_HEADER}").map_err(io(&tmp_c))?;
                    let mut werr = None;
                    indices = scan(&jsonl_path, &mut |r| {
                        seen(r)?;
                        let line = serde_json::to_string(r).unwrap_or_default();
                        if let Err(e) =
                            writeln!(j, "{line}").and_then(|()| c.write_all(csv_rows(r).as_bytes()))
                        {
                            werr = Some(e);
                        }
                        Ok(())
                    })?;
                    if let Some(e) = werr {
                        return Err(io(&tmp_j)(e));
                    }
                }
                std::fs::rename(&tmp_j, &jsonl_path).map_err(io(&jsonl_path))?;
                std::fs::rename(&tmp_c, &csv_path).map_err(io(&csv_path))?;
            }
            // A results directory whose sweep.json cannot be read (another format version,
            // corrupt) is refused: starting afresh would overwrite the finished points.
            (Err(e), true) if existing || dir.join("sweep.json").exists() => return Err(e),
            (Ok(_), false) | (Err(_), false) if existing => {
                return Err(bad(format!(
                    "{} already holds sweep results: pass --resume to continue that run, or choose another --out",
                    dir.display()
                )));
            }
            // A directory holding anything else (a user's pareto.csv, summary.json, best.ron,
            // or symlinks to files elsewhere) would have those replaced with exit 0.
            (_, false) if first_entry(dir).is_some() => {
                return Err(bad(format!(
                    "{} is not empty (it holds '{}'): a sweep writes its results into a new or \
                     empty directory; choose another --out",
                    dir.display(),
                    first_entry(dir).unwrap_or_default()
                )));
            }
            _ => {
                write_file(&csv_path, format!("{CSV_HEADER}\n").as_bytes())?;
                write_file(&jsonl_path, b"")?;
            }
        }
        let text = serde_json::to_string_pretty(meta).map_err(|e| bad(format!("json: {e}")))?;
        write_file(&dir.join("sweep.json"), text.as_bytes())?;
        let append = |p: &Path| OpenOptions::new().append(true).open(p).map_err(io(p));
        Ok(Sink {
            dir: dir.to_path_buf(),
            jsonl: append(&jsonl_path)?,
            csv: append(&csv_path)?,
            done: Done::new(meta.points, &indices),
        })
    }

    /// Appends one record to both files, each as one write so a cut leaves whole lines.
    pub fn write(&mut self, r: &Record) -> Result<()> {
        let mut line = serde_json::to_string(r).map_err(|e| bad(format!("json: {e}")))?;
        line.push('\n');
        let j = self.dir.join("points.jsonl");
        self.jsonl.write_all(line.as_bytes()).map_err(io(&j))?;
        let c = self.dir.join("points.csv");
        self.csv.write_all(csv_rows(r).as_bytes()).map_err(io(&c))
    }

    pub fn finish(&mut self) -> Result<()> {
        let j = self.dir.join("points.jsonl");
        self.jsonl.sync_data().map_err(io(&j))?;
        let c = self.dir.join("points.csv");
        self.csv.sync_data().map_err(io(&c))
    }

    pub fn files(&self) -> Vec<String> {
        ["sweep.json", "points.jsonl", "points.csv"]
            .iter()
            .map(|f| self.dir.join(f).display().to_string())
            .collect()
    }
}

/// Every complete record of the shards in `dirs`, one per point. A point found twice (shards
/// of overlapping runs, a resumed copy) must have the same figures both times: which one to
/// keep would otherwise be a guess.
pub fn read_all(dirs: &[PathBuf], check: &dyn Fn(&Record) -> Result<()>) -> Result<Vec<Record>> {
    let mut by_index: std::collections::BTreeMap<u64, (Record, String, PathBuf)> =
        std::collections::BTreeMap::new();
    for d in dirs {
        let path = d.join("points.jsonl");
        let mut clash = None;
        scan(&path, &mut |r| {
            check(r)?;
            let text = serde_json::to_string(r).unwrap_or_default();
            match by_index.get(&r.index) {
                Some((_, seen, from)) if clash.is_none() && *seen != text => {
                    clash = Some((r.index, from.clone()));
                }
                Some(_) => {}
                None => {
                    by_index.insert(r.index, (r.clone(), text, path.clone()));
                }
            }
            Ok(())
        })?;
        if let Some((index, from)) = clash {
            return Err(bad(format!(
                "point {index} is in {} and in {} with different figures; merge shards of \
                 one run",
                from.display(),
                path.display()
            )));
        }
    }
    Ok(by_index.into_values().map(|(r, _, _)| r).collect())
}
