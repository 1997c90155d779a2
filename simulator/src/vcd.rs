//! Waveforms of the exact engine: a streaming VCD (IEEE 1364 value change dump) writer.
//!
//! [`VcdWriter`] is an [`exact::Observer`](crate::exact::Observer): pass it to
//! [`run_gemm_observed`](crate::exact::run_gemm_observed) and it writes the registers of the
//! chosen PEs every cycle, plus a controller scope (layer, fold, cycle, busy) and a clock. The
//! file opens in GTKWave (`gtkwave out.vcd`) or any VCD viewer; `docs/simulator.md`
//! ("Waveforms") lists the signals.
//!
//! ```text
//! systole              clk (1 bit, high for the first half of each cycle)
//! ├── controller       layer (16), fold (32), cycle (64), busy (1), layer_name (string)
//! └── pe_R_C           moving, second (operand bits), acc (accumulator bits)
//! ```
//!
//! **Time.** Cycle `g` (global: `base_cycle` of the current layer plus the engine's cycle within
//! its GEMM) starts with a rising clock edge at `g · P`, `P` the clock period in the file's
//! timescale; the registers the engine reports after cycle `g` are shown from that edge on (they
//! are what the edge latched). The clock falls at `g · P + P/2`. Time stamps are written in
//! strictly increasing order; anything that would go backwards (a layer whose `base_cycle`
//! overlaps what is already written) stops the trace and [`VcdWriter::finish`] returns the error.
//!
//! **Values.** Vectors are two's complement of the stated width (values wider than the width are
//! wrapped, as a register of that width would); leading zeros are dropped, as VCD allows (a
//! value is zero-extended to the declared width), so negative values are written in full.
//!
//! **Memory.** The writer keeps, per signal, its id code, width and last written value (so it
//! writes only changes), the current layer's number, name and base cycle, and two time stamps;
//! nothing grows with the number of cycles. Every change goes to `W` as soon as it is known (wrap
//! a file in a `BufWriter`), so a trace of any length runs in constant memory; the signal count
//! is capped at [`MAX_SIGNALS`].
//!
//! **Errors.** [`exact::Observer::cycle`](crate::exact::Observer::cycle) cannot return an error,
//! so the first one (a write failure, time going backwards, an engine array of another size) is
//! kept, later events are ignored, and [`VcdWriter::finish`] returns it; [`VcdWriter::error`]
//! shows it earlier.

use std::io::Write;

use ::vcd::{IdCode, ScopeType, TimescaleUnit, Value, VarType};

use crate::error::{Result, SimError};
use crate::exact::{Observer, PeState};

/// Most PE signals one trace may hold (each PE has [`SIGNALS_PER_PE`]).
pub const MAX_SIGNALS: usize = 4096;
/// `moving`, `second`, `acc`.
pub const SIGNALS_PER_PE: usize = 3;

/// Widths of the controller's vectors.
const LAYER_BITS: u32 = 16;
const FOLD_BITS: u32 = 32;
const CYCLE_BITS: u32 = 64;

struct Sig {
    id: IdCode,
    width: u32,
    /// Last written value, masked to `width` bits.
    prev: u64,
}

struct PeSigs {
    /// Row-major index `r * cols + c` into `PeState`'s slices.
    idx: usize,
    moving: Sig,
    second: Sig,
    acc: Sig,
}

/// The output stream and the last time stamp written to it.
struct Out<W: Write> {
    w: W,
    last_ts: u64,
}

impl<W: Write> Out<W> {
    fn vcd(&mut self) -> ::vcd::Writer<&mut W> {
        ::vcd::Writer::new(&mut self.w)
    }

    /// Moves to time `t`; equal to the current time appends to the same time step.
    fn at(&mut self, t: u64) -> std::io::Result<()> {
        if t > self.last_ts {
            self.vcd().timestamp(t)?;
            self.last_ts = t;
        }
        Ok(())
    }

