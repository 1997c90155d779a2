//! The presets of `hw/presets/`, built into the binary so `--hw edge-8x8` works from anywhere.

use std::path::{Path, PathBuf};

use crate::{Accelerator, HwError};

/// Name and RON text of every preset.
pub const PRESETS: &[(&str, &str)] = &[
    ("edge-8x8", include_str!("../presets/edge-8x8.ron")),
    ("edge-16x16", include_str!("../presets/edge-16x16.ron")),
    (
        "gemmini-16x16",
        include_str!("../presets/gemmini-16x16.ron"),
    ),
    (
        "tpu-v1-256x256",
        include_str!("../presets/tpu-v1-256x256.ron"),
    ),
    (
        "transformer-128x128",
        include_str!("../presets/transformer-128x128.ron"),
    ),
];

/// The RON text of the preset called `name`.
pub fn text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A description file, or a preset's name when no such file exists.
pub fn load(arg: impl AsRef<Path>) -> Result<Accelerator, HwError> {
    let path = arg.as_ref();
    if path.exists() {
        return Accelerator::load(path);
    }
    match PRESETS.iter().find(|(n, _)| Some(*n) == path.to_str()) {
        Some((name, text)) => {
            Accelerator::from_ron_str(text, &PathBuf::from(format!("<preset {name}>")))
        }
        None => Err(HwError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "no such file, and not a preset (presets: {})",
                    PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
                ),
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_preset_file_is_built_in_and_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ron"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut built: Vec<String> = super::PRESETS.iter().map(|p| p.0.to_string()).collect();
        built.sort();
        assert_eq!(files, built);
        for (name, _) in super::PRESETS {
            let hw = super::load(name).unwrap();
            assert_eq!(&hw.name, name);
        }
        let e = super::load("no-such-preset").unwrap_err().to_string();
        assert!(e.contains("edge-8x8"), "{e}");
    }
}
