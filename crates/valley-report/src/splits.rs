//! The split comparisons, laid out as the paper's Table 2: one column per stage (the student, or
//! a run continued from), one row per data group, each cell a run's pass@1; then every group
//! against its stage's baseline and the paired contrasts (`correct` vs `incorrect`, `easy` vs
//! `hard`) with their statistics.

use serde::Serialize;
use valley_metrics::Bootstrap;
use valley_types::RunResult;

use crate::stats::{IntervalSource, estimate, paired};
use crate::stats::{Paired, difference_interval};
use crate::study::Study;

/// The contrasts the paper draws, as `valley data split` names its groups.
pub const CONTRASTS: [(&str, &str); 2] = [("correct", "incorrect"), ("easy", "hard")];

/// The paper's row order; other groups follow in name order.
const ROW_ORDER: [&str; 4] = ["correct", "incorrect", "hard", "easy"];

/// One cell: a run's pass@1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// Run name.
    pub run: String,
    /// pass@1.
    pub pass_at_1: f64,
    /// Its 95% interval.
    pub pass_at_1_ci95: [f64; 2],
    /// Where the interval comes from.
    pub ci_source: IntervalSource,
    /// Training examples of the group (not counting the base's).
    pub data_size: Option<u64>,
    /// Completion rate.
    pub completion_rate: Option<f64>,
    /// Think-tag rate.
    pub think_tag_rate: Option<f64>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageColumn {
    /// Display name.
    pub label: String,
    /// The student.
    pub model: String,
    /// The run continued from.
    pub base: Option<String>,
    /// The baseline cell.
    pub baseline: Option<Cell>,
    /// One cell per row (`None`: the stage has no run of that group).
    pub cells: Vec<Option<Cell>>,
}

/// One row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitRow {
    /// The group (`correct`).
    pub split: String,
    /// The label shown (`Correct 6K`).
    pub label: String,
}

/// A comparison of two runs of one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitComparison {
    /// The stage's label.
    pub stage: String,
    /// The first group.
    pub a: String,
    /// The second group, or `baseline`.
    pub b: String,
    /// `pass@1(a) − pass@1(b)` (over shared problems when paired).
    pub difference: f64,
    /// `difference / pass@1(b)`.
    pub relative_difference: Option<f64>,
    /// 95% interval of the difference.
    pub ci95: [f64; 2],
    /// `paired_bootstrap` or `independent`.
    pub method: &'static str,
    /// Whether the interval excludes zero.
    pub significant: bool,
    /// Cohen's h of the two pass@1 values.
    pub cohens_h: f64,
    /// The paired statistics (McNemar, d_z), when both runs have per-problem outcomes.
    pub paired: Option<Paired>,
}

impl SplitComparison {
    /// A warning when the difference is within noise: its 95% interval holds zero, so these runs
    /// cannot tell the two apart (the paper's Table 2 draws conclusions from 0.185 against 0.182).
    /// It says how large a difference the runs could resolve: about the interval's half-width.
    pub fn noise_warning(&self) -> Option<String> {
        if self.significant {
            return None;
        }
        let half = (self.ci95[1] - self.ci95[0]) / 2.0;
        Some(format!(
            "{}: {} − {} = {:+.3} is within noise (95% interval [{:.3}, {:.3}] holds zero); these runs tell apart only differences beyond about ±{half:.3}: more samples per problem or more problems narrow it",
            self.stage, self.a, self.b, self.difference, self.ci95[0], self.ci95[1]
        ))
    }
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitTable {
    /// Rows, in the paper's order.
    pub rows: Vec<SplitRow>,
    /// Columns, in order of first appearance.
    pub stages: Vec<StageColumn>,
    /// Each group against its stage's baseline, then the contrasts.
    pub comparisons: Vec<SplitComparison>,
}

/// Builds the split table of `study`; `None` when it has no split runs.
pub fn split_table(study: &Study, bootstrap: &Bootstrap) -> Option<SplitTable> {
    if study.stages.is_empty() {
        return None;
    }
    let runs = &study.runs;
    let mut names: Vec<&str> =
        study.stages.iter().flat_map(|s| s.splits.keys().map(String::as_str)).collect();
    names.sort_by_key(|n| (ROW_ORDER.iter().position(|o| o == n).unwrap_or(ROW_ORDER.len()), *n));
    names.dedup();
    let rows: Vec<SplitRow> = names
        .iter()
        .map(|name| {
            let sizes: Vec<Option<u64>> = study
                .stages
                .iter()
                .filter_map(|s| s.splits.get(*name).map(|&i| runs[i].data_size))
                .collect();
            let mut label = capitalise(name);
            if let Some(Some(size)) = sizes.first()
                && sizes.iter().all(|s| *s == Some(*size))
            {
                label = format!("{label} {}", crate::study::size_label(*size));
            }
            SplitRow { split: (*name).to_owned(), label }
        })
        .collect();
    let cell = |i: usize| {
        let r = &runs[i];
        let e = estimate(r, bootstrap);
        Cell {
            run: r.run.clone(),
            pass_at_1: e.value,
            pass_at_1_ci95: e.ci95,
            ci_source: e.source,
            data_size: r.data_size,
            completion_rate: r.completion_rate,
            think_tag_rate: r.think_tag_rate,
        }
    };
    let mut stages = Vec::new();
    let mut comparisons = Vec::new();
    for s in &study.stages {
        stages.push(StageColumn {
            label: s.label.clone(),
            model: s.model.clone(),
            base: s.base.clone(),
            baseline: s.baseline.map(cell),
            cells: names.iter().map(|n| s.splits.get(*n).map(|&i| cell(i))).collect(),
        });
        for name in &names {
            if let (Some(&a), Some(b)) = (s.splits.get(*name), s.baseline) {
                comparisons
                    .push(compare(&s.label, name, "baseline", &runs[a], &runs[b], bootstrap));
            }
        }
        for (a, b) in CONTRASTS {
            if let (Some(&ia), Some(&ib)) = (s.splits.get(a), s.splits.get(b)) {
                comparisons.push(compare(&s.label, a, b, &runs[ia], &runs[ib], bootstrap));
            }
        }
    }
    Some(SplitTable { rows, stages, comparisons })
}

fn compare(
    stage: &str,
    a_name: &str,
    b_name: &str,
    a: &RunResult,
    b: &RunResult,
    bootstrap: &Bootstrap,
) -> SplitComparison {
    let pair = match (&a.per_problem, &b.per_problem) {
        (Some(pa), Some(pb)) => paired(pa, pb, bootstrap),
        _ => None,
    };
    let (difference, base, ci95, method, cohens_h) = match &pair {
        Some(p) => (p.difference, p.b, p.ci95, "paired_bootstrap", p.cohens_h),
        None => {
            let (ea, eb) = (estimate(a, bootstrap), estimate(b, bootstrap));
            let h = crate::stats::cohens_h(ea.value, eb.value);
            (ea.value - eb.value, eb.value, difference_interval(&ea, &eb), "independent", h)
        }
    };
    SplitComparison {
        stage: stage.to_owned(),
        a: a_name.to_owned(),
        b: b_name.to_owned(),
        difference,
        relative_difference: (base > 0.0).then(|| difference / base),
        ci95,
        method,
        significant: ci95[0] > 0.0 || ci95[1] < 0.0,
        cohens_h,
        paired: pair,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}
