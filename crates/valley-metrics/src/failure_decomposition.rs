//! Failure decomposition: where each sample's attempt ended.
//!
//! *Definition.* Each sample falls in the first of: `passed` (its code passed every test,
//! whether or not the response finished), `not_finished` (it did not pass and was cut at the
//! token budget), `no_code` (it finished and nothing could be extracted to run), `failed` (it
//! finished, its code ran and did not pass). The result is the share of samples in each; the
//! four sum to 1.
//!
//! *Why it matters.* The paper's valley comes with a completion rate of 0.18 at 1K examples
//! (Table 1): most responses never finish thinking. The decomposition says how much of a low
//! score is unfinished reasoning and how much is wrong code, which pass@1 alone cannot.
//!
//! *Example.* Samples AC (finished), WA (finished), NO_CODE (cut at the budget), NO_CODE
//! (finished) → passed 0.25, not_finished 0.25, no_code 0.25, failed 0.25.
//!
//! *Pitfalls.* A sample the judge could not judge (`JUDGE_ERROR`) is left out: it is no outcome
//! of the model, and the shares are of the judged samples. A sample whose completion is unknown (no finish reason, no token count) is not
//! counted as cut: it is classed by its code, and `valley eval` reports the unknown count beside
//! the decomposition (`completion_unknown`). The completion rate counts those samples as not
//! completed, so with unknowns `not_finished` can be below 1 − completion rate − passed. What
//! counts as code depends on the extraction rule: under LiveCodeBench's rule a draft inside
//! unfinished thinking is code, under after-think it is not.

use valley_types::FailureDecomposition;

use crate::SampleOutcome;

/// The decomposition of the judged `samples`; `None` when there are none.
pub fn failure_decomposition(samples: &[SampleOutcome<'_>]) -> Option<FailureDecomposition> {
    let judged: Vec<&SampleOutcome<'_>> = samples.iter().filter(|s| s.judged()).collect();
    if judged.is_empty() {
        return None;
    }
    let mut counts = [0u64; 4];
    for s in &judged {
        let k = if s.passed {
            0
        } else if s.completed == Some(false) {
            1
        } else if !s.has_code {
            2
        } else {
            3
        };
        counts[k] += 1;
    }
    let n = judged.len() as f64;
    let share = |k: usize| counts[k] as f64 / n;
    Some(FailureDecomposition {
        passed: share(0),
        not_finished: share(1),
        no_code: share(2),
        failed: share(3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(passed: bool, has_code: bool, completed: Option<bool>) -> SampleOutcome<'static> {
        SampleOutcome { question_id: "q", response: "", passed, has_code, completed, verdict: "" }
    }

    #[test]
    fn each_sample_in_its_first_class() {
        let d = failure_decomposition(&[
            s(true, true, Some(true)),
            s(true, true, Some(false)),
            s(false, false, Some(false)),
            s(false, true, Some(false)),
            s(false, false, Some(true)),
            s(false, true, Some(true)),
            s(false, true, None),
            s(false, false, None),
        ])
        .unwrap();
        assert_eq!(
            d,
            FailureDecomposition { passed: 0.25, not_finished: 0.25, no_code: 0.25, failed: 0.25 }
        );
        assert_eq!(failure_decomposition(&[]), None);
    }

    #[test]
    fn samples_the_judge_could_not_judge_are_left_out() {
        let broken = SampleOutcome { verdict: "JUDGE_ERROR", ..s(false, true, Some(true)) };
        let d = failure_decomposition(&[s(true, true, Some(true)), broken, broken]).unwrap();
        assert_eq!(
            d,
            FailureDecomposition { passed: 1.0, not_finished: 0.0, no_code: 0.0, failed: 0.0 }
        );
        assert_eq!(failure_decomposition(&[broken]), None);
    }

    proptest::proptest! {
        #[test]
        fn shares_sum_to_one(v in proptest::collection::vec((proptest::bool::ANY, proptest::bool::ANY, proptest::option::of(proptest::bool::ANY)), 1..60)) {
            let samples: Vec<_> = v.iter().map(|&(p, c, f)| s(p, c, f)).collect();
            let d = failure_decomposition(&samples).unwrap();
            proptest::prop_assert!(d.validate().is_ok(), "{d:?}");
            let passed = samples.iter().filter(|x| x.passed).count() as f64 / samples.len() as f64;
            proptest::prop_assert!((d.passed - passed).abs() < 1e-12);
        }
    }
}
