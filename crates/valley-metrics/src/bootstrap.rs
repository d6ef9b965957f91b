//! A percentile-bootstrap confidence interval of a mean over problems.
//!
//! *Definition.* Draw as many problems as there are, with replacement, `resamples` times; the
//! interval is the `(1 − confidence)/2` and `(1 + confidence)/2` percentiles of the resampled
//! means (linear interpolation between order statistics, as numpy's default).
//!
//! *Why it matters.* Benchmarks of a few hundred problems give pass@1 values a few points apart;
//! the interval says whether a difference between two runs is noise. Problems, not samples, are
//! resampled, because samples of one problem are correlated.
//!
//! *Example.* Per-problem pass@1 `[0, 1]` gives a 95% interval of `[0, 1]`; `[0.5; 100]` gives
//! `[0.5, 0.5]`.
//!
//! *Pitfalls.* The draw comes from a fixed-seed generator ([`SplitMix64`], specified in this
//! crate, not borrowed from a library), so the interval is identical on every machine and every run; change
//! the seed to see the Monte-Carlo error. With very few problems the interval is too narrow.

pub use valley_types::{Bootstrap, Interval};

use crate::{SplitMix64, interpolated};

/// The bootstrap interval of the mean of `values`, or `None` when there are no values, no
/// resamples or the confidence is outside (0, 1).
pub fn bootstrap_mean_ci(values: &[f64], config: &Bootstrap) -> Option<Interval> {
    if values.is_empty()
        || config.resamples == 0
        || !(config.confidence > 0.0 && config.confidence < 1.0)
    {
        return None;
    }
    let mut rng = SplitMix64(config.seed);
    let len = values.len();
    let mut means: Vec<f64> = (0..config.resamples)
        .map(|_| {
            let sum: f64 = (0..len).map(|_| values[rng.below(len)]).sum();
            sum / len as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - config.confidence) / 2.0;
    Some(Interval {
        lo: interpolated(&means, tail).expect("at least one resample"),
        hi: interpolated(&means, 1.0 - tail).expect("at least one resample"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_cases() {
        let b = Bootstrap::default();
        assert_eq!(bootstrap_mean_ci(&[], &b), None);
        assert_eq!(bootstrap_mean_ci(&[0.5; 100], &b), Some(Interval { lo: 0.5, hi: 0.5 }));
        let ci = bootstrap_mean_ci(&[0.0, 1.0], &b).unwrap();
        assert_eq!((ci.lo, ci.hi), (0.0, 1.0));
        assert_eq!(bootstrap_mean_ci(&[1.0], &Bootstrap { confidence: 1.0, ..b.clone() }), None);
        assert_eq!(serde_json::to_string(&Interval { lo: 0.25, hi: 0.5 }).unwrap(), "[0.25,0.5]");
    }

    #[test]
    fn half_correct_problems_give_a_binomial_width() {
        // 200 problems, half solved: the normal approximation gives ±1.96·sqrt(.25/200) ≈ ±0.069
        let values: Vec<f64> = (0..200).map(|i| f64::from(i % 2)).collect();
        let ci = bootstrap_mean_ci(&values, &Bootstrap::default()).unwrap();
        assert!((ci.lo - 0.431).abs() < 0.01 && (ci.hi - 0.569).abs() < 0.01, "{ci:?}");
    }

    proptest::proptest! {
        #[test]
        fn bounded_ordered_and_deterministic(values in proptest::collection::vec(0.0f64..=1.0, 1..40), seed in 0u64..1000) {
            let b = Bootstrap { resamples: 400, confidence: 0.9, seed };
            let ci = bootstrap_mean_ci(&values, &b).unwrap();
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            // a mean of equal values can round one ulp past them ((x + x + x) / 3 > x)
            let slack = 1e-12;
            proptest::prop_assert!(min - slack <= ci.lo && ci.lo <= ci.hi && ci.hi <= max + slack);
            proptest::prop_assert_eq!(Some(ci), bootstrap_mean_ci(&values, &b));
        }

        #[test]
        fn wider_at_higher_confidence(values in proptest::collection::vec(0.0f64..=1.0, 2..40)) {
            let b = Bootstrap { resamples: 500, ..Bootstrap::default() };
            let narrow = bootstrap_mean_ci(&values, &Bootstrap { confidence: 0.5, ..b.clone() }).unwrap();
            let wide = bootstrap_mean_ci(&values, &Bootstrap { confidence: 0.99, ..b }).unwrap();
            proptest::prop_assert!(wide.lo <= narrow.lo && narrow.hi <= wide.hi);
        }
    }
}
