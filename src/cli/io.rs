//! Shared helpers of the verbs: `NAME=FILE` arguments, outputs that would overwrite inputs,
//! and JSON printing.

use std::path::{Path, PathBuf};

use super::Failure;

/// `FILE` or `NAME=FILE`.
#[derive(Clone, Debug)]
pub struct Binding {
    pub name: Option<String>,
    pub path: PathBuf,
}

pub fn parse_binding(s: &str) -> Result<Binding, String> {
    if s.is_empty() {
        return Err("expected FILE or NAME=FILE".into());
    }
    match s.split_once('=') {
        Some((n, p)) if !n.is_empty() && !p.is_empty() => Ok(Binding {
            name: Some(n.to_string()),
            path: PathBuf::from(p),
        }),
        Some(_) => Err(format!("'{s}': expected NAME=FILE")),
        None => Ok(Binding {
            name: None,
            path: PathBuf::from(s),
        }),
    }
}

/// [`parse_binding`] for arguments that may not be UTF-8: such a one is a plain path.
pub fn binding_os(s: std::ffi::OsString) -> Binding {
    match s.to_str() {
        Some(t) => parse_binding(t).unwrap_or(Binding {
            name: None,
            path: PathBuf::from(t),
        }),
        None => Binding {
            name: None,
            path: PathBuf::from(s),
        },
    }
}

pub fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Failure::usage(format!("json: {e}")))?;
    println!("{s}");
    Ok(())
}

/// Refuses an output file that is one of the inputs (`quantize m.onnx -o m.onnx`): the atomic
/// write would replace the input, and the run would end with exit 0 and the input gone. Files
/// are compared by device and inode (`fsio::same_file`), so `./m.onnx`, a symlink or a hard
/// link to the input are caught too; an output that does not exist yet cannot be an input.
/// Each entry is `(flag, path)`; `None` paths (flags not given) are skipped.
pub fn refuse_output_over_input(
    outputs: &[(&str, Option<&Path>)],
    inputs: &[(&str, Option<&Path>)],
) -> Result<(), Failure> {
    refuse_shared_outputs(outputs)?;
    for (oflag, out) in outputs {
        let Some(out) = out else { continue };
        for (iflag, inp) in inputs {
            let Some(inp) = inp else { continue };
            if systole_hw::fsio::same_file(out, inp) {
                return Err(Failure::usage(format!(
                    "{oflag} {} is the same file as {iflag} {}: writing it would destroy the \
                     input; expected a different output path",
                    out.display(),
                    inp.display()
                )));
            }
        }
    }
    Ok(())
}

/// Refuses two outputs of one run that name the same file (`simulate --output f --csv f`): the
/// second rename silently replaced the first output, with exit 0. Paths are compared as files
/// when both exist and otherwise by their resolved folder and name, so `./f` and `f` match. A
/// device or FIFO may be named twice (`--output /dev/null --csv /dev/null` discards both).
fn refuse_shared_outputs(outputs: &[(&str, Option<&Path>)]) -> Result<(), Failure> {
    let key = |p: &Path| {
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        (
            std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
            p.file_name().map(|n| n.to_owned()),
        )
    };
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|(f, p)| p.map(|p| (*f, p)))
        .collect();
    for (i, (fa, a)) in given.iter().enumerate() {
        for (fb, b) in &given[i + 1..] {
            let special = std::fs::metadata(a).is_ok_and(|m| !m.is_file() && !m.is_dir());
            if !special && (systole_hw::fsio::same_file(a, b) || key(a) == key(b)) {
                return Err(Failure::usage(format!(
                    "{fa} {} and {fb} {} name the same file: one output would replace the \
                     other; expected different paths",
                    a.display(),
                    b.display()
                )));
            }
        }
    }
    Ok(())
}

/// Refuses, before any work, a file output whose folder does not exist or is not a directory.
/// A verb that writes several files otherwise wrote the first (`simulate --output`) and then
/// failed on the second (`--csv no/such/dir/c.csv`), leaving half its outputs behind.
pub fn check_output_folders(outputs: &[(&str, Option<&Path>)]) -> Result<(), Failure> {
    for (flag, out) in outputs {
        let Some(out) = out else { continue };
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(Failure::usage(format!(
                "{flag} {}: its folder {} {}; expected an existing directory",
                out.display(),
                dir.display(),
                if dir.exists() {
                    "is not a directory"
                } else {
                    "does not exist"
                }
            )));
        }
    }
    Ok(())
}
