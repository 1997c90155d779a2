//! Writing a build directory: every file staged in a hidden directory inside the target and
//! renamed into place (atomic per file), the manifest last, so an interrupted compile never
//! leaves a partial file under a final name and a directory with a manifest is complete.
//!
//! Ownership: files listed in an earlier Systole manifest are the tool's and may be replaced or,
//! when the new build no longer has them, removed. Any other file is the user's: its presence
//! refuses the build unless `force`, and it is never deleted.
//!
//! Interruption (SIGKILL, power loss): a new directory is staged beside its final name and
//! renamed into place whole, so it either exists complete or not at all. Into an existing
//! directory, files are renamed one by one; a journal (`.systole-pending.json`) is written
//! first listing both the new build's files and the earlier build's, and removed only after the
//! earlier build's leftovers are gone. After a kill anywhere in that swap, the next build
//! counts every journalled file as its own and rolls forward: it rewrites the new files and
//! removes the earlier build's files the new one does not have (also under `--force`, which
//! otherwise keeps files it does not know).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::manifest::{OldManifest, MANIFEST_FORMAT, MANIFEST_VERSION};
use super::Build;
use crate::{Error, Result};

/// What [`write`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WriteReport {
    pub written: Vec<String>,
    /// Files of an earlier build that this one no longer has, removed.
    pub removed: Vec<String>,
    /// Files not made by Systole, left alone (only with `force`).
    pub kept: Vec<String>,
}

/// Prefix of staging directories (inside the build, or beside it for a new build).
const STAGING: &str = ".systole-staging";
/// The list of files being renamed into an existing build.
const JOURNAL: &str = ".systole-pending.json";

#[derive(serde::Serialize, serde::Deserialize)]
struct Journal {
    /// The files being renamed into place.
    files: Vec<String>,
    /// The earlier build's files (from its manifest and any earlier journal): still Systole's
    /// until they are removed, even once the new manifest has replaced the one that listed them.
    #[serde(default)]
    old: Vec<String>,
}

/// Test hook for `tests/kill.rs`: with `SYSTOLE_TEST_PAUSE_AT_SWAP_STEP=N` set, the swap of
/// files into an existing build prints `swap step N of TOTAL` to stderr before its N-th change
/// to the directory (the journal, each rename, each removal) and waits there, so the test can
/// SIGKILL `compile` at exactly that point instead of at a time that happens to fall in a
/// swap of a few milliseconds. Without the variable it does nothing.
struct SwapSteps {
    pause_at: Option<u64>,
    total: u64,
    done: u64,
}

impl SwapSteps {
    fn new(total: u64) -> SwapSteps {
        let pause_at = std::env::var("SYSTOLE_TEST_PAUSE_AT_SWAP_STEP")
            .ok()
            .and_then(|v| v.parse().ok());
        SwapSteps {
            pause_at,
            total,
            done: 0,
        }
    }

