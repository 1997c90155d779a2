//! The `systole` command line: argument parsing and printing only; all work is in the crates.
mod cli;

/// mimalloc keeps freed pages for reuse; glibc's malloc returns tensors over 128 KiB to the
/// OS on free, so every op of a batch-256 run page-faulted its output in anew (measured in
/// docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    quiet_on_closed_stdout();
    std::process::exit(cli::main());
}

/// Rust starts programs with SIGPIPE ignored, so `systole inspect m.onnx | head` made every
/// `println!` after `head` exited fail, and `println!` panics on failure (exit 101 with an
/// "internal error"). Restoring the default action ends the program quietly on a closed pipe,
/// as every Unix filter does. Outputs are written to a temporary file and renamed, so a program
/// ended this way leaves no half-written file under a final name.
#[cfg(target_os = "linux")]
fn quiet_on_closed_stdout() {
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: called once at start, before any thread exists; SIG_DFL installs no handler code.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

#[cfg(not(target_os = "linux"))]
fn quiet_on_closed_stdout() {}
