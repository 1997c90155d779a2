//! Graph IR → graph IR passes, listed in one pipeline.
//!
//! Each pass is a named function in its own file. The runner re-infers shapes after each pass,
//! can verify the graph between passes, and hands the IR to an observer so that
//! `--dump-after PASS` can print it.

pub mod absorb_qdq;
pub mod bind_dims;
pub mod conv_as_gemm;
pub mod dce;
pub mod fold_batchnorm;
pub mod fold_constants;
pub mod fuse_activation;
pub mod matmul_to_gemm;
pub mod remove_identity;
pub mod shape_inference;

use crate::error::{Error, Result};
use crate::ir::Graph;

/// A named IR → IR transformation.
pub struct Pass {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn(&mut Graph) -> Result<()>,
}

/// The default pipeline, in order.
pub const PIPELINE: &[Pass] = &[
    Pass {
        name: "infer-shapes",
        about: "infer every value's type, binding nothing (symbolic dims stay symbolic)",
        run: shape_inference::infer_all,
    },
    Pass {
        name: "fold-constants",
        about: "evaluate ops whose inputs are all constant, and Shape of statically shaped values",
        run: fold_constants::run,
    },
    Pass {
        name: "remove-identity",
        about: "drop Identity, Dropout, same-type Cast and shape-preserving Reshape",
        run: remove_identity::run,
    },
    Pass {
        name: "fold-batchnorm",
        about: "fold inference BatchNormalization into the preceding Conv or Gemm",
        run: fold_batchnorm::run,
    },
    Pass {
        name: "matmul-to-gemm",
        about: "rewrite 2-D MatMul by a constant plus a constant bias Add as one Gemm",
        run: matmul_to_gemm::run,
    },
    Pass {
        name: "fuse-activation",
        about: "fuse Relu, LeakyRelu, Clip, Sigmoid and Tanh into the producing Conv/Gemm/MatMul",
        run: fuse_activation::run,
    },
    Pass {
        name: "dce",
        about: "remove ops whose outputs nothing uses",
        run: dce::run,
    },
    Pass {
        name: "conv-as-gemm",
        about: "annotate each Conv with its im2col GEMM view (m, k, n, groups)",
        run: conv_as_gemm::run,
    },
];

/// Passes that run before [`PIPELINE`] only when quantizing: they change what the float graph
/// computes (a QDQ model's fake quantization becomes annotations the quantizer honours), so
/// `run` and the float reference never see them.
pub const QUANTIZE_PREP: &[Pass] = &[Pass {
    name: "absorb-qdq",
    about: "turn QuantizeLinear/DequantizeLinear pairs into quantization annotations (weights: codes and scales; activations: scale and zero point)",
    run: absorb_qdq::run,
}];

pub fn pass_names() -> Vec<&'static str> {
    PIPELINE.iter().map(|p| p.name).collect()
}

/// Options of one pipeline run.
#[derive(Clone, Debug, Default)]
pub struct PipelineOptions {
    /// Stop after this pass (by name).
    pub stop_after: Option<String>,
    /// Run `validate()` after every pass.
    pub verify: bool,
}

/// Loads an ONNX model and runs the whole pass pipeline on it.
pub fn load_optimized(path: &std::path::Path) -> Result<Graph> {
    let mut g = crate::frontend::load_model(path)?;
    run_pipeline(&mut g, &PipelineOptions::default(), |_, _| {})?;
    Ok(g)
}

/// Runs the pipeline, calling `observe(pass_name, graph)` after each pass.
pub fn run_pipeline(
    g: &mut Graph,
    opts: &PipelineOptions,
    mut observe: impl FnMut(&str, &Graph),
) -> Result<()> {
    if let Some(s) = &opts.stop_after {
        check_pass_name(s)?;
    }
    for p in PIPELINE {
        (p.run)(g)?;
        shape_inference::infer_all(g)?;
        if opts.verify {
            g.validate()
                .map_err(|e| Error::internal(format!("after pass '{}': {e}", p.name)))?;
        }
        observe(p.name, g);
        if opts.stop_after.as_deref() == Some(p.name) {
            break;
        }
    }
    Ok(())
}

/// Errors unless `name` is a pass of the pipeline, listing the valid names.
pub fn check_pass_name(name: &str) -> Result<()> {
    if PIPELINE.iter().any(|p| p.name == name) {
        Ok(())
    } else {
        Err(Error::Model {
            msg: format!(
                "no pass named '{name}'; passes: {}",
                pass_names().join(", ")
            ),
        })
    }
}
