//! The failure decomposition across data sizes (issue 13): for each student, where its samples
//! ended at each size (passed, not finished, no code, failed), as a Markdown and a CSV table and
//! a stacked-bar figure, so a reader sees how much of a valley is unfinished thinking. pass@1
//! under the after-think policy sits beside pass@1 under LiveCodeBench's rule.

use std::fmt::Write as _;

use super::format::{opt, size_label};
use super::frame::{Frame, W};
use super::svg::{BOTTOM, LEFT, TOP};
use crate::analysis::{Analysis, Provenance};
use crate::valley::{CurvePoint, StudentFit};

/// The four parts, their column names and colours, in the decomposition's order.
const PARTS: [(&str, &str, &str); 4] = [
    ("passed", "Passed", "#2b8a3e"),
    ("not_finished", "Not finished", "#e8890c"),
    ("no_code", "No code", "#8c8c8c"),
    ("failed", "Failed", "#c8381e"),
];

fn points(f: &StudentFit) -> impl Iterator<Item = &CurvePoint> {
    f.baseline.iter().chain(&f.points)
}

/// Whether any run of `f` carries a decomposition.
fn has_decomposition(f: &StudentFit) -> bool {
    points(f).any(|p| p.failure_decomposition.is_some())
}

fn shares(p: &CurvePoint) -> [Option<f64>; 4] {
    match &p.failure_decomposition {
        Some(d) => d.parts().map(|(_, v)| Some(v)),
        None => [None; 4],
    }
}

/// One student's rows as table cells: data, pass@1, pass@1 after-think, the four shares,
/// completion rate.
pub(crate) fn rows(f: &StudentFit) -> Vec<[String; 8]> {
    points(f)
        .map(|p| {
            let [a, b, c, d] = shares(p).map(|v| opt(v, 4));
            [
                size_label(p.data_size),
                format!("{:.3}", p.pass_at_1),
                opt(p.pass_at_1_after_think, 3),
                a,
                b,
                c,
                d,
                opt(p.completion_rate, 4),
            ]
        })
        .collect()
}

/// The header of [`rows`].
pub(crate) const HEADER: [&str; 8] = [
    "Data",
    "pass@1",
    "pass@1 after-think",
    "Passed",
    "Not finished",
    "No code",
    "Failed",
    "Completion rate",
];

