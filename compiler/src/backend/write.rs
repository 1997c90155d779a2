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
//! directory, files are renamed one by one; a journal (`.systole-pending.json`) listing them is
//! written first, so after a kill the next build knows those files are its own, and the earlier
//! manifest stays until the new one replaces it.

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
    files: Vec<String>,
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
                && (name.starts_with(STAGING) || name.starts_with(JOURNAL))
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

/// Writes `b` into `dir` (created if missing).
pub fn write(dir: &Path, b: &Build, force: bool) -> Result<WriteReport> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::File {
            path: dir.to_path_buf(),
            msg: "exists and is not a directory".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let present = existing(dir)?;
    let mf = dir.join("manifest.json");
    let ours: BTreeSet<String> = match std::fs::read(&mf) {
        Ok(bytes) => match serde_json::from_slice::<OldManifest>(&bytes) {
            Ok(m) if m.format == MANIFEST_FORMAT && m.version == MANIFEST_VERSION => m
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
    if let Ok(bytes) = std::fs::read(&journal) {
        if let Ok(j) = serde_json::from_slice::<Journal>(&bytes) {
            ours.extend(j.files);
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
    let written = if present.is_empty() {
        let _ = std::fs::remove_file(&journal);
        write_whole(dir, b)?
    } else {
        let staging = dir.join(format!("{STAGING}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let result = stage(&staging, b).and_then(|()| {
            let files: Vec<String> = b.files.keys().cloned().collect();
            write_file_atomic(
                dir,
                JOURNAL,
                &serde_json::to_vec(&Journal { files }).unwrap_or_default(),
            )?;
            move_files(dir, &staging, b)
        });
        let _ = std::fs::remove_dir_all(&staging);
        let written = result?;
        let _ = std::fs::remove_file(&journal);
        written
    };
    let mut removed = Vec::new();
    for old in &ours {
        if !new.contains(old) && present.contains(old) {
            let p = dir.join(old);
            std::fs::remove_file(&p).map_err(|e| io(&p, e))?;
            removed.push(old.clone());
        }
    }
    Ok(WriteReport {
        written,
        removed,
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
            } else if n.starts_with(JOURNAL) && n != JOURNAL {
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

/// Writes `bytes` to `dir/rel` through a temporary name.
fn write_file_atomic(dir: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
    let to = dir.join(rel);
    let tmp = dir.join(format!("{rel}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &to).map_err(|e| io(&to, e))
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

fn move_files(dir: &Path, staging: &Path, b: &Build) -> Result<Vec<String>> {
    // Rename into place, the manifest last.
    let mut order: Vec<&String> = b.files.keys().filter(|k| *k != "manifest.json").collect();
    order.extend(b.files.keys().filter(|k| *k == "manifest.json"));
    let mut written = Vec::new();
    for rel in order {
        let to = dir.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::rename(staging.join(rel), &to).map_err(|e| io(&to, e))?;
        written.push(rel.clone());
    }
    Ok(written)
}
