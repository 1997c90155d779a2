//! The accelerator description (the subset the foundation needs; buffers, DRAM and the vector
//! unit join it with the simulator).

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::HwError;

/// Which operand stays in the processing elements while the others stream through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dataflow {
    WeightStationary,
    OutputStationary,
    InputStationary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accelerator {
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    pub dataflow: Dataflow,
    /// Clock in MHz, for latency and throughput figures.
    pub clock_mhz: f64,
}

/// Arrays larger than this on a side are refused: nothing real is that big, and the exact
/// simulator allocates per PE.
pub const MAX_ARRAY_SIDE: usize = 4096;

impl Accelerator {
    pub fn from_ron_str(text: &str, path: &Path) -> Result<Accelerator, HwError> {
        let a: Accelerator = ron::from_str(text).map_err(|e| HwError::Parse {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
        a.validate()?;
        Ok(a)
    }

    pub fn load(path: &Path) -> Result<Accelerator, HwError> {
        let text = std::fs::read_to_string(path).map_err(|source| HwError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Accelerator::from_ron_str(&text, path)
    }

    /// Checks every field, naming the first one that is out of range.
    pub fn validate(&self) -> Result<(), HwError> {
        let err = |field: &str, msg: String| {
            Err(HwError::Field {
                name: self.name.clone(),
                field: field.into(),
                msg,
            })
        };
        for (field, v) in [("rows", self.rows), ("cols", self.cols)] {
            if v == 0 || v > MAX_ARRAY_SIDE {
                return err(field, format!("{v} is not in 1..={MAX_ARRAY_SIDE}"));
            }
        }
        if !(self.clock_mhz.is_finite() && self.clock_mhz > 0.0) {
            return err(
                "clock_mhz",
                format!("{} is not a positive frequency", self.clock_mhz),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_validate() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "ron") {
                Accelerator::load(&p).unwrap();
                n += 1;
            }
        }
        assert!(n >= 1, "no presets in {}", dir.display());
    }

    #[test]
    fn zero_rows_names_the_field() {
        let text =
            "(name: \"bad\", rows: 0, cols: 4, dataflow: WeightStationary, clock_mhz: 100.0)";
        let e = Accelerator::from_ron_str(text, Path::new("bad.ron")).unwrap_err();
        assert!(e.to_string().contains("field 'rows'"), "{e}");
    }

    #[test]
    fn unknown_field_is_a_parse_error_naming_the_file() {
        let text =
            "(name: \"x\", rows: 2, cols: 2, dataflow: WeightStationary, clock_mhz: 1.0, foo: 3)";
        let e = Accelerator::from_ron_str(text, Path::new("x.ron")).unwrap_err();
        assert!(e.to_string().starts_with("x.ron:"), "{e}");
    }
}
