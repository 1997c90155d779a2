//! What a bit-allocation budget counts. Storage (average bits, weight bytes) is what a ROM pays
//! for; bit-operations are what a bit-serial or LUT datapath pays for; DSPs are what a
//! layer-parallel FPGA design (hls4ml's `io_parallel`, FINN) runs out of first, and narrow
//! layers leave the DSPs for LUT multipliers. The same exact knapsack (`bitalloc::solve`) takes
//! any of them, because each is a sum of per-layer costs.

use systole_hw::cost::fpga::dsps_per_multiplier;
use systole_hw::cost::parts::{self, Part};

use super::bitalloc::{Choice, Layer};
use super::QuantError;

/// A budget of `systole quantize --budget`.
#[derive(Debug, Clone, PartialEq)]
pub enum Budget {
    /// Average ROM bits per weight (codes plus side tables).
    AvgBits(f64),
    /// ROM bytes of all weights.
    WeightBytes(u64),
    /// Bit-operations per sample: Σ over layers of MACs × weight operand bits × input operand
    /// bits (the array sees kmeans and pow2 weights decoded, so their decoded width counts).
    BitOps(u64),
    /// DSPs of a layer-parallel design on `part`: every layer owns `ceil(weights / reuse)`
    /// multipliers (hls4ml's reuse factor), each taking [`dsps_per_multiplier`] of its operand
    /// widths. Counted in half DSPs, because a DSP48E2 holds two int8 products.
    Dsp {
        count: u64,
        part: &'static Part,
        reuse: u64,
    },
}

/// The default part of `dsp=N`: hls4ml's default target family (UltraScale+).
pub const DEFAULT_DSP_PART: &str = "zu9eg";

const FORMS: &str = "avg-bits=X (e.g. avg-bits=4.5), weight-bytes=N, bitops=N (suffix K, M or G allowed, e.g. bitops=2.5M) or dsp=N[,part=NAME][,reuse=R]";

impl Budget {
    /// Parses the `--budget` value; the error says which forms exist.
    pub fn parse(s: &str) -> Result<Budget, QuantError> {
        let bad = |why: &str| QuantError::Budget {
            value: s.to_string(),
            why: why.to_string(),
            forms: FORMS,
        };
        let (k, v) = s.split_once('=').ok_or_else(|| bad("no '='"))?;
        match k {
            "avg-bits" => match v.parse::<f64>() {
                Ok(x) if x > 0.0 && x.is_finite() => Ok(Budget::AvgBits(x)),
                _ => Err(bad("avg-bits must be a positive number")),
            },
            "weight-bytes" => v
                .parse()
                .map(Budget::WeightBytes)
                .map_err(|_| bad("weight-bytes must be an integer")),
            "bitops" => scaled(v)
                .map(Budget::BitOps)
                .ok_or_else(|| bad("bitops must be a non-negative number")),
            "dsp" => {
                let mut it = v.split(',');
                let count = it
                    .next()
                    .and_then(|c| c.parse().ok())
                    .ok_or_else(|| bad("dsp must be an integer"))?;
                let (mut part, mut reuse) = (DEFAULT_DSP_PART.to_string(), 1u64);
                for opt in it {
                    match opt.split_once('=') {
                        Some(("part", p)) => part = p.to_string(),
                        Some(("reuse", r)) => {
                            reuse = r
                                .parse()
                                .ok()
                                .filter(|&r| r > 0)
                                .ok_or_else(|| bad("reuse must be a positive integer"))?
                        }
                        _ => return Err(bad(&format!("unknown dsp option '{opt}'"))),
                    }
                }
                let part = parts::find(&part).ok_or_else(|| {
                    bad(&format!(
                        "unknown part '{part}' (known: {})",
                        parts::names()
                    ))
                })?;
                Ok(Budget::Dsp { count, part, reuse })
            }
            _ => Err(bad(&format!("unknown budget '{k}'"))),
        }
    }

    /// The knapsack's capacity, in [`Budget::cost`] units, for a model of `weights` weights.
    pub fn limit(&self, weights: u64) -> u64 {
        match self {
            Budget::AvgBits(x) => (x * weights as f64).floor() as u64,
            Budget::WeightBytes(b) => b.saturating_mul(8),
            Budget::BitOps(n) => *n,
            Budget::Dsp { count, .. } => count.saturating_mul(2),
        }
    }

    /// What `choice` of `layer` costs against this budget.
    pub fn cost(&self, layer: &Layer, choice: &Choice) -> u64 {
        match self {
            Budget::AvgBits(_) | Budget::WeightBytes(_) => choice.rom_bits,
            Budget::BitOps(_) => layer
                .macs
                .saturating_mul(u64::from(choice.operand_bits) * u64::from(choice.input_bits)),
            Budget::Dsp { part, reuse, .. } => {
                let (num, den) = dsps_per_multiplier(
                    part.family,
                    u64::from(choice.input_bits),
                    u64::from(choice.operand_bits),
                );
                // Multipliers sharing a DSP pair up within the layer: round up to whole DSPs.
                let mults = layer.weights.div_ceil(*reuse);
                (mults * num).div_ceil(den) * 2
            }
        }
    }

