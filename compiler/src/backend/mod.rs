//! The backend: a scheduled program as the files a Verilog flow reads.
//!
//! [`build`] is a pure function from (program, schedule, description, input hashes) to a map of
//! relative path → bytes, so the output tree is deterministic and snapshot-testable; [`write`]
//! puts it on disk atomically. What each file holds is in `docs/isa.md` and `docs/backend.md`.

pub mod isa;
mod layer_table;
pub mod listing;
mod manifest;
mod params;
pub mod read;
pub mod rom;
mod write;

pub use manifest::{FileEntry, Manifest, WeightBanks, MANIFEST_FORMAT, MANIFEST_VERSION};
pub use params::dram_map;
pub use read::BuildDir;
pub use write::{write, WriteReport};

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use systole_hw::{Accelerator, Dataflow};

use crate::fxir::{Program, StageKind};
use crate::schedule::{Schedule, Work};
use crate::{Error, Result};
use rom::Rom;

/// Where the build's inputs came from (recorded in the manifest).
#[derive(Debug, Clone)]
pub struct Inputs {
    /// File name of the program and the sha256 of its bytes.
    pub program_file: String,
    pub program_sha256: String,
    /// The description's name (or file name) and the sha256 of its RON text.
    pub hw_source: String,
    pub hw_sha256: String,
    /// `systole x.y.z`.
    pub tool: String,
    /// The program file's bytes, copied into the build as `program.sysq` so that `simulate` and
    /// `verify` can take the build directory alone.
    pub program_bytes: Vec<u8>,
}

/// The output tree: relative path → contents, and the manifest describing it.
pub struct Build {
    pub files: BTreeMap<String, Vec<u8>>,
    pub manifest: Manifest,
    /// Every ROM and its depth in words: each `rom/*.mem` file, and the two memories
    /// `hw/rtl/systole_top.v` makes of them (all weight banks in one, all layers' parameters in
    /// one).
    pub roms: Vec<RomDepth>,
}

/// One ROM's name and depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RomDepth {
    pub name: String,
    pub words: u64,
}

/// Address bits of the ROMs in `hw/rtl/systole_top.v`: its layer table's ROM bases and its ROM
/// indices are 32 bits wide, so no build may hold a deeper ROM.
pub const RTL_ROM_ADDR_BITS: u32 = 32;

/// Refuses, naming the ROM and both numbers, a ROM deeper than `addr_bits` address bits reach.
pub fn check_rom_depths(roms: &[RomDepth], addr_bits: u32) -> Result<()> {
    let reach = 1u128 << addr_bits.min(64);
    match roms.iter().find(|r| u128::from(r.words) > reach) {
        Some(r) => Err(Error::RomTooDeep {
            rom: r.name.clone(),
            words: r.words,
            addr_bits,
            reach,
        }),
        None => Ok(()),
    }
}

impl Build {
    /// [`check_rom_depths`] over this build's ROMs.
    pub fn check_rom_depths(&self, addr_bits: u32) -> Result<()> {
        check_rom_depths(&self.roms, addr_bits)
    }
}

/// Every `rom/*.mem` file of the tree with its depth, then the RTL's combined memories.
fn rom_depths(
    files: &BTreeMap<String, Vec<u8>>,
    banks: usize,
    wrom_depth: usize,
    param_words: usize,
) -> Vec<RomDepth> {
    let mut v: Vec<RomDepth> = files
        .iter()
        .filter(|(n, _)| n.starts_with("rom/") && n.ends_with(".mem"))
        .map(|(n, b)| RomDepth {
            name: n.clone(),
            words: b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count() as u64,
        })
        .collect();
    v.push(RomDepth {
        name: "wbank (systole_top's weight ROM: every bank)".into(),
        words: (banks * wrom_depth) as u64,
    });
    v.push(RomDepth {
        name: "p_bias/p_mult/p_shift/p_zero (systole_top's parameter ROMs: every layer)".into(),
        words: param_words as u64,
    });
    v
}

/// The hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The four renderings of a weight ROM.
fn put_rom(files: &mut BTreeMap<String, Vec<u8>>, stem: &str, r: &Rom, all_formats: bool) {
    files.insert(format!("{stem}.mem"), r.mem().into_bytes());
    if all_formats {
        files.insert(format!("{stem}.memb"), r.memb().into_bytes());
        files.insert(format!("{stem}.coe"), r.coe().into_bytes());
        files.insert(format!("{stem}.mif"), r.mif().into_bytes());
    }
}

