//! What the workspace's tests share about oracles: every crate's tests reach systole-hw (the
//! bottom crate), so the rule lives here once instead of in each test file, where it had been
//! pasted eleven times with two meanings (`== "1"` in some, "set at all" in others).

/// The environment variable `scripts/test.sh` (and so CI) sets: a missing oracle then fails the
/// test instead of skipping it.
pub const REQUIRE_ORACLES: &str = "SYSTOLE_REQUIRE_ORACLES";

/// Whether every oracle must be present: the variable is set to anything but empty or `0`.
pub fn oracles_required() -> bool {
    std::env::var_os(REQUIRE_ORACLES).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A test's oracle, tool or corpus (`what`) is missing, and `fix` installs it. When oracles are
/// required this panics (the test fails, naming what to run); otherwise it prints why the test
/// skips, and the caller returns.
pub fn oracle_missing(what: &str, fix: &str) {
    if oracles_required() {
        panic!("{REQUIRE_ORACLES} is set but {what} is missing: {fix}");
    }
    eprintln!("SKIPPED: {what} is missing; {fix}");
}
