//! The one error type of the hardware crate.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum HwError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid accelerator description: {msg}")]
    Parse { path: PathBuf, msg: String },
    #[error("accelerator '{name}': field '{field}': {msg}")]
    Field {
        name: String,
        field: String,
        msg: String,
    },
}
