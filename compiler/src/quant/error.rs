//! The error type of the number contract.
//!
//! Every message names the offending value and what would have been accepted, because these
//! errors surface to users through format strings (`--weights int4:g32`) and `.sysq` files.

/// A format, mode name or scale that the number contract cannot represent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// A `--budget` value that is not one of the budget forms; `why` says which part is wrong.
    #[error("{value}: {why}; expected {forms}")]
    Budget {
        value: String,
        why: String,
        forms: &'static str,
    },
    /// A rounding or overflow mode name that is not one of ap_fixed's.
    #[error("unknown {kind} mode '{name}'; valid: {valid}")]
    UnknownMode {
        kind: &'static str,
        name: String,
        valid: &'static str,
    },
    /// A format whose fields are out of range or inconsistent.
    #[error("invalid number format: {0}")]
    Format(String),
    /// A real multiplier that cannot be encoded as `M0 · 2^(-31-s)`.
    #[error("cannot encode multiplier {real}: {msg}")]
    Multiplier { real: f64, msg: String },
}
