//! Verbs of the `systole` CLI. Exit codes: 0 ok, 1 a check failed, 2 bad input or usage.

mod compile;
mod eval;
mod inspect;
mod io;
mod profile;
mod quantize;
mod run;
mod scalesim;
mod simulate;
mod sweep;

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
    Sweep(Box<sweep::Args>),
}

/// A failure and the exit code it maps to.
pub struct Failure {
    pub code: i32,
    pub msg: String,
}

impl From<systole_compiler::Error> for Failure {
    fn from(e: systole_compiler::Error) -> Failure {
        Failure {
            code: 2,
            msg: e.to_string(),
        }
    }
}

impl Failure {
    pub fn usage(msg: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            msg: msg.into(),
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
    let result = match cli.verb {
        Verb::Inspect(a) => inspect::main(a),
        Verb::Run(a) => run::main(a),
        Verb::Quantize(a) => quantize::main(*a),
        Verb::Eval(a) => eval::main(a),
        Verb::Profile(a) => profile::main(a),
        Verb::Compile(a) => compile::main(*a),
        Verb::Scalesim(a) => scalesim::main(a),
        Verb::Simulate(a) => simulate::main(*a),
        Verb::Sweep(a) => sweep::main(*a),
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.msg);
            f.code
        }
    }
}
