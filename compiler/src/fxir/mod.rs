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
mod dynamic;
pub mod ranges;
mod validate;
pub mod weights;

pub use dump::{dump, format_text};
pub use dynamic::{exponent_format, max_shift};
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
    /// Dynamic input (`docs/quantization.md`, "Dynamic quantization"): input 0 holds the codes of
    /// a [`VectorOp::DynamicQuant`] (zero point 0) and input 1 the sample's exponent `e` (one
    /// per sample, from [`VectorOp::DynamicExponent`]); the accumulator is worth `2^e` more, so
    /// `y[c] = requant_c((acc << e) + bias[c])`. Omitted from `.sysq` when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dynamic: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
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
    /// [`VectorOp::Softmax`] with an attention mask: input 1 is a `[row]` per-sample tensor of
    /// 0/1 codes; positions whose mask is 0 are left out of the row maximum and the sum, and
    /// their output is 0. A row with every position masked is all zeros.
    MaskedSoftmax {
        q_ln2: i64,
        q_b: i64,
        q_c: i64,
        row: usize,
    },
    /// Elementwise sum of two activations of one shape (inputs 0 and 1), or of one activation and
    /// a constant (`constant` non-empty, one sample's worth, already in output units·2^shift):
    /// `y = sat(rnd((a − z_a)·ma + (b − z_b)·mb + c, shift) + z_y)`, with
    /// `ma = round(S_a/S_y·2^shift)`, `mb = round(S_b/S_y·2^shift)`, RND (half up) and SAT.
    Add {
        ma: i64,
        mb: i64,
        shift: u32,
        constant: Vec<i64>,
    },
    /// Integer LayerNorm over the last axis (`row` elements, I-BERT): with `d_i = row·(x_i − z)
    /// − Σ(x − z)` (exact), `σ = isqrt(Σd²/row + eps)` by Newton's iteration, and per channel
    /// `y_i = sat(rnd((d_i·gamma_c + beta_c·σ) / (σ·2^frac)) + z_y)` where
    /// `gamma_c = round(γ_c/S_y·2^frac)`, `beta_c = round(β_c/S_y·2^frac)`,
    /// `eps = round(row²·ε/S_x²)`.
    LayerNorm {
        row: usize,
        gamma: Vec<i64>,
        beta: Vec<i64>,
        frac: u32,
        eps: i64,
    },
    /// Integer GELU (I-BERT's i-GELU): `erf(x/√2)` by the clipped second-order polynomial
    /// `sgn(x)·(1 − 0.2888·(min(|x|/√2, 1.769) − 1.769)²)` in integer codes, then
    /// `y = requant(q·(q_one + erf_q))` where `q_r = floor(1.769/S')`, `q_one = floor(1/(0.2888·S'²))`,
    /// `S' = S_x/√2`, `erf_q = sgn(q)·(q_one − (min(|q|, q_r) − q_r)²)`, and `requant` rescales
    /// `S_x·0.2888·S'²/2` to the output step.
    Gelu {
        q_r: i64,
        q_one: i64,
        requant: Requant,
    },
    /// The per-row exponent of dynamic quantization (a max-reduction and a leading-zero count):
    /// over each row of `row` consecutive elements, `e = max(0, bitlen(max |x − z_x|) −
    /// mag_bits)`. Output: one code per row (`len / row` per sample), unsigned.
    DynamicExponent { row: usize, mag_bits: u32 },
    /// Dynamic quantization of a wide input to the output's narrow format (zero point 0) with
    /// the row exponents of input 1 (a [`VectorOp::DynamicExponent`] of the same input and
    /// `row`, whose `mag_bits` is the output's magnitude width): `y = sat(rnd((x − z_x) / 2^e))`,
    /// RND (half toward +inf) and SAT. The output's format carries the base step `S_x`: a code
    /// `y` of row `r` stands for `S_x · 2^e_r · y`, which only a `dynamic` array stage reads.
    DynamicQuant { row: usize },
}