    fn write_value(&mut self, sig: &Sig, v: u64) -> std::io::Result<()> {
        let id = sig.id;
        if sig.width == 1 {
            self.vcd().change_scalar(id, v & 1 == 1)
        } else {
            let n = (64 - v.leading_zeros()).max(1);
            self.vcd().change_vector(
                id,
                (0..n).rev().map(|i| {
                    if v >> i & 1 == 1 {
                        Value::V1
                    } else {
                        Value::V0
                    }
                }),
            )
        }
    }

    /// Writes `v` (wrapped to the signal's width) if it differs from the last written value.
    fn set(&mut self, sig: &mut Sig, v: u64) -> std::io::Result<()> {
        let v = v & mask(sig.width);
        if v != sig.prev {
            self.write_value(sig, v)?;
            sig.prev = v;
        }
        Ok(())
    }
}

fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

fn vcd_err(msg: impl Into<String>) -> SimError {
    SimError::Vcd { msg: msg.into() }
}

fn io_err(source: std::io::Error) -> SimError {
    SimError::VcdWrite { source }
}

/// A streaming VCD writer of the exact engine's registers; see the module documentation.
pub struct VcdWriter<W: Write> {
    out: Out<W>,
    rows: usize,
    cols: usize,
    /// Clock period and half period in timescale ticks, and the timescale unit.
    period: u64,
    half: u64,
    unit: TimescaleUnit,
    clk: Sig,
    busy: Sig,
    layer: Sig,
    fold: Sig,
    cycle: Sig,
    layer_name: IdCode,
    pes: Vec<PeSigs>,
    base: u64,
    layer_index: u32,
    layer_label: String,
    /// A `begin_layer` not yet written (written at the time of the next event).
    pending_layer: bool,
    /// The fold number to show instead of the engine's (a schedule step runs as a one-fold GEMM).
    fold_override: Option<u64>,
    /// End of the trace so far: the end of the last cycle or idle gap.
    end_ts: u64,
    err: Option<SimError>,
}

/// The clock period in whole ticks of a timescale unit: nanoseconds when the period is an even
/// number of nanoseconds, else picoseconds, rounded to an even number (so the half period is
/// whole); a 300 MHz clock is 3334 ps (0.02 % long).
fn clock_period(clock_mhz: f64) -> Result<(u64, TimescaleUnit)> {
    if !(clock_mhz.is_finite() && clock_mhz > 0.0 && clock_mhz <= 500_000.0) {
        return Err(vcd_err(format!(
            "clock of {clock_mhz} MHz is out of range (more than 0, at most 500000 MHz)"
        )));
    }
    let ps = 1e6 / clock_mhz;
    let ns = ps / 1000.0;
    let exact_even = |x: f64| {
        let h = (x / 2.0).round();
        h >= 1.0 && (x - 2.0 * h).abs() <= 1e-9 * x
    };
    if exact_even(ns) && ns <= 1e15 {
        Ok((ns.round() as u64, TimescaleUnit::NS))
    } else if ps <= 1e15 {
        let h = ((ps / 2.0).round() as u64).max(1);
        Ok((2 * h, TimescaleUnit::PS))
    } else {
        Err(vcd_err(format!("clock of {clock_mhz} MHz is too slow")))
    }
}

/// A name usable as one VCD string token: whitespace and control characters become `_`, `$`
/// becomes `_` (so it cannot end a `$comment`), and an empty name becomes `-`.
fn token(name: &str) -> String {
    let s: String = name
        .chars()
        .take(256)
        .map(|c| {
            if c.is_whitespace() || c.is_control() || c == '$' {
                '_'
            } else {
                c
            }
        })
        .collect();
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

fn check_pe_count(n: usize, what: &str) -> Result<()> {
    if n * SIGNALS_PER_PE > MAX_SIGNALS {
        return Err(vcd_err(format!(
            "{what} is {n} PEs, {} signals; at most {MAX_SIGNALS} signals ({} PEs) fit in one \
             trace: list PEs as 'ROW,COL;ROW,COL' or use 'corners'",
            n * SIGNALS_PER_PE,
            MAX_SIGNALS / SIGNALS_PER_PE
        )));
    }
    Ok(())
}

fn check_array(rows: usize, cols: usize) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(vcd_err(format!(
            "a {rows}×{cols} array has no PEs to trace"
        )));
    }
    Ok(())
}

