//! Size limits checked before anything large is allocated, and the CLI flags that raise them.
//!
//! A corrupt or hostile file can declare a graph of a million nodes, a tensor of 2^40 elements or
//! an array of 10^6 × 10^6 PEs; each parser checks the declared size against these limits and
//! refuses with an error naming the limit and its flag, instead of exhausting memory. They are
//! process-wide (set once by the CLI from its global flags) because the checks sit deep inside
//! parsers that every verb reaches through different paths; threading a parameter through each
//! would not make them safer.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::HwError;

/// One limit: its current value, its default and the flag that raises it.
pub struct Limit {
    value: AtomicU64,
    pub default: u64,
    /// The CLI flag, e.g. `--max-nodes`.
    pub flag: &'static str,
    /// What is counted, for messages.
    pub what: &'static str,
}

impl Limit {
    const fn new(default: u64, flag: &'static str, what: &'static str) -> Limit {
        Limit {
            value: AtomicU64::new(default),
            default,
            flag,
            what,
        }
    }

    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }

    pub fn set(&self, v: u64) {
        self.value.store(v, Ordering::Relaxed);
    }

    /// [`HwError::Limit`] when `n` exceeds the limit; its message names the limit and its flag.
    pub fn check(&self, n: u128) -> Result<(), HwError> {
        let max = self.get();
        if n > u128::from(max) {
            Err(HwError::Limit {
                n,
                what: self.what,
                max,
                flag: self.flag,
            })
        } else {
            Ok(())
        }
    }
}

/// Nodes of an ONNX graph.
pub static MAX_NODES: Limit = Limit::new(200_000, "--max-nodes", "nodes");
/// Elements of one tensor (an initializer, an inferred activation, a `.npy` array).
pub static MAX_TENSOR_ELEMENTS: Limit = Limit::new(1 << 32, "--max-tensor-elements", "elements");
/// Rows or columns of an array description. The instruction ROM's fields cap folds at 4096 per
/// side (`docs/isa.md`), so `compile` refuses larger arrays whatever this says.
pub static MAX_ARRAY_SIDE: Limit = Limit::new(4096, "--max-array-side", "PEs per side");
/// Design points of one sweep.
pub static MAX_SWEEP_POINTS: Limit = Limit::new(100_000_000, "--max-sweep-points", "design points");

/// Bytes of one input file read whole (models, `.npy`, `.sysq`, configs, sentence files):
/// checked before a byte is read (`fsio::read_input`), so `/dev/zero` or a runaway file given
/// as an input is refused instead of filling memory. 2 GiB is the protobuf limit, the largest
/// model file prost could decode anyway. Accelerator descriptions have their own 1 MiB limit
/// (`description::MAX_FILE_BYTES`).
pub static MAX_FILE_BYTES: Limit = Limit::new(2 << 30, "--max-file-bytes", "bytes");
/// Bytes of memory one run may allocate for what a file or a flag sizes (an exact-engine GEMM,
/// a build's schedule, a compile's plan), estimated from the shapes before anything is
/// allocated. 8 GiB: a laptop's worth; the estimate names the size, so a user with more memory
/// raises it knowingly instead of meeting the out-of-memory killer.
pub static MAX_MEMORY_BYTES: Limit = Limit::new(8 << 30, "--max-memory-bytes", "bytes of memory");

/// Every limit, for help text and docs.
pub fn all() -> [&'static Limit; 6] {
    [
        &MAX_NODES,
        &MAX_TENSOR_ELEMENTS,
        &MAX_ARRAY_SIDE,
        &MAX_SWEEP_POINTS,
        &MAX_FILE_BYTES,
        &MAX_MEMORY_BYTES,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_limit_and_its_flag() {
        let l = Limit::new(10, "--max-things", "things");
        assert!(l.check(10).is_ok());
        let e = l.check(11).unwrap_err().to_string();
        assert!(
            e.contains("11 things") && e.contains("limit of 10") && e.contains("--max-things"),
            "{e}"
        );
        l.set(100);
        assert!(l.check(11).is_ok());
        assert!(l.check(u128::from(u64::MAX) + 1).is_err());
    }
}
