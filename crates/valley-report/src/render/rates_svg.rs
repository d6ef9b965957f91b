//! The paper's Table 1 as a figure, one per student: completion rate and think-tag rate by
//! training examples on a log axis, the untrained baseline at the left as its own tick, each
//! value written beside its point. Drawn beside the pass@1 figure ([`super::valley_svg`]), with
//! the same size, font and axis conventions.

use std::fmt::Write as _;

use super::format::size_label;
use super::frame::{Frame, H, W};
use crate::analysis::Provenance;
use crate::valley::{CurvePoint, StudentFit};

const LEFT: f64 = 72.0;
const RIGHT: f64 = W - 28.0;
const TOP: f64 = 78.0;
const BOTTOM: f64 = H - 64.0;
const FRAME: Frame = Frame { left: LEFT, right: RIGHT, top: TOP, bottom: BOTTOM };
const COMPLETION: &str = "#1f5fa8";
const THINK: &str = "#c8381e";

/// One rate of Table 1: its name, colour, label offset and how to read it from a point.
struct Series {
    name: &'static str,
    key: &'static str,
    colour: &'static str,
    get: fn(&CurvePoint) -> Option<f64>,
}

const SERIES: [Series; 2] = [
    Series {
        name: "completion rate",
        key: "completion_rate",
        colour: COMPLETION,
        get: |p| p.completion_rate,
    },
    Series {
        name: "think-tag rate",
        key: "think_tag_rate",
        colour: THINK,
        get: |p| p.think_tag_rate,
    },
];

/// The figure of `fit`'s rates, or `None` when no run of the student has either rate.
pub fn rates_svg(fit: &StudentFit, provenance: &Provenance) -> Option<String> {
    let runs: Vec<&CurvePoint> = fit.baseline.iter().chain(&fit.points).collect();
    if !runs.iter().any(|p| SERIES.iter().any(|s| (s.get)(p).is_some())) {
        return None;
    }
    // x: log10(size) of the trained runs; the baseline sits one slot to the left of the
    // smallest, past a break in the axis.
    let logs: Vec<f64> = fit.points.iter().map(|p| (p.data_size as f64).log10()).collect();
    let (first, last) = match (logs.first(), logs.last()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => (0.0, 0.0),
    };
    let span = (last - first).max(1.0);
    let base_x = first - 0.4 * span;
    let lo = if fit.baseline.is_some() { base_x } else { first } - 0.12 * span;
    let hi = last + 0.12 * span;
    let x_of = |p: &CurvePoint| {
        if p.data_size == 0 { base_x } else { (p.data_size as f64).log10() }
    };
    let px = |x: f64| LEFT + (x - lo) / (hi - lo) * (RIGHT - LEFT);
    let py = |y: f64| BOTTOM - y * (BOTTOM - TOP);

    let mut s = String::new();
    FRAME.open(
        &mut s,
        provenance,
        &format!("{}: completion and think-tag rates by training examples", fit.label),
        &format!("{}: completion and think-tag rates", fit.label),
        (&subtitle(fit), 13),
    );
    // grid and y ticks: rates are shares, 0 to 1
    for k in 0..=5 {
        let y = f64::from(k) / 5.0;
        FRAME.y_grid(&mut s, py(y), &format!("{y:.1}"));
    }
    for p in &runs {
        FRAME.x_tick(&mut s, px(x_of(p)), &size_label(p.data_size));
    }
    FRAME.axes(
        &mut s,
        "training examples (log scale; the untrained baseline at the left)",
        "share of responses",
    );
    if fit.baseline.is_some() && !fit.points.is_empty() {
        // the axis break between the baseline and the trained sizes
        let xb = px((base_x + first) / 2.0);
        let _ = writeln!(
            s,
            r##"<text x="{xb:.1}" y="{0:.1}" text-anchor="middle" fill="#333333">//</text>"##,
            BOTTOM + 4.5
        );
    }
    for (k, series) in SERIES.iter().enumerate() {
        let pts: Vec<(f64, f64)> = runs
            .iter()
            .filter_map(|p| Some((px(x_of(p)), py((series.get)(p)?.clamp(0.0, 1.0)))))
            .collect();
        let values: Vec<f64> = runs.iter().filter_map(|p| (series.get)(p)).collect();
        // trained runs joined by a solid line, the baseline to the first by a dotted one
        let trained = if fit.baseline.as_ref().is_some_and(|b| (series.get)(b).is_some()) {
            &pts[1..]
        } else {
            &pts[..]
        };
        if trained.len() >= 2 {
            let line: Vec<String> = trained.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = writeln!(
                s,
                r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"##,
                line.join(" "),
                series.colour
            );
        }
        if trained.len() < pts.len()
            && let (Some((x0, y0)), Some((x1, y1))) = (pts.first(), trained.first())
        {
            let _ = writeln!(
                s,
                r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}" stroke="{}" stroke-width="1.5" stroke-dasharray="3 4"/>"##,
                series.colour
            );
        }
        // completion values above their points, think-tag values below, so equal rates stay legible
        let dy = if k == 0 { -9.0 } else { 17.0 };
        for ((x, y), v) in pts.iter().zip(&values) {
            let marker = if k == 0 {
                format!(r##"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="{}"/>"##, series.colour)
            } else {
                format!(
                    r##"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{}"/>"##,
                    x - 4.0,
                    y - 4.0,
                    series.colour
                )
            };
            let _ = write!(
                s,
                "{marker}\n<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{}\" font-size=\"12\">{v:.2}</text>\n",
                y + dy,
                series.colour
            );
        }
    }
    // legend, in the header's right half
    for (k, series) in SERIES.iter().enumerate() {
        let x = RIGHT - 300.0 + 150.0 * k as f64;
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="62" x2="{0}" y2="62" stroke="{1}" stroke-width="2"/>
<text x="{2}" y="66" font-size="12" fill="#222222">{3}</text>
"##,
            x + 22.0,
            series.colour,
            x + 28.0,
            series.name
        );
    }
    s.push_str("</svg>\n");
    Some(s)
}

