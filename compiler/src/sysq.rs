//! `.sysq`: a quantized program on disk (JSON, versioned). `docs/sysq.md` documents the fields.
//!
//! The header (`format`, `version`) is read first, so a file from a newer Systole gets a clear
//! error naming both versions instead of a field-level parse failure.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fxir::Program;
use crate::{Error, Result};

pub const FORMAT: &str = "systole-sysq";
/// Bumped whenever a field changes meaning or a reader of the previous version would misread.
/// Version 2 added integer program inputs (`program.int_inputs`) and the encoder stages
/// (`MatMul`, `Embed`, vector `Add`, `LayerNorm`, `Gelu`, `MaskedSoftmax`); a version-1 file is
/// a version-2 file without them and is read as such. Version 3 added dynamic quantization
/// (vector `DynamicExponent`, `DynamicQuant`, and `dynamic` array stages); a program without
/// them is still written as version 2, byte for byte as before, so only files that need the
/// new stages are refused by an older reader.
pub const VERSION: u32 = 3;
/// The version written for programs without dynamic quantization.
pub const VERSION_STATIC: u32 = 2;
/// The oldest version this Systole reads.
pub const MIN_VERSION: u32 = 1;

/// How the program was made: enough to reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Provenance {
    pub tool: String,
    pub model: String,
    pub calibration: String,
    pub calibration_samples: usize,
    pub method: String,
    pub acts: String,
    pub weights: String,
    pub per_channel: bool,
    /// Per-layer weight formats (after allocation), in stage order.
    pub layers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SysqFile {
    pub format: String,
    pub version: u32,
    pub provenance: Provenance,
    pub program: Program,
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u32>,
}

impl SysqFile {
    pub fn new(provenance: Provenance, program: Program) -> SysqFile {
        let version = if program.is_dynamic() {
            VERSION
        } else {
            VERSION_STATIC
        };
        SysqFile {
            format: FORMAT.into(),
            version,
            provenance,
            program,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).expect("a program always serializes");
        v.push(b'\n');
        v
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        crate::files::write(path, &self.to_bytes())
    }

    pub fn read(path: &Path) -> Result<SysqFile> {
        let bytes = crate::files::read(path)?;
        Self::from_bytes(path, &bytes)
    }

    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<SysqFile> {
        let bad = |msg: String| Error::File {
            path: path.into(),
            msg,
        };
        let h: Header = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "not a .sysq file (expected JSON with \"format\": \"{FORMAT}\"): {e}"
            ))
        })?;
        if h.format.as_deref() != Some(FORMAT) {
            return Err(bad(format!(
                "not a .sysq file: \"format\" is {:?}, expected \"{FORMAT}\"",
                h.format
            )));
        }
        match h.version {
            Some(v) if (MIN_VERSION..=VERSION).contains(&v) => {}
            Some(v) if v > VERSION => {
                return Err(bad(format!(
                "written by a newer Systole (.sysq version {v}); this one reads version {VERSION}"
            )))
            }
            v => {
                return Err(bad(format!(
                    ".sysq version {v:?} is not supported; this Systole reads versions {MIN_VERSION} to {VERSION}"
                )))
            }
        }
        let f: SysqFile =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid .sysq: {e}")))?;
        if f.version < VERSION && f.program.is_dynamic() {
            return Err(bad(format!(
                "a version-{} file with dynamic quantization stages (they need version {VERSION})",
                f.version
            )));
        }
        f.program
            .validate()
            .map_err(|e| bad(format!("invalid program: {e}")))?;
        Ok(f)
    }
}
