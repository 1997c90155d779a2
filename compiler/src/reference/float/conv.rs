//! N-D convolution as im2col + GEMM per image and group, images in parallel.
//!
//! Per image and group `g`: `Y_g[M/G × P] = W_g[M/G × K] · cols[K × P]` with
//! `K = C/G × kernel area` (rows ordered channel-major, then kernel taps row-major, matching the
//! weight layout) and `P` the output pixels. Bias pre-fills `Y` so the GEMM accumulates onto it.

use rayon::prelude::*;

use super::activation;
use super::gemm::{gemm_into, GemmScalar};
use super::spatial::{self, Geometry};
use super::{err, input, max_inputs, opt_input, tensor, typed};
use crate::error::KernelError;
use crate::ir::op::ConvAttrs;
use crate::tensor::{strides_of, DType, Tensor};

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
    let geo = spatial::resolve(
        "Conv",
        &x.shape[2..],
        kernel,
        &attrs.strides,
        &attrs.dilations,
        &attrs.pads,
        attrs.auto_pad,
        false,
    )?;
    Ok(Plan {
        batch: x.shape[0],
        channels,
        out_channels,
        group,
        geo,
    })
}

fn conv_typed<T: GemmScalar>(
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
    let run = |n: usize, y_img: &mut [T], cols: &mut Vec<T>| {
        conv_image(&p, &xv[n * img_in..(n + 1) * img_in], wv, bv, y_img, cols);
        activation::apply(attrs.act, y_img);
    };
    if p.batch > 1 {
        y.par_chunks_mut(img_out)
            .enumerate()
            .for_each_init(Vec::new, |cols, (n, y_img)| run(n, y_img, cols));
    } else {
        run(0, &mut y, &mut Vec::new());
    }
    Ok(tensor(shape, y))
}

/// One image: for each group, im2col then GEMM into `y` (`[M, P]`).
fn conv_image<T: GemmScalar>(
    p: &Plan,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    cols: &mut Vec<T>,
) {
    let cg = p.channels / p.group;
    let mg = p.out_channels / p.group;
    let in_area: usize = p.geo.input.iter().product();
    let out_area = p.geo.output_area();
    let k_area: usize = p.geo.kernel.iter().product();
    let kk = cg * k_area;
    let pointwise = p.geo.is_pointwise();
    for g in 0..p.group {
        let x_g = &x[g * cg * in_area..(g + 1) * cg * in_area];
        let cols: &[T] = if pointwise {
            x_g
        } else {
            cols.clear();
            cols.resize(kk * out_area, T::ZERO);
            im2col(x_g, cg, &p.geo, cols);
            cols
        };
        let y_g = &mut y[g * mg * out_area..(g + 1) * mg * out_area];
        let beta = match bias {
            Some(b) => {
                for (row, &bb) in y_g.chunks_mut(out_area).zip(&b[g * mg..(g + 1) * mg]) {
                    row.fill(bb);
                }
                T::ONE
            }
            None => T::ZERO,
        };
        let w_g = &w[g * mg * kk..(g + 1) * mg * kk];
        gemm_into(
            mg,
            kk,
            out_area,
            T::ONE,
            (w_g, kk, 1),
            (cols, out_area, 1),
            beta,
            y_g,
            out_area,
        );
    }
}

/// Fills `cols` (`[channels × kernel area, output area]`, zeroed) with the input patches of `x`
/// (`[channels, input spatial...]`). Out-of-image taps stay zero.
pub fn im2col<T: Copy>(x: &[T], channels: usize, geo: &Geometry, cols: &mut [T]) {
    let nd = geo.input.len();
    let in_strides = strides_of(&geo.input);
    let in_area: usize = geo.input.iter().product();
    let out_area = geo.output_area();
    let k_area: usize = geo.kernel.iter().product();
    let (last_in, last_out) = (geo.input[nd - 1], geo.output[nd - 1]);
    let (s_last, outer_out) = (geo.strides[nd - 1] as i64, &geo.output[..nd - 1]);
    let outer_count: usize = outer_out.iter().product();
    let mut ktap = vec![0usize; nd];
    let mut oidx = vec![0usize; nd.saturating_sub(1)];
    for c in 0..channels {
        let x_c = &x[c * in_area..(c + 1) * in_area];
        for kidx in 0..k_area {
            // Kernel tap coordinates of this row.
            let mut rem = kidx;
            for d in (0..nd).rev() {
                ktap[d] = rem % geo.kernel[d];
                rem /= geo.kernel[d];
            }
            let row = &mut cols[(c * k_area + kidx) * out_area..(c * k_area + kidx + 1) * out_area];
            // Range of last-dim outputs whose tap lands inside the input.
            let off = geo.tap(nd - 1, 0, ktap[nd - 1]);
            let lo = if off >= 0 {
                0
            } else {
                ((-off) as u64).div_ceil(s_last as u64) as usize
            };
            let hi = if (last_in as i64) <= off {
                0
            } else {
                (((last_in as i64 - off) as u64).div_ceil(s_last as u64) as usize).min(last_out)
            };
            oidx.iter_mut().for_each(|o| *o = 0);
            for r in 0..outer_count {
                // Input offset of the outer coordinates, or None when in the padding.
                let mut base = Some(0usize);
                for d in 0..nd - 1 {
                    let ic = geo.tap(d, oidx[d], ktap[d]);
                    if ic < 0 || ic >= geo.input[d] as i64 {
                        base = None;
                        break;
                    }
                    base = base.map(|b| b + ic as usize * in_strides[d]);
                }
                let out_row = &mut row[r * last_out..(r + 1) * last_out];
                if let Some(base) = base {
                    for (o, v) in out_row.iter_mut().enumerate().take(hi).skip(lo) {
                        let ic = (o as i64 * s_last + off) as usize;
                        *v = x_c[base + ic];
                    }
                }
                // Next outer output coordinate.
                for d in (0..nd - 1).rev() {
                    oidx[d] += 1;
                    if oidx[d] < outer_out[d] {
                        break;
                    }
                    oidx[d] = 0;
                }
            }
        }
    }
}