/// A matrix product per group on activations laid out row-major (the transformer's linear layers
/// and attention): input 0 is `A` `[groups, m, k]` per sample; `B` is either constant weights
/// (`weights`, `[n][k]`, shared by every group: a linear layer over `m` tokens) or the stage's
/// second input, an activation `[groups, k, n]` (`Q·Kᵀ`, `P·V`). Output `[groups, m, n]`:
/// `y[g][i][j] = requant_j(Σ_t (a[g][i][t] − z_a)·(b[g][t][j] − z_b) + bias[j])`. With constant
/// weights `z_b = 0` (symmetric) and `z_a` is folded into `bias` as in [`GemmStage`]; with an
/// activation `B` both zero points are subtracted from the operands (the same sum).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatMulStage {
    pub groups: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// `Some`: `B` is these constant weights `[n][k]`; `None`: `B` is `inputs[1]`.
    pub weights: Option<Weights>,
    /// Per output column (`n` entries) in accumulator units, `z_a` folded; empty for an
    /// activation `B`.
    pub bias: Vec<i64>,
    /// Worst-case accumulator width, sign included (validate proves it).
    pub acc_bits: u32,
    /// One per output column (constant weights) or one for the whole stage (activation `B`).
    pub requant: Vec<Requant>,
    /// Dynamic per-row input (constant weights only): input 0 holds the codes of a
    /// [`VectorOp::DynamicQuant`] over rows of `k` (zero point 0) and input 1 the exponent of
    /// each of the `groups·m` rows; `y[r][j] = requant_j((acc << e_r) + bias[j])`. Omitted
    /// from `.sysq` when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dynamic: bool,
}

/// An embedding lookup from a ROM: input 0 holds token ids (integer codes of an
/// [`Program::int_inputs`] tensor, `[s]` per sample); `y[i][h] = table[ids[i]][h]`. The table
/// is stored in the output's format (quantized at lowering time), `rows × dim` row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedStage {
    pub rows: usize,
    pub dim: usize,
    pub table: Vec<i32>,
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
    /// A row-major matrix product (linear layer over tokens, or activation × activation).
    MatMul(MatMulStage),
    /// An embedding lookup of integer ids.
    Embed(EmbedStage),
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
    /// Inputs that arrive as integer codes rather than reals (token ids, an attention mask):
    /// each names a tensor no stage produces, filled by the caller. Empty for the CNN/MLP
    /// programs, which read one real-valued input through their `Quantize` stage (and then the
    /// field is not written, so those `.sysq` bodies are unchanged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub int_inputs: Vec<IntInput>,
}

/// A program input given as integer codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntInput {
    /// The graph input's name (`input_ids`, `attention_mask`).
    pub name: String,
    pub tensor: TensorId,
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
        self.gemms()
            .map(|(_, g)| g.weights.storage_bits())
            .sum::<u64>()
            + self
                .matmul_weights()
                .map(Weights::storage_bits)
                .sum::<u64>()
    }

    /// Number of weights.
    pub fn weight_count(&self) -> u64 {
        self.gemms().map(|(_, g)| (g.n * g.k) as u64).sum::<u64>()
            + self
                .matmul_weights()
                .map(|w| (w.n * w.k) as u64)
                .sum::<u64>()
    }

    /// The constant weights of the row-major matmul stages, in order.
    pub fn matmul_weights(&self) -> impl Iterator<Item = &Weights> {
        self.stages.iter().filter_map(|s| match &s.kind {
            StageKind::MatMul(m) => m.weights.as_ref(),
            _ => None,
        })
    }

    pub fn validate(&self) -> crate::Result<()> {
        validate::validate(self)
    }

    /// Whether any stage quantizes dynamically (`.sysq` version 3).
    pub fn is_dynamic(&self) -> bool {
        self.stages.iter().any(|s| {
            matches!(
                s.kind,
                StageKind::Vector(VectorOp::DynamicExponent { .. } | VectorOp::DynamicQuant { .. })
            )
        })
    }
}
