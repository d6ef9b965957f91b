//! Markdown tables: the scaling table per student and the split table (the paper's Table 2).

use std::fmt::Write as _;

use super::format::{interval, opt, paired_cells, relative, signed, size_label, versus};
use crate::analysis::{Analysis, Provenance};

/// The scaling tables, one section per student.
pub fn scaling_md(analysis: &Analysis, provenance: &Provenance) -> String {
    let mut s = format!("<!-- {} -->\n# Scaling by training data\n", provenance.line());
    for f in &analysis.students {
        let _ = write!(
            s,
            "\n## {}\n\n| Data | pass@1 | 95% CI | Completion rate | Think-tag rate | Problems | Samples |\n| --- | ---: | --- | ---: | ---: | ---: | ---: |\n",
            f.label
        );
        for p in f.baseline.iter().chain(&f.points) {
            let _ = writeln!(
                s,
                "| {} | {:.3} | {} | {} | {} | {} | {} |",
                size_label(p.data_size),
                p.pass_at_1,
                interval(p.pass_at_1_ci95, 3),
                opt(p.completion_rate, 4),
                opt(p.think_tag_rate, 4),
                p.n_problems,
                p.n_samples
            );
        }
        let _ = writeln!(s, "\n{}", fit_sentence(f));
    }
    s
}

/// One sentence summing up a student's valley analysis.
pub(crate) fn fit_sentence(f: &crate::valley::StudentFit) -> String {
    let mut s =
        if f.valley_detected { "**Valley detected**: " } else { "**No valley**: " }.to_owned();
    s.push_str(&f.reason);
    if let Some(r) = f.depth_ratio {
        let _ = write!(s, "; bottom/baseline = {r:.2}");
    }
    s.push('.');
    if let Some(why) = &f.no_fit {
        let _ = write!(s, " Past the bottom: {why}.");
    }
    if let (Some(b), Some(r2)) = (f.slope_per_decade, f.r2) {
        let _ = write!(
            s,
            " Past the bottom ({} to {}): {} pass@1 per tenfold data",
            f.fit_sizes.first().map_or_else(String::new, |v| size_label(*v)),
            f.fit_sizes.last().map_or_else(String::new, |v| size_label(*v)),
            signed(b, 4)
        );
        if let Some(ci) = f.slope_ci95 {
            let _ = write!(s, " (95% {})", interval(ci, 4));
        }
        let _ = write!(s, ", R² {r2:.3}");
        if let (Some(p), Some(better)) = (&f.power_law, f.better_fit) {
            let _ = write!(
                s,
                "; power law {:.4}·n^{:.3} has R² {:.3}, the better fit is {}",
                p.coefficient,
                p.exponent,
                p.r2,
                better.replace('_', "-")
            );
        }
        s.push('.');
    }
    s
}

/// The split table in the paper's Table 2 layout, then the comparisons.
pub fn splits_md(analysis: &Analysis, provenance: &Provenance) -> Option<String> {
    let t = analysis.splits.as_ref()?;
    let mut s = format!("<!-- {} -->\n# Split comparisons\n\n| Dataset |", provenance.line());
    for c in &t.stages {
        let _ = write!(s, " {} |", c.label);
    }
    s.push_str("\n| --- |");
    s.push_str(&" ---: |".repeat(t.stages.len()));
    s.push_str("\n| Baseline |");
    for c in &t.stages {
        let _ = write!(s, " {} |", opt(c.baseline.as_ref().map(|b| b.pass_at_1), 3));
    }
    for (ri, row) in t.rows.iter().enumerate() {
        let _ = write!(s, "\n| {} |", row.label);
        for c in &t.stages {
            let _ = write!(s, " {} |", opt(c.cells[ri].as_ref().map(|b| b.pass_at_1), 3));
        }
    }
    s.push_str(
        "\n\n## Comparisons\n\n| Stage | Comparison | Difference | Relative | 95% CI | Method | Better (a/b) | McNemar p | Cohen's h | d_z |\n| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |\n",
    );
    for c in &t.comparisons {
        let (counts, p, dz) = paired_cells(c.paired.as_ref());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {}{} | {} | {} | {} | {:.3} | {} |",
            c.stage,
            versus(&c.a, &c.b),
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
    s.push_str("\n`*`: the 95% interval excludes zero.\n");
    let warnings: Vec<String> = t.comparisons.iter().filter_map(|c| c.noise_warning()).collect();
    if !warnings.is_empty() {
        s.push_str("\n## Within noise\n\n");
        for w in warnings {
            let _ = writeln!(s, "- **Warning**: {w}.");
        }
    }
    Some(s)
}
