//! `systole profile`: per-layer sensitivity to each candidate weight format, and the histograms
//! behind the activation thresholds, as a table and SVG plots.

use crate::error::{FlowError, Result};
use crate::eval::run_float;
use crate::plot;
use crate::sensitivity::analyze;
use systole_compiler::fxir::StageKind;
use systole_compiler::ir::Graph;
use systole_compiler::lower::{lower, QuantConfig};
use systole_compiler::quant::bitalloc::Layer;
use systole_compiler::quant::budget::{Budget, DEFAULT_DSP_PART};
use systole_compiler::quant::calibrate::{calibrate, Calibration, BINS};
use systole_compiler::quant::spec::WeightSpec;
use systole_compiler::quant::threshold::{threshold, Method};
use systole_compiler::tensor::Tensor;

/// Thresholds of one calibrated activation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActProfile {
    pub name: String,
    pub min: f64,
    pub max: f64,
    /// `(method, threshold)` for minmax, percentile:99.99, mse, kl at the profile's bits.
    pub thresholds: Vec<(String, f64)>,
}

/// Everything `systole profile` reports; `files` are `(file name, SVG or CSV text)`.
pub struct Profile {
    pub layers: Vec<Layer>,
    pub acts: Vec<ActProfile>,
    pub files: Vec<(String, String)>,
}

/// A file-name-safe form of a layer name, at most 64 characters: names of 255 bytes and more
/// (a file system's limit) made the whole profile fail. The layer index in front of it keeps
/// the names distinct.
fn slug(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Calibrates `g` on `calib` and profiles it with the default configuration: what
/// `systole profile` reports. A calibration that refuses the data is [`FlowError::Calibration`].
pub fn profile_model(
    g: &Graph,
    calib: &Tensor,
    candidates: &[WeightSpec],
    bits: u32,
) -> Result<Profile> {
    let cal = calibrate(g, calib, 64, &mut |_, _| {})
        .map_err(|source| FlowError::Calibration { source })?;
    let f = run_float(g, calib)?.to_f32_vec();
    profile(
        g,
        &cal,
        &QuantConfig::default(),
        candidates,
        calib,
        &f,
        bits,
    )
}

/// Sensitivity of every layer to every candidate, the activation thresholds and the plots, for
/// a calibrated graph.
pub fn profile(
    g: &Graph,
    cal: &Calibration,
    base: &QuantConfig,
    candidates: &[WeightSpec],
    x: &Tensor,
    float_out: &[f32],
    bits: u32,
) -> Result<Profile> {
    let layers = analyze(g, cal, base, candidates, &[], x, float_out)?;
    let mut files = Vec::new();
    // Table and grouped bars: layers × candidates.
    // What each choice costs against every budget kind: storage, bit-operations, and DSPs of a
    // layer-parallel design on the default part at reuse factor 1 (`quant/budget.rs`).
    let bitops = Budget::BitOps(0);
    let spec = format!("dsp=0,part={DEFAULT_DSP_PART}");
    let dsp = Budget::parse(&spec).map_err(|e| FlowError::Budget {
        spec,
        msg: e.to_string(),
    })?;
    let mut csv = format!(
        "layer,weights,macs,format,rom_bits,operand_bits,input_bits,bitops,dsp_{},error\n",
        DEFAULT_DSP_PART.replace('-', "_")
    );
    for l in &layers {
        for c in &l.choices {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{:.6e}\n",
                l.name,
                l.weights,
                l.macs,
                c.format,
                c.rom_bits,
                c.operand_bits,
                c.input_bits,
                bitops.cost(l, c),
                dsp.cost(l, c).div_ceil(2),
                c.error
            ));
        }
    }
    files.push(("sensitivity.csv".to_string(), csv));
    let labels: Vec<String> = layers
        .iter()
        .map(|l| l.name.rsplit('/').nth(1).unwrap_or(&l.name).to_string())
        .collect();
    let series: Vec<(String, Vec<f64>)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                c.to_string(),
                layers
                    .iter()
                    .map(|l| l.choices.get(i).map(|ch| ch.error).unwrap_or(0.0))
                    .collect(),
            )
        })
        .collect();
    files.push((
        "sensitivity.svg".to_string(),
        plot::grouped_bars(
            "Per-layer sensitivity (error with only this layer changed)",
            "error",
            &labels,
            &series,
            true,
        )?,
    ));
    // Activation histograms with the thresholds each method picks, for every array output and the input.
    let p = lower(g, cal, base)?;
    let mut acts = Vec::new();
    let mut names: Vec<String> = vec![g.value(g.inputs[0]).name.clone()];
    names.extend(
        p.stages
            .iter()
            .filter(|s| matches!(s.kind, StageKind::Gemm(_)))
            .map(|s| p.tensor(s.output).name.clone()),
    );
    for (i, name) in names.iter().enumerate() {
        let Some(st) = cal.stats.get(name) else {
            continue;
        };
        let signed = st.min < 0.0;
        let levels = if signed {
            (1u32 << (bits - 1)) - 1
        } else {
            (1u32 << bits) - 1
        };
        let methods = [
            Method::MinMax,
            Method::Percentile(99.99),
            Method::Mse,
            Method::Kl,
        ];
        let thresholds: Vec<(String, f64)> = methods
            .iter()
            .map(|m| (m.to_string(), threshold(st, *m, levels)))
            .collect();
        let agg = BINS / 64;
        let counts: Vec<u64> = st.hist.chunks(agg).map(|c| c.iter().sum()).collect();
        let svg = plot::histogram(
            &format!("|{name}| over the calibration set; thresholds at {bits} bits"),
            0.0,
            st.absmax(),
            &counts,
            &thresholds,
        )?;
        files.push((format!("act_{i}_{}.svg", slug(name)), svg));
        acts.push(ActProfile {
            name: name.clone(),
            min: st.min,
            max: st.max,
            thresholds,
        });
    }
    // Weight histograms with the per-tensor range.
    for (i, (s, gs)) in p.gemms().enumerate() {
        let w: Vec<f64> = (0..gs.n * gs.k)
            .map(|j| {
                (gs.weights.decode_one(j / gs.k, j % gs.k) as f64) * gs.weights.scales[j / gs.k]
            })
            .collect();
        let a = w.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
        let mut counts = vec![0u64; 64];
        for v in &w {
            counts[(((v + a) / (2.0 * a) * 64.0) as usize).min(63)] += 1;
        }
        let svg = plot::histogram(
            &format!("weights of {} (as quantized)", s.name),
            -a,
            a,
            &counts,
            &[("-max|w|".into(), -a), ("max|w|".into(), a)],
        )?;
        files.push((format!("weights_{i}_{}.svg", slug(&s.name)), svg));
    }
    Ok(Profile {
        layers,
        acts,
        files,
    })
}
