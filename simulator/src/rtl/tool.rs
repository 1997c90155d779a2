//! Building and running the testbench with Icarus Verilog or Verilator.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::RtlTool;
use crate::error::{Result, SimError};

/// `hw/rtl` of the source tree this crate was built from, or `SYSTOLE_RTL_DIR`.
pub(crate) fn rtl_dir() -> PathBuf {
    match std::env::var_os("SYSTOLE_RTL_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw/rtl"),
    }
}

/// The RTL sources of the whole program (design, then testbench).
pub fn sources() -> Vec<PathBuf> {
    let d = rtl_dir();
    [
        "systole_pe.v",
        "systole_array.v",
        "systole_fold.v",
        "systole_requant.v",
        "systole_scan.v",
        "systole_vector.v",
        "systole_top.v",
        "tb/top_tb.v",
    ]
    .iter()
    .map(|f| d.join(f))
    .collect()
}

fn exec(tool: RtlTool, cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().map_err(|e| SimError::RtlTool {
        tool: tool.name(),
        msg: format!("{what}: cannot run: {e}"),
    })?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let tail: String = text
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        return Err(SimError::RtlTool {
            tool: tool.name(),
            msg: format!("{what} failed ({}):\n{tail}", out.status),
        });
    }
    Ok(())
}

/// Compiles the testbench for `build` in `work`; returns the command that runs it, and seconds.
pub(crate) fn build(tool: RtlTool, build: &Path, work: &Path) -> Result<(Vec<String>, f64)> {
    let t0 = Instant::now();
    let srcs = sources();
    let inc = |d: &Path| format!("-I{}", d.display());
    let cmd = match tool {
        RtlTool::Iverilog => {
            let vvp = work.join("top.vvp");
            exec(
                tool,
                Command::new("iverilog")
                    .args(["-g2005", "-DSYSTOLE_INIT", "-s", "top_tb"])
                    .arg(inc(build))
                    .arg(inc(work))
                    .arg("-o")
                    .arg(&vvp)
                    .args(&srcs),
                "iverilog",
            )?;
            vec![
                "vvp".into(),
                "-n".into(),
                vvp.to_string_lossy().into_owned(),
            ]
        }
        RtlTool::Verilator => {
            let mdir = work.join("vobj");
            exec(
                tool,
                Command::new("verilator")
                    .args([
                        "--binary",
                        "-Wno-fatal",
                        // The OS capture loop runs over R × C PEs (256 on 16×16).
                        "--unroll-count",
                        "4096",
                        "--unroll-stmts",
                        "1000000",
                        // The model runs a few thousand cycles: compiling its C++ without
                        // optimization (Verilator's makefile would use -Os, whatever -CFLAGS
                        // says) halves the build and costs under a second of run time.
                        "-MAKEFLAGS",
                        "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0",
                        "-DSYSTOLE_INIT",
                        "--top-module",
                        "top_tb",
                    ])
                    .arg(inc(build))
                    .arg(inc(work))
                    .arg("--Mdir")
                    .arg(&mdir)
                    .args(&srcs),
                "verilator --binary",
            )?;
            vec![mdir.join("Vtop_tb").to_string_lossy().into_owned()]
        }
    };
    Ok((cmd, t0.elapsed().as_secs_f64()))
}

/// Runs the built testbench in `work` (which holds dram_in.hex); returns seconds.
pub(crate) fn run(tool: RtlTool, cmd: &[String], work: &Path) -> Result<f64> {
    let t0 = Instant::now();
    let (prog, args) = cmd.split_first().ok_or_else(|| SimError::RtlTool {
        tool: tool.name(),
        msg: "empty command".into(),
    })?;
    exec(
        tool,
        Command::new(prog).args(args).current_dir(work),
        "the testbench",
    )?;
    Ok(t0.elapsed().as_secs_f64())
}
