use super::fpga::{binding, core, estimate, ram_blocks, Core, Resources};
use super::{asic, parts, Target};
use crate::{presets, Dataflow};

fn part(name: &str) -> &'static parts::Part {
    parts::find(name).unwrap()
}

fn int(bits: u64, rows: u64, cols: u64) -> Core {
    Core {
        rows,
        cols,
        dataflow: Dataflow::WeightStationary,
        in_bits: bits,
        w_bits: bits,
        acc_bits: 32,
    }
}

#[test]
fn dsp48e2_packs_two_int8_macs_and_dsp48e1_one() {
    let c = int(8, 16, 16);
    let us = core(&c, part("zu9eg"), u64::MAX);
    let a7 = core(&c, part("artix7-100t"), u64::MAX);
    assert_eq!(us.dsp * 2, c.rows * c.cols);
    assert_eq!(a7.dsp, c.rows * c.cols);
    // Wider than int8: no packing, and a 12-bit operand still fits one DSP48E2.
    let c12 = int(12, 4, 4);
    assert_eq!(core(&c12, part("zu9eg"), u64::MAX).dsp, 16);
}

#[test]
fn narrow_operands_multiply_in_luts() {
    let lut = core(&int(4, 4, 4), part("artix7-100t"), u64::MAX);
    let dsp = core(&int(8, 4, 4), part("artix7-100t"), u64::MAX);
    assert_eq!(lut.dsp, 0);
    assert!(lut.lut > dsp.lut, "{lut:?} vs {dsp:?}");
}

#[test]
fn pes_beyond_the_dsp_budget_spill_to_luts() {
    let up5k = part("ice40-up5k");
    let c = int(8, 4, 4);
    let capped = core(&c, up5k, up5k.dsp);
    let free = core(&c, up5k, u64::MAX);
    assert_eq!(capped.dsp, up5k.dsp);
    assert!(capped.lut > free.lut);
}

#[test]
fn block_rams_follow_width_depth_and_ports() {
    let a7 = part("artix7-100t");
    assert_eq!(ram_blocks(a7, 36, 512, 2), (1, 0));
    assert_eq!(ram_blocks(a7, 37, 512, 2), (2, 0));
    assert_eq!(ram_blocks(a7, 18, 1024, 2), (1, 0));
    assert_eq!(
        ram_blocks(a7, 36, 512, 4),
        (2, 0),
        "4 accesses need two copies"
    );
    // 1 MiB on an UltraRAM part goes to UltraRAM, on a part without it to block RAM.
    let (b, u) = ram_blocks(part("alveo-u250"), 72, 1 << 17, 2);
    assert_eq!((b, u), (0, 32));
    let (b, u) = ram_blocks(part("zu9eg"), 72, 1 << 17, 2);
    assert!(b > 0 && u == 0);
    let up5k = part("ice40-up5k");
    assert_eq!(ram_blocks(up5k, 16, 256, 2), (1, 0));
}

#[test]
fn binding_names_the_most_over_used_resource() {
    let up5k = part("ice40-up5k");
    let r = Resources {
        lut: up5k.lut * 3,
        ff: up5k.ff * 2,
        dsp: 1,
        bram: 0,
        large_ram: 0,
    };
    assert_eq!(binding(&r, up5k).map(|b| b.0), Some("lut"));
    assert_eq!(binding(&Resources::default(), up5k), None);
    assert!(r.utilization(up5k) > 1.0);
}

#[test]
fn presets_fit_where_they_were_sized_to() {
    let edge = presets::load("edge-8x8").unwrap();
    let e = estimate(&edge, part("artix7-100t"));
    assert!(binding(&e.total, part("artix7-100t")).is_none(), "{e:?}");
    let tpu = presets::load("tpu-v1-256x256").unwrap();
    let e = estimate(&tpu, part("zu3eg"));
    assert!(binding(&e.total, part("zu3eg")).is_some(), "{e:?}");
    let sum = e
        .parts
        .iter()
        .fold(Resources::default(), |a, (_, r)| a + *r);
    assert_eq!(sum, e.total);
}

#[test]
fn targets_parse_and_unknown_ones_list_the_known() {
    assert!(matches!(Target::parse("zu3eg"), Ok(Target::Fpga(_))));
    assert!(matches!(Target::parse("asic:28nm"), Ok(Target::Asic(_))));
    for bad in ["zu7ev", "asic:3nm", "asic:x"] {
        let e = Target::parse(bad).unwrap_err().to_string();
        assert!(
            e.contains(bad) && e.contains("artix7-100t") || e.contains("asic:28nm"),
            "{e}"
        );
    }
    for p in parts::PARTS {
        assert_eq!(Target::parse(p.name).unwrap().name(), p.name);
    }
}

#[test]
fn asic_figures_scale_with_node_and_width() {
    let n45 = asic::Node::new(45).unwrap();
    let n28 = asic::Node::new(28).unwrap();
    assert_eq!(n45.area_scale, 1.0);
    assert!(n28.area_scale < 1.0 && n28.energy_scale < 1.0);
    assert!(asic::mac_pj(4, 4, 32, &n45) < asic::mac_pj(8, 8, 32, &n45));
    // The 45 nm table itself at its anchor points.
    let e8k = asic::sram_byte_pj(8 * 1024, &n45) * 8.0;
    assert!((e8k - asic::horowitz45::SRAM8K_64B_PJ).abs() < 1e-9);
    let e1m = asic::sram_byte_pj(1 << 20, &n45) * 8.0;
    assert!((e1m - asic::horowitz45::SRAM1M_64B_PJ).abs() < 1e-9);
    let edge = presets::load("edge-8x8").unwrap();
    let (a45, a28) = (asic::area(&edge, &n45), asic::area(&edge, &n28));
    assert!(a28.total_mm2 < a45.total_mm2);
    assert!((a45.pes_mm2 + a45.sram_mm2 + a45.requant_mm2 - a45.total_mm2).abs() < 1e-12);
}