    /// `layers` with every choice's `cost` set to its cost against this budget.
    pub fn costed(&self, layers: &[Layer]) -> Vec<Layer> {
        layers
            .iter()
            .map(|l| Layer {
                choices: l
                    .choices
                    .iter()
                    .map(|c| Choice {
                        cost: self.cost(l, c),
                        ..c.clone()
                    })
                    .collect(),
                ..l.clone()
            })
            .collect()
    }

    /// A cost in this budget's units, for messages: `"1234 bits"`, `"40 DSPs"`.
    pub fn describe(&self, cost: u64, weights: u64) -> String {
        match self {
            Budget::AvgBits(_) | Budget::WeightBytes(_) => format!(
                "{cost} bits ({:.3} bits/weight, {} bytes)",
                cost as f64 / weights.max(1) as f64,
                cost.div_ceil(8)
            ),
            Budget::BitOps(_) => format!("{cost} bit-operations per sample"),
            Budget::Dsp { part, reuse, .. } => {
                format!(
                    "{} DSPs on {} at reuse factor {reuse}",
                    cost.div_ceil(2),
                    part.name
                )
            }
        }
    }
}

/// `2.5M` → 2 500 000; K, M and G are powers of 1000.
fn scaled(v: &str) -> Option<u64> {
    let (num, mult) = match v.chars().last()? {
        'K' | 'k' => (&v[..v.len() - 1], 1e3),
        'M' => (&v[..v.len() - 1], 1e6),
        'G' => (&v[..v.len() - 1], 1e9),
        _ => (v, 1.0),
    };
    let x: f64 = num.parse().ok()?;
    (x >= 0.0 && (x * mult) < u64::MAX as f64).then(|| (x * mult).floor() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(weights: u64, macs: u64) -> Layer {
        Layer {
            name: "l".into(),
            weights,
            macs,
            producer: None,
            choices: Vec::new(),
        }
    }

    fn choice(rom_bits: u64, operand_bits: u32, input_bits: u32) -> Choice {
        Choice {
            format: String::new(),
            acts: None,
            cost: 0,
            rom_bits,
            operand_bits,
            input_bits,
            error: 0.0,
        }
    }

    #[test]
    fn parses_every_form_and_names_the_forms_when_it_cannot() {
        assert_eq!(Budget::parse("avg-bits=4.5"), Ok(Budget::AvgBits(4.5)));
        assert_eq!(
            Budget::parse("weight-bytes=100"),
            Ok(Budget::WeightBytes(100))
        );
        assert_eq!(Budget::parse("bitops=2.5M"), Ok(Budget::BitOps(2_500_000)));
        assert_eq!(Budget::parse("bitops=7"), Ok(Budget::BitOps(7)));
        let Ok(Budget::Dsp { count, part, reuse }) =
            Budget::parse("dsp=40,part=artix7-100t,reuse=4")
        else {
            panic!("dsp did not parse")
        };
        assert_eq!((count, part.name, reuse), (40, "artix7-100t", 4));
        for bad in [
            "avg-bits=0",
            "dsp=4,part=nope",
            "dsp=4,reuse=0",
            "luts=3",
            "bitops=-1",
            "x",
        ] {
            let e = Budget::parse(bad).unwrap_err().to_string();
            assert!(e.contains("bitops=N") && e.contains(bad), "{e}");
        }
        assert!(Budget::parse("dsp=4,part=nope")
            .unwrap_err()
            .to_string()
            .contains("zu9eg"));
    }

    #[test]
    fn dsp_costs_follow_the_fabric() {
        let us = Budget::parse("dsp=10").unwrap();
        let a7 = Budget::parse("dsp=10,part=artix7-100t").unwrap();
        let l = layer(100, 1000);
        // 4-bit weights and activations multiply in LUTs.
        assert_eq!(us.cost(&l, &choice(400, 4, 4)), 0);
        // int8 × int8: two per DSP48E2, one per DSP48E1; in half DSPs.
        assert_eq!(us.cost(&l, &choice(800, 8, 8)), 100);
        assert_eq!(a7.cost(&l, &choice(800, 8, 8)), 200);
        // A reuse factor divides the multipliers, rounding up.
        let r = Budget::parse("dsp=10,part=artix7-100t,reuse=3").unwrap();
        assert_eq!(r.cost(&l, &choice(800, 8, 8)), 2 * 34);
        // A 16-bit activation (17 bits signed) × int8 still fits one 25 × 18 DSP48E1; a 26-bit
        // one (27 bits) × 20 bits takes two tiles, in the cheaper orientation.
        assert_eq!(a7.cost(&l, &choice(800, 8, 16)), 200);
        assert_eq!(a7.cost(&l, &choice(800, 20, 26)), 400);
        assert_eq!(us.limit(1), 20);
    }

    #[test]
    fn bitops_and_storage_costs() {
        let l = layer(100, 3600);
        let c = choice(412, 4, 8);
        assert_eq!(Budget::BitOps(0).cost(&l, &c), 3600 * 32);
        assert_eq!(Budget::AvgBits(4.0).cost(&l, &c), 412);
        assert_eq!(Budget::AvgBits(4.12).limit(100), 412);
        assert_eq!(Budget::WeightBytes(3).limit(100), 24);
    }
}
