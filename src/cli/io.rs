//! Shared helpers of the verbs: `NAME=FILE` arguments and JSON printing.

use std::path::PathBuf;

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
