//! `manifest.json`: every file with its size and sha256, every tensor's format and DRAM range,
//! every layer's ROM ranges, the tool version and the inputs' hashes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use systole_hw::Dataflow;

use super::params::{Design, LayerRoms, Layout};
use super::{sha256_hex, Inputs};
use crate::fxir::format_text;

pub const MANIFEST_FORMAT: &str = "systole-build";
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArrayInfo {
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    pub dataflow: Dataflow,
    pub input_bits: u32,
    pub weight_bits: u32,
    pub acc_bits: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TensorEntry {
    pub id: usize,
    pub name: String,
    pub shape: Vec<usize>,
    pub format: String,
    pub dram_base: u64,
    pub dram_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WeightBanks {
    /// `rom/weights_col` (banks per column) or `rom/weights_row` (per row, IS).
    pub prefix: String,
    pub count: usize,
    pub depth: usize,
    pub width: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub format: &'static str,
    pub version: u32,
    pub tool: String,
    pub program: Source,
    pub program_name: String,
    pub hw: Source,
    pub array: ArrayInfo,
    pub batch: usize,
    pub weight_banks: WeightBanks,
    pub layers: Vec<LayerRoms>,
    pub tensors: Vec<TensorEntry>,
    /// Every file of the build but the manifest, sorted by path.
    pub files: Vec<FileEntry>,
}

/// Just what a later build needs to know of an earlier one: which files it wrote.
#[derive(Debug, Clone, Deserialize)]
pub struct OldManifest {
    pub format: String,
    pub version: u32,
    pub files: Vec<FileEntry>,
}

/// The manifest of design `d` built from `inputs` into `files` laid out as `l`; the weight banks
/// are the files `rom/weights_{bank_name}N.mem`.
pub(super) fn make(
    d: Design,
    inputs: &Inputs,
    files: &BTreeMap<String, Vec<u8>>,
    l: Layout,
    bank_name: &str,
) -> Manifest {
    let Design { p, s, hw } = d;
    let Layout { layers, dram } = l;
    let banks = files
        .keys()
        .filter(|k| k.starts_with(&format!("rom/weights_{bank_name}")) && k.ends_with(".mem"))
        .count();
    let depth = files
        .get(&format!("rom/weights_{bank_name}0.mem"))
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    Manifest {
        format: MANIFEST_FORMAT,
        version: MANIFEST_VERSION,
        tool: inputs.tool.clone(),
        program: Source {
            file: inputs.program_file.clone(),
            sha256: inputs.program_sha256.clone(),
        },
        program_name: p.name.clone(),
        hw: Source {
            file: inputs.hw_source.clone(),
            sha256: inputs.hw_sha256.clone(),
        },
        array: ArrayInfo {
            name: hw.name.clone(),
            rows: hw.rows,
            cols: hw.cols,
            dataflow: hw.dataflow,
            input_bits: hw.input_bits,
            weight_bits: hw.weight_bits,
            acc_bits: hw.acc_bits,
        },
        batch: s.batch,
        weight_banks: WeightBanks {
            prefix: format!("rom/weights_{bank_name}"),
            count: banks,
            depth,
            width: hw.weight_bits,
        },
        layers: layers.to_vec(),
        tensors: p
            .tensors
            .iter()
            .zip(dram)
            .enumerate()
            .map(|(id, (t, r))| TensorEntry {
                id,
                name: t.name.clone(),
                shape: t.shape.clone(),
                format: format_text(&t.format),
                dram_base: r.base,
                dram_bytes: r.bytes,
            })
            .collect(),
        files: files
            .iter()
            .map(|(path, bytes)| FileEntry {
                path: path.clone(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(bytes),
            })
            .collect(),
    }
}
