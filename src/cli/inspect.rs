//! `systole inspect`: graph, shapes, op support, parameters and MACs.

use std::path::PathBuf;

use systole_compiler::frontend::load_model;
use systole_compiler::ir::dump::dump;
use systole_compiler::passes::{self, bind_dims, PipelineOptions};
use systole_compiler::stats::model_stats;

use super::io::print_json;
use super::Failure;

/// Show a model's graph, shapes, parameters and MACs per layer.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  systole inspect models/digits_cnn.onnx\n  systole inspect models/digits_cnn.onnx --json\n  systole inspect models/digits_cnn.onnx --dump-after fold-batchnorm"
)]
pub struct Args {
    /// ONNX model.
    pub model: PathBuf,
    /// Print JSON: name, opset, inputs, outputs, nodes, ops (op type → count), params, macs,
    /// layers[] (name, op, outputs, params, macs).
    #[arg(long)]
    pub json: bool,
    /// Statistics of the graph after the pass pipeline instead of as imported.
    #[arg(long)]
    pub optimized: bool,
    /// Print the IR after this pass (repeatable); `import` prints it as imported.
    #[arg(long, value_name = "PASS")]
    pub dump_after: Vec<String>,
    /// Stop the pipeline after this pass.
    #[arg(long, value_name = "PASS")]
    pub stop_after: Option<String>,
    /// Run the IR verifier after every pass.
    #[arg(long)]
    pub verify: bool,
    /// Bind a symbolic input dimension, e.g. `--bind sequence_length=128` (repeatable). With any
    /// --bind, every input dimension must end up bound (the error names the input and dimension)
    /// and shape chains fold to constants in the pipeline.
    #[arg(long, value_name = "NAME=N", value_parser = bind_dims::parse_bind)]
    pub bind: Vec<(String, usize)>,
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let mut g = load_model(&a.model)?;
    if !a.bind.is_empty() {
        let mut binds = std::collections::BTreeMap::new();
        for (name, n) in &a.bind {
            // The last of two values silently won.
            if let Some(old) = binds.insert(name.clone(), *n) {
                if old != *n {
                    return Err(Failure::usage(format!(
                        "--bind {name}={old} and --bind {name}={n}: one dimension, two values"
                    )));
                }
            }
        }
        bind_dims::bind(&mut g, &binds)?;
        bind_dims::require_static_inputs(&g)?;
        passes::shape_inference::infer_all(&mut g)?;
    }
    for d in &a.dump_after {
        if d != "import" {
            passes::check_pass_name(d)?;
        }
    }
    if a.dump_after.iter().any(|d| d == "import") {
        println!("// after import\n{}", dump(&g));
    }
    let run_passes =
        a.optimized || a.stop_after.is_some() || a.dump_after.iter().any(|d| d != "import");
    if run_passes {
        let opts = PipelineOptions {
            stop_after: a.stop_after.clone(),
            verify: a.verify,
        };
        passes::run_pipeline(&mut g, &opts, |name, g| {
            if a.dump_after.iter().any(|d| d == name) {
                println!("// after {name}\n{}", dump(g));
            }
        })?;
    }
    if !a.dump_after.is_empty() && !a.json {
        return Ok(0);
    }
    let s = model_stats(&g);
    if a.json {
        print_json(&s)?;
        return Ok(0);
    }
    println!(
        "model {} (opset {}): {} nodes, {} parameters, {} MACs per inference",
        s.name, s.opset, s.nodes, s.params, s.macs
    );
    for (n, t) in &s.inputs {
        println!("  input  {n}: {t}");
    }
    for (n, t) in &s.outputs {
        println!("  output {n}: {t}");
    }
    let ops: Vec<String> = s.ops.iter().map(|(k, v)| format!("{k}×{v}")).collect();
    println!("  ops: {}", ops.join(", "));
    println!();
    let wn = s
        .layers
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(0)
        .clamp(5, COLUMN_MAX);
    let wo = s
        .layers
        .iter()
        .map(|l| l.op.len())
        .max()
        .unwrap_or(0)
        .clamp(2, COLUMN_MAX);
    let wt = s
        .layers
        .iter()
        .map(|l| l.outputs.join(" ").len())
        .max()
        .unwrap_or(0)
        .clamp(6, COLUMN_MAX);
    // Columns wider than COLUMN_MAX stop aligning: a longer name overflows its column (and
    // std's formatter refuses widths of 65,536 or more, so an unbounded width would panic).
    println!(
        "  {:<wn$}  {:<wo$}  {:<wt$}  {:>10}  {:>12}",
        "layer", "op", "output", "params", "MACs"
    );
    for l in &s.layers {
        let outs = l.outputs.join(" ");
        println!(
            "  {:<wn$}  {:<wo$}  {:<wt$}  {:>10}  {:>12}",
            l.name, l.op, outs, l.params, l.macs
        );
    }
    Ok(0)
}

/// The widest a table column pads to.
const COLUMN_MAX: usize = 80;
