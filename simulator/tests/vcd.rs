//! The VCD writer, read back with the `vcd` crate's parser: the header's scopes and variables,
//! every traced register at every cycle equal to what the engine reported, strictly increasing
//! time stamps, layers and idle gaps continuing in time, two's complement wrapping, errors.

use std::collections::HashMap;

use systole_hw::{Accelerator, Dataflow};
use systole_sim::exact::{run_gemm_observed, Observer, PeState};
use systole_sim::vcd::{parse_pes, VcdWriter, MAX_SIGNALS};
use systole_sim::SimError;
use vcd::{Command, IdCode, ScopeItem, Value, VarType};

/// One recorded engine state.
#[derive(Clone)]
struct Rec {
    cycle: u64,
    fold: u64,
    moving: Vec<i32>,
    second: Vec<i32>,
    acc: Vec<i64>,
}

/// Records every state and forwards it to the writer.
struct Tee<'a, W: std::io::Write> {
    rec: Vec<Rec>,
    vcd: &'a mut VcdWriter<W>,
}

impl<W: std::io::Write> Observer for Tee<'_, W> {
    fn cycle(&mut self, s: &PeState<'_>) {
        self.rec.push(Rec {
            cycle: s.cycle,
            fold: s.fold.index,
            moving: s.moving.to_vec(),
            second: s.second.to_vec(),
            acc: s.acc.to_vec(),
        });
        self.vcd.cycle(s);
    }
}

/// A parsed trace: the header and, per id code, its changes `(time, value)` in file order.
struct Trace {
    header: vcd::Header,
    times: Vec<u64>,
    changes: HashMap<IdCode, Vec<(u64, Change)>>,
    comments: Vec<(u64, String)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Change {
    Bits(u64),
    Str(String),
}

fn bits(v: &vcd::Vector) -> u64 {
    v.iter().fold(0u64, |acc, b| {
        (acc << 1)
            | match b {
                Value::V0 => 0,
                Value::V1 => 1,
                other => panic!("unexpected {other:?} in a vector"),
            }
    })
}

fn parse(buf: &[u8]) -> Trace {
    let mut p = vcd::Parser::new(buf);
    let header = p.parse_header().expect("header parses");
    let mut t = Trace {
        header,
        times: Vec::new(),
        changes: HashMap::new(),
        comments: Vec::new(),
    };
    let mut now = 0u64;
    for cmd in p {
        match cmd.expect("command parses") {
            Command::Timestamp(ts) => {
                now = ts;
                t.times.push(ts);
            }
            Command::ChangeScalar(id, v) => t
                .changes
                .entry(id)
                .or_default()
                .push((now, Change::Bits((v == Value::V1) as u64))),
            Command::ChangeVector(id, v) => t
                .changes
                .entry(id)
                .or_default()
                .push((now, Change::Bits(bits(&v)))),
            Command::ChangeString(id, v) => {
                t.changes.entry(id).or_default().push((now, Change::Str(v)))
            }
            Command::Comment(c) => t.comments.push((now, c)),
            _ => {}
        }
    }
    t
}

impl Trace {
    fn var(&self, path: &[&str]) -> &vcd::Var {
        self.header
            .find_var(path)
            .unwrap_or_else(|| panic!("no variable {path:?}"))
    }

    /// The value of `path` at time `t` (the last change at or before `t`).
    fn at(&self, path: &[&str], t: u64) -> Change {
        let id = self.var(path).code;
        self.changes[&id]
            .iter()
            .rev()
            .find(|(ts, _)| *ts <= t)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{path:?} has no value at {t}"))
    }

    /// A vector's value at `t`, sign-extended from its declared width.
    fn signed(&self, path: &[&str], t: u64) -> i64 {
        let w = self.var(path).size;
        match self.at(path, t) {
            Change::Bits(b) => sext(b, w),
            other => panic!("{path:?}: {other:?}"),
        }
    }

    fn unsigned(&self, path: &[&str], t: u64) -> u64 {
        match self.at(path, t) {
            Change::Bits(b) => b,
            other => panic!("{path:?}: {other:?}"),
        }
    }

    fn strictly_increasing(&self) {
        assert!(!self.times.is_empty());
        for w in self.times.windows(2) {
            assert!(w[0] < w[1], "time stamps {} then {}", w[0], w[1]);
        }
    }
}

fn sext(b: u64, w: u32) -> i64 {
    if w >= 64 {
        b as i64
    } else {
        ((b << (64 - w)) as i64) >> (64 - w)
    }
}

fn operands(m: usize, k: usize, n: usize, seed: u64) -> (Vec<i32>, Vec<i32>) {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 255) as i32 - 127
    };
    let a = (0..m * k).map(|_| next()).collect();
    let b = (0..k * n).map(|_| next()).collect();
    (a, b)
}

