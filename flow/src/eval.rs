//! Running and scoring models: the float reference on an ONNX graph, the integer reference on
//! a quantized program, top-1 against labels, and the agreement of two models' outputs.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{FlowError, Result};
use crate::load::load_optimized;
use systole_compiler::fxir::Program;
use systole_compiler::ir::Graph;
use systole_compiler::quant::calibrate::check_data;
use systole_compiler::reference::{int, interp};
use systole_compiler::sysq::SysqFile;
use systole_compiler::tensor::Tensor;

/// Index of the largest value of each row of `[N, C]` scores (first index on ties).
pub fn argmax_rows(scores: &[f32], classes: usize) -> Vec<usize> {
    scores
        .chunks(classes.max(1))
        .map(|row| (0..row.len()).fold(0, |b, j| if row[j] > row[b] { j } else { b }))
        .collect()
}

/// Correct and total of top-1 predictions against integer labels.
pub fn top1(scores: &Tensor, labels: &Tensor) -> Result<(usize, usize)> {
    let classes = scores.shape.last().copied().unwrap_or(1);
    let l = class_labels(labels, classes)?;
    let rows = scores.len() / classes.max(1);
    if l.len() != rows {
        return Err(FlowError::Input {
            name: "labels".into(),
            msg: format!(
                "{} labels for {} predictions (output shape {:?}); expected one per row",
                l.len(),
                rows,
                scores.shape
            ),
        });
    }
    let pred = argmax_rows(&scores.to_f32_vec(), classes);
    Ok((
        pred.iter()
            .zip(&l)
            .filter(|(p, y)| **p as i64 == **y)
            .count(),
        rows,
    ))
}

/// Labels as class indices, refusing what would score silently wrong: a float label that is not
/// a whole number (truncating 3.7 to 3 scored a shifted label set 100 %), NaN, and a class
/// outside the output's `0..classes`.
fn class_labels(labels: &Tensor, classes: usize) -> Result<Vec<i64>> {
    let bad = |msg: String| FlowError::Input {
        name: "labels".into(),
        msg,
    };
    let n = labels.len();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // Checked as f64, exact for every class index, so a u64 label of 2^64 − 1 or a float
        // label of 1e30 is named as it is (not as -1 or i64::MAX after a cast).
        let v = labels.data.get_f64(i);
        if labels.dtype().is_float() && (!v.is_finite() || v.fract() != 0.0) {
            return Err(bad(format!(
                "label {i} is {v}; expected a whole-number class index (labels are integers)"
            )));
        }
        if v < 0.0 || v >= classes as f64 {
            return Err(bad(format!(
                "label {i} is {v}, outside the model's classes 0..{classes}"
            )));
        }
        out.push(v as i64);
    }
    Ok(out)
}

/// Runs the float reference on `x` (one input) and returns the single output.
pub fn run_float(g: &Graph, x: &Tensor) -> Result<Tensor> {
    check_data(g, x, "input")?;
    let name = g.value(g.inputs[0]).name.clone();
    let out = interp::run(g, &BTreeMap::from([(name, x.clone())]))?;
    out.into_values().next().ok_or_else(|| FlowError::Model {
        msg: "the model has no output".into(),
    })
}

/// Runs the quantized program on `x` and returns its output as reals.
pub fn run_quantized(p: &Program, x: &Tensor) -> Result<Tensor> {
    let codes = int::run(p, x)?;
    Ok(int::output_tensor(p, &codes))
}

/// Whether `p` names a quantized program (`.sysq`) rather than an ONNX model.
pub fn is_sysq(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "sysq")
}

/// Runs an ONNX model (float reference, after the pass pipeline) or a `.sysq` program (integer
/// reference) on `x`: the kind ("float" or "quantized") and the output.
pub fn run_any(model: &Path, x: &Tensor) -> Result<(&'static str, Tensor)> {
    if is_sysq(model) {
        let f = SysqFile::read(model)?;
        Ok(("quantized", run_quantized(&f.program, x)?))
    } else {
        let g = load_optimized(model)?;
        Ok(("float", run_float(&g, x)?))
    }
}

/// How closely `out` follows `reference` (same shape): top-1 agreement, mean squared and largest
/// absolute difference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    pub top1: f64,
    pub mse: f64,
    pub max_abs: f64,
}

/// Compares `out` with `reference` element by element.
pub fn compare(out: &Tensor, reference: &Tensor) -> Result<Agreement> {
    if out.shape != reference.shape {
        return Err(FlowError::Shape {
            got: out.shape.clone(),
            want: reference.shape.clone(),
        });
    }
    let (a, b) = (out.to_f32_vec(), reference.to_f32_vec());
    let classes = out.shape.last().copied().unwrap_or(1).max(1);
    let (pa, pb) = (argmax_rows(&a, classes), argmax_rows(&b, classes));
    let agree = pa.iter().zip(&pb).filter(|(x, y)| x == y).count() as f64 / pa.len().max(1) as f64;
    let (mut se, mut max) = (0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(&b) {
        let d = (*x as f64 - *y as f64).abs();
        se += d * d;
        max = max.max(d);
    }
    Ok(Agreement {
        top1: agree,
        mse: se / a.len().max(1) as f64,
        max_abs: max,
    })
}

/// Wilson score interval (95 %) of a proportion: the honest error bar of a top-1 measured on a
/// few hundred samples, which keeps its width near 0 and 1 where the normal approximation
/// collapses.
pub fn wilson95(k: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let (z, n, p) = (1.959_964, n as f64, k as f64 / n as f64);
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    [(c - h).max(0.0), (c + h).min(1.0)]
}

#[cfg(test)]
mod tests {
    use super::wilson95;

    #[test]
    fn wilson_interval_matches_closed_forms() {
        // No successes: the upper bound is z²/(n+z²) and the lower is 0.
        let [lo, hi] = wilson95(0, 10);
        assert_eq!(lo, 0.0);
        assert!((hi - 3.841_459 / 13.841_459).abs() < 1e-6, "{hi}");
        // Symmetric under k -> n-k, and it contains the point estimate.
        for (k, n) in [(350, 360), (1, 3), (180, 360)] {
            let [a, b] = wilson95(k, n);
            let [c, d] = wilson95(n - k, n);
            assert!((a - (1.0 - d)).abs() < 1e-12 && (b - (1.0 - c)).abs() < 1e-12);
            let p = k as f64 / n as f64;
            assert!(a < p && p < b);
        }
        // 350/360: about ±1.7 points, the resolution of the digits test split.
        let [lo, hi] = wilson95(350, 360);
        assert!(
            (0.948..0.951).contains(&lo) && (0.984..0.987).contains(&hi),
            "{lo} {hi}"
        );
    }
}
