use super::*;
use std::path::PathBuf;

fn presets() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    v
}

#[test]
fn presets_parse_validate_and_are_documented() {
    let all = presets();
    for want in [
        "edge-8x8",
        "edge-16x16",
        "gemmini-16x16",
        "tpu-v1-256x256",
        "transformer-128x128",
    ] {
        assert!(
            all.iter().any(|p| p.file_stem().unwrap() == want),
            "missing preset {want}"
        );
    }
    for p in &all {
        let a = Accelerator::load(p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Some(a.name.as_str()), p.file_stem().unwrap().to_str());
        let text = std::fs::read_to_string(p).unwrap();
        assert!(
            text.starts_with("// "),
            "{}: no comment header",
            p.display()
        );
    }
}

#[test]
fn preset_figures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
    let tpu = Accelerator::load(&dir.join("tpu-v1-256x256.ron")).unwrap();
    assert_eq!(tpu.peak_macs_per_cycle(), 65_536);
    assert_eq!(tpu.buffer_bytes(Operand::Ifmap), 24 << 20);
    assert_eq!(tpu.buffer_bytes(Operand::Ofmap), 4 << 20);
    assert_eq!(tpu.buffer_words(Operand::Ofmap), 4096);
    assert!((tpu.dram_bytes_per_second() / 30e9 - 1.0).abs() < 1e-3);
    assert!((tpu.peak_macs_per_second() - 45.875e12).abs() < 1e9);

    let g = Accelerator::load(&dir.join("gemmini-16x16.ron")).unwrap();
    assert_eq!(g.pes(), 256);
    assert_eq!(g.buffer_bytes(Operand::Ifmap), 256 * 1024);
    assert_eq!(g.buffer_bytes(Operand::Filter), 256 * 1024);
    assert_eq!(g.buffer_bytes(Operand::Ofmap), 64 * 1024);
    assert_eq!(g.buffers.for_operand(Operand::Ifmap).words_per_bank(), 4096);
    assert_eq!(g.sram_bytes(), 320 * 1024);

    let t = Accelerator::load(&dir.join("transformer-128x128.ron")).unwrap();
    assert_eq!(t.vector.cycles_for(VectorOp::Softmax), Some(4));
    assert_eq!(t.vector.cycles_for(VectorOp::Add), Some(1));
    assert_eq!(t.vector.cycles_for(VectorOp::MaxPool), None);
    assert_eq!(
        t.vector.cycles_for_elements(VectorOp::Softmax, 129),
        Some(8)
    );
}

#[test]
fn small_file_takes_the_defaults() {
    let a = Accelerator::from_ron_str(
        "(name: \"s\", rows: 4, cols: 2, clock_mhz: 100.0)",
        Path::new("s.ron"),
    )
    .unwrap();
    assert_eq!(
        a,
        Accelerator::new("s", 4, 2, Dataflow::WeightStationary, 100.0)
    );
    assert_eq!((a.input_bits, a.weight_bits, a.acc_bits), (8, 8, 32));
    let b = a.buffers.for_operand(Operand::Filter);
    assert_eq!(
        (b.bytes(), b.banks, b.ports, b.word_bits),
        (65_536, 1, 1, 64)
    );
    assert!(b.double_buffered);
    assert_eq!(b.usable_bytes(), 32_768);
    assert_eq!(b.words(), 8192);
    assert_eq!(a.dram, Dram::default());
    assert_eq!(a.vector, VectorUnit::default());
}

#[test]
fn round_trip_every_preset() {
    for p in presets() {
        let a = Accelerator::load(&p).unwrap();
        let text = a.to_ron_string();
        let b = Accelerator::from_ron_str(&text, &p).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(a, b, "{}", p.display());
    }
    // Including a unified buffer without an accumulator and an empty op list.
    let mut a = Accelerator::new("u", 3, 5, Dataflow::InputStationary, 123.5);
    a.buffers = Buffers::Unified {
        shared: Buffer::kib(100),
        accumulator: None,
    };
    a.vector.ops.clear();
    let b = Accelerator::from_ron_str(&a.to_ron_string(), Path::new("u.ron")).unwrap();
    assert_eq!(a, b);
}

const BASE: &str = "(
    name: \"bad\",
    rows: 4,
    cols: 4,
    dataflow: WeightStationary,
    clock_mhz: 100.0,
    buffers: Separate(
        ifmap: (size_kib: 8),
        filter: (size_kib: 8),
        ofmap: (size_kib: 8),
    ),
    vector: (ops: [Relu]),
)";

