//! The `systole` command line: argument parsing and printing only; all work is in the crates.
mod cli;

fn main() {
    std::process::exit(cli::main());
}
