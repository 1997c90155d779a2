//! Stable text form of a schedule: the header, then the instruction stream layer by layer.

use std::fmt::Write;

use super::{Instr, Schedule, Span, Work};

fn span(s: &Span) -> String {
    format!("[{},{})", s.start, s.end())
}

/// The schedule as text, one instruction per line (snapshot-tested; `docs/ir.md`).
pub fn dump(s: &Schedule) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "schedule \"{}\" on \"{}\": {}x{} {:?}, batch {}",
        s.program, s.hw, s.rows, s.cols, s.dataflow, s.batch
    );
    let mut current = None;
    for ins in s.instructions() {
        let line = match &ins {
            Instr::Layer { index } => {
                let l = &s.layers[*index];
                current = Some(*index);
                let what = match &l.work {
                    Work::Host { op, reason } => format!("host {op} ({reason})"),
                    Work::View => "view (no data moves)".into(),
                    Work::Copy { bytes } => format!("dma copy {bytes} B"),
                    Work::Gather { rows, bytes } => {
                        format!("dma gather {rows} table rows, {bytes} B")
                    }
                    Work::Vector(v) => format!(
                        "vector {:?} {} elements, {} B in, {} B out",
                        v.op, v.elements, v.in_bytes, v.out_bytes
                    ),
                    Work::Array(a) => format!(
                        "array {}m={} k={} n={} tile={} bytes a={} w={} out={} acc={}, {} folds",
                        if a.groups > 1 {
                            format!("groups={} ", a.groups)
                        } else {
                            String::new()
                        },
                        a.m,
                        a.k,
                        a.n,
                        a.tile,
                        a.act_bytes,
                        a.weight_bytes,
                        a.out_bytes,
                        a.acc_bytes,
                        a.steps.len()
                    ),
                };
                format!("layer {} s{} {}: {what}", index, l.stage, l.name)
            }
            Instr::LoadIfmap { step, bytes } => format!("  ld.ifmap  #{step} {bytes} B"),
            Instr::LoadFilter { step, bytes } => format!("  ld.filter #{step} {bytes} B"),
            Instr::Fold { step } => {
                let st = current.and_then(|i| match &s.layers[i].work {
                    Work::Array(a) => a.steps.get(*step).map(|x| (x, a.groups > 1)),
                    _ => None,
                });
                match st {
                    Some((st, grouped)) => format!(
                        "  fold      #{step} {}m{} k{} n{}{}",
                        if grouped {
                            format!("g{} ", st.group)
                        } else {
                            String::new()
                        },
                        span(&st.m),
                        span(&st.k),
                        span(&st.n),
                        if st.accumulate { " +=" } else { "" }
                    ),
                    None => format!("  fold      #{step}"),
                }
            }
            Instr::Store { step, bytes } => format!("  st.ofmap  #{step} {bytes} B"),
            Instr::Vector { op, elements } => format!("  vec       {op:?} x{elements}"),
            Instr::Copy { bytes } => format!("  dma.copy  {bytes} B"),
            Instr::Host => "  host".into(),
            Instr::Sync => "  sync".into(),
        };
        o.push_str(&line);
        o.push('\n');
    }
    o
}
