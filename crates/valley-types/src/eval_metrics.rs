//! The evaluation record: `metrics.json` as `valley eval` writes it and the study and the report
//! read it.
//!
//! [`EvalMetrics`] is the whole file: the overall [`EvalSummary`] (its fields at the top level),
//! how the samples were judged and drawn, the same summary per difficulty and per platform, and
//! the response lengths. The pure functions that compute the summary live in `valley-metrics`;
//! the evaluation that fills the record lives in `valley-eval`.
//!
//! Readers accept fields they do not know (a newer `valley eval` may add some), and a field added
//! later must have a default, so a study resumed over an older `metrics.json` still reads it.
//!
//! ```
//! use valley_types::{EvalMetrics, EvalSummary, Interval};
//! let text = r#"{"n_problems": 2, "n_samples": 4, "min_samples_per_problem": 2,
//!   "pass_at_1": 0.5, "pass_at_1_ci95": [0.25, 0.75], "pass_at_k": {"pass@1": 0.5},
//!   "completion_rate": 1.0, "completion_unknown": 0, "think_tag_rate": 0.5,
//!   "closed_think_rate": 0.5, "no_code_rate": 0.0, "verdicts": {"AC": 2, "WA": 2},
//!   "profile": "lcb", "extract_mode": "after-think", "max_tokens": null,
//!   "bootstrap": {"resamples": 10000, "confidence": 0.95, "seed": 0},
//!   "problems_without_generations": 0,
//!   "selection": {"release": null, "files": ["p.jsonl"], "filter": "all problems"},
//!   "samples_outside_selection": 0, "by_difficulty": {}, "by_platform": {},
//!   "response_tokens": {"source": "server", "all": {"count": 0}, "completed": {"count": 0},
//!                       "not_completed": {"count": 0}},
//!   "judge_wall_s": 1.5, "python": "3.12.3"}"#;
//! let m: EvalMetrics = serde_json::from_str(text).unwrap();
//! assert_eq!(m.overall.pass_at_1_ci95, Some(Interval { lo: 0.25, hi: 0.75 }));
//! assert_eq!(m.response_tokens.all.percentiles, None);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ExtractMode;

/// How a bootstrap interval is drawn (`valley-metrics` draws it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bootstrap {
    /// Resampled means drawn.
    pub resamples: u32,
    /// Two-sided coverage, in (0, 1).
    pub confidence: f64,
    /// Generator seed.
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Self { resamples: 10_000, confidence: 0.95, seed: 0 }
    }
}

/// A closed interval `[lo, hi]`, serialized as a two-element array.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 2]", into = "[f64; 2]")]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl From<[f64; 2]> for Interval {
    fn from([lo, hi]: [f64; 2]) -> Self {
        Self { lo, hi }
    }
}

impl From<Interval> for [f64; 2] {
    fn from(i: Interval) -> Self {
        [i.lo, i.hi]
    }
}

/// Every metric of a set of judged samples (`valley_metrics::summarize` computes it).
///
/// Problems are the unit of pass@k and of the bootstrap; samples are the unit of the rates.
/// pass@k and the failure decomposition are over the judged samples only (`n_not_judged` says how
/// many were not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Problems with at least one judged sample.
    pub n_problems: u64,
    /// Samples.
    pub n_samples: u64,
    /// Samples the judge could not judge (`JUDGE_ERROR`: the toolkit's failure, not the
    /// model's); left out of pass@k and of the failure decomposition.
    #[serde(default)]
    pub n_not_judged: u64,
    /// Fewest judged samples of a problem.
    pub min_samples_per_problem: u64,
    /// pass@1: mean over problems of passed/n, over the judged samples.
    pub pass_at_1: Option<f64>,
    /// 95% (or the configured) bootstrap interval of pass@1 over problems.
    pub pass_at_1_ci95: Option<Interval>,
    /// pass@k by the unbiased estimator for each requested k up to the fewest samples
    /// (`"pass@5"` …), pass@1 included.
    pub pass_at_k: BTreeMap<String, f64>,
    /// Share of samples that finished within the budget.
    pub completion_rate: Option<f64>,
    /// Samples whose completion could not be told (counted as not completed).
    pub completion_unknown: u64,
    /// Share of samples that begin with `<think>`.
    pub think_tag_rate: Option<f64>,
    /// Share of samples that begin with `<think>` and close it.
    pub closed_think_rate: Option<f64>,
    /// Share of samples with no extractable code.
    pub no_code_rate: Option<f64>,
    /// Samples per verdict code.
    pub verdicts: BTreeMap<String, u64>,
    /// Shares of samples passed, not finished, without code and failed (they sum to 1).
    #[serde(default)]
    pub failure_decomposition: Option<crate::FailureDecomposition>,
}

