//! N-D convolution as im2col + GEMM per image and group, images in parallel.
//!
//! Per image and group `g`: `Y_g[M/G × P] = W_g[M/G × K] · cols[K × P]` with
//! `K = C/G × kernel area` (rows ordered channel-major, then kernel taps row-major, matching the
//! weight layout) and `P` the output pixels. Bias pre-fills `Y` so the GEMM accumulates onto it.

use rayon::prelude::*;

use super::activation;
use super::gemm::{gemm_into, GemmProblem, GemmScalar};
use super::patches::{copy_run, Images, Patches};
use super::spatial::{self, Geometry};
use super::{err, input, max_inputs, opt_input, tensor, typed};
use crate::error::KernelError;
use crate::ir::op::ConvAttrs;
use crate::tensor::{DType, Tensor};

pub fn conv(attrs: &ConvAttrs, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Conv", inputs, 3)?;
    let x = input("Conv", inputs, 0, "X")?;
    match x.dtype() {
        DType::F32 => conv_typed::<f32>(attrs, inputs),
        DType::F64 => conv_typed::<f64>(attrs, inputs),
        dt => Err(err(format!("Conv: input X must be f32 or f64, got {dt}"))),
    }
}

/// Checked shapes of a convolution.
struct Plan {
    batch: usize,
    channels: usize,
    out_channels: usize,
    group: usize,
    geo: Geometry,
    patches: Patches,
    runs: (Vec<usize>, Vec<(usize, usize, usize)>),
}

fn plan(
    attrs: &ConvAttrs,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
) -> Result<Plan, KernelError> {
    if x.rank() < 3 {
        return Err(err(format!(
            "Conv: input X must be [N, C, spatial...] with at least one spatial dim, got shape {:?}",
            x.shape
        )));
    }
    if w.rank() != x.rank() {
        return Err(err(format!(
            "Conv: input W must have the rank of X ({}), got shape {:?}",
            x.rank(),
            w.shape
        )));
    }
    let group = attrs.group;
    let (channels, out_channels, cg) = (x.shape[1], w.shape[0], w.shape[1]);
    if group == 0 {
        return Err(err("Conv: group must be >= 1, got 0"));
    }
    if cg * group != channels {
        return Err(err(format!(
            "Conv: X has {channels} channels but W {:?} with group {group} expects {} (= {cg} × {group})",
            w.shape,
            cg * group
        )));
    }
    if out_channels % group != 0 {
        return Err(err(format!(
            "Conv: W's {out_channels} output channels are not divisible by group {group}"
        )));
    }
    let kernel = &w.shape[2..];
    if !attrs.kernel_shape.is_empty() && attrs.kernel_shape != kernel {
        return Err(err(format!(
            "Conv: kernel_shape {:?} does not match W's spatial shape {kernel:?}",
            attrs.kernel_shape
        )));
    }
    if let Some(b) = b {
        if b.shape != [out_channels] {
            return Err(err(format!(
                "Conv: input B must have shape [{out_channels}], got {:?}",
                b.shape
            )));
        }
    }
    let geo = spatial::resolve("Conv", &x.shape[2..], &attrs.window(kernel))?;
    let patches = Patches::new(&geo);
    let runs = patches.runs();
    Ok(Plan {
        batch: x.shape[0],
        channels,
        out_channels,
        group,
        geo,
        patches,
        runs,
    })
}

