//! The whole report: analyse a [`Study`], then render every artifact in memory. Writing them is
//! the caller's job (the `valley report` command stages them and renames them into place
//! together).

use serde::Serialize;
use valley_metrics::Bootstrap;

use crate::render::{self, RenderPngError};
use crate::splits::{SplitTable, split_table};
use crate::study::Study;
use crate::valley::{StudentFit, analyse};

/// How the report draws its intervals and figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportConfig {
    /// Bootstrap of the intervals over problems (resamples, seed; confidence 0.95).
    pub bootstrap: Bootstrap,
    /// PNG size relative to the SVG's (2: 1440×920 pixels).
    pub png_scale: f32,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self { bootstrap: Bootstrap { resamples: 2_000, ..Bootstrap::default() }, png_scale: 2.0 }
    }
}

/// Where the report comes from, shown on every artifact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// valley's version.
    pub valley_version: String,
    /// valley's git revision (`unknown` outside a checkout).
    pub git_revision: String,
    /// The results file as given.
    pub results: String,
    /// SHA-256 of the results file's bytes.
    pub results_sha256: String,
    /// Runs read.
    pub runs: usize,
}

impl Provenance {
    /// One line for the comment at the top of a text artifact.
    pub fn line(&self) -> String {
        format!(
            "valley report {} (git {}) from {} sha256:{}",
            self.valley_version, self.git_revision, self.results, self.results_sha256
        )
    }
}

/// What the report concludes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// One valley analysis per student.
    pub students: Vec<StudentFit>,
    /// The split comparisons, when the study has split runs.
    pub splits: Option<SplitTable>,
    /// Every run, in input order (runs continued from a base without a split appear only here).
    pub runs: Vec<RunRow>,
}

/// One run as the all-runs table shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// Run name.
    pub run: String,
    /// The student.
    pub model: String,
    /// The run continued from.
    pub base: Option<String>,
    /// The data group.
    pub split: Option<String>,
    /// Training examples.
    pub data_size: Option<u64>,
    /// pass@1 with its interval.
    pub pass_at_1: crate::stats::Estimate,
    /// Completion rate.
    pub completion_rate: Option<f64>,
    /// Think-tag rate.
    pub think_tag_rate: Option<f64>,
    /// Problems evaluated.
    pub n_problems: u64,
    /// Samples evaluated.
    pub n_samples: u64,
}

/// Analyses every curve and stage of `study`.
pub fn analyse_study(study: &Study, config: &ReportConfig) -> Analysis {
    Analysis {
        students: study.curves.iter().map(|c| analyse(c, &study.runs, &config.bootstrap)).collect(),
        splits: split_table(study, &config.bootstrap),
        runs: study
            .runs
            .iter()
            .map(|r| RunRow {
                run: r.run.clone(),
                model: r.model.clone(),
                base: r.base.clone(),
                split: r.split.clone(),
                data_size: r.data_size,
                pass_at_1: crate::stats::estimate(r, &config.bootstrap),
                completion_rate: r.completion_rate,
                think_tag_rate: r.think_tag_rate,
                n_problems: r.n_problems,
                n_samples: r.n_samples,
            })
            .collect(),
    }
}

/// One figure's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// SVG file name.
    pub svg: String,
    /// PNG file name.
    pub png: String,
}

impl Figure {
    fn named(kind: &str, slug: &str) -> Self {
        Self { svg: format!("{kind}-{slug}.svg"), png: format!("{kind}-{slug}.png") }
    }
}

/// A student's figures: pass@1 (`valley-<label>`) and, when its runs have them, the completion
/// and think-tag rates of the paper's Table 1 (`rates-<label>`) and where its samples ended
/// (`decomposition-<label>`, issue 13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentFigures {
    /// The valley figure.
    pub valley: Figure,
    /// The rates figure.
    pub rates: Option<Figure>,
    /// The failure-decomposition figure.
    pub decomposition: Option<Figure>,
}

/// One output file: its name in the report folder and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// File name, relative to the report folder.
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
}

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