fn check_pe(r: usize, c: usize, rows: usize, cols: usize) -> Result<()> {
    if r >= rows || c >= cols {
        return Err(vcd_err(format!(
            "PE ({r}, {c}) is outside the {rows}×{cols} array (rows 0..={}, columns 0..={})",
            rows - 1,
            cols - 1
        )));
    }
    Ok(())
}

/// The PEs named by a `--vcd-pes`-style spec on a `rows × cols` array:
///
/// * `corners` (the default a CLI should use): `(0,0)`, `(0,C-1)`, `(R-1,0)`, `(R-1,C-1)`,
///   without repeats (one PE on a 1×1 array, two on 1×N);
/// * `all`: every PE, row-major; refused when that is more than [`MAX_SIGNALS`] signals;
/// * `ROW,COL;ROW,COL;…`: those PEs (0-based), in that order, repeats dropped.
pub fn parse_pes(spec: &str, rows: usize, cols: usize) -> Result<Vec<(usize, usize)>> {
    check_array(rows, cols)?;
    let spec = spec.trim();
    let mut pes: Vec<(usize, usize)> = Vec::new();
    let mut push = |p: (usize, usize)| {
        if !pes.contains(&p) {
            pes.push(p);
        }
    };
    match spec {
        "corners" => {
            for p in [(0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1)] {
                push(p);
            }
        }
        "all" => {
            check_pe_count(rows * cols, &format!("'all' on a {rows}×{cols} array"))?;
            return Ok((0..rows)
                .flat_map(|r| (0..cols).map(move |c| (r, c)))
                .collect());
        }
        _ => {
            for item in spec.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                let bad = || {
                    vcd_err(format!(
                        "PE '{item}' in '{spec}': expected ROW,COL (0-based integers), or the \
                         whole spec 'all' or 'corners'"
                    ))
                };
                let (r, c) = item.split_once(',').ok_or_else(bad)?;
                let r: usize = r.trim().parse().map_err(|_| bad())?;
                let c: usize = c.trim().parse().map_err(|_| bad())?;
                check_pe(r, c, rows, cols)?;
                push((r, c));
            }
            if pes.is_empty() {
                return Err(vcd_err(format!(
                    "no PEs in '{spec}': expected ROW,COL;ROW,COL, 'all' or 'corners'"
                )));
            }
            check_pe_count(pes.len(), &format!("'{spec}'"))?;
        }
    }
    Ok(pes)
}

