//! `report.md`: the metrics of an evaluation as a page a person reads.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use valley_types::{EvalMetrics, EvalSummary, ExtractMode, LengthStats};

/// The Markdown report of `metrics`, naming the problems and generations files it came from.
pub fn report_markdown(metrics: &EvalMetrics, problems: &Path, generations: &Path) -> String {
    let mut r = String::new();
    let overall = &metrics.overall;
    let mode = metrics.extract_mode;
    let _ = writeln!(r, "# Evaluation report\n");
    let _ = writeln!(r, "- problems: `{}`", problems.display());
    let selection = &metrics.selection;
    if let Some(release) = &selection.release {
        let _ = writeln!(r, "- LiveCodeBench release: `{release}`");
    }
    let _ = writeln!(
        r,
        "- selection: {} ({} samples of other problems left out)",
        selection.filter, metrics.samples_outside_selection
    );
    let _ = writeln!(r, "- generations: `{}`", generations.display());
    let _ = writeln!(r, "- judge profile: `{}` (python {})", metrics.profile, metrics.python);
    let _ = writeln!(r, "- extraction policy: `{}`: {}", mode.name(), mode.describe());
    if !metrics.extract_modes.is_empty() {
        let parts: Vec<String> =
            metrics.extract_modes.iter().map(|(k, v)| format!("`{k}` {v}")).collect();
        let _ = writeln!(
            r,
            "- by the generations' prompt styles, as LiveCodeBench does: {}",
            parts.join(", ")
        );
    }
    let _ = writeln!(
        r,
        "- completion budget: {}",
        metrics
            .max_tokens
            .map_or_else(|| "each generation's own `max_tokens`".into(), |m| format!("{m} tokens"))
    );
    let _ = writeln!(
        r,
        "- pass@1 interval: percentile bootstrap over problems, {} resamples, seed {}",
        metrics.bootstrap.resamples, metrics.bootstrap.seed
    );
    let without = metrics.problems_without_generations;
    if without > 0 {
        let _ = writeln!(r, "- **{without} problems have no generations** and are left out");
    }
    let _ = writeln!(r, "\n## Metrics\n\n| metric | value |\n| --- | --- |");
    let _ = writeln!(r, "| problems | {} |", overall.n_problems);
    let _ = writeln!(
        r,
        "| samples | {} (at least {} per problem) |",
        overall.n_samples, overall.min_samples_per_problem
    );
    if overall.n_not_judged > 0 {
        let _ = writeln!(
            r,
            "| **not judged** (JUDGE_ERROR, left out of pass@k) | {} |",
            overall.n_not_judged
        );
    }
    let ci =
        overall.pass_at_1_ci95.map_or_else(String::new, |c| format!(" [{:.4}, {:.4}]", c.lo, c.hi));
    let _ = writeln!(r, "| pass@1 (95% CI) | {}{ci} |", format_rate(overall.pass_at_1));
    if mode != ExtractMode::AfterThink {
        let _ = writeln!(
            r,
            "| pass@1, only code after a closed `</think>` | {} |",
            format_rate(metrics.pass_at_1_after_think)
        );
    }
    for (k, v) in &overall.pass_at_k {
        if k != "pass@1" {
            let _ = writeln!(r, "| {k} | {v:.4} |");
        }
    }
    let _ = writeln!(
        r,
        "| completion rate | {} ({} unknown) |",
        format_rate(overall.completion_rate),
        overall.completion_unknown
    );
    let _ = writeln!(r, "| think-tag rate | {} |", format_rate(overall.think_tag_rate));
    let _ = writeln!(r, "| closed-think rate | {} |", format_rate(overall.closed_think_rate));
    let _ = writeln!(r, "| no-code rate | {} |", format_rate(overall.no_code_rate));
    if let Some(d) = &overall.failure_decomposition {
        let _ = writeln!(
            r,
            "\n## Where the samples ended\n\nEach sample in the first that applies: passed, else not finished (cut at the token budget), else no code (finished, nothing to run), else failed (ran, did not pass).\n\n| passed | not finished | no code | failed |\n| --- | --- | --- | --- |\n| {:.4} | {:.4} | {:.4} | {:.4} |",
            d.passed, d.not_finished, d.no_code, d.failed
        );
        if overall.completion_unknown > 0 {
            let _ = writeln!(
                r,
                "\n{} samples say nothing of how they ended (no finish reason, no token count): they are classed by their code, not as not finished.",
                overall.completion_unknown
            );
        }
    }
    let _ = writeln!(r, "\n## Verdicts\n\n| verdict | samples |\n| --- | --- |");
    for (v, c) in &overall.verdicts {
        let _ = writeln!(r, "| {v} | {c} |");
    }
    let groups: [(&str, &BTreeMap<String, EvalSummary>); 2] =
        [("difficulty", &metrics.by_difficulty), ("platform", &metrics.by_platform)];
    for (title, groups) in groups {
        let _ = writeln!(
            r,
            "\n## By {title}\n\n| {title} | problems | samples | pass@1 | 95% CI | completion | think-tag | no-code |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
        );
        for (label, s) in groups {
            let ci = s
                .pass_at_1_ci95
                .map_or_else(|| "n/a".into(), |c| format!("[{:.4}, {:.4}]", c.lo, c.hi));
            let _ = writeln!(
                r,
                "| {label} | {} | {} | {} | {ci} | {} | {} | {} |",
                s.n_problems,
                s.n_samples,
                format_rate(s.pass_at_1),
                format_rate(s.completion_rate),
                format_rate(s.think_tag_rate),
                format_rate(s.no_code_rate)
            );
        }
    }
    let lengths = &metrics.response_tokens;
    let _ = writeln!(
        r,
        "\n## Response length (tokens; source: {})\n\n| responses | count | p10 | p25 | p50 | p75 | p90 | p99 | max |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        lengths.source.describe()
    );
    for (key, stats) in [
        ("all", &lengths.all),
        ("completed", &lengths.completed),
        ("not completed", &lengths.not_completed),
    ] {
        let _ = writeln!(r, "| {key} | {} |", length_cells(stats).join(" | "));
    }
    r
}

/// count, p10 … p99, max; `-` for each percentile of an empty set.
fn length_cells(s: &LengthStats) -> Vec<String> {
    let mut cells = vec![s.count.to_string()];
    match &s.percentiles {
        Some(p) => {
            cells.extend([p.p10, p.p25, p.p50, p.p75, p.p90, p.p99, p.max].map(|v| v.to_string()))
        }
        None => cells.extend(std::iter::repeat_n("-".to_owned(), 7)),
    }
    cells
}

/// A rate with four decimals, or `n/a`.
pub fn format_rate(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |x| format!("{x:.4}"))
}
