//! Window geometry shared by Conv and the pools: kernel, strides, dilations and pads resolved
//! against the input's spatial shape, including `auto_pad` and `ceil_mode`.

use super::err;
use crate::error::KernelError;
use crate::ir::op::{AutoPad, WindowAttrs};

/// Resolved per-dimension window parameters (all vectors have one entry per spatial dim).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub input: Vec<usize>,
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pad_begin: Vec<usize>,
    /// Explicit (or auto) end padding; `ceil_mode` may make the last window reach beyond it.
    pub pad_end: Vec<usize>,
    pub output: Vec<usize>,
}

impl Geometry {
    pub fn output_area(&self) -> usize {
        self.output.iter().product()
    }

    /// True when every window is one input pixel at the same position (1×1, stride 1, no pad),
    /// so the input already is its own im2col matrix.
    pub fn is_pointwise(&self) -> bool {
        self.kernel.iter().all(|&k| k == 1)
            && self.strides.iter().all(|&s| s == 1)
            && self.pad_begin.iter().chain(&self.pad_end).all(|&p| p == 0)
    }

    /// For output coordinate `o` and kernel tap `k` of dim `d`: the input coordinate (which may
    /// lie in the padding, i.e. be negative or ≥ the input size).
    pub fn tap(&self, d: usize, o: usize, k: usize) -> i64 {
        (o * self.strides[d]) as i64 - self.pad_begin[d] as i64 + (k * self.dilations[d]) as i64
    }
}

fn ones_or(op: &str, what: &str, v: &[usize], nd: usize) -> Result<Vec<usize>, KernelError> {
    if v.is_empty() {
        return Ok(vec![1; nd]);
    }
    if v.len() != nd {
        return Err(err(format!(
            "{op}: {what} {v:?} must have one entry per spatial dimension ({nd})"
        )));
    }
    if v.contains(&0) {
        return Err(err(format!("{op}: {what} {v:?} must all be >= 1")));
    }
    Ok(v.to_vec())
}