/// Runs one GEMM through `vcd` (with layer `base` already set by the caller) and returns the
/// engine's states.
fn run(
    hw: &Accelerator,
    vcd: &mut VcdWriter<Vec<u8>>,
    m: usize,
    k: usize,
    n: usize,
    seed: u64,
) -> Vec<Rec> {
    let (a, b) = operands(m, k, n, seed);
    let mut tee = Tee {
        rec: Vec::new(),
        vcd,
    };
    let r = run_gemm_observed(hw, &a, &b, m, k, n, &mut tee).unwrap();
    r.check(&a, &b).unwrap();
    assert_eq!(tee.rec.len() as u64, r.cycles);
    tee.rec
}

fn pe(r: usize, c: usize) -> String {
    format!("pe_{r}_{c}")
}

/// Every traced register equals the engine's at every cycle, for all three dataflows.
fn check_states(t: &Trace, recs: &[Rec], base: u64, period: u64, rows: usize, cols: usize) {
    let half = period / 2;
    for rec in recs {
        let ts = (base + rec.cycle) * period;
        assert_eq!(t.unsigned(&["systole", "clk"], ts), 1);
        assert_eq!(t.unsigned(&["systole", "clk"], ts + half), 0);
        assert_eq!(t.unsigned(&["systole", "controller", "busy"], ts), 1);
        assert_eq!(
            t.unsigned(&["systole", "controller", "cycle"], ts),
            rec.cycle
        );
        assert_eq!(t.unsigned(&["systole", "controller", "fold"], ts), rec.fold);
        for r in 0..rows {
            for c in 0..cols {
                let i = r * cols + c;
                let p = pe(r, c);
                assert_eq!(
                    t.signed(&["systole", &p, "moving"], ts),
                    rec.moving[i] as i64,
                    "{p} moving at cycle {}",
                    rec.cycle
                );
                assert_eq!(
                    t.signed(&["systole", &p, "second"], ts),
                    rec.second[i] as i64
                );
                assert_eq!(
                    t.signed(&["systole", &p, "acc"], ts),
                    rec.acc[i],
                    "{p} acc at cycle {}",
                    rec.cycle
                );
            }
        }
    }
}

#[test]
fn every_register_of_every_pe_reads_back_equal_for_all_dataflows() {
    for df in [
        Dataflow::WeightStationary,
        Dataflow::OutputStationary,
        Dataflow::InputStationary,
    ] {
        let (rows, cols) = (3, 4);
        let hw = Accelerator::new("t", rows, cols, df, 100.0);
        let pes = parse_pes("all", rows, cols).unwrap();
        let mut w = VcdWriter::new(Vec::new(), rows, cols, &pes, 100.0, 32, 64).unwrap();
        assert_eq!(w.timescale(), (10, "ns"));
        w.begin_layer(0, "gemm", 0);
        let recs = run(&hw, &mut w, 5, 7, 6, 42);
        let buf = w.finish().unwrap();
        let t = parse(&buf);
        t.strictly_increasing();
        check_states(&t, &recs, 0, 10, rows, cols);

        // The bottom-right PE's accumulator at the last cycle, as the engine said it.
        let last = recs.last().unwrap();
        let br = &["systole", "pe_2_3", "acc"];
        assert_eq!(t.signed(br, last.cycle * 10), last.acc[rows * cols - 1]);
        // Some accumulator was non-zero and negative at some point (a meaningful test).
        assert!(recs.iter().any(|r| r.acc.iter().any(|&v| v < 0)));
        // The trace ends at the end of the last cycle.
        assert_eq!(*t.times.last().unwrap(), (last.cycle + 1) * 10);
    }
}

