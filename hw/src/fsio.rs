//! The one place where Systole reads input files and writes output files.
//!
//! Writing: an output to a regular file (or a path that does not exist yet) goes to a temporary
//! file beside it and is renamed into place, so a crash never leaves half a file under the final
//! name. A symlink is followed: the file is written atomically beside the link's target (a
//! rename over the link would replace the link itself). A character device or a pipe (`-o
//! /dev/null`, `-o /dev/stdout` on a pipe) is written straight into: renaming over it would
//! replace the device node with a regular file, which as root breaks the system.
//!
//! Reading: an input must be a regular file (a FIFO would block forever, `/dev/zero` would be
//! read until memory runs out) and no larger than a limit, checked before anything is read.
//!
//! Errors are `std::io::Error`s whose text says what was expected; each crate wraps them in
//! its own error type naming the path, as it did for every other I/O error.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::limits::{Limit, MAX_FILE_BYTES};

/// Longest file-name stem kept in a temporary name: the temporary adds a suffix, and a name
/// that fits the file system's 255-byte limit must not fail only because of that suffix.
const TMP_STEM_MAX: usize = 180;

/// Marks the temporary files of [`AtomicFile`] (`.NAME.systole-tmp-PID-SEQ`), so a directory
/// owner (the build writer) can recognise and remove those of a killed run.
pub const TMP_MARK: &str = ".systole-tmp-";