/// The rates' log-linear trends over the trained sizes, or why there is none.
fn subtitle(fit: &StudentFit) -> String {
    let parts: Vec<String> = SERIES
        .iter()
        .filter_map(|series| {
            let trained: Vec<f64> = fit.points.iter().filter_map(series.get).collect();
            match fit.rates.get(series.key) {
                Some(r) => {
                    Some(format!("{} {:+.2} per tenfold data", series.name, r.slope_per_decade))
                }
                None if trained.len() >= 2 => {
                    Some(format!("{} {:.2} at every trained size", series.name, trained[0]))
                }
                None => None,
            }
        })
        .collect();
    if parts.is_empty() {
        "the paper's Table 1: how often answers finish, and open with <think>".to_owned()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::IntervalSource;

    fn point(size: u64, completion: Option<f64>, think: Option<f64>) -> CurvePoint {
        CurvePoint {
            run: format!("r{size}"),
            data_size: size,
            pass_at_1: 0.0,
            pass_at_1_ci95: [0.0, 0.0],
            ci_source: IntervalSource::Given,
            completion_rate: completion,
            think_tag_rate: think,
            pass_at_1_after_think: None,
            failure_decomposition: None,
            n_problems: 16,
            n_samples: 16,
        }
    }

    fn fit(baseline: Option<CurvePoint>, points: Vec<CurvePoint>) -> StudentFit {
        let runs: Vec<valley_types::RunResult> = baseline
            .iter()
            .chain(&points)
            .map(|p| {
                serde_json::from_value(serde_json::json!({
                    "run": p.run, "model": "m", "data_size": p.data_size, "pass_at_1": 0.0,
                    "completion_rate": p.completion_rate, "think_tag_rate": p.think_tag_rate,
                    "n_problems": 16, "n_samples": 16,
                }))
                .unwrap()
            })
            .collect();
        let study = crate::Study::new(runs).unwrap();
        crate::analyse(&study.curves[0], &study.runs, &valley_metrics::Bootstrap::default())
    }

    fn provenance() -> Provenance {
        Provenance {
            valley_version: "0".into(),
            git_revision: "x".into(),
            results: "r.jsonl".into(),
            results_sha256: "0".into(),
            runs: 3,
        }
    }

    #[test]
    fn both_rates_are_drawn_with_the_baseline_and_their_trends() {
        let f = fit(
            Some(point(0, Some(0.9), Some(0.0))),
            vec![point(10, Some(0.5), Some(0.25)), point(100, Some(0.75), Some(0.875))],
        );
        let svg = rates_svg(&f, &provenance()).unwrap();
        for want in [
            ">Baseline</text>",
            ">10</text>",
            ">100</text>",
            ">0.90</text>",
            ">0.25</text>",
            ">0.88</text>",
            "completion rate +0.25 per tenfold data; think-tag rate +0.62 per tenfold data",
            "stroke-dasharray=\"3 4\"",
        ] {
            assert!(svg.contains(want), "{want} missing:\n{svg}");
        }
        // two series: one polyline each over the trained runs
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(crate::render::svg_to_png(&svg, 1.0).is_ok());
    }

    #[test]
    fn flat_rates_say_so_and_no_rates_give_no_figure() {
        let f = fit(
            Some(point(0, Some(1.0), Some(0.0))),
            vec![point(10, Some(1.0), Some(0.0)), point(100, Some(1.0), Some(0.0))],
        );
        let svg = rates_svg(&f, &provenance()).unwrap();
        assert!(
            svg.contains("completion rate 1.00 at every trained size; think-tag rate 0.00 at every trained size"),
            "{svg}"
        );
        let f = fit(Some(point(0, None, None)), vec![point(10, None, None)]);
        assert!(rates_svg(&f, &provenance()).is_none());
    }
}
