//! Typed operators of the graph IR.
//!
//! Every op is stored in the form of the newest ONNX opset: where an older opset had an attribute
//! that later became an input (Clip's min/max, Squeeze/Unsqueeze axes, Slice starts/ends, Reshape's
//! shape), the frontend turns the attribute into a constant input. Kernels, shape inference and
//! passes therefore see one form only.

use serde::{Deserialize, Serialize};

use crate::tensor::DType;

/// How a convolution or pool pads when `pads` is not given explicitly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

/// An activation that a pass fused into the producing array op, so the hardware applies it
/// on the accumulator's way out instead of as a separate vector stage.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    Relu,
    LeakyRelu { alpha: f32 },
    Clip { min: f32, max: f32 },
    Sigmoid,
    Tanh,
}

impl Activation {
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu { alpha } => {
                if x < 0.0 {
                    alpha * x
                } else {
                    x
                }
            }
            Activation::Clip { min, max } => x.max(min).min(max),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// The GEMM view of a convolution (im2col parameters; the patch matrix is never materialized in
/// the IR). Per group: `out[m, n] = Σ_k W[m, k] · patch[k, n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Im2col {
    /// Output channels per group (rows of the weight matrix).
    pub m: usize,
    /// Reduction length per group: in_channels/group × kernel area.
    pub k: usize,
    /// Output pixels per image: out_h × out_w (× more for 3-D).
    pub n: usize,
    pub groups: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvAttrs {
    /// Spatial kernel shape; empty until inferred from the weight when the model omits it.
    pub kernel_shape: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    /// ONNX order: all begins, then all ends.
    pub pads: Vec<usize>,
    pub auto_pad: AutoPad,
    pub group: usize,
    pub act: Option<Activation>,
    pub im2col: Option<Im2col>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolAttrs {
    pub kernel_shape: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pads: Vec<usize>,
    pub auto_pad: AutoPad,
    pub ceil_mode: bool,
    /// AveragePool only: whether padded cells count in the divisor.
    pub count_include_pad: bool,
}

/// A sliding window as the ONNX attributes of a Conv or a pool state it, borrowed from either:
/// the kernel, strides, dilations and pads (all begins, then all ends; empty strides and
/// dilations mean 1, empty pads 0), `auto_pad`, and `ceil_mode` (false for a Conv). Shape
/// inference and the kernels resolve it against an input's spatial shape.
#[derive(Clone, Copy, Debug)]
pub struct WindowAttrs<'a> {
    pub kernel: &'a [usize],
    pub strides: &'a [usize],
    pub dilations: &'a [usize],
    pub pads: &'a [usize],
    pub auto_pad: AutoPad,
    pub ceil_mode: bool,
}

impl ConvAttrs {
    /// The convolution's window with `kernel` (the attribute, or the weight's spatial shape
    /// when the model leaves `kernel_shape` out).
    pub fn window<'a>(&'a self, kernel: &'a [usize]) -> WindowAttrs<'a> {
        WindowAttrs {
            kernel,
            strides: &self.strides,
            dilations: &self.dilations,
            pads: &self.pads,
            auto_pad: self.auto_pad,
            ceil_mode: false,
        }
    }
}

impl PoolAttrs {
    /// The pool's window.
    pub fn window(&self) -> WindowAttrs<'_> {
        WindowAttrs {
            kernel: &self.kernel_shape,
            strides: &self.strides,
            dilations: &self.dilations,
            pads: &self.pads,
            auto_pad: self.auto_pad,
            ceil_mode: self.ceil_mode,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GemmAttrs {
    pub alpha: f32,
    pub beta: f32,
    pub trans_a: bool,
    pub trans_b: bool,
    pub act: Option<Activation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnaryOp {
    Relu,
    Sigmoid,
    Tanh,
    Identity,
    /// The Gauss error function: exporters spell exact GELU as `0.5·x·(1 + erf(x/√2))`.
    Erf,
    /// ONNX `Gelu` (opset 20): `x·Φ(x)`, exactly (`approximate="none"`)...
    Gelu,
    /// ...or by the tanh formula (`approximate="tanh"`).
    GeluTanh,
}

/// A graph IR operator with its attributes. Inputs are listed per variant in ONNX order;
/// optional inputs may be absent (`None` in `Node::inputs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Inputs: A, B, optional C.
    Gemm(GemmAttrs),
    /// Inputs: A, B (numpy matmul broadcasting).
    MatMul {
        act: Option<Activation>,
    },
    /// Inputs: A, B (multidirectional broadcasting).
    Binary(BinaryOp),
    Unary(UnaryOp),
    LeakyRelu {
        alpha: f32,
    },
    /// Inputs: x, optional min, optional max.
    Clip,
    /// Inputs: X, W, optional B.
    Conv(ConvAttrs),
    MaxPool(PoolAttrs),
    AveragePool(PoolAttrs),
    GlobalAveragePool,
    /// Inputs: X, scale, B, mean, var (inference mode only).
    BatchNormalization {
        epsilon: f32,
    },
    Lrn {
        alpha: f32,
        beta: f32,
        bias: f32,
        size: usize,
    },
    Flatten {
        axis: i64,
    },
    /// Inputs: data, shape.
    Reshape {
        allowzero: bool,
    },
    /// Empty `perm` means reverse the axes.
    Transpose {
        perm: Vec<usize>,
    },
    Concat {
        axis: i64,
    },
    /// Any number of inputs, broadcast.
    Sum,
    /// Inputs: x (float32), y_scale, optional y_zero_point (its type is the output's).
    QuantizeLinear {
        axis: i64,
    },
    /// Inputs: x (integer), x_scale, optional x_zero_point; output float32.
    DequantizeLinear {
        axis: i64,
    },
    /// `legacy_2d`: opset < 13 semantics (coerce to 2-D at `axis`, normalize each row).
    Softmax {
        axis: i64,
        legacy_2d: bool,
    },
    /// Inputs: data, optional ratio, optional training_mode; inference is the identity.
    Dropout,
    /// Inputs: data, optional axes.
    Squeeze,
    /// Inputs: data, axes.
    Unsqueeze,
    Shape {
        start: i64,
        end: Option<i64>,
    },
    /// Inputs: data, indices.
    Gather {
        axis: i64,
    },
    /// Inputs: data, starts, ends, optional axes, optional steps.
    Slice,
    Cast {
        to: DType,
    },
    /// Input: shape. Fill value is a one-element tensor (f32 zero when absent).
    ConstantOfShape {
        value: crate::tensor::Tensor,
    },
    /// Inputs: A, B (broadcast); output bool. Transformers build attention masks with it.
    Equal,
    /// Inputs: condition (bool), X, Y (all three broadcast together).
    Where,
    /// Inputs: input, shape (i64); the output shape is the two broadcast together.
    Expand,
    /// Inputs: X, Scale, optional B. Normalizes over the axes from `axis` to the last; optional
    /// outputs Mean and InvStdDev (the reduced axes kept as size 1).
    LayerNormalization {
        axis: i64,
        epsilon: f32,
    },
    /// Inputs: data, optional axes (i64). No axes reduces all of them unless
    /// `noop_with_empty_axes`, which makes the op the identity.
    ReduceSum {
        keepdims: bool,
        noop_with_empty_axes: bool,
    },
    /// Inputs: X (float); output bool, true where X is NaN.
    IsNaN,
    /// Inputs: A, B (bool, broadcast).
    And,
    /// Inputs: A, B (broadcast); output bool `A >= B`.
    GreaterOrEqual,
    /// Any number of inputs, broadcast; elementwise maximum.
    Max,
    /// Inputs: start, limit, delta (scalars of one type).
    Range,
    /// Inputs: data, indices (int64).
    GatherNd {
        batch_dims: usize,
    },
    /// QONNX `Quant` (domain `qonnx.custom_op.general`, from Brevitas exports or qonnx's
    /// QCDQ converter). Inputs: x, scale, zero point (both broadcast to x), bit width (a
    /// scalar). Fake-quantizes x: `(round(clamp(x / scale + zp, min, max)) - zp) · scale`,
    /// where min and max follow from the width, `signed` and `narrow` (narrow drops the most
    /// negative code, or the top code when unsigned), all in float32 as qonnx computes it.
    QonnxQuant {
        signed: bool,
        narrow: bool,
        rounding: QonnxRounding,
    },
}

/// The rounding modes of QONNX's `Quant`, by the names QONNX writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QonnxRounding {
    /// `ROUND` (or `HALF_EVEN`): numpy's `round`, ties to even.
    HalfEven,
    Ceil,
    Floor,
    /// Away from zero.
    Up,
    /// Toward zero.
    Down,
    /// Ties away from zero.
    HalfUp,
    /// Ties toward zero.
    HalfDown,
}

impl QonnxRounding {
    pub const NAMES: &'static str = "ROUND, HALF_EVEN, CEIL, FLOOR, UP, DOWN, HALF_UP, HALF_DOWN";

