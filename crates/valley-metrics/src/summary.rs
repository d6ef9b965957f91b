//! The evaluation summary of a set of judged samples: every metric of `valley eval` at once.
//!
//! Problems are the unit of pass@k and of the bootstrap; samples are the unit of the rates.
//! A sample the judge could not judge (`JUDGE_ERROR`, the toolkit's fault) is no outcome of the
//! model: pass@k is over the judged samples only, and the summary says how many were not judged
//! (issue 14). The rates of the responses themselves (completion, think tags, no code) count
//! every sample.
//! The caller groups samples (by difficulty, by platform) and calls [`summarize`] per group.

use std::collections::BTreeMap;

pub use valley_types::EvalSummary;

use crate::{
    Bootstrap, Counts, Rate, bootstrap_mean_ci, closed_think_rate, mean_pass_at_k, pass_at_k,
    think_tag_rate,
};

/// One judged sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleOutcome<'a> {
    /// The problem it answers.
    pub question_id: &'a str,
    /// The model's response.
    pub response: &'a str,
    /// Whether its code passed every test.
    pub passed: bool,
    /// Whether code could be extracted from it.
    pub has_code: bool,
    /// Whether it finished within the budget (`None`: unknown, counted as not completed).
    pub completed: Option<bool>,
    /// The verdict code (`AC`, `WA`, …).
    pub verdict: &'a str,
}

impl SampleOutcome<'_> {
    /// Whether the judge judged this sample: not `JUDGE_ERROR`, which is the toolkit's failure,
    /// never the model's.
    pub fn judged(&self) -> bool {
        self.verdict != valley_types::Verdict::JudgeError.code()
    }
}

/// Summarizes `samples`; pass@k is given for each of `ks` not above the fewest samples of a
/// problem.
pub fn summarize(samples: &[SampleOutcome<'_>], ks: &[u64], bootstrap: &Bootstrap) -> EvalSummary {
    let mut per_problem: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut verdicts = BTreeMap::new();
    let mut n_not_judged = 0;
    for s in samples {
        *verdicts.entry(s.verdict.to_owned()).or_insert(0) += 1;
        if !s.judged() {
            n_not_judged += 1;
            continue;
        }
        let c = per_problem.entry(s.question_id).or_default();
        c.n += 1;
        c.c += u64::from(s.passed);
    }
    let counts: Vec<Counts> = per_problem.values().copied().collect();
    let min_n = counts.iter().map(|c| c.n).min().unwrap_or(0);
    let per_problem_p1: Vec<f64> = counts.iter().filter_map(|c| pass_at_k(c.n, c.c, 1)).collect();
    let mut pass_at_k_map = BTreeMap::new();
    for &k in ks {
        if let Some(v) = mean_pass_at_k(&counts, k) {
            pass_at_k_map.insert(format!("pass@{k}"), v);
        }
    }
    let completion = crate::completion_rate(samples.iter().map(|s| s.completed));
    EvalSummary {
        n_problems: counts.len() as u64,
        n_samples: samples.len() as u64,
        n_not_judged,
        min_samples_per_problem: min_n,
        pass_at_1: mean_pass_at_k(&counts, 1),
        pass_at_1_ci95: bootstrap_mean_ci(&per_problem_p1, bootstrap),
        pass_at_k: pass_at_k_map,
        completion_rate: completion.value(),
        completion_unknown: samples.iter().filter(|s| s.completed.is_none()).count() as u64,
        think_tag_rate: think_tag_rate(samples.iter().map(|s| s.response)).value(),
        closed_think_rate: closed_think_rate(samples.iter().map(|s| s.response)).value(),
        no_code_rate: Rate::of(samples.iter().map(|s| !s.has_code)).value(),
        verdicts,
        failure_decomposition: crate::failure_decomposition(samples),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Interval;

    fn s<'a>(
        q: &'a str,
        response: &'a str,
        passed: bool,
        completed: Option<bool>,
    ) -> SampleOutcome<'a> {
        SampleOutcome {
            question_id: q,
            response,
            passed,
            has_code: response.contains("```"),
            completed,
            verdict: if passed {
                "AC"
            } else if response.contains("```") {
                "WA"
            } else {
                "NO_CODE"
            },
        }
    }

    #[test]
    fn hand_made_set() {
        let samples = [
            s("a", "<think>r</think>```py\n```", true, Some(true)),
            s("a", "<think>r", false, Some(false)),
            s("b", "```py\n```", false, Some(true)),
            s("b", "```py\n```", true, None),
        ];
        let sum = summarize(&samples, &[1, 2, 5], &Bootstrap::default());
        assert_eq!((sum.n_problems, sum.n_samples, sum.min_samples_per_problem), (2, 4, 2));
        assert_eq!(sum.pass_at_1, Some(0.5));
        assert_eq!(sum.pass_at_k.keys().collect::<Vec<_>>(), ["pass@1", "pass@2"]);
        assert_eq!(sum.pass_at_k["pass@2"], 1.0);
        assert_eq!(sum.pass_at_1_ci95, Some(Interval { lo: 0.5, hi: 0.5 }));
        assert_eq!((sum.completion_rate, sum.completion_unknown), (Some(0.5), 1));
        assert_eq!((sum.think_tag_rate, sum.closed_think_rate), (Some(0.5), Some(0.25)));
        assert_eq!(sum.no_code_rate, Some(0.25));
        assert_eq!(sum.verdicts.get("AC"), Some(&2));
        assert_eq!(sum.verdicts.get("NO_CODE"), Some(&1));
        let d = sum.failure_decomposition.unwrap();
        assert_eq!((d.passed, d.not_finished, d.no_code, d.failed), (0.5, 0.25, 0.0, 0.25));
        let json = serde_json::to_value(&sum).unwrap();
        assert_eq!(json["pass_at_1_ci95"], serde_json::json!([0.5, 0.5]));
    }

    #[test]
    fn samples_the_judge_could_not_judge_are_no_failures_of_the_model() {
        let mut broken = s("b", "```py\n```", false, Some(true));
        broken.verdict = "JUDGE_ERROR";
        let samples = [
            s("a", "```py\n```", true, Some(true)),
            s("a", "```py\n```", false, Some(true)),
            broken,
            broken,
        ];
        let sum = summarize(&samples, &[1, 2], &Bootstrap::default());
        // pass@1 over the judged samples of the judged problems: a's 1 of 2
        assert_eq!((sum.pass_at_1, sum.n_problems), (Some(0.5), 1));
        assert_eq!((sum.n_samples, sum.n_not_judged), (4, 2));
        assert_eq!(sum.verdicts.get("JUDGE_ERROR"), Some(&2));
        assert_eq!(sum.no_code_rate, Some(0.0), "the responses' own rates count every sample");
        let all_broken = summarize(&[broken], &[1], &Bootstrap::default());
        assert_eq!((all_broken.pass_at_1, all_broken.n_not_judged), (None, 1));
    }

    #[test]
    fn empty_set_has_no_rates() {
        let sum = summarize(&[], &[1], &Bootstrap::default());
        assert_eq!((sum.n_problems, sum.pass_at_1, sum.completion_rate), (0, None, None));
        assert!(sum.pass_at_k.is_empty());
    }
}