impl<W: Write> VcdWriter<W> {
    /// Writes the header (timescale from `clock_mhz`, scopes and variables) and the initial
    /// values (all zero, `busy` low) at time 0.
    ///
    /// `pes` are `(row, col)` of a `rows × cols` array (repeats are dropped); `operand_bits`
    /// (1..=32) is the width of `moving` and `second`, `acc_bits` (1..=64) of `acc`. Errors: a
    /// PE outside the array (naming the PE and the array size), more than [`MAX_SIGNALS`] PE
    /// signals, a width or clock out of range, a write failure.
    pub fn new(
        w: W,
        rows: usize,
        cols: usize,
        pes: &[(usize, usize)],
        clock_mhz: f64,
        operand_bits: u32,
        acc_bits: u32,
    ) -> Result<Self> {
        check_array(rows, cols)?;
        if !(1..=32).contains(&operand_bits) {
            return Err(vcd_err(format!(
                "operand width {operand_bits} bits is out of range 1..=32"
            )));
        }
        if !(1..=64).contains(&acc_bits) {
            return Err(vcd_err(format!(
                "accumulator width {acc_bits} bits is out of range 1..=64"
            )));
        }
        let mut chosen: Vec<(usize, usize)> = Vec::with_capacity(pes.len());
        for &(r, c) in pes {
            check_pe(r, c, rows, cols)?;
            if !chosen.contains(&(r, c)) {
                chosen.push((r, c));
            }
        }
        check_pe_count(chosen.len(), "the PE list")?;
        let (period, unit) = clock_period(clock_mhz)?;

        let mut out = Out { w, last_ts: 0 };
        let sig = |id, width| Sig { id, width, prev: 0 };
        let (clk, busy, layer, fold, cycle, layer_name, pe_sigs) = {
            let mut v = out.vcd();
            v.version(&format!("systole-sim {}", env!("CARGO_PKG_VERSION")))
                .map_err(io_err)?;
            v.comment(&format!(
                "exact engine of a {rows}x{cols} array at {clock_mhz} MHz: one cycle = {period} \
                 {unit}; moving, second and acc are two's complement"
            ))
            .map_err(io_err)?;
            v.timescale(1, unit).map_err(io_err)?;
            v.add_module("systole").map_err(io_err)?;
            let clk = sig(v.add_wire(1, "clk").map_err(io_err)?, 1);
            v.add_module("controller").map_err(io_err)?;
            let layer = sig(v.add_wire(LAYER_BITS, "layer").map_err(io_err)?, LAYER_BITS);
            let fold = sig(v.add_wire(FOLD_BITS, "fold").map_err(io_err)?, FOLD_BITS);
            let cycle = sig(v.add_wire(CYCLE_BITS, "cycle").map_err(io_err)?, CYCLE_BITS);
            let busy = sig(v.add_wire(1, "busy").map_err(io_err)?, 1);
            let layer_name = v
                .add_var(VarType::String, 1, "layer_name", None)
                .map_err(io_err)?;
            v.upscope().map_err(io_err)?;
            let mut pe_sigs = Vec::with_capacity(chosen.len());
            for &(r, c) in &chosen {
                v.scope_def(ScopeType::Module, &format!("pe_{r}_{c}"))
                    .map_err(io_err)?;
                let moving = sig(
                    v.add_wire(operand_bits, "moving").map_err(io_err)?,
                    operand_bits,
                );
                let second = sig(
                    v.add_wire(operand_bits, "second").map_err(io_err)?,
                    operand_bits,
                );
                let acc = sig(v.add_wire(acc_bits, "acc").map_err(io_err)?, acc_bits);
                v.upscope().map_err(io_err)?;
                pe_sigs.push(PeSigs {
                    idx: r * cols + c,
                    moving,
                    second,
                    acc,
                });
            }
            v.upscope().map_err(io_err)?;
            v.enddefinitions().map_err(io_err)?;
            (clk, busy, layer, fold, cycle, layer_name, pe_sigs)
        };

        let mut me = VcdWriter {
            out,
            rows,
            cols,
            period,
            half: period / 2,
            unit,
            clk,
            busy,
            layer,
            fold,
            cycle,
            layer_name,
            pes: pe_sigs,
            base: 0,
            layer_index: 0,
            layer_label: "-".into(),
            pending_layer: false,
            fold_override: None,
            end_ts: 0,
            err: None,
        };
        me.dump_initial().map_err(io_err)?;
        Ok(me)
    }

    /// `#0 $dumpvars … $end` with every signal's current (zero) value.
    fn dump_initial(&mut self) -> std::io::Result<()> {
        let o = &mut self.out;
        o.vcd().timestamp(0)?;
        o.vcd().begin(::vcd::SimulationCommand::Dumpvars)?;
        for s in [&self.clk, &self.busy, &self.layer, &self.fold, &self.cycle] {
            o.write_value(s, s.prev)?;
        }
        o.vcd().change_string(self.layer_name, "-")?;
        for p in &self.pes {
            for s in [&p.moving, &p.second, &p.acc] {
                o.write_value(s, s.prev)?;
            }
        }
        o.vcd().end()
    }

