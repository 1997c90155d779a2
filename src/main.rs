//! The `systole` command line: argument parsing and printing only; all work is in the crates.
mod cli;

/// mimalloc keeps freed pages for reuse; glibc's malloc returns tensors over 128 KiB to the
/// OS on free, so every op of a batch-256 run page-faulted its output in anew (measured in
/// docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::main());
}
