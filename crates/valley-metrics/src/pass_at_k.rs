//! pass@k: the chance that at least one of k samples drawn from a problem's n passes.
//!
//! *Definition.* For one problem with `n` samples of which `c` pass, the unbiased estimator of
//! Chen et al. (2021): `pass@k = 1 − C(n−c, k) / C(n, k)`, computed as the product
//! `1 − ∏_{i=n−c+1}^{n} (1 − k/i)` (exactly 1 when `n − c < k`). A benchmark's pass@k is the
//! unweighted mean over problems. pass@1 reduces to `c / n`.
//!
//! *Why it matters.* It is LiveCodeBench's headline number (`pass_k_utils.py`); the paper reports
//! pass@1.
//!
//! *Example.* `n = 4, c = 1`: pass@1 = 0.25, pass@2 = 0.5, pass@4 = 1.
//!
//! *Pitfalls.* Defined only for `k ≤ n`; LiveCodeBench reports a k only when every problem has at
//! least k samples, and so does [`mean_pass_at_k`]. A problem with no samples is not 0, it is
//! missing.

use serde::{Deserialize, Serialize};

/// Samples drawn (`n`) and samples that passed (`c`) for one problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Samples judged.
    pub n: u64,
    /// Samples that passed every test.
    pub c: u64,
}

/// pass@k of one problem, or `None` when `k` is 0, `k > n` or `c > n`.
pub fn pass_at_k(n: u64, c: u64, k: u64) -> Option<f64> {
    if k == 0 || k > n || c > n {
        return None;
    }
    if n - c < k {
        return Some(1.0);
    }
    let kf = k as f64;
    let miss: f64 = (n - c + 1..=n).map(|i| 1.0 - kf / i as f64).product();
    Some(1.0 - miss)
}

/// Mean pass@k over problems, or `None` when there are none or one has fewer than `k` samples.
pub fn mean_pass_at_k(problems: &[Counts], k: u64) -> Option<f64> {
    if problems.is_empty() {
        return None;
    }
    let mut sum = 0.0;
    for p in problems {
        sum += pass_at_k(p.n, p.c, k)?;
    }
    Some(sum / problems.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binomial(n: u64, k: u64) -> u128 {
        if k > n {
            return 0;
        }
        (0..k).fold(1u128, |acc, i| acc * u128::from(n - i) / u128::from(i + 1))
    }

    #[test]
    fn known_values() {
        let check = |n, c, k, expect: Option<f64>| {
            let got = pass_at_k(n, c, k);
            match (got, expect) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-12, "{n} {c} {k}: {g} vs {e}"),
                _ => assert_eq!(got, expect, "{n} {c} {k}"),
            }
        };
        check(4, 1, 1, Some(0.25));
        check(4, 1, 2, Some(0.5));
        check(4, 1, 4, Some(1.0));
        check(10, 0, 5, Some(0.0));
        check(10, 3, 5, Some(1.0 - 21.0 / 252.0));
        check(1, 1, 1, Some(1.0));
        check(3, 1, 4, None);
        check(3, 1, 0, None);
        check(3, 4, 1, None);
        assert_eq!(mean_pass_at_k(&[], 1), None);
        assert_eq!(mean_pass_at_k(&[Counts { n: 4, c: 1 }, Counts { n: 2, c: 2 }], 1), Some(0.625));
        assert_eq!(mean_pass_at_k(&[Counts { n: 4, c: 1 }, Counts { n: 2, c: 2 }], 3), None);
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_exact_combinatorics(n in 1u64..40, c_frac in 0.0f64..=1.0, k_frac in 0.0f64..=1.0) {
            let c = ((n as f64) * c_frac).round() as u64;
            let k = 1 + ((n - 1) as f64 * k_frac).round() as u64;
            let exact = 1.0 - binomial(n - c, k) as f64 / binomial(n, k) as f64;
            let got = pass_at_k(n, c, k).unwrap();
            proptest::prop_assert!((got - exact).abs() < 1e-9, "{} vs {}", got, exact);
            proptest::prop_assert!((0.0..=1.0).contains(&got));
        }

        #[test]
        fn monotone_in_c_and_k(n in 1u64..60, c in 0u64..60, k in 1u64..60) {
            let c = c.min(n);
            let k = k.min(n);
            let here = pass_at_k(n, c, k).unwrap();
            if c < n {
                proptest::prop_assert!(pass_at_k(n, c + 1, k).unwrap() >= here - 1e-12);
            }
            if k < n {
                proptest::prop_assert!(pass_at_k(n, c, k + 1).unwrap() >= here - 1e-12);
            }
            let p1 = pass_at_k(n, c, 1).unwrap();
            proptest::prop_assert!((p1 - c as f64 / n as f64).abs() < 1e-12);
        }
    }
}
