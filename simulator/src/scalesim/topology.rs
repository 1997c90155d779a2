//! SCALE-Sim topology files (`scalesim.topology_utils`).
//!
//! * Convolution topologies: a header line, then one row per layer:
//!   `Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter,
//!   Strides,` and an optional `N:M` sparsity ratio. The IFMAP sizes are already padded; the
//!   output size is `ceil((ifmap - filter + stride) / stride)`, as SCALE-Sim computes it.
//! * GEMM topologies (`--gemm`): a header line, then `Layer name, M, N, K,` (and an optional
//!   sparsity ratio). SCALE-Sim turns each into a convolution with an `M × K` IFMAP and `N`
//!   filters of `1 × K`, so `M` output pixels, window `K`.
//!
//! Rows end with a trailing comma (SCALE-Sim drops the last comma-separated field); a row
//! without one is accepted too. A layer whose name contains `DP` is depthwise: SCALE-Sim runs it
//! as one single-channel layer per channel, named `<name>Channel_<i>`, and so does this parser.

use std::path::Path;

use serde::Serialize;

use crate::error::{Result, SimError};

/// Column names of a convolution topology, as SCALE-Sim writes them.
pub const CONV_COLUMNS: [&str; 8] = [
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
];
/// Column names of a GEMM topology.
pub const GEMM_COLUMNS: [&str; 4] = ["Layer name", "M", "N", "K"];

/// The largest size accepted for one dimension: beyond this the operand matrices do not fit in
/// any memory, and products of sizes stay far from `u64` overflow.
pub const MAX_DIM: u64 = 1 << 24;

/// One layer as SCALE-Sim sees it (after the depthwise split).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layer {
    pub name: String,
    /// 1-based line of the row in the topology file.
    pub line: usize,
    pub ifmap_h: u64,
    pub ifmap_w: u64,
    pub filter_h: u64,
    pub filter_w: u64,
    pub channels: u64,
    pub num_filters: u64,
    pub stride_h: u64,
    pub stride_w: u64,
    /// `N:M` structured sparsity from the optional last column (`1:1` = dense). Recorded, not
    /// modelled: SCALE-Sim ignores it too unless `[sparsity] SparsitySupport` is on.
    pub sparsity: (u64, u64),
}

impl Layer {
    /// A GEMM `[m×k]·[k×n]` in SCALE-Sim's convolution form.
    pub fn gemm(name: &str, m: u64, n: u64, k: u64) -> Layer {
        Layer {
            name: name.to_string(),
            line: 0,
            ifmap_h: m,
            ifmap_w: k,
            filter_h: 1,
            filter_w: k,
            channels: 1,
            num_filters: n,
            stride_h: 1,
            stride_w: 1,
            sparsity: (1, 1),
        }
    }

    /// Output height and width: `ceil((ifmap - filter + stride) / stride)`.
    pub fn ofmap_dims(&self) -> (u64, u64) {
        let o = |i: u64, f: u64, s: u64| (i - f + s).div_ceil(s);
        (
            o(self.ifmap_h, self.filter_h, self.stride_h),
            o(self.ifmap_w, self.filter_w, self.stride_w),
        )
    }

    /// The GEMM `(M, K, N)` of the layer: output pixels, window size, filters.
    pub fn mkn(&self) -> (u64, u64, u64) {
        let (oh, ow) = self.ofmap_dims();
        (
            oh * ow,
            self.filter_h * self.filter_w * self.channels,
            self.num_filters,
        )
    }

    /// Multiply-accumulates of the layer.
    pub fn macs(&self) -> u64 {
        let (m, k, n) = self.mkn();
        m * k * n
    }
}

/// The layers of a topology file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// The file name without its extension (SCALE-Sim's "topology name").
    pub name: String,
    pub layers: Vec<Layer>,
}

struct RowCtx<'a> {
    file: &'a Path,
    line: usize,
}

impl RowCtx<'_> {
    fn err(&self, column: Option<&str>, msg: String) -> SimError {
        SimError::Topology {
            file: self.file.to_path_buf(),
            line: self.line,
            column: column.map(str::to_string),
            msg,
        }
    }

    fn num(&self, v: &str, column: &str) -> Result<u64> {
        let t = v.trim();
        let n: u64 = t.parse().map_err(|_| {
            self.err(
                Some(column),
                format!("'{t}' is not a positive whole number"),
            )
        })?;
        if n == 0 || n > MAX_DIM {
            return Err(self.err(Some(column), format!("{n} is not in 1..={MAX_DIM}")));
        }
        Ok(n)
    }

    fn sparsity(&self, v: Option<&&str>) -> Result<(u64, u64)> {
        let Some(v) = v else { return Ok((1, 1)) };
        let t = v.trim();
        let bad = || {
            self.err(
                Some("Sparsity"),
                format!("'{t}' is not an N:M ratio such as 2:4"),
            )
        };
        let (n, m) = t.split_once(':').ok_or_else(bad)?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        let m: u64 = m.trim().parse().map_err(|_| bad())?;
        if m == 0 || n > m {
            return Err(bad());
        }
        Ok((n, m))
    }
}

/// The fields of a row, without the empty field after a trailing comma.
fn fields(row: &str) -> Vec<&str> {
    let mut f: Vec<&str> = row.split(',').collect();
    if f.len() > 1 && f.last().is_some_and(|s| s.trim().is_empty()) {
        f.pop();
    }
    f
}