/// `decomposition.md`, or `None` when no run carries a decomposition.
pub fn decomposition_md(analysis: &Analysis, provenance: &Provenance) -> Option<String> {
    if !analysis.students.iter().any(has_decomposition) {
        return None;
    }
    let mut s = format!(
        "<!-- {} -->\n# Where the samples ended\n\nEach sample counts once, in the first that applies: passed (whether or not it finished), not finished (cut at the token budget), no code (finished, nothing to run), failed (ran, did not pass). pass@1 grades code as LiveCodeBench extracts it; after-think grades only code after a closed `</think>`.\n",
        provenance.line()
    );
    for f in analysis.students.iter().filter(|f| has_decomposition(f)) {
        let _ = write!(
            s,
            "\n## {}\n\n| {} |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
            f.label,
            HEADER.join(" | ")
        );
        for r in rows(f) {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
        if let Some(line) = summary(f) {
            let _ = writeln!(s, "\n{line}");
        }
    }
    Some(s)
}

/// The lowest point's size and the shares of its unpassed samples that never finished, had no
/// code and failed, in percent.
fn bottom_split(f: &StudentFit) -> Option<(u64, [f64; 3])> {
    let bottom = f.points.iter().find(|p| Some(p.data_size) == f.min_size)?;
    let d = bottom.failure_decomposition?;
    let unpassed = 1.0 - d.passed;
    (unpassed > 0.0).then(|| {
        let pct = |v: f64| 100.0 * v / unpassed;
        (bottom.data_size, [pct(d.not_finished), pct(d.no_code), pct(d.failed)])
    })
}

/// One sentence on the bottom of the valley: how much of it is unfinished thinking.
pub(crate) fn summary(f: &StudentFit) -> Option<String> {
    let (size, [nf, nc, failed]) = bottom_split(f)?;
    Some(format!(
        "At the lowest point ({}), {nf:.0}% of the samples that did not pass never finished, {nc:.0}% finished without code and {failed:.0}% ran and failed.",
        size_label(size)
    ))
}

/// [`summary`] short enough for the figure's subtitle.
fn subtitle(f: &StudentFit) -> String {
    bottom_split(f).map_or_else(
        || "share of samples by outcome, per training size".into(),
        |(size, [nf, nc, failed])| {
            format!(
                "at {} (the lowest point), {nf:.0}% of failures never finished; {nc:.0}% had no code, {failed:.0}% failed",
                size_label(size)
            )
        },
    )
}

/// `decomposition.csv`: `model,label,run,data_size,pass_at_1,pass_at_1_after_think,passed,
/// not_finished,no_code,failed,completion_rate`, for the runs that carry a decomposition.
pub fn decomposition_csv(analysis: &Analysis) -> Option<String> {
    if !analysis.students.iter().any(has_decomposition) {
        return None;
    }
    let num = |v: Option<f64>| v.map_or_else(String::new, |x| format!("{x}"));
    let mut s = String::from(
        "model,label,run,data_size,pass_at_1,pass_at_1_after_think,passed,not_finished,no_code,failed,completion_rate\n",
    );
    for f in &analysis.students {
        for p in points(f).filter(|p| p.failure_decomposition.is_some()) {
            let fields = [
                f.model.clone(),
                f.label.clone(),
                p.run.clone(),
                p.data_size.to_string(),
                format!("{}", p.pass_at_1),
                num(p.pass_at_1_after_think),
            ]
            .into_iter()
            .chain(shares(p).map(num))
            .chain([num(p.completion_rate)])
            .map(|v| super::csv::field(&v))
            .collect::<Vec<_>>();
            let _ = writeln!(s, "{}", fields.join(","));
        }
    }
    Some(s)
}

/// The plot's right edge: the legend sits beside it.
const RIGHT: f64 = W - 170.0;
const FRAME: Frame = Frame { left: LEFT, right: RIGHT, top: TOP, bottom: BOTTOM };

/// The figure of `f`: one stacked bar per run (baseline first, then by size), the four shares
/// from the bottom up, a tick for pass@1 under after-think when given; `None` when no run of
/// `f` carries a decomposition.
pub fn decomposition_svg(f: &StudentFit, provenance: &Provenance) -> Option<String> {
    if !has_decomposition(f) {
        return None;
    }
    let bars: Vec<&CurvePoint> = points(f).collect();
    let slot = (RIGHT - LEFT) / bars.len().max(1) as f64;
    let width = (slot * 0.6).min(80.0);
    let py = |y: f64| BOTTOM - y * (BOTTOM - TOP);
    let mut s = String::new();
    let title = format!("{}: where the samples ended", f.label);
    FRAME.open(&mut s, provenance, &title, &title, (&subtitle(f), 12));
    for k in 0..=5 {
        let y = f64::from(k) * 0.2;
        FRAME.y_grid(&mut s, py(y), &format!("{y:.1}"));
    }
    for (i, p) in bars.iter().enumerate() {
        let x = LEFT + slot * (i as f64 + 0.5);
        let x0 = x - width / 2.0;
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#333333">{}</text>"##,
            BOTTOM + 20.0,
            size_label(p.data_size)
        );
        let Some(d) = &p.failure_decomposition else {
            let _ = writeln!(
                s,
                r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#888888" font-size="11">not given</text>"##,
                BOTTOM - 8.0
            );
            continue;
        };
        let mut base = 0.0;
        for ((_, _, colour), (_, v)) in PARTS.iter().zip(d.parts()) {
            let (y1, y0) = (py(base), py(base + v));
            let _ = writeln!(
                s,
                r##"<rect x="{x0:.1}" y="{y0:.1}" width="{width:.1}" height="{:.1}" fill="{colour}"/>"##,
                (y1 - y0).max(0.0)
            );
            if y1 - y0 >= 16.0 {
                let _ = writeln!(
                    s,
                    r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#ffffff" font-size="11">{:.0}%</text>"##,
                    (y0 + y1) / 2.0 + 4.0,
                    v * 100.0
                );
            }
            base += v;
        }
        if let Some(a) = p.pass_at_1_after_think {
            let y = py(a);
            let _ = writeln!(
                s,
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#111111" stroke-width="2" stroke-dasharray="4 2"/>"##,
                x0 - 4.0,
                x0 + width + 4.0
            );
        }
    }
    FRAME.axes(&mut s, "training examples", "share of samples");
    // legend, right of the plot, top to bottom in stacking order reversed (as the bars read)
    let lx = RIGHT + 16.0;
    for (k, (_, name, colour)) in PARTS.iter().rev().enumerate() {
        let y = TOP + 10.0 + 22.0 * k as f64;
        let _ = write!(
            s,
            r##"<rect x="{lx}" y="{y:.1}" width="14" height="14" fill="{colour}"/>
<text x="{0}" y="{1:.1}" font-size="12" fill="#222222">{name}</text>
"##,
            lx + 20.0,
            y + 11.5
        );
    }
    if bars.iter().any(|p| p.pass_at_1_after_think.is_some()) {
        let y = TOP + 10.0 + 22.0 * 4.0 + 7.0;
        let _ = write!(
            s,
            r##"<line x1="{lx}" y1="{y:.1}" x2="{0}" y2="{y:.1}" stroke="#111111" stroke-width="2" stroke-dasharray="4 2"/>
<text x="{1}" y="{2:.1}" font-size="12" fill="#222222">pass@1, after-think</text>
"##,
            lx + 14.0,
            lx + 20.0,
            y + 4.0
        );
    }
    s.push_str("</svg>\n");
    Some(s)
}
