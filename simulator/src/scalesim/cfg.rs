//! SCALE-Sim 3.0 `.cfg` files: Python `configparser` syntax (sections `[name]`, `key = value` or
//! `key: value`, keys case-insensitive, whole-line `#`/`;` comments) with the sections and keys
//! that `scalesim.scale_config.read_conf_file` requires. A key SCALE-Sim reads without a fallback
//! is required here too, so a file this parser accepts is one SCALE-Sim accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use systole_hw::{Dataflow, MAX_ARRAY_SIDE};

use crate::error::{Result, SimError};
use crate::fast::ArrayShape;

/// How SCALE-Sim sizes the DRAM interface (`[run_presets] InterfaceBandwidth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum InterfaceBandwidth {
    /// SCALE-Sim estimates the bandwidth the array needs (`CALC`).
    Calc,
    /// The user gives it in `[architecture_presets] Bandwidth` (`USER`).
    User,
}

/// The `[layout]` section (custom SRAM layouts change SCALE-Sim's memory traces only).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayoutConfig {
    pub ifmap_custom_layout: bool,
    pub ifmap_sram_bank_bandwidth: u64,
    pub ifmap_sram_bank_num: u64,
    pub ifmap_sram_bank_port: u64,
    pub filter_custom_layout: bool,
    pub filter_sram_bank_bandwidth: u64,
    pub filter_sram_bank_num: u64,
    pub filter_sram_bank_port: u64,
}

/// A SCALE-Sim 3.0 configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScaleConfig {
    pub run_name: String,
    pub array_rows: usize,
    pub array_cols: usize,
    pub ifmap_sram_kb: u64,
    pub filter_sram_kb: u64,
    pub ofmap_sram_kb: u64,
    pub ifmap_offset: i64,
    pub filter_offset: i64,
    pub ofmap_offset: i64,
    pub dataflow: Dataflow,
    pub read_request_buffer: u64,
    pub write_request_buffer: u64,
    pub interface_bandwidth: InterfaceBandwidth,
    /// `Bandwidth` in words per cycle; read only in `USER` mode, as SCALE-Sim does.
    pub bandwidth: Vec<u64>,
    pub use_ramulator_trace: bool,
    pub layout: LayoutConfig,
    pub sparsity_support: bool,
}

/// The short SCALE-Sim name of a dataflow: `os`, `ws` or `is`.
pub fn dataflow_name(d: Dataflow) -> &'static str {
    match d {
        Dataflow::OutputStationary => "os",
        Dataflow::WeightStationary => "ws",
        Dataflow::InputStationary => "is",
    }
}

struct Entry {
    value: String,
    line: usize,
}

struct Section {
    line: usize,
    keys: BTreeMap<String, Entry>,
}

/// A parsed INI file with the lines of its sections and keys, for error messages.
struct Ini {
    file: PathBuf,
    sections: BTreeMap<String, Section>,
}

