//! Cost models: what a design costs on an FPGA part (LUTs, flip-flops, DSPs, block RAMs) or as
//! an ASIC (area, energy per operation and access), so sizing sweeps can rank designs and say
//! which resource binds. Sources and the validation against Yosys: `docs/cost-models.md`.

pub mod asic;
pub mod fpga;
pub mod parts;

pub use asic::{AsicArea, Node};
pub use fpga::{FpgaEstimate, Resources};
pub use parts::{Family, Part, PARTS};

use crate::HwError;

/// Where a design is costed: an FPGA part or an ASIC node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    Fpga(&'static Part),
    Asic(Node),
}

impl Target {
    /// `NAME` of a part, or `asic:NNnm`. An unknown name lists the known ones.
    pub fn parse(s: &str) -> Result<Target, HwError> {
        if let Some(rest) = s.strip_prefix("asic:") {
            let node = rest
                .strip_suffix("nm")
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(Node::new);
            return node.map(Target::Asic).ok_or_else(|| HwError::Unknown {
                what: "ASIC node",
                name: s.to_string(),
                known: Node::names(),
            });
        }
        parts::find(s)
            .map(Target::Fpga)
            .ok_or_else(|| HwError::Unknown {
                what: "part",
                name: s.to_string(),
                known: format!("{}, or asic:NNnm ({})", parts::names(), Node::names()),
            })
    }

    /// The name as [`Target::parse`] reads it.
    pub fn name(&self) -> String {
        match self {
            Target::Fpga(p) => p.name.to_string(),
            Target::Asic(n) => format!("asic:{}nm", n.nm),
        }
    }
}

#[cfg(test)]
mod tests;
