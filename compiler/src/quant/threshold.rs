//! Clipping thresholds from a calibration histogram: min-max, percentile, MSE-optimal and KL
//! (entropy, TensorRT's method). Each returns the magnitude `t` that maps to the largest code.

use std::fmt;
use std::str::FromStr;

use super::calibrate::{TensorStats, BINS};
use super::QuantError;

/// How a threshold is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// The largest magnitude seen.
    MinMax,
    /// The given percentile of `|x|` (e.g. 99.99).
    Percentile(f64),
    /// The threshold minimizing the expected squared error (clipping plus rounding).
    Mse,
    /// The threshold minimizing KL(P‖Q) between the clipped and the quantized histograms.
    Kl,
}

pub const METHODS: &str = "minmax, percentile:P (e.g. percentile:99.99), mse, kl";

impl FromStr for Method {
    type Err = QuantError;
    fn from_str(s: &str) -> Result<Method, QuantError> {
        let bad = || {
            QuantError::Format(format!(
                "unknown calibration method '{s}'; valid: {METHODS}"
            ))
        };
        Ok(match s {
            "minmax" => Method::MinMax,
            "mse" => Method::Mse,
            "kl" | "entropy" => Method::Kl,
            _ => {
                let p: f64 = s
                    .strip_prefix("percentile:")
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(bad)?;
                if !(p > 0.0 && p <= 100.0) {
                    return Err(bad());
                }
                Method::Percentile(p)
            }
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Method::MinMax => write!(f, "minmax"),
            Method::Percentile(p) => write!(f, "percentile:{p}"),
            Method::Mse => write!(f, "mse"),
            Method::Kl => write!(f, "kl"),
        }
    }
}

/// The threshold for a quantizer with `levels` positive steps (`2^(b-1) - 1` signed,
/// `2^b - 1` unsigned). Never above the observed maximum; 0 only for an all-zero tensor.
pub fn threshold(s: &TensorStats, method: Method, levels: u32) -> f64 {
    let amax = s.absmax();
    if amax <= 0.0 || !amax.is_finite() {
        return 0.0;
    }
    let w = s.bin_width();
    let total: u64 = s.hist.iter().sum();
    if total == 0 {
        return amax;
    }
    match method {
        Method::MinMax => amax,
        Method::Percentile(p) => {
            let want = (p / 100.0 * total as f64).ceil() as u64;
            let mut acc = 0;
            for (i, &c) in s.hist.iter().enumerate() {
                acc += c;
                if acc >= want {
                    return (i + 1) as f64 * w;
                }
            }
            amax
        }
        Method::Mse => {
            let l = f64::from(levels);
            let mut best = (f64::INFINITY, amax);
            for i in (BINS / 64).max(1)..=BINS {
                let t = i as f64 * w;
                let step = t / l;
                let mut err = 0.0;
                for (b, &c) in s.hist.iter().enumerate() {
                    if c == 0 {
                        continue;
                    }
                    let center = (b as f64 + 0.5) * w;
                    err += c as f64
                        * if center <= t {
                            step * step / 12.0
                        } else {
                            (center - t).powi(2)
                        };
                }
                if err < best.0 {
                    best = (err, t);
                }
            }
            best.1
        }
        Method::Kl => kl_threshold(&s.hist, levels as usize) as f64 * w,
    }
}

/// TensorRT's entropy calibration: for each candidate bin count `i`, P is the histogram clipped
/// to `i` bins (outliers added to the last), Q is P merged into `levels` bins and spread back over
/// P's nonzero bins; the `i` with the smallest KL(P‖Q) wins. Returns the bin count.
fn kl_threshold(hist: &[u64], levels: usize) -> usize {
    let levels = levels.max(1);
    let n = hist.len();
    if levels >= n {
        return n;
    }
    let mut best = (f64::INFINITY, n);
    for i in levels..=n {
        let mut p: Vec<f64> = hist[..i].iter().map(|&c| c as f64).collect();
        let outliers: f64 = hist[i..].iter().map(|&c| c as f64).sum();
        p[i - 1] += outliers;
        let mut q = vec![0.0; i];
        for j in 0..levels {
            let (a, b) = (
                j * i / levels,
                ((j + 1) * i / levels).max(j * i / levels + 1),
            );
            // Q merges the clipped histogram without the outliers; it spreads over P's nonzero bins.
            let nonzero = p[a..b].iter().filter(|&&c| c > 0.0).count();
            if nonzero == 0 {
                continue;
            }
            let sum: f64 = hist[a..b].iter().map(|&c| c as f64).sum();
            for k in a..b {
                if p[k] > 0.0 {
                    q[k] = sum / nonzero as f64;
                }
            }
        }
        let (ps, qs): (f64, f64) = (p.iter().sum(), q.iter().sum());
        if ps == 0.0 || qs == 0.0 {
            continue;
        }
        let mut kl = 0.0;
        for k in 0..i {
            if p[k] > 0.0 {
                let pk = p[k] / ps;
                // A bin P has and Q lacks gets a tiny mass (TensorRT smooths the same way).
                let qk = (q[k] / qs).max(1e-12);
                kl += pk * (pk / qk).ln();
            }
        }
        if kl < best.0 {
            best = (kl, i);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(values: &[f64]) -> TensorStats {
        let amax = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut hist = vec![0; BINS];
        for v in values {
            hist[((v.abs() / (amax / BINS as f64)) as usize).min(BINS - 1)] += 1;
        }
        TensorStats {
            min: values.iter().cloned().fold(f64::INFINITY, f64::min),
            max: values.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            count: values.len() as u64,
            hist,
        }
    }

    #[test]
    fn clipping_methods_cut_a_rare_outlier_and_minmax_keeps_it() {
        // 10,000 values in [0, 1), most of them small (a ReLU output's shape), and one at 100.
        let mut v: Vec<f64> = (0..10_000)
            .map(|i| ((i % 1000) as f64 / 1000.0).powi(3))
            .collect();
        v.push(100.0);
        let s = stats(&v);
        assert_eq!(threshold(&s, Method::MinMax, 127), 100.0);
        let p = threshold(&s, Method::Percentile(99.9), 127);
        assert!(p > 0.9 && p < 1.2, "{p}");
        assert!(threshold(&s, Method::Percentile(50.0), 127) < 0.2);
        let k = threshold(&s, Method::Kl, 127);
        assert!(k < 10.0, "{k}");
    }

    /// Squared error of quantizing `v` with threshold `t` and 127 levels, exactly.
    fn sq_err(v: &[f64], t: f64) -> f64 {
        let step = t / 127.0;
        v.iter()
            .map(|&x| (x - (x / step).round().clamp(-127.0, 127.0) * step).powi(2))
            .sum()
    }

    #[test]
    fn mse_threshold_beats_minmax_and_percentile_on_the_true_error() {
        // A heavy tail: most values small, a few large.
        let v: Vec<f64> = (0..20_000)
            .map(|i| ((i % 2000) as f64 / 2000.0).powi(6) * 10.0)
            .collect();
        let s = stats(&v);
        let m = threshold(&s, Method::Mse, 127);
        let e = sq_err(&v, m);
        for other in [
            Method::MinMax,
            Method::Percentile(99.0),
            Method::Percentile(90.0),
        ] {
            let o = threshold(&s, other, 127);
            assert!(
                e <= sq_err(&v, o) * 1.05,
                "mse t={m} err {e} vs {other} t={o} err {}",
                sq_err(&v, o)
            );
        }
    }

    #[test]
    fn all_zero_tensors_give_zero_and_methods_parse() {
        let s = stats(&[0.0; 10]);
        for m in ["minmax", "mse", "kl", "percentile:99.99"] {
            let m: Method = m.parse().unwrap();
            assert_eq!(threshold(&s, m, 127), 0.0);
            assert_eq!(m.to_string().parse::<Method>().unwrap(), m);
        }
        assert!("percentile:0".parse::<Method>().is_err());
        assert!("max"
            .parse::<Method>()
            .unwrap_err()
            .to_string()
            .contains("valid:"));
    }
}