    /// The clock period in timescale ticks and the unit (`"ns"` or `"ps"`).
    pub fn timescale(&self) -> (u64, &'static str) {
        let unit = match self.unit {
            TimescaleUnit::NS => "ns",
            _ => "ps",
        };
        (self.period, unit)
    }

    /// The first error met so far (then nothing more is written); [`finish`](Self::finish)
    /// returns it.
    pub fn error(&self) -> Option<&SimError> {
        self.err.as_ref()
    }

    /// Starts layer `index` called `name`: the engine cycles observed from now on are shifted by
    /// `base_cycle` (the engine counts from 0 in every GEMM). The controller's `layer` and
    /// `layer_name` change, and a `$comment` names the layer, at the time of the next event (the
    /// layer's first cycle, or an [`idle`](Self::idle) gap), so calling `idle` for a gap before
    /// or after `begin_layer` both work. `layer` is 16 bits wide (indices wrap past 65535); the
    /// name is written as one token (whitespace becomes `_`).
    pub fn begin_layer(&mut self, index: u32, name: &str, base_cycle: u64) {
        if self.err.is_some() {
            return;
        }
        self.base = base_cycle;
        self.layer_index = index;
        self.layer_label = token(name);
        self.pending_layer = true;
    }

    /// Global cycles `from_cycle..to_cycle` are idle (stalls, vector stages): `busy` goes low at
    /// `from_cycle` and the trace extends to `to_cycle`. The clock is not drawn over the gap, so
    /// a long stall costs a few lines, not two per cycle. Cycles are global (not shifted by
    /// `base_cycle`); `from_cycle` must not be before a cycle already written.
    pub fn idle(&mut self, from_cycle: u64, to_cycle: u64) {
        if self.err.is_some() {
            return;
        }
        if let Err(e) = self.try_idle(from_cycle, to_cycle) {
            self.err = Some(e);
        }
    }

    fn try_idle(&mut self, from: u64, to: u64) -> Result<()> {
        if to < from {
            return Err(vcd_err(format!(
                "idle gap from cycle {from} to cycle {to} ends before it starts"
            )));
        }
        let t = self.time(from, "the idle gap")?;
        let end = self.time(to, "the idle gap")?;
        self.check_forward(t, from, "the idle gap")?;
        self.out.at(t).map_err(io_err)?;
        self.flush_layer().map_err(io_err)?;
        self.out.set(&mut self.busy, 0).map_err(io_err)?;
        self.out.set(&mut self.clk, 0).map_err(io_err)?;
        self.end_ts = self.end_ts.max(end);
        Ok(())
    }

    /// Flushes and returns the stream, or the first error met. The trace ends at the end of the
    /// last cycle or idle gap.
    pub fn finish(mut self) -> Result<W> {
        if let Some(e) = self.err.take() {
            return Err(e);
        }
        if self.pending_layer {
            let t = self.time(self.base, "the last layer")?;
            self.check_forward(t, self.base, "the last layer")?;
            self.out.at(t).map_err(io_err)?;
            self.flush_layer().map_err(io_err)?;
        }
        if self.end_ts > self.out.last_ts {
            self.out.at(self.end_ts).map_err(io_err)?;
        }
        self.out.w.flush().map_err(io_err)?;
        Ok(self.out.w)
    }

    /// Time stamp of global cycle `g`.
    fn time(&self, g: u64, what: &str) -> Result<u64> {
        g.checked_mul(self.period).ok_or_else(|| {
            vcd_err(format!(
                "{what} at global cycle {g} is past the largest VCD time stamp ({} cycles of {} \
                 {})",
                u64::MAX / self.period,
                self.period,
                self.timescale().1
            ))
        })
    }

    fn check_forward(&self, t: u64, g: u64, what: &str) -> Result<()> {
        if t < self.out.last_ts {
            return Err(vcd_err(format!(
                "time must not go backwards: {what} at global cycle {g} (layer {} '{}', base \
                 cycle {}) comes before global cycle {}, already written",
                self.layer_index,
                self.layer_label,
                self.base,
                self.out.last_ts / self.period
            )));
        }
        Ok(())
    }

