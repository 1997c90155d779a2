//! SVG charts for reports (`systole profile`), drawn with plotters' SVG backend into strings so
//! callers write them atomically. Text is SVG text (no font files needed).

use plotters::prelude::*;

use crate::error::{FlowError, Result};

fn err<E: std::fmt::Display>(e: E) -> FlowError {
    FlowError::Plot { msg: e.to_string() }
}

/// Grouped bars: one group per label, one bar per series; `log` draws the value axis in log10.
pub fn grouped_bars(
    title: &str,
    y_label: &str,
    labels: &[String],
    series: &[(String, Vec<f64>)],
    log: bool,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let tf = |v: f64| if log { v.max(1e-12).log10() } else { v };
        let vals: Vec<f64> = series
            .iter()
            .flat_map(|(_, v)| v.iter().map(|&x| tf(x)))
            .collect();
        let (lo, hi) = vals
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (lo, hi) = if lo.is_finite() {
            (
                lo.min(0.0) - 0.5 * log as u8 as f64,
                hi + 0.1 * (hi - lo).abs().max(1e-9),
            )
        } else {
            (0.0, 1.0)
        };
        let groups = labels.len().max(1);
        let per = series.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(60)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..groups as f64, lo..hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            // One tick per group boundary (`groups` ticks make plotters step by 2 on 0..groups).
            .x_labels(groups + 1)
            .x_label_formatter(&|x| labels.get(x.floor() as usize).cloned().unwrap_or_default())
            .y_desc(if log {
                format!("log10 {y_label}")
            } else {
                y_label.to_string()
            })
            .draw()
            .map_err(err)?;
        for (si, (name, v)) in series.iter().enumerate() {
            let color = Palette99::pick(si).to_rgba();
            let w = 0.8 / per as f64;
            chart
                .draw_series(v.iter().enumerate().map(|(g, &y)| {
                    let x0 = g as f64 + 0.1 + si as f64 * w;
                    Rectangle::new([(x0, lo), (x0 + w * 0.9, tf(y))], color.filled())
                }))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A histogram (`counts` over equal bins of `[lo, hi]`) with labelled vertical marks.
pub fn histogram(
    title: &str,
    lo: f64,
    hi: f64,
    counts: &[u64],
    marks: &[(String, f64)],
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = counts.len().max(1);
        let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
        let ylog = |c: u64| ((c as f64) + 1.0).log10();
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0f64..(top + 1.0).log10() * 1.1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .y_desc("log10(count + 1)")
            .draw()
            .map_err(err)?;
        let w = (hi - lo) / n as f64;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let x0 = lo + i as f64 * w;
                Rectangle::new([(x0, 0.0), (x0 + w, ylog(c))], BLUE.mix(0.6).filled())
            }))
            .map_err(err)?;
        for (i, (name, x)) in marks.iter().enumerate() {
            let color = Palette99::pick(i + 1).to_rgba();
            let ymax = (top + 1.0).log10() * 1.05;
            chart
                .draw_series(LineSeries::new(
                    vec![(*x, 0.0), (*x, ymax)],
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("{name} = {x:.4}"))
                .legend(move |(a, b)| {
                    PathElement::new(vec![(a, b), (a + 12, b)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One series of an [`xy_log`] chart: points as dots, or joined by a line (roofs, fronts).
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub line: bool,
}

/// A log-log chart of point and line series (`systole sweep`'s Pareto scatter and roofline).
/// Non-positive values cannot sit on a log axis and are left out.
pub fn xy_log(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let pos = |v: &(f64, f64)| v.0 > 0.0 && v.1 > 0.0 && v.0.is_finite() && v.1.is_finite();
        let all: Vec<(f64, f64)> = series
            .iter()
            .flat_map(|s| s.points.iter().copied().filter(pos))
            .collect();
        let bound = |f: fn(&(f64, f64)) -> f64| {
            let lo = all.iter().map(f).fold(f64::INFINITY, f64::min);
            let hi = all.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
            if lo.is_finite() {
                // Bounded: plotters' log axis never finished laying out ticks up to infinity
                // (a latency of 1e308 times 1.5).
                (lo / 1.5, (hi * 1.5).max(lo * 2.0).min(1e300))
            } else {
                (1.0, 10.0)
            }
        };
        let (x0, x1) = bound(|p| p.0);
        let (y0, y1) = bound(|p| p.1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|x| format!("{x:.3e}"))
            .y_label_formatter(&|y| format!("{y:.3e}"))
            .draw()
            .map_err(err)?;
        for (si, s) in series.iter().enumerate() {
            let color = Palette99::pick(si).to_rgba();
            let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(pos).collect();
            if s.line {
                chart
                    .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                    .map_err(err)?
                    .label(s.name.clone())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], color));
            } else {
                chart
                    .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                    .map_err(err)?
                    .label(s.name.clone())
                    .legend(move |(x, y)| Circle::new((x + 5, y), 3, color.filled()));
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}