/// What a file system object is, in the words of an error message.
fn kind_of(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Character devices and pipes: written straight into, never renamed over.
fn is_stream(ft: &std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        ft.is_char_device() || ft.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = ft;
        false
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Follows symlinks from `path` (at most 40, as the kernel does) to the first name that is not
/// a link; it may not exist (a dangling link names the file to create).
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)?;
                p = if target.is_absolute() {
                    target
                } else {
                    p.parent().unwrap_or(Path::new("")).join(target)
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// An output file being written: a temporary beside the destination renamed into place by
/// [`AtomicFile::commit`], or a device or pipe written straight into. Dropped without
/// `commit`, the temporary is removed and the destination is untouched.
pub struct AtomicFile {
    file: Option<File>,
    /// `(temporary, destination)` when staged.
    staged: Option<(PathBuf, PathBuf)>,
}

impl AtomicFile {
    /// Opens the output `path` for writing (see the module's rules).
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        match std::fs::metadata(path) {
            Ok(m) if is_stream(&m.file_type()) => {
                let file = OpenOptions::new().write(true).open(path)?;
                return Ok(AtomicFile {
                    file: Some(file),
                    staged: None,
                });
            }
            Ok(m) if !m.is_file() => {
                return Err(invalid(format!(
                    "is {}, expected a regular file, a character device or a pipe to write to",
                    kind_of(&m.file_type())
                )))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let dest = resolve_links(path)?;
        let name = dest
            .file_name()
            .ok_or_else(|| invalid("is not a file path (it ends in '..' or '/')".into()))?
            .to_string_lossy()
            .into_owned();
        let mut stem = name.as_str();
        while stem.len() > TMP_STEM_MAX {
            let mut cut = TMP_STEM_MAX;
            while !stem.is_char_boundary(cut) {
                cut -= 1;
            }
            stem = &stem[..cut];
        }
        remove_stale_temps(&dest, stem);
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let tmp = dest.with_file_name(format!(
            ".{stem}{TMP_MARK}{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::create(&tmp)?;
        // An existing file keeps its permissions (a script marked executable stays so).
        if let Ok(m) = std::fs::metadata(&dest) {
            let _ = file.set_permissions(m.permissions());
        }
        Ok(AtomicFile {
            file: Some(file),
            staged: Some((tmp, dest)),
        })
    }

    /// Flushes and puts the file under its final name.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self.file.take();
        let Some(mut file) = file else {
            return Ok(());
        };
        file.flush()?;
        if let Some((tmp, dest)) = self.staged.take() {
            let done = file
                .sync_all()
                .and_then(|()| {
                    drop(file);
                    std::fs::rename(&tmp, &dest)
                })
                .inspect_err(|_| {
                    let _ = std::fs::remove_file(&tmp);
                });
            done?;
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("output already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.staged.take() {
            self.file = None;
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes `bytes` to the output `path`: atomically for a regular file (through a symlink,
/// beside its target), straight into a character device or pipe. The workspace's only
/// implementation: the compiler, simulator and CLI all call this one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Writes several output files as one: every file is staged first, then all are renamed into
/// place; if any step fails, the files already renamed are removed again, so a failed run
/// leaves none of them (a name too long for the file system fails only at the rename, after
/// the others were written). Returns the failing path with its error.
pub fn write_all_or_none(files: &[(PathBuf, &[u8])]) -> Result<(), (PathBuf, io::Error)> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let mut f = AtomicFile::create(path).map_err(|e| (path.clone(), e))?;
        f.write_all(bytes).map_err(|e| (path.clone(), e))?;
        staged.push((path, f));
    }
    let mut done: Vec<PathBuf> = Vec::new();
    for (path, f) in staged {
        let stream = f.staged.is_none();
        if let Err(e) = f.commit() {
            for p in &done {
                let _ = std::fs::remove_file(p);
            }
            return Err((path.clone(), e));
        }
        if !stream {
            done.push(resolve_links(path).unwrap_or_else(|_| path.clone()));
        }
    }
    Ok(())
}

/// Writes `files` (names relative to `dir`) into the directory `dir`, created if missing, all
/// or none ([`write_all_or_none`]); on failure the directories it created are removed too.
/// Returns the paths written, or the failing path with its error.
pub fn write_into_dir(
    dir: &Path,
    files: &[(String, &[u8])],
) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
    let mut created = Vec::new();
    let mut d = Some(dir);
    while let Some(x) = d.filter(|x| !x.as_os_str().is_empty()) {
        if std::fs::symlink_metadata(x).is_ok() {
            break;
        }
        created.push(x.to_path_buf());
        d = x.parent();
    }
    let undo = |created: &[PathBuf]| {
        for c in created {
            let _ = std::fs::remove_dir(c);
        }
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        undo(&created);
        return Err((dir.to_path_buf(), e));
    }
    let paths: Vec<(PathBuf, &[u8])> = files.iter().map(|(n, b)| (dir.join(n), *b)).collect();
    if let Err(e) = write_all_or_none(&paths) {
        undo(&created);
        return Err(e);
    }
    Ok(paths.into_iter().map(|(p, _)| p).collect())
}

/// Opens an input file after checking that it is a regular file of at most `limit` bytes;
/// returns it with its size. The check comes before `open`: opening a FIFO blocks until a
/// writer appears.
pub fn open_input(path: &Path, limit: u64, flag: Option<&str>) -> io::Result<(File, u64)> {
    let m = std::fs::metadata(path)?;
    if !m.is_file() {
        return Err(invalid(format!(
            "is {}, expected a regular file",
            kind_of(&m.file_type())
        )));
    }
    let too_big = |n: u64| {
        invalid(format!(
            "is {n} bytes, expected at most {limit} bytes{}",
            flag.map(|f| format!(" (raise the limit with {f} N)"))
                .unwrap_or_default()
        ))
    };
    if m.len() > limit {
        return Err(too_big(m.len()));
    }
    // Non-blocking: if the name was replaced by a FIFO between the two looks, `open` returns
    // at once instead of waiting for a writer, and the check below refuses it. Reads of a
    // regular file ignore the flag.
    let f = open_nonblocking(path)?;
    // The name may have been replaced between the two looks: check what was opened.
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(invalid(format!(
            "is {}, expected a regular file",
            kind_of(&m.file_type())
        )));
    }
    if m.len() > limit {
        return Err(too_big(m.len()));
    }
    Ok((f, m.len()))
}

/// Removes temporary files of `dest` left by runs that were killed (SIGKILL gives no chance to
/// clean up): `.STEM.systole-tmp-PID-N` whose process no longer exists. A live process's file is
/// left alone, so two runs writing one output do not disturb each other.
fn remove_stale_temps(dest: &Path, stem: &str) {
    let Some(dir) = dest.parent() else { return };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{stem}{TMP_MARK}");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether a process with this id exists. Only Linux's `/proc` is asked; elsewhere every process
/// counts as alive, so nothing is removed.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") && Path::new("/proc/self").exists() {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Reads a whole input file of at most `limit` bytes (a regular file; see [`open_input`]).
/// A file that grows past the limit while it is read is refused too.
pub fn read_limited(path: &Path, limit: u64, flag: Option<&str>) -> io::Result<Vec<u8>> {
    let (f, len) = open_input(path, limit, flag)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(invalid(format!(
            "grew past {limit} bytes while it was read, expected at most {limit} bytes"
        )));
    }
    Ok(out)
}

/// Reads a whole input file under the process-wide [`MAX_FILE_BYTES`] limit.
pub fn read_input(path: &Path) -> io::Result<Vec<u8>> {
    read_under(path, &MAX_FILE_BYTES)
}

/// [`read_limited`] under a [`Limit`], naming its flag when the file is too large.
pub fn read_under(path: &Path, limit: &Limit) -> io::Result<Vec<u8>> {
    read_limited(path, limit.get(), Some(limit.flag))
}

/// [`read_input`] of a text file: refused unless it is UTF-8.
pub fn read_input_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read_input(path)?).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "is not UTF-8 text (byte {} is not), expected a text file",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Whether two paths name the same existing file (same device and inode; symlinks followed),
/// so an output that is an input is caught whatever the spelling (`./m.onnx`, a link, a
/// hard link).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
    }
}

/// An exclusive claim on an output directory for one process, so two runs writing one build
/// cannot interleave (each would count the other's files as an earlier build of its own and
/// swap over them). The lock is an `flock` on a file beside the directory
/// (`.NAME.systole-lock`): the kernel drops it when the process ends, even under SIGKILL, so a
/// killed run never leaves a stale lock and no PID bookkeeping is needed. Dropping the guard
/// removes the file.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
    file: File,
}

impl DirLock {
    /// Claims `dir` (which need not exist yet). `Ok(None)` when another process holds it.
    pub fn try_acquire(dir: &Path) -> io::Result<Option<DirLock>> {
        let path = lock_path(dir);
        loop {
            // Not through a symlink: a link planted at the lock's name would make us create or
            // lock a file elsewhere.
            let mut opts = OpenOptions::new();
            opts.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.custom_flags(libc::O_NOFOLLOW);
            }
            let file = opts.open(&path).map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    invalid(format!(
                        "{} is a symlink; expected Systole's lock file (remove the link)",
                        path.display()
                    ))
                } else {
                    e
                }
            })?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
            // The holder before us removes the file as it lets go; if it did so between our
            // open and our lock, we hold a lock on a name nobody else will open: start again.
            let still_there = match (std::fs::metadata(&path), file.metadata()) {
                (Ok(on_disk), Ok(ours)) => same_inode(&on_disk, &ours),
                _ => false,
            };
            if still_there {
                return Ok(Some(DirLock { path, file }));
            }
        }
    }

    /// The lock file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Remove before unlocking, so a waiter that opens the name afterwards makes a new file.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// `.NAME.systole-lock` beside `dir`.
pub fn lock_path(dir: &Path) -> PathBuf {
    // `.`, `..` and `out/../b` have no usable last component: name the directory itself.
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "build".into());
    dir.with_file_name(format!(".{name}.systole-lock"))
}

fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        a.len() == b.len() && a.modified().ok() == b.modified().ok()
    }
}

#[cfg(test)]
mod tests;
