//! The whole report: render every artifact of an [`Analysis`] in memory. Writing them is
//! the caller's job (the `valley report` command stages them and renames them into place
//! together).

use crate::analysis::{Analysis, Artifact, Figure, Provenance, ReportConfig, StudentFigures};
use crate::render::{self, RenderPngError};

/// `fit.json`: the rule, the settings, the provenance and one entry per student.
pub fn fit_json(
    analysis: &Analysis,
    provenance: &Provenance,
    config: &ReportConfig,
) -> serde_json::Value {
    serde_json::json!({
        "version": 1,
        "rule": RULE,
        "confidence": 0.95,
        "bootstrap": config.bootstrap,
        "provenance": provenance,
        "students": analysis.students,
    })
}

/// The detection rule in one paragraph (the full statement is in the `valley` module docs).
pub const RULE: &str = "bottom = the trained size with the lowest pass@1; valley_detected when \
(1) baseline - bottom has a 95% interval above zero and (2) the largest size minus the bottom has \
a 95% interval above zero (paired bootstrap over shared problems when per-problem outcomes exist, \
otherwise independent normal intervals from each run's interval); the log-linear fit \
score = a + b*log10(size) covers the bottom and every larger size, slope_per_decade = b";

/// Renders every artifact of the report.
pub fn render_report(
    analysis: &Analysis,
    provenance: &Provenance,
    config: &ReportConfig,
) -> Result<Vec<Artifact>, RenderPngError> {
    let mut out = Vec::new();
    let mut text = |path: &str, s: String| {
        out.push(Artifact { path: path.to_owned(), bytes: s.into_bytes() });
    };
    let json = |v: &serde_json::Value| {
        format!("{}\n", serde_json::to_string_pretty(v).expect("a JSON value always serializes"))
    };
    text("fit.json", json(&fit_json(analysis, provenance, config)));
    text("scaling.md", render::scaling_md(analysis, provenance));
    text("scaling.csv", render::scaling_csv(analysis));
    text("scaling.tex", render::scaling_tex(analysis, provenance));
    text("runs.csv", render::runs_csv(analysis));
    if let Some(t) = &analysis.splits {
        text(
            "splits.json",
            json(&serde_json::json!({"version": 1, "provenance": provenance, "splits": t})),
        );
    }
    if let Some(s) = render::splits_md(analysis, provenance) {
        text("splits.md", s);
    }
    if let Some(s) = render::splits_csv(analysis) {
        text("splits.csv", s);
    }
    if let Some(s) = render::comparisons_csv(analysis) {
        text("comparisons.csv", s);
    }
    if let Some(s) = render::splits_tex(analysis, provenance) {
        text("splits.tex", s);
    }
    if let Some(s) = render::decomposition_md(analysis, provenance) {
        text("decomposition.md", s);
    }
    if let Some(s) = render::decomposition_csv(analysis) {
        text("decomposition.csv", s);
    }
    let mut figures = Vec::new();
    for (f, slug) in analysis.students.iter().zip(figure_slugs(analysis)) {
        let mut figure = |kind: &str, svg: String| -> Result<Figure, RenderPngError> {
            let names = Figure::named(kind, &slug);
            let png = render::svg_to_png(&svg, config.png_scale)?;
            out.push(Artifact { path: names.svg.clone(), bytes: svg.into_bytes() });
            out.push(Artifact { path: names.png.clone(), bytes: png });
            Ok(names)
        };
        let valley = figure("valley", render::valley_svg(f, provenance))?;
        let rates = render::rates_svg(f, provenance).map(|svg| figure("rates", svg)).transpose()?;
        let decomposition = render::decomposition_svg(f, provenance)
            .map(|svg| figure("decomposition", svg))
            .transpose()?;
        figures.push(StudentFigures { valley, rates, decomposition });
    }
    out.push(Artifact {
        path: "index.html".into(),
        bytes: render::index_html(analysis, &figures, provenance).into_bytes(),
    });
    Ok(out)
}

/// Each student's label reduced to `[a-z0-9-]`, unique within the report: figures are
/// `<kind>-<slug>.svg/.png`.
fn figure_slugs(analysis: &Analysis) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    analysis
        .students
        .iter()
        .map(|f| {
            let mut slug: String = f
                .label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
                .collect();
            slug = slug.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
            if slug.is_empty() {
                slug = "student".into();
            }
            let mut name = slug.clone();
            let mut k = 2;
            while !seen.insert(name.clone()) {
                name = format!("{slug}-{k}");
                k += 1;
            }
            name
        })
        .collect()
}
