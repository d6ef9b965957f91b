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
    let _ = writeln!(r, "- extraction policy: `{}`: {}", mode.name(), extract_policy_text(mode));
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
    let ci =
        overall.pass_at_1_ci95.map_or_else(String::new, |c| format!(" [{:.4}, {:.4}]", c.lo, c.hi));
    let _ = writeln!(r, "| pass@1 (95% CI) | {}{ci} |", format_rate(overall.pass_at_1));
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

fn extract_policy_text(mode: ExtractMode) -> &'static str {
    match mode {
        ExtractMode::AfterThink => {
            "only code after `</think>` is graded; a response that opens `<think>` and never closes it has no gradable code; a response with no think block is graded on its last fenced block"
        }
        ExtractMode::Lenient => {
            "after-think, then the last complete block anywhere, then an unclosed final block"
        }
        ExtractMode::LastBlock => "the last complete fenced block anywhere, reasoning included",
        ExtractMode::Lcb => {
            "LiveCodeBench's rule: the lines between the last two lines containing a triple backtick"
        }
        m @ (ExtractMode::LcbCodellama | ExtractMode::LcbBase) => m.describe(),
    }
}
