//! The uncertainty of one run's pass@1, and of the difference of two runs measured
//! independently.
//!
//! *Definition.* A run's 95% interval is, in order of preference: the interval the results give
//! (`valley eval`'s bootstrap over problems); a percentile bootstrap over the run's per-problem
//! outcomes; or a Wilson interval with `n_problems` trials, which bounds the bootstrap's width from
//! above (a per-problem pass share with mean p has variance at most p(1 − p)). Its standard error
//! is the interval's width over 2·1.96.
//!
//! *Pitfalls.* Two runs evaluated on the same problems are correlated; compare them with
//! [`crate::stats::paired`] when per-problem outcomes exist. The independent difference here is
//! the fallback, and it is conservative.

use serde::Serialize;
use valley_metrics::{Bootstrap, bootstrap_mean_ci};
use valley_types::RunResult;

use super::quantile::Z95;

/// Where a run's interval comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalSource {
    /// `pass_at_1_ci95` as the results give it.
    Given,
    /// A bootstrap over the run's per-problem outcomes.
    Bootstrap,
    /// A Wilson interval with `n_problems` trials (conservative).
    Wilson,
}

impl IntervalSource {
    /// The name written in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::Bootstrap => "bootstrap",
            Self::Wilson => "wilson",
        }
    }
}

/// A run's pass@1 with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// pass@1.
    pub value: f64,
    /// 95% interval.
    pub ci95: [f64; 2],
    /// Where the interval comes from.
    pub source: IntervalSource,
}

impl Estimate {
    /// The standard error implied by the interval.
    pub fn se(&self) -> f64 {
        (self.ci95[1] - self.ci95[0]) / (2.0 * Z95)
    }
}

/// The pass@1 of `run` with its interval (see the module docs for the order of sources).
pub fn estimate(run: &RunResult, bootstrap: &Bootstrap) -> Estimate {
    if let Some(ci) = run.pass_at_1_ci95 {
        return Estimate { value: run.pass_at_1, ci95: ci, source: IntervalSource::Given };
    }
    if let Some(pp) = &run.per_problem {
        let values: Vec<f64> = pp.values().copied().collect();
        if let Some(ci) = bootstrap_mean_ci(&values, bootstrap) {
            return Estimate {
                value: run.pass_at_1,
                ci95: [ci.lo, ci.hi],
                source: IntervalSource::Bootstrap,
            };
        }
    }
    Estimate {
        value: run.pass_at_1,
        ci95: wilson(run.pass_at_1, run.n_problems as f64),
        source: IntervalSource::Wilson,
    }
}

/// The Wilson score interval of a proportion `p` over `n` trials.
fn wilson(p: f64, n: f64) -> [f64; 2] {
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

/// The 95% interval of `a − b` for independently measured runs (normal approximation).
pub fn difference_interval(a: &Estimate, b: &Estimate) -> [f64; 2] {
    let d = a.value - b.value;
    let half = Z95 * (a.se().powi(2) + b.se().powi(2)).sqrt();
    [d - half, d + half]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(extra: &str) -> RunResult {
        let line = format!(
            r#"{{"run":"r","model":"m","data_size":1,"pass_at_1":0.5,"n_problems":100,"n_samples":100{extra}}}"#
        );
        serde_json::from_str(&line).unwrap()
    }

    #[test]
    fn sources_in_order() {
        let b = Bootstrap { resamples: 2000, ..Bootstrap::default() };
        let e = estimate(&run(r#","pass_at_1_ci95":[0.4,0.6]"#), &b);
        assert_eq!((e.source, e.ci95), (IntervalSource::Given, [0.4, 0.6]));
        assert!((e.se() - 0.2 / (2.0 * Z95)).abs() < 1e-12);
        let e = estimate(&run(r#","per_problem":{"a":0.0,"b":1.0,"c":0.5,"d":0.5}"#), &b);
        assert_eq!(e.source, IntervalSource::Bootstrap);
        assert!(e.ci95[0] < 0.5 && e.ci95[1] > 0.5);
        // Wilson, p = 0.5, n = 100: 0.5 ± 0.0961 (0.4038, 0.5962)
        let e = estimate(&run(""), &b);
        assert_eq!(e.source, IntervalSource::Wilson);
        assert!((e.ci95[0] - 0.4038).abs() < 1e-3 && (e.ci95[1] - 0.5962).abs() < 1e-3);
    }

    #[test]
    fn independent_difference() {
        let a = Estimate { value: 0.6, ci95: [0.5, 0.7], source: IntervalSource::Given };
        let b = Estimate { value: 0.4, ci95: [0.3, 0.5], source: IntervalSource::Given };
        let [lo, hi] = difference_interval(&a, &b);
        let half = 0.1 * 2f64.sqrt();
        assert!((lo - (0.2 - half)).abs() < 1e-12 && (hi - (0.2 + half)).abs() < 1e-12);
    }
}