    pub fn parse(s: &str) -> Option<QonnxRounding> {
        Some(match s.to_ascii_uppercase().as_str() {
            "ROUND" | "HALF_EVEN" => QonnxRounding::HalfEven,
            "CEIL" => QonnxRounding::Ceil,
            "FLOOR" => QonnxRounding::Floor,
            "UP" => QonnxRounding::Up,
            "DOWN" => QonnxRounding::Down,
            "HALF_UP" => QonnxRounding::HalfUp,
            "HALF_DOWN" => QonnxRounding::HalfDown,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            QonnxRounding::HalfEven => "ROUND",
            QonnxRounding::Ceil => "CEIL",
            QonnxRounding::Floor => "FLOOR",
            QonnxRounding::Up => "UP",
            QonnxRounding::Down => "DOWN",
            QonnxRounding::HalfUp => "HALF_UP",
            QonnxRounding::HalfDown => "HALF_DOWN",
        }
    }

    /// Rounds `v` to an integer-valued float, as qonnx's numpy functions do.
    pub fn apply(self, v: f32) -> f32 {
        match self {
            QonnxRounding::HalfEven => v.round_ties_even(),
            QonnxRounding::Ceil => v.ceil(),
            QonnxRounding::Floor => v.floor(),
            QonnxRounding::Up => v.signum() * v.abs().ceil(),
            QonnxRounding::Down => v.trunc(),
            QonnxRounding::HalfUp => v.signum() * (v.abs() + 0.5).floor(),
            QonnxRounding::HalfDown => v.signum() * (v.abs() - 0.5).ceil(),
        }
    }
}

impl Op {
    /// The ONNX op type this op came from, as shown in the dump and in statistics.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Gemm(_) => "Gemm",
            Op::MatMul { .. } => "MatMul",
            Op::Binary(BinaryOp::Add) => "Add",
            Op::Binary(BinaryOp::Sub) => "Sub",
            Op::Binary(BinaryOp::Mul) => "Mul",
            Op::Binary(BinaryOp::Div) => "Div",
            Op::Unary(UnaryOp::Relu) => "Relu",
            Op::Unary(UnaryOp::Sigmoid) => "Sigmoid",
            Op::Unary(UnaryOp::Tanh) => "Tanh",
            Op::Unary(UnaryOp::Identity) => "Identity",
            Op::Unary(UnaryOp::Erf) => "Erf",
            Op::Unary(UnaryOp::Gelu | UnaryOp::GeluTanh) => "Gelu",
            Op::LeakyRelu { .. } => "LeakyRelu",
            Op::Clip => "Clip",
            Op::Conv(_) => "Conv",
            Op::MaxPool(_) => "MaxPool",
            Op::AveragePool(_) => "AveragePool",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::BatchNormalization { .. } => "BatchNormalization",
            Op::Lrn { .. } => "LRN",
            Op::Flatten { .. } => "Flatten",
            Op::Reshape { .. } => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Concat { .. } => "Concat",
            Op::Sum => "Sum",
            Op::Softmax { .. } => "Softmax",
            Op::QuantizeLinear { .. } => "QuantizeLinear",
            Op::DequantizeLinear { .. } => "DequantizeLinear",
            Op::Dropout => "Dropout",
            Op::Squeeze => "Squeeze",
            Op::Unsqueeze => "Unsqueeze",
            Op::Shape { .. } => "Shape",
            Op::Gather { .. } => "Gather",
            Op::Slice => "Slice",
            Op::Cast { .. } => "Cast",
            Op::ConstantOfShape { .. } => "ConstantOfShape",
            Op::Equal => "Equal",
            Op::QonnxQuant { .. } => "Quant",
            Op::IsNaN => "IsNaN",
            Op::And => "And",
            Op::GreaterOrEqual => "GreaterOrEqual",
            Op::Max => "Max",
            Op::Range => "Range",
            Op::GatherNd { .. } => "GatherND",
            Op::Where => "Where",
            Op::Expand => "Expand",
            Op::LayerNormalization { .. } => "LayerNormalization",
            Op::ReduceSum { .. } => "ReduceSum",
        }
    }

