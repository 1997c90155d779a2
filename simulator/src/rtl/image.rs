//! The files the testbench reads and writes: the ROM include (`systole_init.vh`), the DRAM image
//! in (`dram_in.hex`, the host's input codes at the input tensor's base) and out
//! (`dram_out.hex`, decoded here into each written tensor's codes), and the cycle report.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use systole_compiler::backend::dram_map;
use systole_compiler::fxir::{Program, StageKind};
use systole_compiler::schedule::{elem_bytes, Schedule, Work};

use super::{RtlLayer, RtlTool};
use crate::error::{Result, SimError};

fn bad(tool: RtlTool, msg: String) -> SimError {
    SimError::RtlTool {
        tool: tool.name(),
        msg,
    }
}

/// `localparam NAME = value;` of the build's header.
pub(crate) fn param(vh: &str, name: &str) -> Option<u64> {
    vh.lines().find_map(|l| {
        let rest = l.strip_prefix("localparam ")?.strip_prefix(name)?;
        let v = rest.trim_start().strip_prefix('=')?;
        v.split(';').next()?.trim().parse().ok()
    })
}

/// The `$readmemh` lines that load the build's ROMs into `systole_top`'s memories. Every file
/// must exist: a simulator given a missing `$readmemh` file warns and leaves the memory
/// undefined, and the controller then never finishes (a timeout, not an error naming the file).
pub(crate) fn init_include(
    tool: RtlTool,
    build: &Path,
    p: &Program,
    s: &Schedule,
    vh: &str,
) -> Result<String> {
    let mut missing = Vec::new();
    let mut path = |f: String| {
        let full = build.join(&f);
        if !full.is_file() {
            missing.push(f);
        }
        full.to_string_lossy().replace('\\', "/")
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "$readmemh(\"{}\", irom);",
        path("rom/instructions.mem".into())
    );
    let depth = param(vh, "WROM_DEPTH").unwrap_or(0);
    let banks = param(vh, "WROM_BANKS").unwrap_or(0);
    if depth > 0 {
        for b in 0..banks {
            let _ = writeln!(
                o,
                "$readmemh(\"{}\", wbank, {}, {});",
                path(format!("rom/weights_col{b}.mem")),
                b * depth,
                b * depth + depth - 1
            );
        }
    }
    let mut base = 0usize;
    for (i, (l, st)) in s.layers.iter().zip(&p.stages).enumerate() {
        let (Work::Array(_), StageKind::Gemm(g)) = (&l.work, &st.kind) else {
            continue;
        };
        for (f, mem) in [
            ("bias", "p_bias"),
            ("mult", "p_mult"),
            ("shift", "p_shift"),
            ("zero", "p_zero"),
        ] {
            let _ = writeln!(
                o,
                "$readmemh(\"{}\", {mem}, {base}, {});",
                path(format!("rom/L{i}_{f}.mem")),
                base + g.n - 1
            );
        }
        base += g.n;
    }
    if !missing.is_empty() {
        return Err(bad(
            tool,
            format!(
                "{}: the build lacks {} (compile it again with `systole compile`)",
                build.display(),
                missing.join(", ")
            ),
        ));
    }
    Ok(o)
}

/// The DRAM image with the input codes (reference layout, every sample) at the input tensor.
pub(crate) fn dram_in(p: &Program, s: &Schedule, input: &[i32], bytes: usize) -> Result<String> {
    let map = dram_map(p, s.batch);
    let q = p
        .stages
        .first()
        .filter(|st| matches!(st.kind, StageKind::Quantize { .. }))
        .ok_or_else(|| SimError::RtlUnsupported {
            layer: "-".into(),
            field: "stages[0]".into(),
            msg: "the program does not start with the input quantizer (the host's codes are \
                  its output)"
                .into(),
        })?;
    let t = p.tensor(q.output);
    let eb = elem_bytes(t) as usize;
    let want = s.batch * t.len();
    if input.len() != want {
        // `verify` passes the reference's quantizer output for the build's batch.
        return Err(SimError::internal(format!(
            "input codes: {} values, the batch of {} needs {want}",
            input.len(),
            s.batch
        )));
    }
    let mut img = vec![0u8; bytes];
    let base = map[q.output.0].base as usize;
    for (i, &v) in input.iter().enumerate() {
        for b in 0..eb {
            if let Some(slot) = img.get_mut(base + i * eb + b) {
                *slot = (v >> (8 * b)) as u8;
            }
        }
    }
    let mut o = String::with_capacity(bytes * 3);
    for b in img {
        let _ = writeln!(o, "{b:02x}");
    }
    Ok(o)
}

/// The codes of every tensor an accelerator layer wrote, from the final DRAM image.
pub(crate) fn written_tensors(
    p: &Program,
    s: &Schedule,
    dram_out: &str,
    tool: RtlTool,
) -> Result<BTreeMap<usize, Vec<i32>>> {
    let mut img = Vec::new();
    for (n, line) in dram_out.lines().enumerate() {
        let w = line.trim();
        if w.is_empty() || w.starts_with("//") {
            continue;
        }
        let v = u8::from_str_radix(w, 16)
            .map_err(|_| bad(tool, format!("dram_out.hex line {}: '{w}'", n + 1)))?;
        img.push(v);
    }
    let map = dram_map(p, s.batch);
    let mut out = BTreeMap::new();
    for (l, st) in s.layers.iter().zip(&p.stages) {
        if !matches!(l.work, Work::Array(_) | Work::Vector(_) | Work::Copy { .. }) {
            continue;
        }
        let t = p.tensor(st.output);
        let eb = elem_bytes(t) as usize;
        let base = map[st.output.0].base as usize;
        let n = s.batch * t.len();
        let mut codes = Vec::with_capacity(n);
        for i in 0..n {
            let mut v: u32 = 0;
            for b in 0..eb {
                let byte = img.get(base + i * eb + b).copied().ok_or_else(|| {
                    bad(
                        tool,
                        format!("dram_out.hex ends before tensor {}", st.output.0),
                    )
                })?;
                v |= u32::from(byte) << (8 * b);
            }
            let bits = 8 * eb as u32;
            let code = if t.format.signed && bits < 32 {
                ((v << (32 - bits)) as i32) >> (32 - bits)
            } else {
                v as i32
            };
            codes.push(code);
        }
        out.insert(st.output.0, codes);
    }
    Ok(out)
}

/// `LAYER i START s CYCLES c` lines and `TOTAL t` of the testbench's report.
pub(crate) fn report(text: &str, layers: usize, tool: RtlTool) -> Result<(Vec<RtlLayer>, u64)> {
    if let Some(e) = text.lines().find(|l| l.starts_with("ERROR")) {
        return Err(bad(tool, format!("the testbench reports: {e}")));
    }
    let mut out = Vec::new();
    let mut total = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> Result<u64> {
            f.get(i)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad(tool, format!("report line '{line}'")))
        };
        match f.first() {
            Some(&"LAYER") => out.push(RtlLayer {
                index: num(1)? as usize,
                start_cycle: num(3)?,
                cycles: num(5)?,
            }),
            Some(&"TOTAL") => total = Some(num(1)?),
            _ => {}
        }
    }
    let total = total.ok_or_else(|| bad(tool, "report has no TOTAL".into()))?;
    if out.len() != layers {
        return Err(bad(
            tool,
            format!("report has {} layers, the schedule {layers}", out.len()),
        ));
    }
    Ok((out, total))
}
