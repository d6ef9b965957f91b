//! The valley figure of one student, as hand-written SVG: pass@1 by training examples on a log
//! axis, 95% intervals as error bars, the baseline as a dashed line with its interval as a band,
//! the bottom ringed, the log-linear fit past the bottom and the power law beside it.

use std::fmt::Write as _;

use super::format::size_label;
use super::frame::{Frame, H, W, xml};
use crate::analysis::Provenance;
use crate::valley::StudentFit;

/// The plot area's left, top and bottom edges (the decomposition figure's too).
pub(super) const LEFT: f64 = 72.0;
const RIGHT: f64 = W - 28.0;
pub(super) const TOP: f64 = 64.0;
pub(super) const BOTTOM: f64 = H - 64.0;
const FRAME: Frame = Frame { left: LEFT, right: RIGHT, top: TOP, bottom: BOTTOM };
const POINT: &str = "#1f5fa8";
const FIT: &str = "#c8381e";
const POWER: &str = "#2b8a3e";
const BASE: &str = "#666666";

/// The figure of `fit`.
pub fn valley_svg(fit: &StudentFit, provenance: &Provenance) -> String {
    let sizes: Vec<f64> = fit.points.iter().map(|p| (p.data_size as f64).log10()).collect();
    let (lo, hi) = match (sizes.first(), sizes.last()) {
        (Some(a), Some(b)) if b > a => (a - 0.25 * (b - a).max(1.0), b + 0.25 * (b - a).max(1.0)),
        (Some(a), _) => (a - 0.5, a + 0.5),
        _ => (2.0, 5.0),
    };
    let mut top = fit
        .points
        .iter()
        .chain(&fit.baseline)
        .map(|p| p.pass_at_1_ci95[1].max(p.pass_at_1))
        .fold(0.0, f64::max);
    if let Some((a, b)) = fit.line() {
        top = top.max(a + b * hi);
    }
    let (y_max, step) = nice_axis(top * 1.08);
    let px = |x: f64| LEFT + (x - lo) / (hi - lo) * (RIGHT - LEFT);
    let py = |y: f64| BOTTOM - y / y_max * (BOTTOM - TOP);

    let mut s = String::new();
    let verdict = if fit.valley_detected {
        format!(
            "valley at {}: {:.2}× the baseline",
            fit.min_size.map_or_else(String::new, size_label),
            fit.depth_ratio.unwrap_or(f64::NAN)
        )
    } else {
        "no valley detected".to_owned()
    };
    let title = format!("{}: pass@1 by training examples", fit.label);
    FRAME.open(&mut s, provenance, &title, &title, (&verdict, 13));
    // grid and y ticks
    let mut y = 0.0;
    while y <= y_max + 1e-9 {
        FRAME.y_grid(&mut s, py(y), &trim(y, step));
        y += step;
    }
    // x ticks at the data sizes
    for p in &fit.points {
        FRAME.x_tick(&mut s, px((p.data_size as f64).log10()), &size_label(p.data_size));
    }
    FRAME.axes(&mut s, "training examples (log scale)", "pass@1");
    // baseline band and line
    if let Some(b) = &fit.baseline {
        let (y0, y1) = (py(b.pass_at_1_ci95[1]), py(b.pass_at_1_ci95[0]));
        let _ = write!(
            s,
            r##"<rect x="{LEFT}" y="{y0:.1}" width="{0:.1}" height="{1:.1}" fill="{BASE}" fill-opacity="0.13"/>
<line x1="{LEFT}" y1="{2:.1}" x2="{RIGHT}" y2="{2:.1}" stroke="{BASE}" stroke-width="1.5" stroke-dasharray="7 5"/>
<text x="{3}" y="{4:.1}" text-anchor="end" fill="{BASE}">baseline {5:.3}</text>
"##,
            RIGHT - LEFT,
            (y1 - y0).max(0.5),
            py(b.pass_at_1),
            RIGHT - 6.0,
            py(b.pass_at_1) - 7.0,
            b.pass_at_1
        );
    }
    // fits past the bottom
    if let (Some((a, b)), Some(first), Some(last)) =
        (fit.line(), fit.fit_sizes.first(), fit.fit_sizes.last())
    {
        let (x0, x1) = ((*first as f64).log10(), (*last as f64).log10());
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{FIT}" stroke-width="2"/>"##,
            px(x0),
            py(a + b * x0),
            px(x1),
            py(a + b * x1)
        );
        if let Some(p) = &fit.power_law {
            let pts: Vec<String> = (0..=40)
                .map(|k| {
                    let x = x0 + (x1 - x0) * f64::from(k) / 40.0;
                    format!("{:.1},{:.1}", px(x), py(p.at(10f64.powf(x)).min(y_max)))
                })
                .collect();
            let _ = writeln!(
                s,
                r##"<polyline points="{}" fill="none" stroke="{POWER}" stroke-width="1.5" stroke-dasharray="3 3"/>"##,
                pts.join(" ")
            );
        }
    }
    // points with error bars
    for p in &fit.points {
        let x = px((p.data_size as f64).log10());
        let (y0, y1, yv) = (py(p.pass_at_1_ci95[0]), py(p.pass_at_1_ci95[1]), py(p.pass_at_1));
        let ringed = fit.valley_detected && Some(p.data_size) == fit.min_size;
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}" stroke="{POINT}" stroke-width="1.5"/>
<line x1="{0:.1}" y1="{y0:.1}" x2="{1:.1}" y2="{y0:.1}" stroke="{POINT}" stroke-width="1.5"/>
<line x1="{0:.1}" y1="{y1:.1}" x2="{1:.1}" y2="{y1:.1}" stroke="{POINT}" stroke-width="1.5"/>
<circle cx="{x:.1}" cy="{yv:.1}" r="4.5" fill="{POINT}"/>
<text x="{2:.1}" y="{3:.1}" fill="{POINT}" font-size="12">{4:.3}</text>
"##,
            x - 5.0,
            x + 5.0,
            x + if ringed { 15.0 } else { 9.0 },
            yv + 4.0,
            p.pass_at_1
        );
        if ringed {
            let _ = writeln!(
                s,
                r##"<circle cx="{x:.1}" cy="{yv:.1}" r="10" fill="none" stroke="{FIT}" stroke-width="2"/>"##
            );
        }
    }
    // legend, top left inside the plot
    let mut legend = vec![(POINT, "solid", "pass@1 with 95% interval".to_owned())];
    if fit.baseline.is_some() {
        legend.push((BASE, "7 5", "untrained baseline (band: 95% interval)".to_owned()));
    }
    if let (Some(b), Some(r2)) = (fit.slope_per_decade, fit.r2) {
        legend.push((
            FIT,
            "solid",
            format!("log-linear past the bottom: {b:+.3}/decade, R² {r2:.3}"),
        ));
    }
    if let Some(p) = &fit.power_law {
        legend.push((
            POWER,
            "3 3",
            format!("power law {:.3}·n^{:.2}, R² {:.3}", p.coefficient, p.exponent, p.r2),
        ));
    }
    let lh = 18.0;
    let _ = writeln!(
        s,
        r##"<rect x="{0}" y="{1}" width="380" height="{2:.1}" fill="#ffffff" fill-opacity="0.85" stroke="#dddddd"/>"##,
        LEFT + 8.0,
        TOP + 6.0,
        lh * legend.len() as f64 + 8.0
    );
    for (k, (colour, dash, text)) in legend.iter().enumerate() {
        let yk = TOP + 20.0 + lh * k as f64;
        let dash =
            if *dash == "solid" { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
        let _ = write!(
            s,
            r##"<line x1="{0}" y1="{yk:.1}" x2="{1}" y2="{yk:.1}" stroke="{colour}" stroke-width="2"{dash}/>
<text x="{2}" y="{3:.1}" font-size="12" fill="#222222">{4}</text>
"##,
            LEFT + 16.0,
            LEFT + 40.0,
            LEFT + 48.0,
            yk + 4.0,
            xml(text)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// An axis top at or above `top` and a tick step giving 4 to 8 ticks.
fn nice_axis(top: f64) -> (f64, f64) {
    let top = if top > 0.0 { top } else { 1.0 };
    let raw = top / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((top / step).ceil() * step, step)
}

/// A tick label with as many decimals as the step needs.
fn trim(v: f64, step: f64) -> String {
    let text = format!("{step:.6}");
    let digits = text.trim_end_matches('0').split('.').nth(1).map_or(0, str::len);
    format!("{v:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_round() {
        let (top, step) = nice_axis(0.29);
        assert!((top - 0.3).abs() < 1e-12 && (step - 0.1).abs() < 1e-12, "{top} {step}");
        let (top, step) = nice_axis(0.14);
        assert!((top - 0.15).abs() < 1e-12 && (step - 0.05).abs() < 1e-12, "{top} {step}");
        assert_eq!(trim(0.15, 0.05), "0.15");
        assert_eq!(trim(0.2, 0.1), "0.2");
        assert_eq!(trim(0.075, 0.025), "0.075");
        assert_eq!(xml("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
