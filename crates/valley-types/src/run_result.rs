//! The run-result record: one evaluated run of a study, as `valley study` writes it and
//! `valley report --results R` reads it (one JSON line per run).
//!
//! A study's grid is a set of runs, each a student (`model`) trained on some data and evaluated.
//! The record says where the run sits in the grid and carries `valley eval`'s metrics:
//!
//! - a scaling run has a `data_size` (training examples); the untrained student is the
//!   `data_size: 0` row, the *baseline* of its scaling curve;
//! - a split run has a `split` (`correct`, `incorrect`, `easy`, `hard`, or any group name that
//!   `valley data split` writes) and usually its `data_size` too;
//! - a run that continues training from another run's checkpoint (the paper's "Qwen2.5-30K"
//!   stage) names that run in `base`; the base run is then the baseline of its split comparisons.
//!
//! Per-problem outcomes (the share of a problem's samples that passed) make paired statistics
//! possible (paired bootstrap, McNemar); give them inline in `per_problem`, or point `verdicts`
//! at the run's `verdicts.jsonl` (relative paths are resolved against the results file's folder).
//!
//! ```
//! use valley_types::RunResult;
//! let line = r#"{"run":"qwen-1k","model":"Qwen2.5-7B-Instruct","data_size":1000,
//!   "pass_at_1":0.055,"pass_at_1_ci95":[0.03,0.08],"completion_rate":0.1842,
//!   "think_tag_rate":0.1406,"n_problems":279,"n_samples":279}"#;
//! let r: RunResult = serde_json::from_str(line).unwrap();
//! assert_eq!(r.data_size, Some(1000));
//! assert!(!r.is_baseline() && r.base.is_none() && r.per_problem.is_none());
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The record version this build writes; readers accept any version up to it.
pub const RUN_RESULT_VERSION: u32 = 1;

/// One evaluated run of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// Record version ([`RUN_RESULT_VERSION`] when absent).
    #[serde(default = "current_version")]
    pub version: u32,
    /// Unique name of the run in the study (`qwen2.5-30k`).
    pub run: String,
    /// The student model (`Qwen2.5-7B-Instruct`): runs of one model form its scaling curve.
    pub model: String,
    /// Display name for tables and figures (`Qwen 2.5-30K`) [default: `run` for a base, `model`
    /// for a curve].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The run whose checkpoint this run continues training from; `None`: from `model` itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Training examples; `0` is the untrained baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_size: Option<u64>,
    /// The data group trained on (`correct`, `incorrect`, `easy`, `hard`, …), for a split run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// pass@1: mean over problems of the share of samples that passed (`valley eval`'s
    /// `pass_at_1`).
    pub pass_at_1: f64,
    /// 95% interval of pass@1 (`valley eval`'s bootstrap over problems), `[lo, hi]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_at_1_ci95: Option<[f64; 2]>,
    /// Share of samples that finished within the token budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_rate: Option<f64>,
    /// Share of samples that begin with `<think>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_tag_rate: Option<f64>,
    /// Share of samples with no extractable code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_code_rate: Option<f64>,
    /// pass@1 grading only code after a closed `</think>` (`valley eval`'s
    /// `pass_at_1_after_think`), beside `pass_at_1` under LiveCodeBench's rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_at_1_after_think: Option<f64>,
    /// Shares of samples passed, not finished, without code and failed (`valley eval`'s
    /// `failure_decomposition`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_decomposition: Option<crate::FailureDecomposition>,
    /// Problems evaluated.
    pub n_problems: u64,
    /// Samples evaluated.
    pub n_samples: u64,
    /// Per problem (`question_id`), the share of its samples that passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_problem: Option<BTreeMap<String, f64>>,
    /// The run's `verdicts.jsonl` (as `valley eval` writes it), read for per-problem outcomes
    /// when `per_problem` is absent; relative to the results file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<String>,
    /// Free-form provenance carried into the report's manifest (step hash, seed, checkpoint, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provenance: BTreeMap<String, serde_json::Value>,
}

fn current_version() -> u32 {
    RUN_RESULT_VERSION
}

impl RunResult {
    /// Whether this row is the untrained student: `data_size: 0`, no split, no base.
    pub fn is_baseline(&self) -> bool {
        self.data_size == Some(0) && self.split.is_none() && self.base.is_none()
    }