/// Resolves window `w` of op `op` for an input with spatial shape `input`.
pub fn resolve(op: &str, input: &[usize], w: &WindowAttrs) -> Result<Geometry, KernelError> {
    let WindowAttrs {
        kernel,
        strides,
        dilations,
        pads,
        auto_pad,
        ceil_mode,
    } = *w;
    let nd = input.len();
    if kernel.len() != nd {
        return Err(err(format!(
            "{op}: kernel_shape {kernel:?} must have one entry per spatial dimension ({nd})"
        )));
    }
    if kernel.contains(&0) {
        return Err(err(format!(
            "{op}: kernel_shape {kernel:?} must all be >= 1"
        )));
    }
    let strides = ones_or(op, "strides", strides, nd)?;
    let dilations = ones_or(op, "dilations", dilations, nd)?;
    let (mut pad_begin, mut pad_end) = match pads.len() {
        0 => (vec![0; nd], vec![0; nd]),
        l if l == 2 * nd => (pads[..nd].to_vec(), pads[nd..].to_vec()),
        _ => {
            return Err(err(format!(
                "{op}: pads {pads:?} must have 2 × {nd} entries (all begins, then all ends)"
            )))
        }
    };
    let mut output = vec![0; nd];
    for d in 0..nd {
        let (i, s) = (input[d], strides[d]);
        // Checked: the attributes come from the file, and a wrapped sum gave a small,
        // plausible geometry (pads of 2^63 − 1 produced zeros with exit 0).
        let eff = dilations[d]
            .checked_mul(kernel[d] - 1)
            .and_then(|e| e.checked_add(1))
            .ok_or_else(|| {
                err(format!(
                    "{op}: attributes 'kernel_shape' {kernel:?} and 'dilations' {dilations:?}: \
                     the window's extent overflows a 64-bit size"
                ))
            })?;
        match auto_pad {
            AutoPad::SameUpper | AutoPad::SameLower => {
                output[d] = i.div_ceil(s);
                let total = ((output[d].max(1) - 1) * s)
                    .saturating_add(eff)
                    .saturating_sub(i);
                let small = total / 2;
                (pad_begin[d], pad_end[d]) = if auto_pad == AutoPad::SameUpper {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
            }
            AutoPad::Valid | AutoPad::NotSet => {
                if auto_pad == AutoPad::Valid {
                    (pad_begin[d], pad_end[d]) = (0, 0);
                }
                let padded = i
                    .checked_add(pad_begin[d])
                    .and_then(|p| p.checked_add(pad_end[d]))
                    .ok_or_else(|| {
                        err(format!(
                            "{op}: attribute 'pads' {pads:?}: spatial dimension {d}: the padded \
                             input ({i} + {} + {}) overflows a 64-bit size",
                            pad_begin[d], pad_end[d]
                        ))
                    })?;
                if padded < eff {
                    return Err(err(format!(
                        "{op}: spatial dimension {d}: the window ({eff} with dilation) is larger \
                         than the padded input ({i} + pads {} + {})",
                        pad_begin[d], pad_end[d]
                    )));
                }
                let span = padded - eff;
                output[d] = if ceil_mode && auto_pad == AutoPad::NotSet {
                    let mut o = span.div_ceil(s) + 1;
                    // The last window must start inside the input or its begin padding.
                    if (o - 1) * s >= i + pad_begin[d] {
                        o -= 1;
                    }
                    o
                } else {
                    span / s + 1
                };
            }
        }
    }
    Ok(Geometry {
        input: input.to_vec(),
        kernel: kernel.to_vec(),
        strides,
        dilations,
        pad_begin,
        pad_end,
        output,
    })
}

/// Advances a row-major multi-index over `dims`, wrapping to zero at the end.
pub fn odometer(idx: &mut [usize], dims: &[usize]) {
    for d in (0..idx.len()).rev() {
        idx[d] += 1;
        if idx[d] < dims[d] {
            return;
        }
        idx[d] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(
        input: &[usize],
        k: &[usize],
        s: &[usize],
        pads: &[usize],
        ap: AutoPad,
        ceil: bool,
    ) -> Geometry {
        resolve("t", input, &window(k, s, &[], pads, ap, ceil)).unwrap()
    }

    fn window<'a>(
        kernel: &'a [usize],
        strides: &'a [usize],
        dilations: &'a [usize],
        pads: &'a [usize],
        auto_pad: AutoPad,
        ceil_mode: bool,
    ) -> WindowAttrs<'a> {
        WindowAttrs {
            kernel,
            strides,
            dilations,
            pads,
            auto_pad,
            ceil_mode,
        }
    }

    /// Resolves a window without auto_pad or ceil_mode.
    fn plain(
        input: &[usize],
        kernel: &[usize],
        strides: &[usize],
        dilations: &[usize],
        pads: &[usize],
    ) -> Result<Geometry, KernelError> {
        let w = window(kernel, strides, dilations, pads, AutoPad::NotSet, false);
        resolve("t", input, &w)
    }

    #[test]
    fn explicit_pads_floor_and_ceil() {
        let g = r(
            &[5, 5],
            &[3, 3],
            &[2, 2],
            &[1, 1, 1, 1],
            AutoPad::NotSet,
            false,
        );
        assert_eq!(g.output, vec![3, 3]);
        let g = r(&[4, 4], &[3, 3], &[2, 2], &[], AutoPad::NotSet, false);
        assert_eq!(g.output, vec![1, 1]);
        let g = r(&[4, 4], &[3, 3], &[2, 2], &[], AutoPad::NotSet, true);
        assert_eq!(g.output, vec![2, 2]);
        // Last window would start on the end padding: dropped.
        let g = r(
            &[2, 2],
            &[3, 3],
            &[3, 3],
            &[1, 1, 1, 1],
            AutoPad::NotSet,
            true,
        );
        assert_eq!(g.output, vec![1, 1]);
    }

    #[test]
    fn auto_pad_modes() {
        let g = r(&[5], &[3], &[2], &[], AutoPad::SameUpper, false);
        assert_eq!((g.output[0], g.pad_begin[0], g.pad_end[0]), (3, 1, 1));
        let g = r(&[4], &[4], &[1], &[], AutoPad::SameUpper, false);
        assert_eq!((g.output[0], g.pad_begin[0], g.pad_end[0]), (4, 1, 2));
        let g = r(&[4], &[4], &[1], &[], AutoPad::SameLower, false);
        assert_eq!((g.output[0], g.pad_begin[0], g.pad_end[0]), (4, 2, 1));
        let g = r(&[5], &[2], &[2], &[9, 9], AutoPad::Valid, false);
        assert_eq!((g.output[0], g.pad_begin[0]), (2, 0));
    }

    #[test]
    fn dilation_and_errors() {
        let g = plain(&[7], &[3], &[1], &[2], &[]).unwrap();
        assert_eq!(g.output, vec![3]);
        assert_eq!(g.tap(0, 2, 2), 6);
        assert!(plain(&[2], &[3], &[], &[], &[]).is_err());
        assert!(plain(&[4, 4], &[3], &[], &[], &[]).is_err());
        assert!(plain(&[4], &[3], &[0], &[], &[]).is_err());
        assert!(plain(&[4], &[3], &[], &[], &[1]).is_err());
    }
}