fn conv_typed<T: GemmScalar + Scratch>(
    attrs: &ConvAttrs,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, KernelError> {
    let x = input("Conv", inputs, 0, "X")?;
    let w = input("Conv", inputs, 1, "W")?;
    let b = opt_input(inputs, 2);
    let xv = typed::<T>("Conv", "X", x)?;
    let wv = typed::<T>("Conv", "W", w)?;
    let bv = b.map(|b| typed::<T>("Conv", "B", b)).transpose()?;
    let p = plan(attrs, x, w, b)?;
    let mut shape = vec![p.batch, p.out_channels];
    shape.extend_from_slice(&p.geo.output);
    let out_area = p.geo.output_area();
    let img_out = p.out_channels * out_area;
    let mut y = vec![T::ZERO; p.batch * img_out];
    if y.is_empty() {
        return Ok(tensor(shape, y));
    }
    let in_area: usize = p.geo.input.iter().product();
    let img_in = p.channels * in_area;
    // Images per GEMM: enough output columns to amortize packing the weights, few enough that
    // matrixmultiply stays on one thread (m·k + k·n < 2^15, its threading threshold) since the
    // chunks already run in parallel, and at least one chunk per thread.
    let threads = rayon::current_num_threads().max(1);
    let (mg, kk) = (
        p.out_channels / p.group,
        p.channels / p.group * p.patches.k_area,
    );
    let single = ((1usize << 15).saturating_sub(mg * kk + 1) / kk.max(1)).max(1);
    let columns = MAX_COLUMNS_PER_GEMM.min(single);
    let per_chunk = (columns / out_area.max(1)).clamp(1, p.batch.div_ceil(threads).max(1));
    let run = |chunk: usize, y_chunk: &mut [T]| {
        let first = chunk * per_chunk;
        let images = y_chunk.len() / img_out;
        let x_chunk = &xv[first * img_in..(first + images) * img_in];
        T::with_scratch(|bufs| conv_images(&p, x_chunk, images, wv, bv, y_chunk, bufs));
        activation::apply(attrs.act, y_chunk);
    };
    if p.batch > per_chunk {
        y.par_chunks_mut(per_chunk * img_out)
            .enumerate()
            .for_each(|(c, y_chunk)| run(c, y_chunk));
    } else {
        run(0, &mut y);
    }
    Ok(tensor(shape, y))
}

/// Per-thread buffers (im2col columns, GEMM output) reused across calls, so a conv does not
/// fault in fresh pages for its temporaries every time it runs.
pub trait Scratch: Sized {
    fn with_scratch<R>(f: impl FnOnce(&mut (Vec<Self>, Vec<Self>)) -> R) -> R;
}

/// Scratch larger than this (elements) is released after use instead of kept.
const SCRATCH_KEEP: usize = 1 << 24;

macro_rules! impl_scratch {
    ($t:ty) => {
        impl Scratch for $t {
            fn with_scratch<R>(f: impl FnOnce(&mut (Vec<Self>, Vec<Self>)) -> R) -> R {
                thread_local! {
                    static BUF: std::cell::RefCell<(Vec<$t>, Vec<$t>)> = Default::default();
                }
                BUF.with(|b| {
                    // A conv never nests inside another, so the buffer is never borrowed twice;
                    // fall back to fresh buffers rather than panic if that ever changes.
                    let Ok(mut b) = b.try_borrow_mut() else {
                        return f(&mut Default::default());
                    };
                    let r = f(&mut b);
                    if b.0.capacity() + b.1.capacity() > SCRATCH_KEEP {
                        *b = Default::default();
                    }
                    r
                })
            }
        }
    };
}
impl_scratch!(f32);
impl_scratch!(f64);

/// Most output columns (images × output pixels) per GEMM call.
const MAX_COLUMNS_PER_GEMM: usize = 256;

/// A chunk of `images` consecutive images: per group, im2col of all of them side by side
/// (`cols[K, images × P]`), one GEMM into `tmp[M/G, images × P]`, then a scatter into `y`.
/// A single image with a pointwise kernel skips both copies.
fn conv_images<T: GemmScalar>(
    p: &Plan,
    x: &[T],
    images: usize,
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    (cols, tmp): &mut (Vec<T>, Vec<T>),
) {
    let cg = p.channels / p.group;
    let mg = p.out_channels / p.group;
    let in_area: usize = p.geo.input.iter().product();
    let out_area = p.geo.output_area();
    let k_area: usize = p.geo.kernel.iter().product();
    let kk = cg * k_area;
    let ld = images * out_area;
    let direct = images == 1;
    for g in 0..p.group {
        let cols: &[T] = if direct && p.geo.is_pointwise() {
            &x[g * cg * in_area..(g + 1) * cg * in_area]
        } else {
            cols.clear();
            cols.resize(kk * ld, T::ZERO);
            let x_g = &x[g * cg * in_area..];
            let x_images = Images {
                data: x_g,
                count: images,
                stride: p.channels * in_area,
                channels: cg,
            };
            p.patches.im2col(&p.runs, x_images, cols, ld);
            cols
        };
        let out: &mut [T] = if direct {
            &mut y[g * mg * out_area..(g + 1) * mg * out_area]
        } else {
            tmp.clear();
            tmp.resize(mg * ld, T::ZERO);
            tmp
        };
        let beta = match bias {
            Some(b) => {
                for (row, &bb) in out.chunks_mut(ld).zip(&b[g * mg..(g + 1) * mg]) {
                    row.fill(bb);
                }
                T::ONE
            }
            None => T::ZERO,
        };
        let w_g = &w[g * mg * kk..(g + 1) * mg * kk];
        let problem = GemmProblem {
            m: mg,
            k: kk,
            n: ld,
            alpha: T::ONE,
            beta,
        };
        gemm_into(problem, (w_g, kk, 1), (cols, ld, 1), out, ld);
        if !direct {
            for i in 0..images {
                for m in 0..mg {
                    let dst = ((i * p.out_channels) + g * mg + m) * out_area;
                    let src = m * ld + i * out_area;
                    copy_run(&mut y[dst..dst + out_area], &tmp[src..src + out_area]);
                }
            }
        }
    }
}
