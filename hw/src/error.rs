//! The one error type of the hardware crate.
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum HwError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not a description: bad RON, an unknown field or name, a missing field. `msg`
    /// starts with `line:col` and, where it can be told, the `field '…'` it concerns.
    #[error("{path}: not a valid accelerator description: {msg}")]
    Parse { path: PathBuf, msg: String },
    /// A file larger than any description could be, refused before it is read.
    #[error("{path}: {bytes} bytes is larger than the {limit}-byte limit for a description")]
    TooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },
    /// A value out of range; `field` is the dotted path, e.g. `buffers.ifmap.size_kib`.
    #[error("{}accelerator '{name}': field '{field}': {msg}", file_prefix(.path.as_deref()))]
    Field {
        path: Option<PathBuf>,
        name: String,
        field: String,
        msg: String,
    },
    /// A size above one of the process-wide limits (`limits.rs`): how many of `what` there are,
    /// the limit, and the flag that raises it.
    #[error("{n} {what} exceeds the limit of {max} (raise it with {flag} N)")]
    Limit {
        n: u128,
        what: &'static str,
        max: u64,
        flag: &'static str,
    },
    /// A name that is not one of a fixed set (a part, an ASIC node); `known` lists them.
    #[error("unknown {what} '{name}' (known: {known})")]
    Unknown {
        what: &'static str,
        name: String,
        known: String,
    },
}

fn file_prefix(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}