    fn next(&mut self) {
        self.done += 1;
        if self.pause_at == Some(self.done) {
            use std::io::Write;
            let mut e = std::io::stderr();
            let _ = writeln!(e, "swap step {} of {}", self.done, self.total);
            let _ = e.flush();
            std::thread::sleep(std::time::Duration::from_secs(600));
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Every regular file under `dir`, relative, skipping our staging directories.
fn existing(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let here = dir.join(&rel);
        for e in std::fs::read_dir(&here).map_err(|e| io(&here, e))? {
            let e = e.map_err(|e| io(&here, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if rel.as_os_str().is_empty()
                && (name.starts_with(STAGING)
                    || name.starts_with(JOURNAL)
                    || name.contains(systole_hw::fsio::TMP_MARK))
            {
                continue;
            }
            let r = rel.join(&name);
            if e.file_type().map_err(|x| io(&e.path(), x))?.is_dir() {
                stack.push(r);
            } else {
                out.push(r.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The directory a build goes to, spelled so that staging beside it and renaming into place
/// work: a symlink to a directory is followed (renaming over the link would replace the link),
/// `out/.` and `out/sub/..` name the directory they resolve to, and missing parents are made.
fn resolve_dir(dir: &Path) -> Result<PathBuf> {
    let link = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
    if dir.exists() {
        return std::fs::canonicalize(dir).map_err(|e| io(dir, e));
    }
    if link {
        return Err(Error::File {
            path: dir.to_path_buf(),
            msg: "is a symlink to a path that does not exist; expected a directory, or a path \
                  that does not exist yet"
                .into(),
        });
    }
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(Error::File {
            path: dir.to_path_buf(),
            msg: "does not name a directory to create; expected a path such as out/build".into(),
        });
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let parent = std::fs::canonicalize(parent).map_err(|e| io(parent, e))?;
    Ok(parent.join(name))
}

/// Writes `b` into `dir` (created if missing, with its parents).
pub fn write(dir: &Path, b: &Build, force: bool) -> Result<WriteReport> {
    let dir = &resolve_dir(dir)?;
    if dir.exists() && !dir.is_dir() {
        return Err(Error::File {
            path: dir.to_path_buf(),
            msg: "exists and is not a directory".into(),
        });
    }
    // Held until the build is in place: a second compile into the same directory is refused
    // rather than interleaved with this one.
    let _lock = match systole_hw::fsio::DirLock::try_acquire(dir) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            return Err(Error::File {
                path: dir.to_path_buf(),
                msg: format!(
                    "another Systole process is writing this build (it holds {}); wait for \
                     it to finish or write elsewhere",
                    systole_hw::fsio::lock_path(dir).display()
                ),
            })
        }
        Err(e) => return Err(io(&systole_hw::fsio::lock_path(dir), e)),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let present = existing(dir)?;
    let mf = dir.join("manifest.json");
    let ours: BTreeSet<String> = match systole_hw::fsio::read_input(&mf) {
        Ok(bytes) => match serde_json::from_slice::<OldManifest>(&bytes) {
            // With --force, a build of another manifest version is replaced like our own: its
            // files were written by a Systole, and keeping them would leave stale ROMs.
            Ok(m) if m.format == MANIFEST_FORMAT && (m.version == MANIFEST_VERSION || force) => m
                .files
                .into_iter()
                .map(|f| f.path)
                .chain(["manifest.json".to_string()])
                .collect(),
            Ok(m) if m.format == MANIFEST_FORMAT => {
                return Err(Error::File {
                    path: mf,
                    msg: format!(
                        "a build of manifest version {}, this Systole writes version \
                         {MANIFEST_VERSION}; remove the directory or pass --force",
                        m.version
                    ),
                })
            }
            _ => BTreeSet::new(),
        },
        Err(_) => BTreeSet::new(),
    };
    let mut ours = ours;
    let journal = dir.join(JOURNAL);
    if let Ok(bytes) = systole_hw::fsio::read_input(&journal) {
        if let Ok(j) = serde_json::from_slice::<Journal>(&bytes) {
            ours.extend(j.files);
            ours.extend(j.old);
        }
    }
    let new: BTreeSet<&String> = b.files.keys().collect();
    let foreign: Vec<String> = present
        .iter()
        .filter(|f| !ours.contains(*f))
        .cloned()
        .collect();
    if !foreign.is_empty() && !force {
        let shown: Vec<&str> = foreign.iter().take(3).map(|s| s.as_str()).collect();
        return Err(Error::File {
            path: dir.to_path_buf(),
            msg: format!(
                "holds {} file(s) Systole did not write ({}{}); choose an empty directory or \
                 pass --force (those files are kept)",
                foreign.len(),
                shown.join(", "),
                if foreign.len() > 3 { ", ..." } else { "" }
            ),
        });
    }
    // A user's file where the build writes one would be lost: refuse even with force.
    if let Some(clash) = foreign.iter().find(|f| new.contains(f)) {
        return Err(Error::File {
            path: dir.join(clash),
            msg: "is not from a Systole build and the build writes a file of that name; \
                  move it away first (Systole never overwrites a user's file)"
                .into(),
        });
    }
    remove_stale_staging(dir);
    // The earlier build's files the new one does not have: removed after the swap.
    let stale: Vec<String> = ours
        .iter()
        .filter(|f| !new.contains(f) && present.contains(f))
        .cloned()
        .collect();
    // Renaming a staged tree over the directory needs it empty: one holding only (empty)
    // subdirectories takes the file-by-file path.
    let no_entries = std::fs::read_dir(dir)
        .map(|mut r| r.next().is_none())
        .unwrap_or(false);
    let written = if present.is_empty() && no_entries {
        let _ = std::fs::remove_file(&journal);
        write_whole(dir, b)?
    } else {
        let staging = dir.join(format!("{STAGING}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let result = stage(&staging, b).and_then(|()| {
            let files: Vec<String> = b.files.keys().cloned().collect();
            let old: Vec<String> = ours.iter().cloned().collect();
            let mut steps = SwapSteps::new(files.len() as u64 + stale.len() as u64 + 3);
            steps.next();
            let j = serde_json::to_vec(&Journal { files, old }).map_err(|e| Error::File {
                path: journal.clone(),
                msg: format!("cannot encode the journal: {e}"),
            })?;
            systole_hw::fsio::write_atomic(&journal, &j).map_err(|e| io(&journal, e))?;
            let written = move_files(dir, &staging, b, &mut steps)?;
            for old in &stale {
                steps.next();
                let p = dir.join(old);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&p, e)),
                }
            }
            steps.next();
            std::fs::remove_file(&journal).map_err(|e| io(&journal, e))?;
            steps.next();
            Ok(written)
        });
        let _ = std::fs::remove_dir_all(&staging);
        result?
    };
    Ok(WriteReport {
        written,
        removed: stale,
        kept: foreign,
    })
}

/// Staging directories of killed runs: inside the build, and beside it (`.NAME.systole-staging-*`).
fn remove_stale_staging(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(STAGING) {
                let _ = std::fs::remove_dir_all(e.path());
            } else if (n.starts_with(JOURNAL) && n != JOURNAL)
                || n.contains(systole_hw::fsio::TMP_MARK)
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    if let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) {
        let prefix = format!(".{}{STAGING}", name.to_string_lossy());
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(rd) = std::fs::read_dir(parent) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

/// A new (or empty) build directory: staged beside it, then one rename puts it in place.
fn write_whole(dir: &Path, b: &Build) -> Result<Vec<String>> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = dir.with_file_name(format!(".{name}{STAGING}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = stage(&staging, b).and_then(|()| {
        // `dir` exists (created empty above); rename replaces an empty directory.
        std::fs::rename(&staging, dir).map_err(|e| io(dir, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    let mut order: Vec<String> = b
        .files
        .keys()
        .filter(|k| *k != "manifest.json")
        .cloned()
        .collect();
    order.extend(b.files.keys().filter(|k| *k == "manifest.json").cloned());
    Ok(order)
}

fn stage(staging: &Path, b: &Build) -> Result<()> {
    // Stage everything first: a failure here leaves the directory as it was.
    for (rel, bytes) in &b.files {
        let p = staging.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&p, bytes).map_err(|e| io(&p, e))?;
    }
    Ok(())
}

fn move_files(dir: &Path, staging: &Path, b: &Build, steps: &mut SwapSteps) -> Result<Vec<String>> {
    // Rename into place, the manifest last.
    let mut order: Vec<&String> = b.files.keys().filter(|k| *k != "manifest.json").collect();
    order.extend(b.files.keys().filter(|k| *k == "manifest.json"));
    let mut written = Vec::new();
    for rel in order {
        let to = dir.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        steps.next();
        std::fs::rename(staging.join(rel), &to).map_err(|e| io(&to, e))?;
        written.push(rel.clone());
    }
    Ok(written)
}