    /// Checks what serde cannot: the run has a `data_size` or a `split`, the rates lie in
    /// [0, 1], the interval is ordered. Returns the offending field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.version > RUN_RESULT_VERSION {
            return Err((
                "version",
                format!(
                    "record version {} is newer than this build's {RUN_RESULT_VERSION}",
                    self.version
                ),
            ));
        }
        if self.run.is_empty() {
            return Err(("run", "must not be empty".into()));
        }
        if self.model.is_empty() {
            return Err(("model", "must not be empty".into()));
        }
        if self.data_size.is_none() && self.split.is_none() {
            return Err(("data_size", "a run needs a `data_size` or a `split`".into()));
        }
        if self.split.as_deref() == Some("") {
            return Err(("split", "must not be empty".into()));
        }
        if self.base.is_some() && self.data_size == Some(0) && self.split.is_none() {
            return Err(("data_size", "a continued run cannot have data_size 0".into()));
        }
        let unit = |name: &'static str, v: Option<f64>| match v {
            Some(x) if !(0.0..=1.0).contains(&x) => Err((name, format!("{x} is outside [0, 1]"))),
            _ => Ok(()),
        };
        unit("pass_at_1", Some(self.pass_at_1))?;
        unit("completion_rate", self.completion_rate)?;
        unit("think_tag_rate", self.think_tag_rate)?;
        unit("no_code_rate", self.no_code_rate)?;
        unit("pass_at_1_after_think", self.pass_at_1_after_think)?;
        if let Some(d) = &self.failure_decomposition {
            d.validate().map_err(|m| ("failure_decomposition", m))?;
        }
        if let Some([lo, hi]) = self.pass_at_1_ci95 {
            unit("pass_at_1_ci95", Some(lo))?;
            unit("pass_at_1_ci95", Some(hi))?;
            if lo > hi {
                return Err(("pass_at_1_ci95", format!("lower end {lo} above upper end {hi}")));
            }
        }
        if self.n_problems == 0 {
            return Err(("n_problems", "must be at least 1".into()));
        }
        if self.n_samples < self.n_problems {
            return Err(("n_samples", "fewer samples than problems".into()));
        }
        if let Some(pp) = &self.per_problem {
            if let Some((q, x)) = pp.iter().find(|(_, x)| !(0.0..=1.0).contains(*x)) {
                return Err(("per_problem", format!("`{q}`: {x} is outside [0, 1]")));
            }
            if pp.is_empty() {
                return Err(("per_problem", "must not be empty".into()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<RunResult, String> {
        let r: RunResult = serde_json::from_str(line).map_err(|e| e.to_string())?;
        r.validate().map_err(|(f, m)| format!("{f}: {m}"))?;
        Ok(r)
    }

    #[test]
    fn records_round_trip_and_validate() {
        let base = r#"{"run":"b","model":"m","data_size":0,"pass_at_1":0.126,"n_problems":10,"n_samples":10}"#;
        let r = parse(base).unwrap();
        assert!(r.is_baseline());
        assert_eq!(r.version, RUN_RESULT_VERSION);
        let back: RunResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let split = r#"{"run":"c","model":"m","base":"q30k","split":"easy","data_size":4000,"pass_at_1":0.352,"n_problems":10,"n_samples":40,"per_problem":{"a":0.25}}"#;
        let r = parse(split).unwrap();
        assert!(!r.is_baseline());
        assert_eq!(r.per_problem.unwrap()["a"], 0.25);
    }

    #[test]
    fn bad_records_name_their_field() {
        let cases = [
            (
                r#"{"run":"b","model":"m","pass_at_1":0.1,"n_problems":1,"n_samples":1}"#,
                "data_size",
            ),
            (
                r#"{"run":"b","model":"m","data_size":1,"pass_at_1":1.5,"n_problems":1,"n_samples":1}"#,
                "pass_at_1",
            ),
            (
                r#"{"run":"b","model":"m","data_size":1,"pass_at_1":0.5,"pass_at_1_ci95":[0.6,0.4],"n_problems":1,"n_samples":1}"#,
                "pass_at_1_ci95",
            ),
            (
                r#"{"run":"b","model":"m","data_size":1,"pass_at_1":0.5,"n_problems":2,"n_samples":1}"#,
                "n_samples",
            ),
            (
                r#"{"run":"b","model":"m","data_size":1,"pass_at_1":0.5,"n_problems":1,"n_samples":1,"typo":1}"#,
                "typo",
            ),
            (
                r#"{"run":"b","model":"m","data_size":1,"pass_at_1":0.5,"n_problems":1,"n_samples":1,"version":9}"#,
                "version",
            ),
            (
                r#"{"run":"b","model":"m","data_size":1,"pass_at_1":0.5,"n_problems":1,"n_samples":1,"failure_decomposition":{"passed":0.5,"not_finished":0.5,"no_code":0.5,"failed":0}}"#,
                "failure_decomposition",
            ),
            (
                r#"{"run":"b","model":"m","data_size":1,"pass_at_1":0.5,"n_problems":1,"n_samples":1,"failure_decomposition":{"passed":1,"not_finished":0,"no_code":0}}"#,
                "failed",
            ),
        ];
        for (line, field) in cases {
            let err = parse(line).unwrap_err();
            assert!(err.contains(field), "{line}: {err}");
        }
    }
}
