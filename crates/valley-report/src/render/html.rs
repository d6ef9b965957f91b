//! The report's HTML page (DIR/index.html): every table, figure and fit on one self-contained
//! page that links the files beside it. Tables carry ids (`scaling-<n>`, `decomposition-<n>`,
//! `fits`, `splits`, `comparisons`, `provenance`) so tests and scripts can find them.

use std::fmt::Write as _;

use super::format::{interval, opt, paired_cells, relative, signed, size_label, versus};
use super::frame::xml;
use super::markdown::fit_sentence;
use crate::analysis::{Analysis, Figure, Provenance, StudentFigures};

const STYLE: &str = "body{font-family:'DejaVu Sans',system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border-bottom:1px solid #ddd;padding:.3em .7em;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f5f5}.valley{color:#b02a12}.none{color:#555}
figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}code{font-size:90%}
.figures{display:flex;flex-wrap:wrap;gap:1em}.figures figure{margin:.5em 0;flex:1 1 480px}
.warning{border-left:4px solid #e8890c;background:#fff6e8;padding:.2em 1em;margin:1em 0}";

/// A student's failure decomposition: its figure and its table (id `decomposition-<n>`).
fn decomposition_section(s: &mut String, k: usize, f: &crate::StudentFit, fig: &Figure) {
    let _ = write!(
        s,
        "<h3>{}: where the samples ended</h3>\n<p>Each sample counts once, in the first that applies: passed, not finished (cut at the token budget), no code (finished, nothing to run), failed (ran, did not pass). {}</p>\n<figure><img src=\"{}\" alt=\"{}: where the samples ended\" width=\"720\" height=\"460\"><figcaption><a href=\"{}\">SVG</a> · <a href=\"{}\">PNG</a></figcaption></figure>\n<table id=\"decomposition-{k}\" class=\"decomposition\"><thead><tr>",
        xml(&f.label),
        xml(&super::decomposition::summary(f).unwrap_or_default()),
        xml(&fig.svg),
        xml(&f.label),
        xml(&fig.svg),
        xml(&fig.png)
    );
    for h in super::decomposition::HEADER {
        let _ = write!(s, "<th>{}</th>", xml(h));
    }
    s.push_str("</tr></thead><tbody>\n");
    for row in super::decomposition::rows(f) {
        s.push_str("<tr>");
        for cell in row {
            let _ = write!(s, "<td>{}</td>", xml(&cell));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
}

/// The page.
pub fn index_html(
    analysis: &Analysis,
    figures: &[StudentFigures],
    provenance: &Provenance,
) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<!-- {} -->\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>valley report</title><style>{STYLE}</style></head>\n<body>\n<h1>valley report</h1>\n<p>From <code>{}</code> (sha256 <code>{}</code>): {} runs, {} students.</p>\n",
        xml(&provenance.line()),
        xml(&provenance.results),
        xml(&provenance.results_sha256),
        provenance.runs,
        analysis.students.len()
    );
    // verdicts
    s.push_str("<h2>Valley analysis</h2>\n<table id=\"fits\"><thead><tr><th>Student</th><th>Valley</th><th>Bottom</th><th>Bottom / baseline</th><th>Slope per decade past the bottom</th><th>95% CI</th><th>R²</th><th>Power-law R²</th><th>Better fit</th></tr></thead><tbody>\n");
    for f in &analysis.students {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            xml(&f.label),
            if f.valley_detected { "valley" } else { "none" },
            if f.valley_detected { "yes" } else { "no" },
            f.min_size.map_or_else(|| "—".into(), size_label),
            opt(f.depth_ratio, 2),
            f.slope_per_decade.map_or_else(|| "—".into(), |b| signed(b, 4)),
            f.slope_ci95.map_or_else(|| "—".into(), |c| interval(c, 4)),
            opt(f.r2, 3),
            opt(f.power_law.map(|p| p.r2), 3),
            f.better_fit.map_or_else(|| "—".into(), |b| b.replace('_', "-")),
        );
    }
    s.push_str("</tbody></table>\n<p>Rule: a valley is a trained size whose pass@1 is below the untrained baseline's with a 95% interval of the difference above zero, followed by a larger size scoring above it with the same confidence. Details in <a href=\"fit.json\">fit.json</a>.</p>\n");
    // per student: sentence, figures side by side, table
    for (k, (f, figs)) in analysis.students.iter().zip(figures).enumerate() {
        let _ = write!(
            s,
            "<h2>{}</h2>\n<p>{}</p>\n<div class=\"figures\">\n",
            xml(&f.label),
            xml(&fit_sentence(f).replace("**", "")),
        );
        let shown = [
            (Some(&figs.valley), "pass@1 by training examples"),
            (figs.rates.as_ref(), "completion and think-tag rates by training examples"),
        ];
        for (fig, what) in shown {
            let Some(fig) = fig else { continue };
            let _ = writeln!(
                s,
                "<figure><img src=\"{}\" alt=\"{}: {what}\" width=\"720\" height=\"460\"><figcaption><a href=\"{}\">SVG</a> · <a href=\"{}\">PNG</a></figcaption></figure>",
                xml(&fig.svg),
                xml(&f.label),
                xml(&fig.svg),
                xml(&fig.png)
            );
        }
        let _ = write!(
            s,
            "</div>\n<table id=\"scaling-{k}\" class=\"scaling\"><thead><tr><th>Data</th><th>pass@1</th><th>95% CI</th><th>CI source</th><th>Completion rate</th><th>Think-tag rate</th><th>Problems</th><th>Samples</th><th>Run</th></tr></thead><tbody>\n"
        );
        for p in f.baseline.iter().chain(&f.points) {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                size_label(p.data_size),
                p.pass_at_1,
                interval(p.pass_at_1_ci95, 3),
                p.ci_source.name(),
                opt(p.completion_rate, 4),
                opt(p.think_tag_rate, 4),
                p.n_problems,
                p.n_samples,
                xml(&p.run)
            );
        }
        s.push_str("</tbody></table>\n");
        if let Some(fig) = &figs.decomposition {
            decomposition_section(&mut s, k, f, fig);
        }
    }
    s.push_str("<p>Tables: <a href=\"scaling.md\">Markdown</a> · <a href=\"scaling.csv\">CSV</a> · <a href=\"scaling.tex\">LaTeX</a>");
    if figures.iter().any(|f| f.decomposition.is_some()) {
        s.push_str(" · where the samples ended: <a href=\"decomposition.md\">Markdown</a> · <a href=\"decomposition.csv\">CSV</a>");
    }
    s.push_str("</p>\n");
    if let Some(t) = &analysis.splits {
        s.push_str("<h2>Split comparisons</h2>\n<table id=\"splits\"><thead><tr><th>Dataset</th>");
        for c in &t.stages {
            let _ = write!(s, "<th>{}</th>", xml(&c.label));
        }
        s.push_str("</tr></thead><tbody>\n<tr><td>Baseline</td>");
        for c in &t.stages {
            let _ = write!(s, "<td>{}</td>", opt(c.baseline.as_ref().map(|b| b.pass_at_1), 3));
        }
        s.push_str("</tr>\n");
        for (ri, r) in t.rows.iter().enumerate() {
            let _ = write!(s, "<tr><td>{}</td>", xml(&r.label));
            for c in &t.stages {
                let _ = write!(s, "<td>{}</td>", opt(c.cells[ri].as_ref().map(|b| b.pass_at_1), 3));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table>\n<table id=\"comparisons\"><thead><tr><th>Stage</th><th>Comparison</th><th>Difference</th><th>Relative</th><th>95% CI</th><th>Method</th><th>Better (a/b)</th><th>McNemar p</th><th>Cohen's h</th><th>d_z</th></tr></thead><tbody>\n");
        for c in &t.comparisons {
            let (counts, p, dz) = paired_cells(c.paired.as_ref());
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td></tr>",
                xml(&c.stage),
                xml(&versus(&c.a, &c.b)),
                signed(c.difference, 3),
                relative(c.relative_difference),
                interval(c.ci95, 3),
                if c.significant { " *" } else { "" },
                c.method.replace('_', " "),
                counts,
                p,
                c.cohens_h,
                dz
            );
        }
        s.push_str("</tbody></table>\n");
        let warnings: Vec<String> =
            t.comparisons.iter().filter_map(|c| c.noise_warning()).collect();
        if !warnings.is_empty() {
            s.push_str("<div id=\"noise\" class=\"warning\"><p><strong>Within noise</strong>: these differences cannot be told apart with these runs.</p><ul>\n");
            for w in warnings {
                let _ = writeln!(s, "<li>{}</li>", xml(&w));
            }
            s.push_str("</ul></div>\n");
        }
        s.push_str("<p>* the 95% interval excludes zero. Tables: <a href=\"splits.md\">Markdown</a> · <a href=\"splits.csv\">CSV</a> · <a href=\"splits.tex\">LaTeX</a> · <a href=\"comparisons.csv\">comparisons CSV</a> · <a href=\"splits.json\">JSON</a></p>\n");
    }
    s.push_str("<h2>All runs</h2>\n<table id=\"runs\"><thead><tr><th>Run</th><th>Student</th><th>Base</th><th>Split</th><th>Data</th><th>pass@1</th><th>95% CI</th><th>Completion rate</th><th>Think-tag rate</th><th>Problems</th></tr></thead><tbody>\n");
    for r in &analysis.runs {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            xml(&r.run),
            xml(&r.model),
            xml(r.base.as_deref().unwrap_or("—")),
            xml(r.split.as_deref().unwrap_or("—")),
            r.data_size.map_or_else(|| "—".into(), size_label),
            r.pass_at_1.value,
            interval(r.pass_at_1.ci95, 3),
            opt(r.completion_rate, 4),
            opt(r.think_tag_rate, 4),
            r.n_problems
        );
    }
    s.push_str("</tbody></table>\n<p><a href=\"runs.csv\">CSV</a></p>\n");
    let _ = write!(
        s,
        "<h2>Provenance</h2>\n<table id=\"provenance\"><tbody><tr><td>valley</td><td>{}</td></tr><tr><td>git revision</td><td>{}</td></tr><tr><td>results</td><td>{}</td></tr><tr><td>results sha256</td><td>{}</td></tr></tbody></table>\n<p>Every file's sha256: <a href=\"manifest.json\">manifest.json</a>.</p>\n<script>window.addEventListener('load',function(){{var n=0;for(var i=0;i<document.images.length;i++){{if(document.images[i].complete&&document.images[i].naturalWidth>0)n++;}}document.body.setAttribute('data-images-loaded',String(n));}});</script>\n</body></html>\n",
        xml(&provenance.valley_version),
        xml(&provenance.git_revision),
        xml(&provenance.results),
        xml(&provenance.results_sha256)
    );
    s
}
