//! Two runs compared on the same problems: the paired bootstrap interval of the difference, the
//! exact McNemar (sign) test, and effect sizes.
//!
//! *Definition.* For each problem both runs answered, `dᵢ = aᵢ − bᵢ` (each a share of samples
//! that passed). The difference is `mean(d)`; its 95% interval is a percentile bootstrap over
//! problems (valley-metrics' [`bootstrap_mean_ci`] on the `dᵢ`). McNemar counts the problems where
//! `a` did better (`a_better`) and where `b` did (`b_better`) and gives the exact two-sided binomial
//! p-value of that split under "no difference" (p = 1/2); with one sample per problem this is
//! exactly McNemar's exact test on pass/fail, with several it is the sign test on per-problem
//! shares, its natural extension. Effect sizes: Cohen's h of the two pass@1 values
//! (`2·asin√a − 2·asin√b`: 0.2 small, 0.5 medium, 0.8 large) and Cohen's d_z of the paired
//! differences (`mean(d)/sd(d)`).
//!
//! *Why it matters.* Two runs on one benchmark share its problems: pairing removes the
//! problem-difficulty variance that an independent comparison pays for, so differences of a few
//! points become decidable.
//!
//! *Pitfalls.* Only problems both runs answered are compared (`n_common`); the pass@1 values in the
//! comparison are over those problems.

use std::collections::BTreeMap;

use serde::Serialize;
use valley_metrics::{Bootstrap, bootstrap_mean_ci};

/// A paired comparison of run `a` against run `b`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paired {
    /// Problems both runs answered.
    pub n_common: usize,
    /// pass@1 of `a` over the common problems.
    pub a: f64,
    /// pass@1 of `b` over the common problems.
    pub b: f64,
    /// `a − b`.
    pub difference: f64,
    /// 95% paired-bootstrap interval of the difference.
    pub ci95: [f64; 2],
    /// Problems where `a` did better.
    pub a_better: u64,
    /// Problems where `b` did better.
    pub b_better: u64,
    /// Exact two-sided McNemar (sign-test) p-value.
    pub mcnemar_p: f64,
    /// Cohen's h of the two pass@1 values.
    pub cohens_h: f64,
    /// Cohen's d_z of the paired differences (`None` when they do not vary).
    pub cohens_dz: Option<f64>,
}

/// Compares `a` with `b` on the problems both answered; `None` when they share none.
pub fn paired(
    a: &BTreeMap<String, f64>,
    b: &BTreeMap<String, f64>,
    bootstrap: &Bootstrap,
) -> Option<Paired> {
    let pairs: Vec<(f64, f64)> = a.iter().filter_map(|(q, x)| b.get(q).map(|y| (*x, *y))).collect();
    let n = pairs.len();
    if n == 0 {
        return None;
    }
    let d: Vec<f64> = pairs.iter().map(|(x, y)| x - y).collect();
    let mean_a = pairs.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let mean_b = pairs.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let mean_d = d.iter().sum::<f64>() / n as f64;
    let ci = bootstrap_mean_ci(&d, bootstrap)?;
    let a_better = d.iter().filter(|v| **v > 0.0).count() as u64;
    let b_better = d.iter().filter(|v| **v < 0.0).count() as u64;
    let sd = if n > 1 {
        (d.iter().map(|v| (v - mean_d).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Some(Paired {
        n_common: n,
        a: mean_a,
        b: mean_b,
        difference: mean_d,
        ci95: [ci.lo, ci.hi],
        a_better,
        b_better,
        mcnemar_p: mcnemar_exact_p(a_better, b_better),
        cohens_h: cohens_h(mean_a, mean_b),
        cohens_dz: (sd > 0.0).then(|| mean_d / sd),
    })
}

/// Cohen's h of two proportions.
pub(crate) fn cohens_h(a: f64, b: f64) -> f64 {
    2.0 * a.clamp(0.0, 1.0).sqrt().asin() - 2.0 * b.clamp(0.0, 1.0).sqrt().asin()
}

/// The exact two-sided McNemar p-value for `b` and `c` discordant pairs:
/// `min(1, 2·P(X ≤ min(b, c)))` with `X ~ Binomial(b + c, 1/2)`; 1 when there are none.
pub fn mcnemar_exact_p(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    // log C(n, i) by a running sum, then a log-sum-exp, so large n neither overflows nor
    // underflows
    let ln2 = std::f64::consts::LN_2;
    let mut ln_c = 0.0;
    let mut terms = Vec::with_capacity(k as usize + 1);
    for i in 0..=k {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        terms.push(ln_c - n as f64 * ln2);
    }
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tail = max.exp() * terms.iter().map(|t| (t - max).exp()).sum::<f64>();
    (2.0 * tail).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_known_values() {
        // scipy.stats.binomtest(k, n, 0.5).pvalue
        assert_eq!(mcnemar_exact_p(0, 0), 1.0);
        assert!((mcnemar_exact_p(1, 9) - 0.021_484_375).abs() < 1e-12);
        assert!((mcnemar_exact_p(9, 1) - 0.021_484_375).abs() < 1e-12);
        assert!((mcnemar_exact_p(0, 5) - 0.0625).abs() < 1e-12);
        assert_eq!(mcnemar_exact_p(5, 5), 1.0);
        // binomtest(40, 100): 0.05688793364098079
        assert!((mcnemar_exact_p(40, 60) - 0.056_887_933_640_981).abs() < 1e-10);
        // huge n stays finite
        let p = mcnemar_exact_p(4_000, 6_000);
        assert!(p > 0.0 && p < 1e-80, "{p}");
    }

    #[test]
    fn paired_on_common_problems() {
        let m = |v: &[(&str, f64)]| v.iter().map(|(k, x)| ((*k).to_owned(), *x)).collect();
        let a = m(&[("p1", 1.0), ("p2", 1.0), ("p3", 0.0), ("p4", 1.0), ("only_a", 1.0)]);
        let b = m(&[("p1", 0.0), ("p2", 1.0), ("p3", 0.0), ("p4", 0.0), ("only_b", 0.0)]);
        let p = paired(&a, &b, &Bootstrap { resamples: 2000, ..Bootstrap::default() }).unwrap();
        assert_eq!((p.n_common, p.a_better, p.b_better), (4, 2, 0));
        assert_eq!((p.a, p.b, p.difference), (0.75, 0.25, 0.5));
        assert_eq!(p.mcnemar_p, 0.5);
        assert!(p.ci95[0] >= 0.0 && p.ci95[1] <= 1.0 && p.ci95[0] < 0.5 && p.ci95[1] > 0.5);
        assert!(
            (p.cohens_h - (2.0 * 0.75f64.sqrt().asin() - 2.0 * 0.25f64.sqrt().asin())).abs()
                < 1e-12
        );
        // d = 1, 0, 0, 1: mean 0.5, sd 0.57735
        assert!((p.cohens_dz.unwrap() - 0.5 / (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!(paired(&a, &m(&[("x", 1.0)]), &Bootstrap::default()).is_none());
    }

    proptest::proptest! {
        #[test]
        fn mcnemar_is_a_symmetric_probability(b in 0u64..200, c in 0u64..200) {
            let p = mcnemar_exact_p(b, c);
            proptest::prop_assert!((0.0..=1.0).contains(&p));
            proptest::prop_assert_eq!(p, mcnemar_exact_p(c, b));
            // moving one discordant pair from the smaller side to the larger never raises p
            if b < c {
                proptest::prop_assert!(mcnemar_exact_p(b, c + 1) <= p + 1e-12);
            }
        }
    }
}
