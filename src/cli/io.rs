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