    fn flush_layer(&mut self) -> std::io::Result<()> {
        if !self.pending_layer {
            return Ok(());
        }
        self.pending_layer = false;
        let o = &mut self.out;
        o.vcd().comment(&format!(
            "layer {} {} from global cycle {}",
            self.layer_index, self.layer_label, self.base
        ))?;
        o.set(&mut self.layer, self.layer_index as u64)?;
        o.vcd().change_string(self.layer_name, &self.layer_label)
    }

    fn try_cycle(&mut self, s: &PeState<'_>) -> Result<()> {
        if s.rows != self.rows || s.cols != self.cols {
            return Err(vcd_err(format!(
                "the writer was made for a {}×{} array but the engine runs a {}×{} one",
                self.rows, self.cols, s.rows, s.cols
            )));
        }
        let n = s.rows * s.cols;
        if s.moving.len() < n || s.second.len() < n || s.acc.len() < n {
            return Err(vcd_err("engine state shorter than rows × cols"));
        }
        let g = self.base.checked_add(s.cycle).ok_or_else(|| {
            vcd_err(format!(
                "base cycle {} + cycle {} overflows",
                self.base, s.cycle
            ))
        })?;
        let t = self.time(g, "a cycle")?;
        let end = self.time(g.saturating_add(1), "a cycle")?;
        self.check_forward(t, g, "a cycle")?;
        let o = &mut self.out;
        o.at(t).map_err(io_err)?;
        // Layer change first, in the same time step.
        if self.pending_layer {
            self.flush_layer().map_err(io_err)?;
        }
        let o = &mut self.out;
        (|| -> std::io::Result<()> {
            o.set(&mut self.clk, 1)?;
            o.set(&mut self.busy, 1)?;
            o.set(&mut self.fold, self.fold_override.unwrap_or(s.fold.index))?;
            o.set(&mut self.cycle, s.cycle)?;
            for p in &mut self.pes {
                o.set(&mut p.moving, s.moving[p.idx] as i64 as u64)?;
                o.set(&mut p.second, s.second[p.idx] as i64 as u64)?;
                o.set(&mut p.acc, s.acc[p.idx] as u64)?;
            }
            o.at(t + self.half)?;
            o.set(&mut self.clk, 0)
        })()
        .map_err(io_err)?;
        self.end_ts = self.end_ts.max(end);
        Ok(())
    }
}

impl<W: Write> Observer for VcdWriter<W> {
    fn cycle(&mut self, state: &PeState<'_>) {
        if self.err.is_some() {
            return;
        }
        if let Err(e) = self.try_cycle(state) {
            self.err = Some(e);
        }
    }
}

impl<W: Write> VcdWriter<W> {
    /// The first global cycle not yet covered by the trace.
    fn next_cycle(&self) -> u64 {
        self.end_ts / self.period
    }

    fn gap_to(&mut self, start: u64) {
        let next = self.next_cycle();
        if start > next {
            self.idle(next, start);
        }
    }
}

/// A whole-model run announces layers and schedule steps; gaps between them (stalls, vector
/// stages) become idle spans.
impl<W: Write> crate::model::Probe for VcdWriter<W> {
    fn begin_layer(&mut self, index: u32, name: &str, start_cycle: u64) {
        self.gap_to(start_cycle);
        VcdWriter::begin_layer(self, index, name, start_cycle);
    }

    fn begin_fold(&mut self, fold: u64, start_cycle: u64) {
        self.gap_to(start_cycle);
        if self.err.is_none() {
            self.base = start_cycle;
            self.fold_override = Some(fold);
        }
    }

    fn observer(&mut self) -> &mut dyn Observer {
        self
    }

    fn end(&mut self, total_cycles: u64) {
        self.gap_to(total_cycles);
    }
}
