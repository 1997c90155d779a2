//! The compiler's file I/O: `systole_hw::fsio` (the workspace's one implementation of atomic
//! writes and bounded reads) with errors in this crate's type, naming the path.

use std::path::Path;

use crate::error::{Error, Result};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes an output file (atomically for a regular file, straight into a device or pipe).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    systole_hw::fsio::write_atomic(path, bytes).map_err(io(path))
}

/// Reads an input file: a regular file of at most `--max-file-bytes` bytes.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    systole_hw::fsio::read_input(path).map_err(io(path))
}

/// [`read`] of a UTF-8 text file.
pub fn read_string(path: &Path) -> Result<String> {
    systole_hw::fsio::read_input_string(path).map_err(io(path))
}