#[test]
fn invalid_descriptions_name_the_file_and_the_field() {
    // (what to replace in BASE, with what, the field the error must name)
    let cases: &[(&str, &str, &str)] = &[
        ("rows: 4", "rows: 0", "rows"),
        ("cols: 4", "cols: 5000", "cols"),
        ("rows: 4", "rows: 99999999999", "rows"),
        ("clock_mhz: 100.0", "clock_mhz: 0.0", "clock_mhz"),
        ("name: \"bad\"", "name: \"\"", "name"),
        (
            "clock_mhz: 100.0",
            "clock_mhz: 1.0, acc_bits: 12",
            "acc_bits",
        ),
        (
            "clock_mhz: 100.0",
            "clock_mhz: 1.0, input_bits: 0",
            "input_bits",
        ),
        (
            "ifmap: (size_kib: 8)",
            "ifmap: (size_kib: 0)",
            "buffers.ifmap.size_kib",
        ),
        (
            "filter: (size_kib: 8)",
            "filter: (size_kib: 2000000)",
            "buffers.filter.size_kib",
        ),
        (
            "ofmap: (size_kib: 8)",
            "ofmap: (size_kib: 8, banks: 0)",
            "buffers.ofmap.banks",
        ),
        (
            "ofmap: (size_kib: 8)",
            "ofmap: (size_kib: 8, banks: 3)",
            "buffers.ofmap.banks",
        ),
        (
            "ifmap: (size_kib: 8)",
            "ifmap: (size_kib: 8, word_bits: 12)",
            "buffers.ifmap.word_bits",
        ),
        (
            "ifmap: (size_kib: 8)",
            "ifmap: (size_kib: 8, ports: 9)",
            "buffers.ifmap.ports",
        ),
        (
            "ifmap: (size_kib: 8)",
            "ifmap: (size_kib: 8, colour: 3)",
            "buffers.ifmap.colour",
        ),
        (
            "ifmap: (size_kib: 8)",
            "ifmap: (banks: 2)",
            "buffers.ifmap.size_kib",
        ),
        ("rows: 4,", "", "rows"),
        ("clock_mhz: 100.0", "clock_mhz: 1.0, foo: 3", "foo"),
        ("ops: [Relu]", "ops: [Relu, Frobnicate]", "vector.ops"),
        ("ops: [Relu]", "ops: [Relu, Relu]", "vector.ops[1]"),
        ("ops: [Relu]", "ops: [Relu], lanes: 0", "vector.lanes"),
        (
            "ops: [Relu]",
            "ops: [Relu], op_cycles: {Softmax: 2}",
            "vector.op_cycles.Softmax",
        ),
        (
            "dataflow: WeightStationary",
            "dataflow: Diagonal",
            "dataflow",
        ),
        (
            "clock_mhz: 100.0",
            "clock_mhz: 1.0, dram: (bytes_per_cycle: 0.0)",
            "dram.bytes_per_cycle",
        ),
        (
            "clock_mhz: 100.0",
            "clock_mhz: 1.0, dram: (latency_cycles: 4000000000)",
            "dram.latency_cycles",
        ),
    ];
    Accelerator::from_ron_str(BASE, Path::new("base.ron")).unwrap();
    for (from, to, field) in cases {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let e = Accelerator::from_ron_str(&text, Path::new("bad.ron"))
            .expect_err(&format!("accepted {to}"))
            .to_string();
        assert!(e.starts_with("bad.ron:"), "{to}: {e}");
        assert!(e.contains(&format!("field '{field}'")), "{to}: {e}");
    }
}

#[test]
fn validate_without_a_file_names_the_field() {
    let mut a = Accelerator::new("v", 4, 4, Dataflow::OutputStationary, 1.0);
    a.rows = MAX_ARRAY_SIDE + 1;
    let e = a.validate().unwrap_err().to_string();
    assert!(e.starts_with("accelerator 'v': field 'rows'"), "{e}");
    assert!(e.contains("--max-array-side"), "{e}");
}

#[test]
fn oversized_file_is_refused_before_reading() {
    let dir = std::env::temp_dir().join(format!("systole-hw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("huge.ron");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(MAX_FILE_BYTES + 1).unwrap();
    let e = Accelerator::load(&p).unwrap_err();
    assert!(matches!(e, HwError::TooLarge { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 18: a bandwidth of 1e-15 B/cycle or a clock of 1e-9 MHz was accepted; the cycle counts
/// of a real layer then wrapped. Each numeric field has a physical range, named in the message.
#[test]
fn numeric_fields_outside_their_physical_range_are_refused_with_the_range() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "dram: (bytes_per_cycle: 1e-15)",
            "dram.bytes_per_cycle",
            "[0.0009765625, 65536]",
        ),
        (
            "dram: (bytes_per_cycle: 0.0009)",
            "dram.bytes_per_cycle",
            "1/1024",
        ),
        (
            "dram: (bytes_per_cycle: 1e300)",
            "dram.bytes_per_cycle",
            "65536",
        ),
        (
            "dram: (bytes_per_cycle: -4.0)",
            "dram.bytes_per_cycle",
            "bytes/cycle",
        ),
    ];
    for (extra, field, range) in cases {
        let text = BASE.replacen("clock_mhz: 100.0", &format!("clock_mhz: 100.0, {extra}"), 1);
        let e = Accelerator::from_ron_str(&text, Path::new("slow.ron"))
            .expect_err(extra)
            .to_string();
        assert!(
            e.starts_with("slow.ron:")
                && e.contains(&format!("field '{field}'"))
                && e.contains(range),
            "{extra}: {e}"
        );
    }
    for clock in ["1e-9", "0.5", "20000.0"] {
        let text = BASE.replacen("clock_mhz: 100.0", &format!("clock_mhz: {clock}"), 1);
        let e = Accelerator::from_ron_str(&text, Path::new("c.ron"))
            .expect_err(clock)
            .to_string();
        assert!(
            e.contains("field 'clock_mhz'") && e.contains("[1, 10000] MHz"),
            "{e}"
        );
    }
    // The bounds themselves are accepted.
    for extra in [
        "clock_mhz: 1.0, dram: (bytes_per_cycle: 0.0009765625)",
        "clock_mhz: 10000.0, dram: (bytes_per_cycle: 65536.0)",
    ] {
        let text = BASE.replacen("clock_mhz: 100.0", extra, 1);
        Accelerator::from_ron_str(&text, Path::new("ok.ron")).unwrap();
    }
}
