//! Helpers shared by the RTL tests (`rtl_fold.rs`, `rtl_top.rs`).

use std::process::Command;

pub fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the tools are there; panics when they are missing and oracles are required.
pub fn tools_present(tools: &[(&str, &str)]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(t, a)| !have(t, a))
        .map(|(t, _)| *t)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{} not found: install them (apt-get install iverilog verilator yosys, or scripts/test.sh)",
        missing.join(", ")
    );
    if std::env::var("SYSTOLE_REQUIRE_ORACLES").is_ok_and(|v| v == "1") {
        panic!("SYSTOLE_REQUIRE_ORACLES=1 but {msg}");
    }
    eprintln!("skipping the RTL test: {msg}");
    false
}