#[test]
fn header_has_the_scopes_and_variables() {
    let pes = parse_pes("corners", 4, 5).unwrap();
    let w = VcdWriter::new(Vec::new(), 4, 5, &pes, 250.0, 8, 24).unwrap();
    let t = parse(&w.finish().unwrap());
    assert_eq!(t.header.timescale, Some((1, vcd::TimescaleUnit::NS)));
    let top = t.header.find_scope(&["systole"]).unwrap();
    let scopes: Vec<&str> = top
        .items
        .iter()
        .filter_map(|i| match i {
            ScopeItem::Scope(s) => Some(s.identifier.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        scopes,
        ["controller", "pe_0_0", "pe_0_4", "pe_3_0", "pe_3_4"]
    );
    let width = |p: &[&str]| t.var(p).size;
    assert_eq!(width(&["systole", "clk"]), 1);
    assert_eq!(width(&["systole", "controller", "layer"]), 16);
    assert_eq!(width(&["systole", "controller", "fold"]), 32);
    assert_eq!(width(&["systole", "controller", "cycle"]), 64);
    assert_eq!(width(&["systole", "controller", "busy"]), 1);
    assert_eq!(
        t.var(&["systole", "controller", "layer_name"]).var_type,
        VarType::String
    );
    for p in &pes {
        let s = pe(p.0, p.1);
        assert_eq!(width(&["systole", &s, "moving"]), 8);
        assert_eq!(width(&["systole", &s, "second"]), 8);
        assert_eq!(width(&["systole", &s, "acc"]), 24);
        assert_eq!(t.var(&["systole", &s, "acc"]).var_type, VarType::Wire);
    }
    // Initial values at time 0.
    assert_eq!(t.unsigned(&["systole", "controller", "busy"], 0), 0);
    assert_eq!(t.signed(&["systole", "pe_3_4", "acc"], 0), 0);
}

#[test]
fn layers_and_idle_gaps_continue_in_time() {
    let (rows, cols) = (2, 3);
    let hw = Accelerator::new("t", rows, cols, Dataflow::WeightStationary, 100.0);
    let pes = parse_pes("all", rows, cols).unwrap();
    let mut w = VcdWriter::new(Vec::new(), rows, cols, &pes, 100.0, 32, 64).unwrap();
    w.begin_layer(0, "conv1", 0);
    let r0 = run(&hw, &mut w, 4, 3, 5, 1);
    let c0 = r0.last().unwrap().cycle + 1;
    // A 10-cycle vector stage, then layer 1 (idle before begin_layer here) ...
    w.idle(c0, c0 + 10);
    let base1 = c0 + 10;
    w.begin_layer(1, "fc 2", base1);
    let r1 = run(&hw, &mut w, 3, 4, 2, 2);
    let c1 = base1 + r1.last().unwrap().cycle + 1;
    // ... and layer 2 announced before its idle gap (a pooling layer with no GEMM).
    w.begin_layer(2, "pool", c1);
    w.idle(c1, c1 + 7);
    let buf = w.finish().unwrap();
    // A sample to open in GTKWave by hand: SYSTOLE_VCD_SAMPLE=/tmp/s.vcd cargo test …
    if let Some(p) = std::env::var_os("SYSTOLE_VCD_SAMPLE") {
        std::fs::write(p, &buf).unwrap();
    }
    let t = parse(&buf);
    t.strictly_increasing();
    check_states(&t, &r0, 0, 10, rows, cols);
    check_states(&t, &r1, base1, 10, rows, cols);

    let layer = &["systole", "controller", "layer"];
    let name = &["systole", "controller", "layer_name"];
    let busy = &["systole", "controller", "busy"];
    assert_eq!(t.unsigned(layer, (c0 - 1) * 10), 0);
    assert_eq!(t.at(name, 0), Change::Str("conv1".into()));
    assert_eq!(t.unsigned(busy, c0 * 10), 0);
    assert_eq!(t.unsigned(busy, (base1 - 1) * 10 + 5), 0);
    assert_eq!(t.unsigned(busy, base1 * 10), 1);
    assert_eq!(t.unsigned(layer, base1 * 10), 1);
    assert_eq!(t.at(name, base1 * 10), Change::Str("fc_2".into()));
    assert_eq!(t.unsigned(layer, c1 * 10), 2);
    assert_eq!(t.unsigned(busy, c1 * 10), 0);
    assert_eq!(*t.times.last().unwrap(), (c1 + 7) * 10);
    let comments: Vec<&(u64, String)> = t
        .comments
        .iter()
        .filter(|(_, c)| c.starts_with("layer"))
        .collect();
    assert_eq!(comments.len(), 3);
    assert_eq!(comments[1].0, base1 * 10);
    assert!(comments[1].1.contains("fc_2"), "{}", comments[1].1);
    // Values are written only when they change: the stationary weights of PE (0,0) do not
    // change every cycle.
    let id = t.var(&["systole", "pe_0_0", "second"]).code;
    assert!(t.changes[&id].len() < r0.len() + r1.len());
}

#[test]
fn narrow_widths_wrap_as_twos_complement() {
    // A 12-bit accumulator holds -2048..=2047: int8 products of K=7 overflow it and wrap.
    let hw = Accelerator::new("t", 2, 2, Dataflow::OutputStationary, 300.0);
    let mut w = VcdWriter::new(Vec::new(), 2, 2, &[(1, 1), (0, 0)], 300.0, 8, 12).unwrap();
    assert_eq!(w.timescale(), (3334, "ps"));
    let recs = run(&hw, &mut w, 2, 7, 2, 9);
    let t = parse(&w.finish().unwrap());
    t.strictly_increasing();
    let mut wrapped = false;
    for rec in &recs {
        let ts = rec.cycle * 3334;
        let v = rec.acc[3];
        let want = sext(v as u64 & 0xfff, 12);
        wrapped |= want != v;
        assert_eq!(t.signed(&["systole", "pe_1_1", "acc"], ts), want);
        assert_eq!(
            t.signed(&["systole", "pe_1_1", "moving"], ts),
            rec.moving[3] as i64
        );
    }
    assert!(wrapped, "the test data should overflow 12 bits");
}

#[test]
fn time_going_backwards_is_an_error_not_a_panic() {
    let hw = Accelerator::new("t", 2, 2, Dataflow::WeightStationary, 100.0);
    let mut w = VcdWriter::new(Vec::new(), 2, 2, &[(0, 0)], 100.0, 8, 32).unwrap();
    w.begin_layer(0, "a", 0);
    run(&hw, &mut w, 2, 2, 2, 3);
    w.begin_layer(1, "b", 3);
    run(&hw, &mut w, 2, 2, 2, 4);
    assert!(w.error().is_some());
    let e = w.finish().unwrap_err().to_string();
    assert!(e.contains("backwards") && e.contains("layer 1 'b'"), "{e}");
}

#[test]
fn engine_array_of_another_size_is_an_error() {
    let hw = Accelerator::new("t", 3, 3, Dataflow::WeightStationary, 100.0);
    let mut w = VcdWriter::new(Vec::new(), 2, 2, &[(1, 1)], 100.0, 8, 32).unwrap();
    run(&hw, &mut w, 2, 2, 2, 3);
    let e = w.finish().unwrap_err().to_string();
    assert!(e.contains("2×2") && e.contains("3×3"), "{e}");
}

#[test]
fn bad_arguments_are_errors_naming_the_problem() {
    let err = |r: Result<VcdWriter<Vec<u8>>, SimError>| match r {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error"),
    };
    let e = err(VcdWriter::new(
        Vec::new(),
        3,
        4,
        &[(0, 0), (3, 0)],
        100.0,
        8,
        32,
    ));
    assert!(e.contains("PE (3, 0)") && e.contains("3×4"), "{e}");
    let e = err(VcdWriter::new(Vec::new(), 3, 4, &[(0, 4)], 100.0, 8, 32));
    assert!(e.contains("PE (0, 4)"), "{e}");
    let e = err(VcdWriter::new(Vec::new(), 3, 4, &[], 0.0, 8, 32));
    assert!(e.contains("clock"), "{e}");
    let e = err(VcdWriter::new(Vec::new(), 3, 4, &[], f64::NAN, 8, 32));
    assert!(e.contains("clock"), "{e}");
    let e = err(VcdWriter::new(Vec::new(), 3, 4, &[], 100.0, 0, 32));
    assert!(e.contains("operand width"), "{e}");
    let e = err(VcdWriter::new(Vec::new(), 3, 4, &[], 100.0, 8, 65));
    assert!(e.contains("accumulator width"), "{e}");
    let e = err(VcdWriter::new(Vec::new(), 0, 4, &[], 100.0, 8, 32));
    assert!(e.contains("0×4"), "{e}");
}

#[test]
fn pe_specs() {
    assert_eq!(parse_pes("0,0;7,7", 8, 8).unwrap(), vec![(0, 0), (7, 7)]);
    assert_eq!(
        parse_pes(" 1, 2 ; 0,0; 1,2;", 8, 8).unwrap(),
        vec![(1, 2), (0, 0)]
    );
    assert_eq!(
        parse_pes("corners", 8, 16).unwrap(),
        vec![(0, 0), (0, 15), (7, 0), (7, 15)]
    );
    assert_eq!(parse_pes("corners", 1, 1).unwrap(), vec![(0, 0)]);
    assert_eq!(parse_pes("corners", 1, 5).unwrap(), vec![(0, 0), (0, 4)]);
    assert_eq!(parse_pes("all", 2, 2).unwrap().len(), 4);
    assert_eq!(parse_pes("all", 32, 32).unwrap().len(), 1024);

    let e = parse_pes("all", 64, 64).unwrap_err().to_string();
    assert!(
        e.contains("64×64") && e.contains(&MAX_SIGNALS.to_string()),
        "{e}"
    );
    let e = parse_pes("0,0;8,0", 8, 8).unwrap_err().to_string();
    assert!(e.contains("PE (8, 0)") && e.contains("8×8"), "{e}");
    for bad in ["0", "a,b", "1;2", "0,0,0", "-1,0", ""] {
        let e = parse_pes(bad, 8, 8).unwrap_err().to_string();
        assert!(e.contains("ROW,COL"), "{bad}: {e}");
    }
}