/// Builds every output file of one compile.
pub fn build(p: &Program, s: &Schedule, hw: &Accelerator, inputs: &Inputs) -> Result<Build> {
    s.validate(p)?;
    let mut files = BTreeMap::new();
    // Weight banks: one ROM per array column (WS, OS) or row (IS), in the order folds stream
    // the weights into that edge (docs/backend.md).
    let banks = match s.dataflow {
        Dataflow::InputStationary => s.rows,
        _ => s.cols,
    };
    let mut bank_words: Vec<Vec<i64>> = vec![Vec::new(); banks];
    let mut layer_roms = Vec::new();
    for (li, (l, st)) in s.layers.iter().zip(&p.stages).enumerate() {
        let (Work::Array(w), StageKind::Gemm(g)) = (&l.work, &st.kind) else {
            continue;
        };
        let first = bank_words[0].len();
        let dec = g.weights.decode();
        let wt = |kk: usize, nn: usize| i64::from(dec[nn * g.k + kk]);
        for step in &w.steps {
            match s.dataflow {
                // The stationary tile enters from the top, bottom row first (R words per fold).
                Dataflow::WeightStationary => {
                    for (c, bank) in bank_words.iter_mut().enumerate() {
                        for r in (0..s.rows).rev() {
                            let v = if r < step.k.len && c < step.n.len {
                                wt(step.k.start + r, step.n.start + c)
                            } else {
                                0
                            };
                            bank.push(v);
                        }
                    }
                }
                // B streams down each column, one reduction index per cycle (T words per fold).
                Dataflow::OutputStationary => {
                    for (c, bank) in bank_words.iter_mut().enumerate() {
                        for t in 0..step.k.len {
                            let v = if c < step.n.len {
                                wt(step.k.start + t, step.n.start + c)
                            } else {
                                0
                            };
                            bank.push(v);
                        }
                    }
                }
                // Weights stream along each row, one output column per cycle.
                Dataflow::InputStationary => {
                    for (r, bank) in bank_words.iter_mut().enumerate() {
                        for t in 0..step.n.len {
                            let v = if r < step.k.len {
                                wt(step.k.start + r, step.n.start + t)
                            } else {
                                0
                            };
                            bank.push(v);
                        }
                    }
                }
            }
        }
        let words = bank_words[0].len() - first;
        layer_roms.push(params::layer_files(&mut files, li, st, g, first, words)?);
    }
    let bank_name = if s.dataflow == Dataflow::InputStationary {
        "row"
    } else {
        "col"
    };
    let width = hw.weight_bits;
    for (b, words) in bank_words.iter().enumerate() {
        let r = Rom::from_signed(width, words.iter().copied());
        put_rom(&mut files, &format!("rom/weights_{bank_name}{b}"), &r, true);
    }
    let wrom_depth = bank_words.first().map_or(0, |v| v.len());
    // The instruction ROM and the readable schedule.
    let instrs = isa::encode(s)?;
    let irom: String = instrs.iter().map(|w| format!("{w:032x}\n")).collect();
    files.insert("rom/instructions.mem".into(), irom.into_bytes());
    files.insert("schedule.txt".into(), crate::schedule::dump(s).into_bytes());
    let ron = ron::ser::to_string_pretty(s, ron::ser::PrettyConfig::default())
        .map_err(|e| Error::internal(format!("serializing schedule.ron: {e}")))?;
    files.insert("schedule.ron".into(), (ron + "\n").into_bytes());
    let json = serde_json::to_string_pretty(s)
        .map_err(|e| Error::internal(format!("serializing schedule.json: {e}")))?;
    files.insert("schedule.json".into(), (json + "\n").into_bytes());
    files.insert("program.sysq".into(), inputs.program_bytes.clone());
    files.insert("hw.ron".into(), (hw.to_ron_string() + "\n").into_bytes());
    let dram = params::dram_map(p, s.batch);
    let design = params::Design { p, s, hw };
    let layout = params::Layout {
        layers: &layer_roms,
        dram: &dram,
    };
    files.insert(
        "systole_params.vh".into(),
        params::header(design, layout, wrom_depth, banks, instrs.len()).into_bytes(),
    );
    let manifest = manifest::make(design, inputs, &files, layout, bank_name);
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::internal(format!("serializing manifest.json: {e}")))?;
    files.insert("manifest.json".into(), (text + "\n").into_bytes());
    let param_words = layer_roms.iter().map(|l| l.n).sum();
    let roms = rom_depths(&files, banks, wrom_depth, param_words);
    check_rom_depths(&roms, RTL_ROM_ADDR_BITS)?;
    Ok(Build {
        files,
        manifest,
        roms,
    })
}

#[cfg(test)]
mod tests {
    use super::{check_rom_depths, RomDepth};

    #[test]
    fn a_rom_deeper_than_its_address_reaches_is_refused_with_both_numbers() {
        let roms = [
            RomDepth {
                name: "rom/instructions.mem".into(),
                words: 256,
            },
            RomDepth {
                name: "rom/weights_col3.mem".into(),
                words: 257,
            },
        ];
        assert!(check_rom_depths(&roms, 9).is_ok());
        let e = check_rom_depths(&roms, 8).unwrap_err().to_string();
        assert!(
            e.contains("rom/weights_col3.mem") && e.contains("257") && e.contains("256"),
            "{e}"
        );
        assert!(!e.contains("instructions"), "{e}");
        // Deeper than 32 bits reach (the RTL's own width), without overflow.
        let big = [RomDepth {
            name: "wbank".into(),
            words: (1u64 << 32) + 1,
        }];
        let e = check_rom_depths(&big, 32).unwrap_err().to_string();
        assert!(e.contains("4294967297") && e.contains("4294967296"), "{e}");
        assert!(check_rom_depths(&big, 33).is_ok());
    }
}
