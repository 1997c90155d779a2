use super::eval::{Record, TargetCost};
use super::pareto::{Objective, Tracker};
use super::space::{fnv1a, Space};
use super::Shard;

const SPACE: &str = r#"(name: "t", rows: [2, 4, 8], cols: [4, 8], dataflow: [WeightStationary,
    OutputStationary], buffer_kib: [1, 2, 4], clock_mhz: [100.0, 200.0],
    dram_bytes_per_cycle: [8.0])"#;

#[test]
fn points_enumerate_every_combination_once() {
    let s = Space::from_ron(SPACE, "t").unwrap();
    let n = s.len();
    assert_eq!(n as usize, 3 * 2 * 2 * 3 * 2);
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..n {
        let p = s.point(i);
        assert_eq!(p.index, i);
        let key = format!(
            "{} {} {:?} {} {}",
            p.rows, p.cols, p.dataflow, p.buffer_kib, p.clock_mhz
        );
        assert!(seen.insert(key), "point {i} repeats another");
        let hw = p.accelerator(&s, 8, 8, 32);
        hw.validate().unwrap();
    }
}

#[test]
fn shards_partition_the_points() {
    for n in [1u64, 7, 72, 100] {
        for count in 1..=5 {
            let mut total = 0;
            for index in 0..count {
                let sh = Shard { index, count };
                let held = (0..n).filter(|&i| sh.holds(i)).count() as u64;
                assert_eq!(held, sh.len(n));
                total += held;
            }
            assert_eq!(total, n);
        }
    }
    assert!(Shard::parse("2/2").is_err());
    assert!(Shard::parse("0/0").is_err());
    assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
}

fn rec(index: u64, latency: f64, cost: f64, feasible: bool) -> Record {
    Record {
        index,
        rows: 1,
        cols: 1,
        dataflow: "ws".into(),
        buffer_kib: 1,
        bits: String::new(),
        input_bits: 8,
        weight_bits: 8,
        clock_mhz: 100.0,
        dram_bytes_per_cycle: 8.0,
        accuracy: None,
        error: None,
        cycles: Some(1),
        latency_s: Some(latency),
        inferences_per_s: Some(1.0 / latency),
        utilization: Some(0.5),
        dram_bytes: Some(0),
        targets: vec![TargetCost {
            target: "t".into(),
            feasible,
            binding: None,
            resource_utilization: Some(cost),
            lut: None,
            ff: None,
            dsp: None,
            bram: None,
            large_ram: None,
            area_mm2: None,
            energy_uj: Some(latency * cost),
        }],
    }
}

#[test]
fn the_front_and_best_do_not_depend_on_arrival_order() {
    // A pseudo-random cloud of points; every order must give the same front and best.
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let recs: Vec<Record> = (0..200)
        .map(|i| rec(i, 1.0 + next(), 1.0 + next(), next() > 0.2))
        .collect();
    let run = |order: &[usize]| {
        let mut t = Tracker::new(0, Objective::Latency, false);
        for &i in order {
            t.add(&recs[i]);
        }
        (t.front(), t.best().cloned(), t.feasible)
    };
    let fwd: Vec<usize> = (0..recs.len()).collect();
    let rev: Vec<usize> = fwd.iter().rev().copied().collect();
    let a = run(&fwd);
    assert_eq!(a, run(&rev));
    // The front is exactly the non-dominated feasible points.
    let dom = |p: &Record, q: &Record| {
        let (lp, cp) = (
            p.latency_s.unwrap(),
            p.targets[0].resource_utilization.unwrap(),
        );
        let (lq, cq) = (
            q.latency_s.unwrap(),
            q.targets[0].resource_utilization.unwrap(),
        );
        lp <= lq && cp <= cq && (lp < lq || cp < cq)
    };
    let feasible: Vec<&Record> = recs.iter().filter(|r| r.targets[0].feasible).collect();
    let want: Vec<u64> = feasible
        .iter()
        .filter(|q| !feasible.iter().any(|p| dom(p, q)))
        .map(|r| r.index)
        .collect();
    let got: Vec<u64> = a.0.iter().map(|r| r.index).collect();
    assert_eq!(got, want);
    let best = a.1.unwrap();
    assert!(feasible.iter().all(|r| r.latency_s >= best.latency_s));
}

#[test]
fn the_hash_tells_inputs_apart() {
    assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
    assert_eq!(fnv1a(&[b"space"]), fnv1a(&[b"space"]));
}

#[test]
fn each_objective_picks_its_own_best() {
    // (latency, cost): a is fastest, b cheapest; energy = latency × cost favours c.
    let a = rec(0, 1.0, 4.0, true);
    let b = rec(1, 4.0, 1.0, true);
    let c = rec(2, 1.5, 1.5, true);
    let best = |o: Objective| {
        let mut t = Tracker::new(0, o, false);
        for r in [&a, &b, &c] {
            t.add(r);
        }
        t.best().map(|r| r.index)
    };
    assert_eq!(best(Objective::Latency), Some(0));
    assert_eq!(best(Objective::Throughput), Some(0));
    assert_eq!(best(Objective::Area), Some(1));
    assert_eq!(best(Objective::Energy), Some(2));
}