/// `metrics.json`: the metrics of one evaluation and how they were obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMetrics {
    /// The metrics of every judged sample (written at the top level of the file).
    #[serde(flatten)]
    pub overall: EvalSummary,
    /// pass@1 when only the code after a closed `</think>` is graded (a response without a
    /// think block: its last fenced block), beside `pass_at_1` under `extract_mode`
    /// (LiveCodeBench's rule by default); `None` when the evaluation did not compute it.
    #[serde(default)]
    pub pass_at_1_after_think: Option<f64>,
    /// The judge profile whose verdicts were reproduced (`lcb`, `taco`, …).
    pub profile: String,
    /// Which code of a response was graded.
    pub extract_mode: ExtractMode,
    /// Samples per extraction rule, when the generations' prompt styles chose another of
    /// LiveCodeBench's rules for some (a `GenericBase` generation is graded whole, as
    /// LiveCodeBench grades base models); empty (and not written) when every sample was graded
    /// under `extract_mode`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extract_modes: BTreeMap<String, u64>,
    /// The completion budget given on the command line (`None`: each generation's own).
    pub max_tokens: Option<u64>,
    /// How the pass@1 interval was drawn.
    pub bootstrap: Bootstrap,
    /// Selected problems with no generation (left out of every metric).
    pub problems_without_generations: u64,
    /// Which problems the benchmark selected.
    pub selection: BenchmarkSelection,
    /// Generations of problems outside the selection (skipped).
    pub samples_outside_selection: u64,
    /// The metrics per problem difficulty (`unknown` when a problem has none).
    pub by_difficulty: BTreeMap<String, EvalSummary>,
    /// The metrics per platform (`unknown` when a problem has none).
    pub by_platform: BTreeMap<String, EvalSummary>,
    /// Response lengths in tokens.
    pub response_tokens: ResponseTokens,
    /// Wall time of judging, in seconds.
    pub judge_wall_s: f64,
    /// The version of the Python that ran the programs.
    pub python: String,
}

/// Which problems a benchmark selected: its files and the filter on their rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchmarkSelection {
    /// The LiveCodeBench release that picked the files (`release_v6`), if any.
    pub release: Option<String>,
    /// The files read, in order.
    pub files: Vec<String>,
    /// The row filter, in words (`all problems` when none).
    pub filter: String,
    /// The files' Hugging Face Hub sources with the commit each was read at, when `--problems`
    /// was an `hf://` path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hub: Vec<crate::HubSource>,
}

/// Response lengths in tokens: of every response, of those that completed, of the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseTokens {
    /// Where the counts come from.
    pub source: LengthSource,
    /// Every response with a count.
    pub all: LengthStats,
    /// Responses that finished within the budget.
    pub completed: LengthStats,
    /// Responses that did not, or whose completion is unknown.
    pub not_completed: LengthStats,
}

/// Where response lengths come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LengthSource {
    /// Every generation carries the server's `completion_tokens`.
    #[serde(rename = "server")]
    Server,
    /// The server's count where given, else the tokenizer's.
    #[serde(rename = "server, else tokenizer")]
    ServerElseTokenizer,
    /// The server's count; responses without one are left out.
    #[serde(rename = "server (responses without a count are left out)")]
    ServerOnly,
}

impl LengthSource {
    /// The source in words, as `metrics.json` writes it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::ServerElseTokenizer => "server, else tokenizer",
            Self::ServerOnly => "server (responses without a count are left out)",
        }
    }
}

/// Nearest-rank percentiles of a set of lengths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LengthStats {
    /// Lengths counted.
    pub count: u64,
    /// The percentiles (absent when nothing was counted).
    #[serde(flatten)]
    pub percentiles: Option<LengthPercentiles>,
}

/// Nearest-rank percentiles, the maximum and the mean of a non-empty set of lengths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LengthPercentiles {
    /// 10th percentile.
    pub p10: u64,
    /// 25th percentile.
    pub p25: u64,
    /// Median.
    pub p50: u64,
    /// 75th percentile.
    pub p75: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// The longest.
    pub max: u64,
    /// The mean.
    pub mean: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_length_stats_are_a_bare_count() {
        let empty = LengthStats { count: 0, percentiles: None };
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"count":0}"#);
        let one = LengthStats {
            count: 1,
            percentiles: Some(LengthPercentiles {
                p10: 5,
                p25: 5,
                p50: 5,
                p75: 5,
                p90: 5,
                p99: 5,
                max: 5,
                mean: 5.0,
            }),
        };
        let text = serde_json::to_string(&one).unwrap();
        assert_eq!(
            text,
            r#"{"count":1,"p10":5,"p25":5,"p50":5,"p75":5,"p90":5,"p99":5,"max":5,"mean":5.0}"#
        );
        assert_eq!(serde_json::from_str::<LengthStats>(&text).unwrap(), one);
        assert_eq!(serde_json::from_str::<LengthStats>(r#"{"count":0}"#).unwrap(), empty);
    }

    #[test]
    fn length_sources_read_back_as_written() {
        for s in [LengthSource::Server, LengthSource::ServerElseTokenizer, LengthSource::ServerOnly]
        {
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(text, format!("\"{}\"", s.describe()));
            assert_eq!(serde_json::from_str::<LengthSource>(&text).unwrap(), s);
        }
    }
}