impl Ini {
    fn parse(text: &str, file: &Path) -> Result<Ini> {
        let mut sections: BTreeMap<String, Section> = BTreeMap::new();
        let mut current: Option<String> = None;
        let err = |line: usize, section: &str, msg: String| SimError::Config {
            file: file.to_path_buf(),
            line,
            section: section.to_string(),
            key: None,
            msg,
        };
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            let cur = current.clone().unwrap_or_default();
            if raw.starts_with([' ', '\t']) && current.is_some() {
                return Err(err(
                    line,
                    &cur,
                    format!("indented line '{t}': multi-line values are not supported"),
                ));
            }
            if let Some(rest) = t.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(err(line, t, "a section header must end with ']'".into()));
                };
                let name = name.trim().to_string();
                if let Some(prev) = sections.get(&name) {
                    return Err(err(
                        line,
                        &name,
                        format!("section repeated (first at line {})", prev.line),
                    ));
                }
                sections.insert(
                    name.clone(),
                    Section {
                        line,
                        keys: BTreeMap::new(),
                    },
                );
                current = Some(name);
                continue;
            }
            let Some(sec) = current.as_ref().and_then(|c| sections.get_mut(c)) else {
                return Err(err(
                    line,
                    "",
                    format!("'{t}' comes before any [section] header"),
                ));
            };
            let Some(pos) = t.find(['=', ':']) else {
                return Err(err(
                    line,
                    &cur,
                    format!("'{t}' is not 'key = value' or 'key: value'"),
                ));
            };
            let key = t[..pos].trim().to_lowercase();
            let value = t[pos + 1..].trim().to_string();
            if key.is_empty() {
                return Err(err(line, &cur, format!("'{t}' has an empty key")));
            }
            if let Some(prev) = sec.keys.get(&key) {
                return Err(SimError::Config {
                    file: file.to_path_buf(),
                    line,
                    section: cur,
                    key: Some(key),
                    msg: format!("key repeated (first at line {})", prev.line),
                });
            }
            sec.keys.insert(key, Entry { value, line });
        }
        Ok(Ini {
            file: file.to_path_buf(),
            sections,
        })
    }

    fn section(&self, name: &str) -> Result<&Section> {
        self.sections.get(name).ok_or_else(|| SimError::Config {
            file: self.file.clone(),
            line: 0,
            section: name.to_string(),
            key: None,
            msg: format!(
                "section missing (SCALE-Sim 3.0 needs [general], [architecture_presets], \
                 [layout], [sparsity] and [run_presets]; found {:?})",
                self.sections.keys().collect::<Vec<_>>()
            ),
        })
    }

    fn error(&self, section: &str, key: &str, line: usize, msg: String) -> SimError {
        SimError::Config {
            file: self.file.clone(),
            line,
            section: section.to_string(),
            key: Some(key.to_string()),
            msg,
        }
    }

    /// The value of a required key and its line.
    fn get(&self, section: &str, key: &str) -> Result<(&str, usize)> {
        let s = self.section(section)?;
        match s.keys.get(&key.to_lowercase()) {
            Some(e) => Ok((e.value.as_str(), e.line)),
            None => Err(self.error(section, key, s.line, "key missing".into())),
        }
    }

    fn int<T: std::str::FromStr>(&self, section: &str, key: &str, what: &str) -> Result<T> {
        let (v, line) = self.get(section, key)?;
        v.parse::<T>()
            .map_err(|_| self.error(section, key, line, format!("'{v}' is not {what}")))
    }

    fn positive(&self, section: &str, key: &str, max: u64) -> Result<u64> {
        let v: u64 = self.int(section, key, "a whole number")?;
        if v == 0 || v > max {
            let (_, line) = self.get(section, key)?;
            return Err(self.error(section, key, line, format!("{v} is not in 1..={max}")));
        }
        Ok(v)
    }

    /// `configparser.getboolean`: 1/yes/true/on and 0/no/false/off, any case.
    fn boolean(&self, section: &str, key: &str) -> Result<bool> {
        let (v, line) = self.get(section, key)?;
        match v.to_lowercase().as_str() {
            "1" | "yes" | "true" | "on" => Ok(true),
            "0" | "no" | "false" | "off" => Ok(false),
            _ => Err(self.error(
                section,
                key,
                line,
                format!("'{v}' is not a boolean (true/false, yes/no, on/off, 1/0)"),
            )),
        }
    }
}

impl ScaleConfig {
    /// Reads and checks a SCALE-Sim 3.0 `.cfg` file, and refuses what `systole scalesim` cannot
    /// run as the file asks ([`ScaleConfig::check_supported`]).
    pub fn load(path: &Path) -> Result<ScaleConfig> {
        let text = systole_hw::fsio::read_input_string(path).map_err(|source| SimError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let cfg = ScaleConfig::parse(&text, path)?;
        cfg.check_supported(&text, path)?;
        Ok(cfg)
    }

    /// Refuses a configuration Systole would silently run differently from SCALE-Sim.
    ///
    /// `InterfaceBandwidth: USER` makes SCALE-Sim limit each DRAM interface to the words per
    /// cycle of `[architecture_presets] Bandwidth` and stall the array when its read buffers
    /// run dry. Systole's SCALE-Sim mode models the ideal-memory run (`CALC`: the bandwidth is
    /// computed from the demand, the array never stalls); running a `USER` file that way gave
    /// cycle counts without the stalls the user asked for, with exit 0. `parse` still reads the
    /// field (and `bandwidth`), so a caller that models memory can use it; `load`, which every
    /// verb uses, refuses it. `text` is the file's text, for the line of the key.
    pub fn check_supported(&self, text: &str, path: &Path) -> Result<()> {
        if self.interface_bandwidth == InterfaceBandwidth::User {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("InterfaceBandwidth"))
                .map_or(0, |i| i + 1);
            return Err(SimError::Config {
                file: path.to_path_buf(),
                line,
                section: "run_presets".into(),
                key: Some("InterfaceBandwidth".into()),
                msg: format!(
                    "USER (a DRAM bandwidth of {:?} words/cycle with memory stalls) is not \
                     supported: systole scalesim runs SCALE-Sim's ideal-memory mode only; set \
                     InterfaceBandwidth: CALC, or model the DRAM with `systole simulate` and an \
                     accelerator description (dram.bytes_per_cycle)",
                    self.bandwidth
                ),
            });
        }
        Ok(())
    }

