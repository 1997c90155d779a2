//! The Pareto front and the best design of a sweep, kept incrementally so a sweep's memory does
//! not grow with its points. Dominance is strict and ties keep one representative by a total
//! order, so the front (sorted by index) does not depend on the order in which points finish:
//! a sharded or resumed run gives the same front.

use serde::Serialize;

use super::eval::Record;

/// What "best" means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    Latency,
    Throughput,
    Energy,
    Area,
}

impl Objective {
    pub fn parse(s: &str) -> Option<Objective> {
        match s {
            "latency" => Some(Objective::Latency),
            "throughput" => Some(Objective::Throughput),
            "energy" => Some(Objective::Energy),
            "area" => Some(Objective::Area),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Objective::Latency => "latency",
            Objective::Throughput => "throughput",
            Objective::Energy => "energy",
            Objective::Area => "area",
        }
    }
}

/// The cost of a record on target `t`: FPGA resource fraction or ASIC area.
pub fn cost(r: &Record, t: usize) -> Option<f64> {
    let c = r.targets.get(t)?;
    c.resource_utilization.or(c.area_mm2)
}

/// The objective's figure, smaller is better.
pub fn score(r: &Record, t: usize, o: Objective) -> Option<f64> {
    match o {
        Objective::Latency => r.latency_s,
        Objective::Throughput => r.inferences_per_s.map(|x| -x),
        Objective::Energy => r.targets.get(t)?.energy_uj,
        Objective::Area => cost(r, t),
    }
}

/// The minimised vector of a feasible record: (objective, cost) — for `area`, (cost, latency)
/// — plus the accuracy loss when the sweep varies bit widths.
fn vector(r: &Record, t: usize, o: Objective, with_accuracy: bool) -> Option<Vec<f64>> {
    if !r.targets.get(t)?.feasible {
        return None;
    }
    let mut v = match o {
        Objective::Area => vec![cost(r, t)?, r.latency_s?],
        _ => vec![score(r, t, o)?, cost(r, t)?],
    };
    if with_accuracy {
        v.push(-r.accuracy.unwrap_or(0.0));
    }
    Some(v)
}

fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Front and best of one target.
#[derive(Clone, Debug)]
pub struct Tracker {
    pub target: usize,
    pub objective: Objective,
    pub with_accuracy: bool,
    front: Vec<(Vec<f64>, Record)>,
    best: Option<Record>,
    pub feasible: u64,
}

impl Tracker {
    pub fn new(target: usize, objective: Objective, with_accuracy: bool) -> Tracker {
        Tracker {
            target,
            objective,
            with_accuracy,
            front: Vec::new(),
            best: None,
            feasible: 0,
        }
    }

    /// Takes one record into account.
    pub fn add(&mut self, r: &Record) {
        let Some(v) = vector(r, self.target, self.objective, self.with_accuracy) else {
            return;
        };
        self.feasible += 1;
        // Best: the objective, then cost, then (higher) accuracy, then the smaller index.
        let key = |x: &Record| {
            (
                score(x, self.target, self.objective).unwrap_or(f64::INFINITY),
                cost(x, self.target).unwrap_or(f64::INFINITY),
                -x.accuracy.unwrap_or(0.0),
                x.index,
            )
        };
        let better = match &self.best {
            None => true,
            Some(b) => {
                let (a, c) = (key(r), key(b));
                a.0.total_cmp(&c.0)
                    .then(a.1.total_cmp(&c.1))
                    .then(a.2.total_cmp(&c.2))
                    .then(a.3.cmp(&c.3))
                    .is_lt()
            }
        };
        if better {
            self.best = Some(r.clone());
        }
        if self.front.iter().any(|(f, _)| dominates(f, &v)) {
            return;
        }
        // Designs with equal figures (e.g. FPGA designs bound by the same DSP count that differ
        // in buffer size) keep one representative: the lower energy, then the lower index, a
        // total order, so the choice does not depend on arrival order either.
        let t = self.target;
        let tie = |x: &Record| {
            (
                x.targets
                    .get(t)
                    .and_then(|c| c.energy_uj)
                    .unwrap_or(f64::INFINITY),
                x.index,
            )
        };
        if let Some(pos) = self.front.iter().position(|(f, _)| *f == v) {
            let (a, b) = (tie(r), tie(&self.front[pos].1));
            if a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).is_lt() {
                self.front[pos].1 = r.clone();
            }
            return;
        }
        self.front.retain(|(f, _)| !dominates(&v, f));
        self.front.push((v, r.clone()));
    }

    /// The front, by index.
    pub fn front(&self) -> Vec<Record> {
        let mut f: Vec<Record> = self.front.iter().map(|(_, r)| r.clone()).collect();
        f.sort_by_key(|r| r.index);
        f
    }

    pub fn best(&self) -> Option<&Record> {
        self.best.as_ref()
    }
}