    /// Attributes as `key=value` pairs in a fixed order, for the stable text dump.
    pub fn attrs_text(&self) -> Vec<String> {
        fn act(a: &Option<Activation>) -> Option<String> {
            a.map(|a| match a {
                Activation::Relu => "act=Relu".to_string(),
                Activation::LeakyRelu { alpha } => format!("act=LeakyRelu({alpha})"),
                Activation::Clip { min, max } => format!("act=Clip({min},{max})"),
                Activation::Sigmoid => "act=Sigmoid".to_string(),
                Activation::Tanh => "act=Tanh".to_string(),
            })
        }
        let mut v = Vec::new();
        match self {
            Op::Unary(UnaryOp::GeluTanh) => v.push("approximate=tanh".into()),
            Op::Gemm(g) => {
                if g.alpha != 1.0 {
                    v.push(format!("alpha={}", g.alpha));
                }
                if g.beta != 1.0 {
                    v.push(format!("beta={}", g.beta));
                }
                if g.trans_a {
                    v.push("transA".into());
                }
                if g.trans_b {
                    v.push("transB".into());
                }
                v.extend(act(&g.act));
            }
            Op::MatMul { act: a } => v.extend(act(a)),
            Op::LeakyRelu { alpha } => v.push(format!("alpha={alpha}")),
            Op::Conv(c) => {
                v.push(format!("kernel={:?}", c.kernel_shape));
                v.push(format!("strides={:?}", c.strides));
                v.push(format!("pads={:?}", c.pads));
                if c.dilations.iter().any(|&d| d != 1) {
                    v.push(format!("dilations={:?}", c.dilations));
                }
                if c.auto_pad != AutoPad::NotSet {
                    v.push(format!("auto_pad={:?}", c.auto_pad));
                }
                if c.group != 1 {
                    v.push(format!("group={}", c.group));
                }
                v.extend(act(&c.act));
                if let Some(g) = c.im2col {
                    v.push(format!(
                        "gemm=(m={},k={},n={},groups={})",
                        g.m, g.k, g.n, g.groups
                    ));
                }
            }
            Op::MaxPool(p) | Op::AveragePool(p) => {
                v.push(format!("kernel={:?}", p.kernel_shape));
                v.push(format!("strides={:?}", p.strides));
                v.push(format!("pads={:?}", p.pads));
                if p.dilations.iter().any(|&d| d != 1) {
                    v.push(format!("dilations={:?}", p.dilations));
                }
                if p.auto_pad != AutoPad::NotSet {
                    v.push(format!("auto_pad={:?}", p.auto_pad));
                }
                if p.ceil_mode {
                    v.push("ceil_mode".into());
                }
                if p.count_include_pad && matches!(self, Op::AveragePool(_)) {
                    v.push("count_include_pad".into());
                }
            }
            Op::BatchNormalization { epsilon } => v.push(format!("epsilon={epsilon}")),
            Op::Lrn {
                alpha,
                beta,
                bias,
                size,
            } => {
                v.push(format!("alpha={alpha}"));
                v.push(format!("beta={beta}"));
                v.push(format!("bias={bias}"));
                v.push(format!("size={size}"));
            }
            Op::Flatten { axis }
            | Op::Concat { axis }
            | Op::Gather { axis }
            | Op::QuantizeLinear { axis }
            | Op::DequantizeLinear { axis } => v.push(format!("axis={axis}")),
            Op::Reshape { allowzero } => {
                if *allowzero {
                    v.push("allowzero".into())
                }
            }
            Op::Transpose { perm } => v.push(format!("perm={perm:?}")),
            Op::Softmax { axis, legacy_2d } => {
                v.push(format!("axis={axis}"));
                if *legacy_2d {
                    v.push("legacy_2d".into());
                }
            }
            Op::Shape { start, end } => {
                if *start != 0 {
                    v.push(format!("start={start}"));
                }
                if let Some(e) = end {
                    v.push(format!("end={e}"));
                }
            }
            Op::Cast { to } => v.push(format!("to={to}")),
            Op::ConstantOfShape { value } => {
                v.push(format!("value={}:{}", value.dtype(), value.data.get_f64(0)))
            }
            Op::LayerNormalization { axis, epsilon } => {
                v.push(format!("axis={axis}"));
                v.push(format!("epsilon={epsilon:e}"));
            }
            Op::GatherNd { batch_dims } => v.push(format!("batch_dims={batch_dims}")),
            Op::QonnxQuant {
                signed,
                narrow,
                rounding,
            } => {
                v.push(format!("signed={}", *signed as u8));
                v.push(format!("narrow={}", *narrow as u8));
                v.push(format!("rounding_mode={}", rounding.name()));
            }
            Op::ReduceSum {
                keepdims,
                noop_with_empty_axes,
            } => {
                v.push(format!("keepdims={}", *keepdims as u8));
                if *noop_with_empty_axes {
                    v.push("noop_with_empty_axes".into());
                }
            }
            Op::Binary(_)
            | Op::Equal
            | Op::IsNaN
            | Op::And
            | Op::GreaterOrEqual
            | Op::Max
            | Op::Range
            | Op::Where
            | Op::Expand
            | Op::Unary(_)
            | Op::Clip
            | Op::GlobalAveragePool
            | Op::Sum
            | Op::Dropout
            | Op::Squeeze
            | Op::Unsqueeze
            | Op::Slice => {}
        }
        v
    }
}