    /// Parses the text of a `.cfg` file; `path` is used in error messages only.
    pub fn parse(text: &str, path: &Path) -> Result<ScaleConfig> {
        let ini = Ini::parse(text, path)?;
        let (run_name, _) = ini.get("general", "run_name")?;
        let ap = "architecture_presets";
        // The description's hard cap, lowered by `--max-array-side` as for descriptions.
        let side = (MAX_ARRAY_SIDE as u64).min(systole_hw::limits::MAX_ARRAY_SIDE.get());
        let kb_max = 1 << 20;
        let (df, df_line) = ini.get(ap, "Dataflow")?;
        let dataflow = match df {
            "os" => Dataflow::OutputStationary,
            "ws" => Dataflow::WeightStationary,
            "is" => Dataflow::InputStationary,
            _ => {
                return Err(ini.error(
                    ap,
                    "Dataflow",
                    df_line,
                    format!("'{df}' is not a dataflow: expected os, ws or is"),
                ))
            }
        };
        let rp = "run_presets";
        let (bw_mode, bw_line) = ini.get(rp, "InterfaceBandwidth")?;
        let interface_bandwidth = match bw_mode {
            "CALC" => InterfaceBandwidth::Calc,
            "USER" => InterfaceBandwidth::User,
            _ => {
                return Err(ini.error(
                    rp,
                    "InterfaceBandwidth",
                    bw_line,
                    format!("'{bw_mode}': expected CALC or USER"),
                ))
            }
        };
        // SCALE-Sim compares with the exact string 'True'.
        let use_ramulator_trace = ini.get(rp, "UseRamulatorTrace")?.0 == "True";
        let mut bandwidth = Vec::new();
        if interface_bandwidth == InterfaceBandwidth::User {
            let (v, line) = ini.get(ap, "Bandwidth")?;
            for part in v.split(',') {
                let b: u64 = part.trim().parse().map_err(|_| {
                    ini.error(
                        ap,
                        "Bandwidth",
                        line,
                        format!("'{part}' is not a whole number of words per cycle"),
                    )
                })?;
                bandwidth.push(b);
            }
        }
        let lay = "layout";
        let layout = LayoutConfig {
            ifmap_custom_layout: ini.boolean(lay, "IfmapCustomLayout")?,
            ifmap_sram_bank_bandwidth: ini.int(lay, "IfmapSRAMBankBandwidth", "a whole number")?,
            ifmap_sram_bank_num: ini.int(lay, "IfmapSRAMBankNum", "a whole number")?,
            ifmap_sram_bank_port: ini.int(lay, "IfmapSRAMBankPort", "a whole number")?,
            filter_custom_layout: ini.boolean(lay, "FilterCustomLayout")?,
            filter_sram_bank_bandwidth: ini.int(
                lay,
                "FilterSRAMBankBandwidth",
                "a whole number",
            )?,
            filter_sram_bank_num: ini.int(lay, "FilterSRAMBankNum", "a whole number")?,
            filter_sram_bank_port: ini.int(lay, "FilterSRAMBankPort", "a whole number")?,
        };
        let (sp, sp_line) = ini.get("sparsity", "SparsitySupport")?;
        let sparsity_support = sp.to_lowercase() == "true";
        if sparsity_support {
            return Err(ini.error(
                "sparsity",
                "SparsitySupport",
                sp_line,
                "sparse filters are not modelled by Systole's engines; set it to false".into(),
            ));
        }
        Ok(ScaleConfig {
            run_name: run_name.to_string(),
            array_rows: ini.positive(ap, "ArrayHeight", side)? as usize,
            array_cols: ini.positive(ap, "ArrayWidth", side)? as usize,
            ifmap_sram_kb: ini.positive(ap, "IfmapSramSzkB", kb_max)?,
            filter_sram_kb: ini.positive(ap, "FilterSramSzkB", kb_max)?,
            ofmap_sram_kb: ini.positive(ap, "OfmapSramSzkB", kb_max)?,
            ifmap_offset: ini.int(ap, "IfmapOffset", "an integer")?,
            filter_offset: ini.int(ap, "FilterOffset", "an integer")?,
            ofmap_offset: ini.int(ap, "OfmapOffset", "an integer")?,
            dataflow,
            read_request_buffer: ini.int(ap, "ReadRequestBuffer", "a whole number")?,
            write_request_buffer: ini.int(ap, "WriteRequestBuffer", "a whole number")?,
            interface_bandwidth,
            bandwidth,
            use_ramulator_trace,
            layout,
            sparsity_support,
        })
    }

