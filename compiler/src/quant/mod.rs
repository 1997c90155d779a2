//! The number contract (`shared/README.md` §3): how Systole represents, rounds and rescales
//! quantized numbers, written once so the integer reference, the simulator and the RTL agree bit
//! for bit.
//!
//! - [`rounding`]: ap_fixed's quantization ([`Rounding`]) and overflow ([`Overflow`]) modes, and
//!   the two integer primitives everything else is built from: [`shift_round`] (divide by a power
//!   of two) and [`saturate`] (fit into `W` bits).
//! - [`format`](mod@format): the runtime description of a tensor's numbers ([`Format`], [`TensorFormat`]):
//!   binary point or affine scale, granularity, and the one float path (`quantize_f64`, used only
//!   by calibration).
//! - [`requant`]: the requantization `y = clamp(round((acc + b) · M0, 31 + s) + z)` and the
//!   worst-case accumulator width.
//!
//! Everything on the inference path is integer arithmetic (`i64`, with `i128` intermediates
//! where a product could exceed 64 bits); floats appear only where a real number comes in
//! (calibration, [`quantize_multiplier`]) or goes out ([`Format::dequantize`]).
//! `docs/number-formats.md` is the user-facing description of this module.

pub mod adaround;
pub mod bitalloc;
pub mod budget;
pub mod calibrate;
pub mod error;
#[cfg(test)]
mod fixed_props;
pub mod format;
pub mod gptq;
pub mod requant;
pub mod rounding;
pub mod smooth;
pub mod spec;
pub mod threshold;
pub mod weights;

pub use error::QuantError;
pub use format::{quantize_multiplier, Format, Granularity, Quantizer, Scale, TensorFormat};
pub use requant::{acc_bits, requantize, requantize_fast, Requant};
pub use rounding::{saturate, saturate_i128, shift_round, shift_round_i128, Overflow, Rounding};
