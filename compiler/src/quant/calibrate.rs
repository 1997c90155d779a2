//! Calibration: activation statistics streamed from the float reference over a calibration set.
//!
//! Two passes over the set, batch by batch: the first finds each tensor's range, the second fills
//! a histogram of `|x|` over `[0, max |x|]` with [`BINS`] bins. Only the statistics are kept, never
//! the activations, so memory is bounded by one batch whatever the set's size. The thresholds
//! (min-max, percentile, MSE, KL) are computed from these histograms in [`super::threshold`].

use std::collections::BTreeMap;

use crate::ir::{Dim, Graph, Op, ValueId};
use crate::reference::float::spatial;
use crate::reference::interp;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Histogram resolution (TensorRT's entropy calibrator uses 2048 too).
pub const BINS: usize = 2048;

/// What calibration learned about one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorStats {
    pub min: f64,
    pub max: f64,
    pub count: u64,
    /// Counts of `|x|` in [`BINS`] equal bins over `[0, absmax]`.
    pub hist: Vec<u64>,
}

impl TensorStats {
    /// No values seen: an empty range and histogram, ready for the two calibration passes
    /// ([`observe_range`](Self::observe_range), then [`observe_hist`](Self::observe_hist)).
    /// Not `Default`: an empty range is `[+inf, -inf]`, not zeros.
    #[allow(clippy::new_without_default)]
    pub fn new() -> TensorStats {
        TensorStats {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            count: 0,
            hist: vec![0; BINS],
        }
    }

    pub fn absmax(&self) -> f64 {
        self.min.abs().max(self.max.abs())
    }

    /// Width of one histogram bin.
    pub fn bin_width(&self) -> f64 {
        self.absmax() / BINS as f64
    }

    pub fn observe_range(&mut self, v: &[f32]) {
        for &x in v {
            let x = f64::from(x);
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.count += v.len() as u64;
    }

    pub fn observe_hist(&mut self, v: &[f32]) {
        let w = self.bin_width();
        if w <= 0.0 {
            self.hist[0] += v.len() as u64;
            return;
        }
        for &x in v {
            let b = ((f64::from(x).abs() / w) as usize).min(BINS - 1);
            self.hist[b] += 1;
        }
    }
}

/// Statistics of every float tensor of a graph, by value name.
#[derive(Debug, Clone, Default)]
pub struct Calibration {
    pub stats: BTreeMap<String, TensorStats>,
    pub samples: usize,
    /// Second and first moments of each array layer's input rows (im2col rows for a
    /// convolution), by node name: filled by [`collect_hessians`] for GPTQ and bias correction.
    pub hessians: BTreeMap<String, LayerInputs>,
}

/// `XᵀX`, the column sums of `X` and the row count, over the calibration set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerInputs {
    pub xtx: Vec<f64>,
    pub sum: Vec<f64>,
    pub rows: u64,
}

impl LayerInputs {
    /// `E[x_k]`: the mean of each input column.
    pub fn mean(&self) -> Vec<f64> {
        self.sum
            .iter()
            .map(|s| s / self.rows.max(1) as f64)
            .collect()
    }
}

/// The rows an array layer multiplies its weights with, from its float input `x` (batch first):
/// `[N, K]` as is for Gemm/MatMul, im2col rows (zero padding) for a 2-D convolution.
fn layer_rows(op: &Op, x: &Tensor, k: usize) -> Option<Vec<f32>> {
    let v = x.as_f32()?;
    match op {
        Op::Conv(a) if x.shape.len() == 4 && a.group == 1 => {
            let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3]);
            let kern = if a.kernel_shape.len() == 2 {
                a.kernel_shape.clone()
            } else {
                return None;
            };
            let geo = spatial::resolve("Conv", &x.shape[2..], &a.window(&kern)).ok()?;
            if c * kern[0] * kern[1] != k {
                return None;
            }
            let mut rows = Vec::new();
            for sample in v.chunks(c * h * w) {
                for oy in 0..geo.output[0] {
                    for ox in 0..geo.output[1] {
                        for ch in 0..c {
                            for ky in 0..kern[0] {
                                for kx in 0..kern[1] {
                                    let (iy, ix) = (geo.tap(0, oy, ky), geo.tap(1, ox, kx));
                                    let inside = iy >= 0
                                        && ix >= 0
                                        && (iy as usize) < h
                                        && (ix as usize) < w;
                                    rows.push(if inside {
                                        sample[ch * h * w + iy as usize * w + ix as usize]
                                    } else {
                                        0.0
                                    });
                                }
                            }
                        }
                    }
                }
            }
            Some(rows)
        }
        Op::Gemm(a) if !a.trans_a && x.len().is_multiple_of(k) => Some(v.to_vec()),
        Op::MatMul { .. } if x.len().is_multiple_of(k) => Some(v.to_vec()),
        _ => None,
    }
}

/// The array layers of `g` by the value they read: (node name, op, K).
pub type Readers = BTreeMap<ValueId, Vec<(String, Op, usize)>>;

/// Every Conv/Gemm/MatMul whose weight is a constant, by its input value.
pub fn hessian_readers(g: &Graph) -> Readers {
    let mut readers: Readers = BTreeMap::new();
    for id in g.node_ids() {
        let n = g.node(id);
        let Some(w) = n
            .inputs
            .get(1)
            .copied()
            .flatten()
            .and_then(|v| g.const_of(v))
        else {
            continue;
        };
        let k = match &n.op {
            Op::Conv(_) if w.rank() == 4 => w.shape[1] * w.shape[2] * w.shape[3],
            Op::Gemm(a) if w.rank() == 2 => {
                if a.trans_b {
                    w.shape[1]
                } else {
                    w.shape[0]
                }
            }
            Op::MatMul { .. } if w.rank() == 2 => w.shape[0],
            _ => continue,
        };
        if let Some(x) = n.inputs[0] {
            readers
                .entry(x)
                .or_default()
                .push((n.name.clone(), n.op.clone(), k));
        }
    }
    readers
}