    /// The array this configuration describes.
    pub fn array(&self) -> ArrayShape {
        ArrayShape {
            rows: self.array_rows,
            cols: self.array_cols,
            dataflow: self.dataflow,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const SCALE_CFG: &str = "[general]
run_name = scale_example_run_32x32_ws

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     32
IfmapSramSzkB:   64
FilterSramSzkB:  64
OfmapSramSzkB:   64
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : ws
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
";

    fn parse(t: &str) -> Result<ScaleConfig> {
        ScaleConfig::parse(t, Path::new("x.cfg"))
    }

    #[test]
    fn reads_scalesim_3_default_config() {
        let c = parse(SCALE_CFG).unwrap();
        assert_eq!((c.array_rows, c.array_cols), (32, 32));
        assert_eq!(c.dataflow, Dataflow::WeightStationary);
        assert_eq!(c.run_name, "scale_example_run_32x32_ws");
        assert_eq!(c.filter_offset, 10_000_000);
        assert_eq!(c.interface_bandwidth, InterfaceBandwidth::Calc);
        assert!(c.bandwidth.is_empty());
        assert!(!c.layout.ifmap_custom_layout);
    }

    #[test]
    fn errors_name_file_line_section_and_key() {
        let t = SCALE_CFG.replace("ArrayWidth:     32", "ArrayWidth:     3x2");
        let e = parse(&t).unwrap_err().to_string();
        assert_eq!(
            e,
            "x.cfg:6: [architecture_presets] key 'ArrayWidth': '3x2' is not a whole number"
        );
        let t = SCALE_CFG.replace("Dataflow : ws", "Dataflow : rs");
        let e = parse(&t).unwrap_err().to_string();
        assert!(
            e.starts_with("x.cfg:14: [architecture_presets] key 'Dataflow'"),
            "{e}"
        );
        let t = SCALE_CFG.replace("ArrayHeight:    32", "ArrayHeight:    0");
        assert!(parse(&t)
            .unwrap_err()
            .to_string()
            .contains("0 is not in 1..=4096"));
        let t = SCALE_CFG.replace("FilterSRAMBankPort: 2\n", "");
        let e = parse(&t).unwrap_err().to_string();
        assert_eq!(
            e,
            "x.cfg:19: [layout] key 'FilterSRAMBankPort': key missing"
        );
        let t = SCALE_CFG.replace("[sparsity]", "[sparse]");
        let e = parse(&t).unwrap_err().to_string();
        assert!(e.starts_with("x.cfg: [sparsity]: section missing"), "{e}");
        let t = SCALE_CFG.replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER");
        let c = parse(&t).unwrap();
        assert_eq!(c.bandwidth, vec![10]);
        // Parsed, but not run as ideal memory: `load` refuses it naming the key and its line.
        let e = c
            .check_supported(&t, Path::new("x.cfg"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("x.cfg:37: [run_presets] key 'InterfaceBandwidth': USER")
                && e.contains("not supported")
                && e.contains("CALC"),
            "{e}"
        );
        parse(SCALE_CFG)
            .unwrap()
            .check_supported(SCALE_CFG, Path::new("x.cfg"))
            .unwrap();
        let t = SCALE_CFG.replace("SparsitySupport : false", "SparsitySupport : true");
        assert!(parse(&t).unwrap_err().to_string().contains("not modelled"));
        let e = parse("run_name = x\n").unwrap_err().to_string();
        assert!(e.contains("before any [section]"), "{e}");
    }
}
