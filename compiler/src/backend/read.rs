//! Opening a build directory for `simulate` and `verify`: the manifest is checked against the
//! files before anything is read, so a ROM edited (or truncated) after `systole compile` is
//! named instead of silently simulated.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use systole_hw::Accelerator;

use super::manifest::{FileEntry, MANIFEST_FORMAT, MANIFEST_VERSION};
use super::sha256_hex;
use crate::fxir::Program;
use crate::schedule::Schedule;
use crate::sysq::SysqFile;
use crate::{Error, Result};

/// What a later reader needs of the manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestHead {
    pub format: String,
    pub version: u32,
    pub batch: usize,
    pub files: Vec<FileEntry>,
}

/// A build directory whose files all match its manifest.
#[derive(Debug)]
pub struct BuildDir {
    pub dir: PathBuf,
    pub program: Program,
    pub hw: Accelerator,
    pub schedule: Schedule,
    /// Every file the manifest lists (checked: present, same size, same sha256).
    pub files: Vec<FileEntry>,
}

fn file_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::File {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Opens `dir` (from `systole compile`): checks every file against `manifest.json`, then reads
/// the program, the description and the schedule and checks they belong together.
pub fn open(dir: &Path) -> Result<BuildDir> {
    if !dir.exists() {
        return Err(file_err(dir, "no such build directory"));
    }
    if !dir.is_dir() {
        return Err(file_err(
            dir,
            "is a file; expected a build directory written by `systole compile`",
        ));
    }
    let mf = dir.join("manifest.json");
    let bytes = systole_hw::fsio::read_input(&mf).map_err(|e| {
        file_err(
            &mf,
            format!("{e}; a build directory from `systole compile` has one"),
        )
    })?;
    let head = parse_manifest(&mf, &bytes)?;
    check_files(dir, &head.files)?;
    // An edited manifest listing no files would switch every integrity check off.
    for need in ["program.sysq", "hw.ron", "schedule.json"] {
        if !head.files.iter().any(|f| f.path == need) {
            return Err(file_err(
                &mf,
                format!("does not list {need}; a build's manifest lists every file it holds"),
            ));
        }
    }
    let prog_path = dir.join("program.sysq");
    let program = SysqFile::read(&prog_path)?.program;
    let hw_path = dir.join("hw.ron");
    let hw = Accelerator::load(&hw_path)?;
    let sp = dir.join("schedule.json");
    let text = systole_hw::fsio::read_input(&sp).map_err(|e| file_err(&sp, e.to_string()))?;
    let schedule = parse_schedule(&sp, &text, &program)?;
    if schedule.batch != head.batch {
        return Err(file_err(
            &sp,
            format!("batch {}, the manifest says {}", schedule.batch, head.batch),
        ));
    }
    if (schedule.rows, schedule.cols, schedule.dataflow) != (hw.rows, hw.cols, hw.dataflow) {
        return Err(file_err(
            &sp,
            format!(
                "scheduled for a {}x{} {:?} array, hw.ron describes {}x{} {:?}",
                schedule.rows, schedule.cols, schedule.dataflow, hw.rows, hw.cols, hw.dataflow
            ),
        ));
    }
    // The schedule is a function of the program, the description and the batch: an edited
    // schedule.json (with its manifest hash recomputed) could otherwise move a layer to the host
    // or change load sizes and still simulate and verify "equal" with other cycle counts.
    let made = crate::schedule::schedule(&program, &hw, schedule.batch)
        .map_err(|e| file_err(&sp, e.to_string()))?;
    if made != schedule {
        let at = made
            .layers
            .iter()
            .zip(&schedule.layers)
            .position(|(a, b)| a != b)
            .map_or_else(
                || "its header or layer count".to_string(),
                |i| format!("layer {i} ('{}')", made.layers[i].name),
            );
        return Err(file_err(
            &sp,
            format!(
                "is not the schedule of program.sysq on hw.ron at batch {} (it differs at {at}); \
                 rebuild with `systole compile --force`",
                schedule.batch
            ),
        ));
    }
    Ok(BuildDir {
        dir: dir.to_path_buf(),
        program,
        hw,
        schedule,
        files: head.files,
    })
}

/// Parses `manifest.json` (its bytes; `path` names it in messages) and checks its format and
/// version. Separate from [`open`] so the parser is fuzzed on bytes (`tests/fuzz_parsers.rs`).
pub fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<ManifestHead> {
    let head: ManifestHead = serde_json::from_slice(bytes)
        .map_err(|e| file_err(path, format!("not a Systole build manifest: {e}")))?;
    if head.format != MANIFEST_FORMAT {
        return Err(file_err(
            path,
            format!("format '{}', expected '{MANIFEST_FORMAT}'", head.format),
        ));
    }
    if head.version != MANIFEST_VERSION {
        return Err(file_err(
            path,
            format!(
                "manifest version {}, this Systole reads version {MANIFEST_VERSION}; \
                 rebuild with `systole compile --force`",
                head.version
            ),
        ));
    }
    Ok(head)
}

/// Parses `schedule.json` (its bytes) and checks it against the program it was made for:
/// every size is the program's and every output is finished once ([`Schedule::validate`]),
/// refused before anything is sized from the file.
pub fn parse_schedule(path: &Path, bytes: &[u8], program: &Program) -> Result<Schedule> {
    let schedule: Schedule = serde_json::from_slice(bytes)
        .map_err(|e| file_err(path, format!("not a Systole schedule: {e}")))?;
    schedule
        .validate(program)
        .map_err(|e| file_err(path, e.to_string()))?;
    Ok(schedule)
}

/// Every listed file exists with the listed size and sha256; the first that does not is named.
fn check_files(dir: &Path, files: &[FileEntry]) -> Result<()> {
    let mf = dir.join("manifest.json");
    for f in files {
        if f.path.split('/').any(|c| c == ".." || c.is_empty()) || f.path.starts_with('/') {
            return Err(file_err(
                &mf,
                format!("file entry '{}' leaves the build directory", f.path),
            ));
        }
        let p = dir.join(&f.path);
        let bytes = systole_hw::fsio::read_input(&p).map_err(|e| {
            file_err(
                &p,
                format!("{e}; manifest.json lists it (the build is incomplete: recompile)"),
            )
        })?;
        if bytes.len() as u64 != f.bytes {
            return Err(file_err(
                &p,
                format!(
                    "{} bytes, manifest.json says {}: the file changed after `systole compile`",
                    bytes.len(),
                    f.bytes
                ),
            ));
        }
        let h = sha256_hex(&bytes);
        if h != f.sha256 {
            return Err(file_err(
                &p,
                format!(
                    "sha256 {h}, manifest.json says {}: the file changed after `systole compile`",
                    f.sha256
                ),
            ));
        }
    }
    Ok(())
}