fn topo_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Topology {
    /// Reads a topology file: convolution rows, or `M, N, K` rows when `gemm` is set.
    pub fn load(path: &Path, gemm: bool) -> Result<Topology> {
        let text = systole_hw::fsio::read_input_string(path).map_err(|source| SimError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Topology::parse(&text, path, gemm)
    }

    /// Parses the text of a topology file; `path` names it in errors.
    pub fn parse(text: &str, path: &Path, gemm: bool) -> Result<Topology> {
        let mut layers = Vec::new();
        let mut header_seen = false;
        for (i, raw) in text.lines().enumerate() {
            let row = raw.trim();
            if !header_seen {
                // SCALE-Sim skips the first line whatever it holds.
                header_seen = true;
                continue;
            }
            if row.is_empty() {
                continue;
            }
            let cx = RowCtx {
                file: path,
                line: i + 1,
            };
            let f = fields(row);
            let name = f[0].trim();
            if name.is_empty() {
                return Err(cx.err(Some("Layer name"), "empty layer name".into()));
            }
            if gemm {
                if f.len() < 4 || f.len() > 5 {
                    return Err(cx.err(
                        None,
                        format!(
                            "{} fields; a GEMM row is 'Layer name, M, N, K,' with an optional \
                             N:M sparsity ratio",
                            f.len()
                        ),
                    ));
                }
                let m = cx.num(f[1], "M")?;
                let n = cx.num(f[2], "N")?;
                let k = cx.num(f[3], "K")?;
                let mut l = Layer::gemm(name, m, n, k);
                l.line = cx.line;
                l.sparsity = cx.sparsity(f.get(4))?;
                layers.push(l);
                continue;
            }
            if f.len() < 8 || f.len() > 9 {
                return Err(cx.err(
                    None,
                    format!(
                        "{} fields; a convolution row is '{},' with an optional N:M sparsity ratio",
                        f.len(),
                        CONV_COLUMNS.join(", ")
                    ),
                ));
            }
            let mut v = [0u64; 7];
            for (j, slot) in v.iter_mut().enumerate() {
                *slot = cx.num(f[j + 1], CONV_COLUMNS[j + 1])?;
            }
            let [ih, iw, fh, fw, ch, nf, s] = v;
            if fh > ih {
                return Err(cx.err(
                    Some("Filter Height"),
                    format!(
                        "{fh} is larger than the IFMAP height {ih} (IFMAP sizes include padding)"
                    ),
                ));
            }
            if fw > iw {
                return Err(cx.err(
                    Some("Filter Width"),
                    format!(
                        "{fw} is larger than the IFMAP width {iw} (IFMAP sizes include padding)"
                    ),
                ));
            }
            let layer = Layer {
                name: name.to_string(),
                line: cx.line,
                ifmap_h: ih,
                ifmap_w: iw,
                filter_h: fh,
                filter_w: fw,
                channels: ch,
                num_filters: nf,
                stride_h: s,
                stride_w: s,
                sparsity: cx.sparsity(f.get(8))?,
            };
            if name.contains("DP") {
                for c in 0..ch {
                    layers.push(Layer {
                        name: format!("{name}Channel_{c}"),
                        channels: 1,
                        ..layer.clone()
                    });
                }
            } else {
                layers.push(layer);
            }
        }
        if layers.is_empty() {
            return Err(SimError::Topology {
                file: path.to_path_buf(),
                line: 0,
                column: None,
                msg: "no layers: expected a header line and one row per layer".into(),
            });
        }
        Ok(Topology {
            name: topo_name(path),
            layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(t: &str) -> Result<Topology> {
        Topology::parse(t, Path::new("net.csv"), false)
    }

    #[test]
    fn conv_rows_with_trailing_comma_and_ceil_outputs() {
        let t = conv(
            "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n\
             Conv1,  224, 224,    11, 11,    3,      96,     4,\n\
             \n\
             c2, 13, 11, 3, 3, 2, 9, 2, 2:4,\n",
        )
        .unwrap();
        assert_eq!(t.name, "net");
        assert_eq!(t.layers.len(), 2);
        assert_eq!(t.layers[0].ofmap_dims(), (55, 55));
        assert_eq!(t.layers[0].mkn(), (3025, 363, 96));
        assert_eq!(t.layers[1].ofmap_dims(), (6, 5));
        assert_eq!(t.layers[1].sparsity, (2, 4));
        assert_eq!(t.layers[1].line, 4);
    }

    #[test]
    fn depthwise_layers_split_per_channel() {
        let t = conv("h,\nConv_DP1, 6, 6, 3, 3, 3, 1, 1,\n").unwrap();
        let names: Vec<&str> = t.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Conv_DP1Channel_0",
                "Conv_DP1Channel_1",
                "Conv_DP1Channel_2"
            ]
        );
        assert!(t.layers.iter().all(|l| l.channels == 1));
    }

    #[test]
    fn gemm_rows_are_m_n_k() {
        let t = Topology::parse(
            "Layer, M, N, K,\nqkv, 128, 2304, 768,\n",
            Path::new("g.csv"),
            true,
        )
        .unwrap();
        assert_eq!(t.layers[0].mkn(), (128, 768, 2304));
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let e = conv("h,\nc, 8, 8, 3, x3, 1, 1, 1,\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "net.csv:2: column 'Filter Width': 'x3' is not a positive whole number"
        );
        let e = conv("h,\nc, 8, 8, 3, 3, 0, 1, 1,\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("column 'Channels': 0 is not in"), "{e}");
        let e = conv("h,\nc, 8, 8, 9, 3, 1, 1, 1,\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("column 'Filter Height': 9 is larger"), "{e}");
        let e = conv("h,\nc, 8, 8, 3,\n").unwrap_err().to_string();
        assert!(e.starts_with("net.csv:2: 4 fields"), "{e}");
        let e = conv("h,\n").unwrap_err().to_string();
        assert!(e.contains("no layers"), "{e}");
        let e = Topology::parse("h,\ng, 1, 2,\n", Path::new("g.csv"), true)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("g.csv:2: 3 fields; a GEMM row"), "{e}");
    }
}
