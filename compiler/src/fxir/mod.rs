//! The fixed-point dataflow IR: the lowered, quantized program that the integer reference
//! executes, the simulator times and the backend writes into ROMs.
//!
//! It is plain data (serde; the body of a `.sysq` file) and deliberately flat: a list of stages
//! in execution order over a table of tensors, each tensor with one activation [`Format`], each
//! array stage with its weights (as stored codes plus the [`Coding`] that decodes them to the
//! integers the MACs see), its folded bias, its accumulator width and its per-channel
//! [`Requant`]. Nothing in it is a float that the integer path reads: the `f64` fields
//! (`scales`, `real_step`) are information for reports and for dequantizing the final output.
//!
//! Shapes are per sample (the batch is implicit and leading), activations are NCHW for
//! convolutional stages, and a tensor's integer codes are stored as `i32`.

mod dump;
mod validate;
pub mod weights;

pub use dump::{dump, format_text};
pub use validate::max_code as validate_max_code;
pub use weights::{Coding, Fp8Kind, Weights};

use serde::{Deserialize, Serialize};

use crate::quant::{Format, Overflow, Requant, Rounding};

/// Index of a tensor in [`Program::tensors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TensorId(pub usize);

/// A quantized activation tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    /// Per-sample shape (the batch dimension is implicit).
    pub shape: Vec<usize>,
    pub format: Format,
}

impl TensorInfo {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A 2-D window (Conv, pools) resolved against its input: NCHW per sample, `[h, w]` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub channels: usize,
    pub input: [usize; 2],
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    pub pad_begin: [usize; 2],
    pub output: [usize; 2],
}

impl Window {
    /// Input coordinate of output `o`, tap `k` along dim `d` (negative or past the end in the
    /// padding).
    pub fn tap(&self, d: usize, o: usize, k: usize) -> i64 {
        (o * self.strides[d]) as i64 - self.pad_begin[d] as i64 + (k * self.dilations[d]) as i64
    }

    pub fn output_area(&self) -> usize {
        self.output[0] * self.output[1]
    }
}

/// An array stage: `y[c] = requant_c(Σ_k x[k] · w[c][k] + bias[c])`, as a matrix product
/// (`Gemm`) or over the im2col view of a convolution (`conv` is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GemmStage {
    /// Output channels (rows of the weight matrix).
    pub n: usize,
    /// Reduction length: input features, or in_channels × kernel area for a convolution.
    pub k: usize,
    /// Set for a convolution: the im2col geometry, reduction index `k = (c, kh, kw)`.
    pub conv: Option<Window>,
    pub weights: Weights,
    /// Bias in accumulator units, with the input zero point folded in:
    /// `bias[c] = round(b[c] / (S_x · S_w[c])) - z_x · Σ_k w[c][k]`.
    pub bias: Vec<i64>,
    /// Width of the accumulator, sign included.
    pub acc_bits: u32,
    /// `None`: `acc_bits` is the worst-case width and `validate` proves no overflow. `Some(mode)`:
    /// the width was narrowed on purpose and `mode` applies after every addition, in increasing
    /// `k`, and after the bias (the order the array's columns accumulate in).
    pub acc_overflow: Option<Overflow>,
    /// Per output channel.
    pub requant: Vec<Requant>,
    /// ReLU fused after requantization: `y = max(y, z_y)`.
    pub relu: bool,
}

/// A stage of the vector unit (no weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum VectorOp {
    /// Max over each window; padding never wins. Input and output share one format.
    MaxPool { window: Window },
    /// `y = max(x, z)`.
    Relu,
    /// hls4ml's ReLU with its own result type: `y = x > 0 ? cast(x) : 0`, where the cast moves
    /// the binary point from the input's to the output's fraction bits with `rounding` and fits
    /// the output width with `overflow` (both formats binary point).
    ReluCast {
        rounding: Rounding,
        overflow: Overflow,
    },
    /// Integer-only softmax over the last axis (I-BERT's i-exp): `x - max` in input codes,
    /// `exp` by a second-order polynomial on `[-ln2, 0]` and a right shift per `ln2`, then
    /// `y = floor(e · 2^out_bits / Σe)` (unsigned, saturating). The constants are derived from
    /// the input step at lowering time.
    Softmax {
        /// `floor(ln2 / S_x)`.
        q_ln2: i64,
        /// `floor(b / S_x)` with `b = 1.353`.
        q_b: i64,
        /// `floor(c / (a · S_x²))` with `a = 0.3585`, `c = 0.344`.
        q_c: i64,
        /// Softmax rows are the last axis of this length.
        row: usize,
    },
}

/// Stages that only move data; the format passes through unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LayoutOp {
    /// Per-sample permutation (the batch axis stays first and is not listed).
    Transpose { perm: Vec<usize> },
    /// Per-sample reshape (row-major, no data movement).
    Reshape,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StageKind {
    /// Quantize the real-valued program input: the one place a float enters.
    Quantize {
        rounding: Rounding,
        overflow: Overflow,
    },
    Gemm(GemmStage),
    Vector(VectorOp),
    Layout(LayoutOp),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// The graph node this stage came from.
    pub name: String,
    pub kind: StageKind,
    /// Inputs (none for `Quantize`, which reads the program input).
    pub inputs: Vec<TensorId>,
    pub output: TensorId,
}

/// The lowered program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    /// Name and per-sample shape of the real-valued input the first stage quantizes.
    pub input_name: String,
    pub input_shape: Vec<usize>,
    pub tensors: Vec<TensorInfo>,
    pub stages: Vec<Stage>,
    pub output: TensorId,
    /// Name of the graph output the program computes.
    pub output_name: String,
}

impl Program {
    pub fn tensor(&self, id: TensorId) -> &TensorInfo {
        &self.tensors[id.0]
    }

    /// The array stages, in order.
    pub fn gemms(&self) -> impl Iterator<Item = (&Stage, &GemmStage)> {
        self.stages.iter().filter_map(|s| match &s.kind {
            StageKind::Gemm(g) => Some((s, g)),
            _ => None,
        })
    }

    /// Total weight storage in bits (codes plus any side tables), for budgets and reports.
    pub fn weight_bits(&self) -> u64 {
        self.gemms().map(|(_, g)| g.weights.storage_bits()).sum()
    }

    /// Number of weights.
    pub fn weight_count(&self) -> u64 {
        self.gemms().map(|(_, g)| (g.n * g.k) as u64).sum()
    }

    pub fn validate(&self) -> crate::Result<()> {
        validate::validate(self)
    }
}
