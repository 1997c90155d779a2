//! Calibration: activation statistics streamed from the float reference over a calibration set.
//!
//! Two passes over the set, batch by batch: the first finds each tensor's range, the second fills
//! a histogram of `|x|` over `[0, max |x|]` with [`BINS`] bins. Only the statistics are kept, never
//! the activations, so memory is bounded by one batch whatever the set's size. The thresholds
//! (min-max, percentile, MSE, KL) are computed from these histograms in [`super::threshold`].

use std::collections::BTreeMap;

use crate::ir::{Dim, Graph};
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
    fn new() -> TensorStats {
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

    fn observe_range(&mut self, v: &[f32]) {
        for &x in v {
            let x = f64::from(x);
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.count += v.len() as u64;
    }

    fn observe_hist(&mut self, v: &[f32]) {
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
    Ok(Calibration { stats, samples: n })
}