/// Adds the rows of value `v` (float tensor `t`) to the `XᵀX` of every layer reading it.
pub fn feed_hessians(
    readers: &Readers,
    v: ValueId,
    t: &Tensor,
    hs: &mut BTreeMap<String, LayerInputs>,
) {
    for (name, op, k) in readers.get(&v).into_iter().flatten() {
        if let Some(rows) = layer_rows(op, t, *k) {
            let h = hs.entry(name.clone()).or_insert_with(|| LayerInputs {
                xtx: vec![0.0; k * k],
                sum: vec![0.0; *k],
                rows: 0,
            });
            crate::quant::gptq::hessian_add(&mut h.xtx, *k, &rows);
            for row in rows.chunks(*k) {
                for (s, &x) in h.sum.iter_mut().zip(row) {
                    *s += f64::from(x);
                }
                h.rows += 1;
            }
        }
    }
}

/// `XᵀX` over the calibration set for every Conv/Gemm/MatMul whose weight is a constant.
pub fn collect_hessians(
    g: &Graph,
    data: &Tensor,
    batch: usize,
) -> Result<BTreeMap<String, LayerInputs>> {
    check_data(g, data, "calibration data")?;
    let readers = hessian_readers(g);
    let mut hs: BTreeMap<String, LayerInputs> = BTreeMap::new();
    let input = g.inputs[0];
    let n = data.shape[0];
    for start in (0..n).step_by(batch.max(1)) {
        let x = batch_slice(data, start, (start + batch).min(n));
        feed_hessians(&readers, input, &x, &mut hs);
        let inputs = BTreeMap::from([(g.value(input).name.clone(), x)]);
        interp::run_observed(g, &inputs, &mut |node, outs, _| {
            for (o, t) in node.outputs.iter().zip(outs) {
                feed_hessians(&readers, *o, t, &mut hs);
            }
        })?;
    }
    Ok(hs)
}

/// Checks a calibration or evaluation set against the graph's single input: rank, fixed
/// dimensions, and that every value is finite (naming the first bad sample).
pub fn check_data(g: &Graph, data: &Tensor, what: &str) -> Result<()> {
    let [input] = g.inputs.as_slice() else {
        return Err(Error::Model {
            msg: format!(
                "{} inputs; quantization takes models with one input",
                g.inputs.len()
            ),
        });
    };
    let v = g.value(*input);
    let bad = |msg: String| Error::Input {
        name: format!("{what} for '{}'", v.name),
        msg,
    };
    if let Some(dims) = &v.ty.shape {
        if dims.len() != data.shape.len() {
            return Err(bad(format!(
                "rank {} (shape {:?}), the model expects {}",
                data.shape.len(),
                data.shape,
                v.ty
            )));
        }
        for (ax, (d, &n)) in dims.iter().zip(&data.shape).enumerate() {
            if let Dim::Known(k) = d {
                if *k != n && ax > 0 {
                    return Err(bad(format!(
                        "axis {ax} is {n}, the model expects {k} ({})",
                        v.ty
                    )));
                }
            }
        }
    }
    let Some(x) = data.as_f32() else {
        return Err(bad(format!(
            "{} data, expected float32",
            data.dtype().name()
        )));
    };
    if data.shape.first().copied().unwrap_or(0) == 0 {
        return Err(bad("no samples".into()));
    }
    let per = x.len() / data.shape[0];
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!(
            "sample {} holds {} at flat index {}",
            i / per.max(1),
            x[i],
            i % per.max(1)
        )));
    }
    Ok(())
}

/// Samples `[start, end)` of a batch-major tensor.
pub fn batch_slice(t: &Tensor, start: usize, end: usize) -> Tensor {
    let per: usize = t.shape[1..].iter().product();
    let mut shape = t.shape.clone();
    shape[0] = end - start;
    Tensor::new(
        shape,
        t.data.gather(&(start * per..end * per).collect::<Vec<_>>()),
    )
    .expect("slice of a valid tensor")
}

/// Runs `data` through the float reference in batches of `batch` and collects statistics of the
/// input and of every float tensor an op produces. `progress(done, total)` is called after each
/// batch of each pass (`total` counts both passes).
pub fn calibrate(
    g: &Graph,
    data: &Tensor,
    batch: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Calibration> {
    check_data(g, data, "calibration data")?;
    let input = g.value(g.inputs[0]).name.clone();
    let n = data.shape[0];
    let batch = batch.max(1);
    let steps = n.div_ceil(batch);
    let mut stats: BTreeMap<String, TensorStats> = BTreeMap::new();
    for pass in 0..2 {
        for (i, start) in (0..n).step_by(batch).enumerate() {
            let x = batch_slice(data, start, (start + batch).min(n));
            let mut observe = |name: &str, t: &Tensor| {
                if let Some(v) = t.as_f32() {
                    let s = stats
                        .entry(name.to_string())
                        .or_insert_with(TensorStats::new);
                    if pass == 0 {
                        s.observe_range(v);
                    } else {
                        s.observe_hist(v);
                    }
                }
            };
            observe(&input, &x);
            let inputs = BTreeMap::from([(input.clone(), x.clone())]);
            interp::run_observed(g, &inputs, &mut |node, outs, _| {
                for (o, t) in node.outputs.iter().zip(outs) {
                    observe(&g.value(*o).name, t);
                }
            })?;
            progress(pass * steps + i + 1, 2 * steps);
        }
    }
    Ok(Calibration {
        stats,
        samples: n,
        hessians: BTreeMap::new(),
    })
}
