//! Verbs of the `systole` CLI. Exit codes: 0 ok, 1 a check failed, 2 bad input or usage, 70 an
//! internal error (a bug in Systole: a crate's `Internal` variant), 101 a panic.

mod compile;
mod embed;
mod eval;
mod inspect;
mod io;
mod profile;
mod quantize;
mod run;
mod scalesim;
mod simulate;
mod sweep;
mod verify;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "systole",
    version,
    about = "Co-design quantized neural networks and the systolic arrays that run them",
    long_about = None,
    after_help = "Example:\n  systole inspect models/digits_cnn.onnx\n  systole run models/digits_cnn.onnx --input models/data/digits_test_x_img.npy --labels models/data/digits_test_y.npy"
)]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
    /// Refuse ONNX graphs with more nodes than N (default 200000): a corrupt file must not
    /// exhaust memory. Limits are checked before anything large is allocated.
    #[arg(
        long,
        global = true,
        value_name = "N",
        help_heading = "Limits (every verb)"
    )]
    max_nodes: Option<u64>,
    /// Refuse tensors (initializers, inferred activations) of more than N elements (default 2^32).
    #[arg(
        long,
        global = true,
        value_name = "N",
        help_heading = "Limits (every verb)"
    )]
    max_tensor_elements: Option<u64>,
    /// Refuse array descriptions with more than N rows or columns (default 4096).
    #[arg(
        long,
        global = true,
        value_name = "N",
        help_heading = "Limits (every verb)"
    )]
    max_array_side: Option<u64>,
    /// Refuse sweeps of more than N design points (default 100000000).
    #[arg(
        long,
        global = true,
        value_name = "N",
        help_heading = "Limits (every verb)"
    )]
    max_sweep_points: Option<u64>,
    /// Refuse input files larger than N bytes (default 2 GiB), checked before reading;
    /// accelerator descriptions have their own 1 MiB limit.
    #[arg(
        long,
        global = true,
        value_name = "N",
        help_heading = "Limits (every verb)"
    )]
    max_file_bytes: Option<u64>,
    /// Refuse work whose estimated memory (from the shapes, before allocating) is above N bytes
    /// (default 8 GiB): an exact-engine GEMM, a build's schedule, a compile's plan.
    #[arg(
        long,
        global = true,
        value_name = "N",
        help_heading = "Limits (every verb)"
    )]
    max_memory_bytes: Option<u64>,
}

#[derive(Subcommand)]
enum Verb {
    Inspect(inspect::Args),
    Run(run::Args),
    Quantize(Box<quantize::Args>),
    Eval(eval::Args),
    Profile(profile::Args),
    Compile(Box<compile::Args>),
    Scalesim(scalesim::Args),
    Simulate(Box<simulate::Args>),
    Verify(verify::Args),
    Sweep(Box<sweep::Args>),
    Embed(Box<embed::Args>),
}

/// Exit status of an internal error: `EX_SOFTWARE` of sysexits.h ("an internal software error
/// has been detected"), apart from 2 (the user's input) and 101 (a panic).
pub const EXIT_INTERNAL: i32 = 70;

/// A failure and the exit code it maps to.
pub struct Failure {
    pub code: i32,
    pub msg: String,
}

impl From<systole_compiler::Error> for Failure {
    fn from(e: systole_compiler::Error) -> Failure {
        Failure::of(e.is_internal(), e.to_string())
    }
}

impl From<systole_sim::SimError> for Failure {
    fn from(e: systole_sim::SimError) -> Failure {
        Failure::of(e.is_internal(), e.to_string())
    }
}

impl From<systole_flow::FlowError> for Failure {
    fn from(e: systole_flow::FlowError) -> Failure {
        Failure::usage(e.to_string())
    }
}

impl From<systole_hw::HwError> for Failure {
    fn from(e: systole_hw::HwError) -> Failure {
        Failure::usage(e.to_string())
    }
}

impl Failure {
    pub fn usage(msg: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            msg: msg.into(),
        }
    }

    /// Exit 70 for an internal error, 2 for bad input.
    fn of(internal: bool, msg: String) -> Failure {
        Failure {
            code: if internal { EXIT_INTERNAL } else { 2 },
            msg,
        }
    }

    /// A crate's error with `at` (a flag, a file, a layer) before its message; the exit code is
    /// the error's own (an internal error stays 70).
    pub fn at(at: impl std::fmt::Display, e: impl Into<Failure>) -> Failure {
        let f = e.into();
        Failure {
            code: f.code,
            msg: format!("{at}: {}", f.msg),
        }
    }
}

pub fn main() -> i32 {
    // A panic is a bug in Systole, never the user's fault: say so in one line, without a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("internal error (a bug in systole; please report it): {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    use systole_hw::limits;
    for (v, l) in [
        (cli.max_nodes, &limits::MAX_NODES),
        (cli.max_tensor_elements, &limits::MAX_TENSOR_ELEMENTS),
        (cli.max_array_side, &limits::MAX_ARRAY_SIDE),
        (cli.max_sweep_points, &limits::MAX_SWEEP_POINTS),
        (cli.max_file_bytes, &limits::MAX_FILE_BYTES),
        (cli.max_memory_bytes, &limits::MAX_MEMORY_BYTES),
    ] {
        if let Some(v) = v {
            l.set(v);
        }
    }
    let result = match cli.verb {
        Verb::Inspect(a) => inspect::main(a),
        Verb::Run(a) => run::main(a),
        Verb::Quantize(a) => quantize::main(*a),
        Verb::Eval(a) => eval::main(a),
        Verb::Profile(a) => profile::main(a),
        Verb::Compile(a) => compile::main(*a),
        Verb::Scalesim(a) => scalesim::main(a),
        Verb::Simulate(a) => simulate::main(*a),
        Verb::Verify(a) => verify::main(a),
        Verb::Sweep(a) => sweep::main(*a),
        Verb::Embed(a) => embed::main(*a),
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.msg);
            f.code
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use systole_compiler::Error;
    use systole_sim::SimError;

    #[test]
    fn internal_errors_exit_70_and_say_it_is_a_bug() {
        let internal = Error::internal("after pass 'fuse': value 3 produced twice");
        for f in [
            Failure::from(Error::internal("after pass 'fuse': value 3 produced twice")),
            Failure::from(SimError::internal("layer 'fc1': step took 2 folds")),
            Failure::from(SimError::Compiler(internal)),
            Failure::at(
                "--sysq m.sysq",
                Error::internal("output t9 was not computed"),
            ),
        ] {
            assert_eq!(f.code, EXIT_INTERNAL);
            assert_eq!(EXIT_INTERNAL, 70);
            assert!(f.msg.contains("internal error") && f.msg.contains("please report"));
        }
    }

    #[test]
    fn user_errors_exit_2() {
        let user = Error::Model {
            msg: "graph output 'y' is not produced by any node".into(),
        };
        assert!(!user.is_internal());
        for f in [
            Failure::from(user),
            Failure::from(SimError::Vcd {
                msg: "PE (9, 0) is outside the 8x8 array".into(),
            }),
            Failure::at(
                "layer 1 (conv1)",
                SimError::Memory {
                    what: "GEMM".into(),
                    msg: "too large".into(),
                },
            ),
        ] {
            assert_eq!(f.code, 2);
            assert!(!f.msg.contains("internal error"));
        }
    }
}
