//! The valley analysis of one student's scaling curve: is there a valley, where is its bottom,
//! how deep is it, and how does the score grow past it.
//!
//! *Detection rule.* Let the bottom be the trained size with the lowest pass@1 (the smallest such
//! size on a tie). A valley is detected when both hold, each at 95% confidence:
//!
//! 1. **it dips**: the baseline (the `data_size: 0` run) scores above the bottom, and the 95%
//!    interval of `baseline − bottom` lies above zero;
//! 2. **it recovers**: the bottom is not the largest size, and the 95% interval of
//!    `score(largest size) − bottom` lies above zero.
//!
//! The intervals are paired bootstraps over problems when both runs carry per-problem outcomes on
//! shared problems, otherwise the independent normal interval from each run's own interval (see
//! [`crate::stats::estimate`]). A curve that only rises has its bottom above the baseline and is
//! no valley; a dip within noise is none either.
//!
//! *The trend past the bottom.* Over the bottom and every larger size, `score = a + b·log10(size)`
//! by least squares: `slope_per_decade = b`, `r2`. Its 95% interval is a bootstrap over problems
//! (the same problems drawn for every run, refitting each time) when every run past the bottom
//! has per-problem outcomes on the same problems; otherwise the run intervals propagated through
//! the least-squares weights (`b = Σ wᵢ·yᵢ`, so `var b = Σ wᵢ²·seᵢ²`). Both capture sampling
//! error only; the regression interval (Student's t, three points or more) adds lack of fit and is
//! reported beside them. A power law `c·size^k` is fitted to the same points and the fit with the
//! higher `r2` (score scale) is named, when there are three points or more. When every score
//! from the bottom on is the same there is nothing to fit: no line, no `r2`, and `no_fit` says so.

use std::collections::BTreeMap;

use serde::Serialize;
use valley_metrics::{Bootstrap, interpolated};
use valley_types::RunResult;

use crate::stats::{
    Estimate, IntervalSource, Ols, PowerLaw, SplitMix64, Z95, difference_interval, estimate, ols,
    paired, power_law,
};
use crate::study::Curve;

/// One run of a curve, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Run name.
    pub run: String,
    /// Training examples (0: baseline).
    pub data_size: u64,
    /// pass@1.
    pub pass_at_1: f64,
    /// 95% interval of pass@1.
    pub pass_at_1_ci95: [f64; 2],
    /// Where the interval comes from.
    pub ci_source: IntervalSource,
    /// Completion rate.
    pub completion_rate: Option<f64>,
    /// Think-tag rate.
    pub think_tag_rate: Option<f64>,
    /// pass@1 grading only code after a closed `</think>`.
    pub pass_at_1_after_think: Option<f64>,
    /// Where the samples ended: passed, not finished, no code, failed.
    pub failure_decomposition: Option<valley_types::FailureDecomposition>,
    /// Problems evaluated.
    pub n_problems: u64,
    /// Samples evaluated.
    pub n_samples: u64,
}

/// A difference of two runs' pass@1 with its 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The run subtracted from.
    pub from_run: String,
    /// The run subtracted.
    pub to_run: String,
    /// `score(from) − score(to)`.
    pub difference: f64,
    /// 95% interval of the difference.
    pub ci95: [f64; 2],
    /// `paired_bootstrap` (shared problems) or `independent`.
    pub method: &'static str,
    /// Whether the interval lies above zero.
    pub significant: bool,
    /// Exact McNemar p-value (paired only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcnemar_p: Option<f64>,
    /// Problems compared (paired only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_common: Option<usize>,
}

/// A log-linear fit of a rate on data size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateFit {
    /// Sizes fitted.
    pub sizes: Vec<u64>,
    /// Change per tenfold data.
    pub slope_per_decade: f64,
    /// Coefficient of determination.
    pub r2: f64,
}

/// The valley analysis of one student (one entry of `fit.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudentFit {
    /// The student.
    pub model: String,
    /// Display name.
    pub label: String,
    /// Whether the rule (module docs) finds a valley.
    pub valley_detected: bool,
    /// Why, in words.
    pub reason: String,
    /// The trained size with the lowest pass@1.
    pub min_size: Option<u64>,
    /// pass@1 at that size.
    pub min_score: Option<f64>,
    /// pass@1 at the bottom over the baseline's.
    pub depth_ratio: Option<f64>,
    /// `baseline − bottom`.
    pub depth: Option<Difference>,
    /// `largest size − bottom`.
    pub rise: Option<Difference>,
    /// Sizes of the log-linear fit (the bottom and every larger size).
    pub fit_sizes: Vec<u64>,
    /// Log-linear fit past the bottom: change in pass@1 per tenfold data.
    pub slope_per_decade: Option<f64>,
    /// Its intercept (pass@1 at one example, extrapolated).
    pub intercept: Option<f64>,
    /// Its coefficient of determination.
    pub r2: Option<f64>,
    /// 95% interval of the slope (sampling error).
    pub slope_ci95: Option<[f64; 2]>,
    /// `bootstrap_over_problems` or `propagated_run_intervals`.
    pub slope_ci95_method: Option<&'static str>,
    /// 95% regression interval of the slope (Student's t; three points or more).
    pub slope_ci95_regression: Option<[f64; 2]>,
    /// Power-law fit of the same points.
    pub power_law: Option<PowerLaw>,
    /// `log_linear` or `power_law`: the higher r2 (three points or more).
    pub better_fit: Option<&'static str>,
    /// Why there is no fit past the bottom though there are sizes to fit (every score the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_fit: Option<String>,
    /// The baseline run.
    pub baseline: Option<CurvePoint>,
    /// The trained runs, by size.
    pub points: Vec<CurvePoint>,
    /// Log-linear fits of the completion and think-tag rates over every trained size.
    pub rates: BTreeMap<String, RateFit>,
}

impl StudentFit {
    /// The log-linear fit as a line over log10(size), when there is one.
    pub fn line(&self) -> Option<(f64, f64)> {
        Some((self.intercept?, self.slope_per_decade?))
    }
}

/// Runs the analysis of `curve`.
pub fn analyse(curve: &Curve, runs: &[RunResult], bootstrap: &Bootstrap) -> StudentFit {
    let point = |i: usize| {
        let r = &runs[i];
        let e = estimate(r, bootstrap);
        CurvePoint {
            run: r.run.clone(),
            data_size: r.data_size.unwrap_or(0),
            pass_at_1: e.value,
            pass_at_1_ci95: e.ci95,
            ci_source: e.source,
            completion_rate: r.completion_rate,
            think_tag_rate: r.think_tag_rate,
            pass_at_1_after_think: r.pass_at_1_after_think,
            failure_decomposition: r.failure_decomposition,
            n_problems: r.n_problems,
            n_samples: r.n_samples,
        }
    };
    let points: Vec<CurvePoint> = curve.points.iter().map(|&i| point(i)).collect();
    let mut fit = StudentFit {
        model: curve.model.clone(),
        label: curve.label.clone(),
        valley_detected: false,
        reason: String::new(),
        min_size: None,
        min_score: None,
        depth_ratio: None,
        depth: None,
        rise: None,
        fit_sizes: Vec::new(),
        slope_per_decade: None,
        intercept: None,
        r2: None,
        slope_ci95: None,
        slope_ci95_method: None,
        slope_ci95_regression: None,
        power_law: None,
        better_fit: None,
        no_fit: None,
        baseline: curve.baseline.map(point),
        points,
        rates: rate_fits(curve, runs),
    };
    // The bottom: lowest score, smallest size on a tie (points are sorted by size).
    let Some(bottom) = (0..curve.points.len())
        .min_by(|&a, &b| fit.points[a].pass_at_1.total_cmp(&fit.points[b].pass_at_1))
    else {
        fit.reason = "no trained runs".into();
        return fit;
    };
    let bottom_run = &runs[curve.points[bottom]];
    fit.min_size = Some(fit.points[bottom].data_size);
    fit.min_score = Some(fit.points[bottom].pass_at_1);
    trend(&mut fit, curve, runs, bottom, bootstrap);

    let Some(base_i) = curve.baseline else {
        fit.reason = "no baseline run (data_size 0) to compare the bottom with".into();
        return fit;
    };
    let base_run = &runs[base_i];
    if base_run.pass_at_1 > 0.0 {
        fit.depth_ratio = Some(bottom_run.pass_at_1 / base_run.pass_at_1);
    }
    let depth = difference(base_run, bottom_run, bootstrap);
    let last = curve.points.len() - 1;
    let rise =
        (bottom < last).then(|| difference(&runs[curve.points[last]], bottom_run, bootstrap));
    let size = |s: u64| crate::study::size_label(s);
    let bottom_size = size(fit.points[bottom].data_size);
    fit.reason = match (&depth, &rise) {
        (d, _) if d.difference <= 0.0 => {
            format!("no dip: the lowest trained score ({bottom_size}) is not below the baseline")
        }
        (d, _) if !d.significant => format!(
            "the dip at {bottom_size} ({:+.4}) is within its 95% interval [{:.4}, {:.4}] of zero",
            -d.difference, -d.ci95[1], -d.ci95[0]
        ),
        (_, None) => format!(
            "scores fall below the baseline and do not recover: the lowest score is at the largest size ({bottom_size})"
        ),
        (_, Some(r)) if !r.significant => format!(
            "the rise after {bottom_size} ({:+.4}) is within its 95% interval [{:.4}, {:.4}] of zero",
            r.difference, r.ci95[0], r.ci95[1]
        ),
        (d, Some(r)) => format!(
            "valley at {bottom_size}: {:.4} below the baseline (95% [{:.4}, {:.4}]), then {:+.4} by {} (95% [{:.4}, {:.4}])",
            d.difference,
            d.ci95[0],
            d.ci95[1],
            r.difference,
            size(fit.points[last].data_size),
            r.ci95[0],
            r.ci95[1]
        ),
    };
    fit.valley_detected = depth.significant && rise.as_ref().is_some_and(|r| r.significant);
    fit.depth = Some(depth);
    fit.rise = rise;
    fit
}

/// `a − b` with its 95% interval: paired when both carry per-problem outcomes on shared problems.
pub fn difference(a: &RunResult, b: &RunResult, bootstrap: &Bootstrap) -> Difference {
    if let (Some(pa), Some(pb)) = (&a.per_problem, &b.per_problem)
        && let Some(p) = paired(pa, pb, bootstrap)
    {
        return Difference {
            from_run: a.run.clone(),
            to_run: b.run.clone(),
            difference: p.difference,
            ci95: p.ci95,
            method: "paired_bootstrap",
            significant: p.ci95[0] > 0.0,
            mcnemar_p: Some(p.mcnemar_p),
            n_common: Some(p.n_common),
        };
    }
    let (ea, eb) = (estimate(a, bootstrap), estimate(b, bootstrap));
    let ci95 = difference_interval(&ea, &eb);
    Difference {
        from_run: a.run.clone(),
        to_run: b.run.clone(),
        difference: ea.value - eb.value,
        ci95,
        method: "independent",
        significant: ci95[0] > 0.0,
        mcnemar_p: None,
        n_common: None,
    }
}

/// The log-linear and power-law fits from the bottom on, with the slope's intervals.
fn trend(fit: &mut StudentFit, curve: &Curve, runs: &[RunResult], bottom: usize, b: &Bootstrap) {
    let idx = &curve.points[bottom..];
    let sizes: Vec<f64> = idx.iter().map(|&i| runs[i].data_size.unwrap_or(0) as f64).collect();
    let x: Vec<f64> = sizes.iter().map(|s| s.log10()).collect();
    let y: Vec<f64> = idx.iter().map(|&i| runs[i].pass_at_1).collect();
    fit.fit_sizes = idx.iter().map(|&i| runs[i].data_size.unwrap_or(0)).collect();
    if let [first, .., _] = y[..]
        && y.iter().all(|v| *v == first)
    {
        // A line through equal scores "fits" with R² 1 and says nothing.
        fit.no_fit =
            Some(format!("pass@1 is {first:.3} at every size from the bottom on: nothing to fit"));
        return;
    }
    let Some(line) = ols(&x, &y) else { return };
    fit.slope_per_decade = Some(line.slope);
    fit.intercept = Some(line.intercept);
    fit.r2 = Some(line.r2);
    fit.slope_ci95_regression = line.slope_ci95;
    let per_run: Vec<&RunResult> = idx.iter().map(|&i| &runs[i]).collect();
    if let Some(ci) = bootstrap_slope(&per_run, &x, b) {
        fit.slope_ci95 = Some(ci);
        fit.slope_ci95_method = Some("bootstrap_over_problems");
    } else {
        let estimates: Vec<Estimate> = per_run.iter().map(|r| estimate(r, b)).collect();
        fit.slope_ci95 = Some(propagated(&line, &estimates));
        fit.slope_ci95_method = Some("propagated_run_intervals");
    }
    fit.power_law = power_law(&sizes, &y);
    if let Some(p) = &fit.power_law
        && line.n >= 3
    {
        fit.better_fit = Some(if p.r2 > line.r2 { "power_law" } else { "log_linear" });
    }
}

/// The slope's interval from each run's own interval (independent errors).
fn propagated(line: &Ols, estimates: &[Estimate]) -> [f64; 2] {
    let var: f64 =
        line.slope_weights.iter().zip(estimates).map(|(w, e)| (w * e.se()).powi(2)).sum();
    let half = Z95 * var.sqrt();
    [line.slope - half, line.slope + half]
}

/// A percentile bootstrap of the slope, drawing the same problems for every run; `None` unless
/// every run has per-problem outcomes on the same problems.
fn bootstrap_slope(runs: &[&RunResult], x: &[f64], b: &Bootstrap) -> Option<[f64; 2]> {
    let first = runs.first()?.per_problem.as_ref()?;
    let mut table: Vec<Vec<f64>> = Vec::with_capacity(runs.len());
    for r in runs {
        let pp = r.per_problem.as_ref()?;
        if pp.len() != first.len() || !pp.keys().eq(first.keys()) {
            return None;
        }
        table.push(pp.values().copied().collect());
    }
    let n = first.len();
    if n == 0 || b.resamples == 0 {
        return None;
    }
    let mut rng = SplitMix64(b.seed);
    let mut slopes = Vec::with_capacity(b.resamples as usize);
    let mut draw = vec![0usize; n];
    let mut y = vec![0.0; runs.len()];
    for _ in 0..b.resamples {
        for d in &mut draw {
            *d = rng.below(n);
        }
        for (yi, row) in y.iter_mut().zip(&table) {
            *yi = draw.iter().map(|&j| row[j]).sum::<f64>() / n as f64;
        }
        slopes.push(ols(x, &y)?.slope);
    }
    slopes.sort_by(f64::total_cmp);
    let tail = (1.0 - b.confidence) / 2.0;
    Some([interpolated(&slopes, tail)?, interpolated(&slopes, 1.0 - tail)?])
}

fn rate_fits(curve: &Curve, runs: &[RunResult]) -> BTreeMap<String, RateFit> {
    let mut out = BTreeMap::new();
    type Rate = fn(&RunResult) -> Option<f64>;
    let rates: [(&str, Rate); 2] =
        [("completion_rate", |r| r.completion_rate), ("think_tag_rate", |r| r.think_tag_rate)];
    for (name, get) in rates {
        let pts: Vec<(u64, f64)> = curve
            .points
            .iter()
            .filter_map(|&i| Some((runs[i].data_size?, get(&runs[i])?)))
            .collect();
        let x: Vec<f64> = pts.iter().map(|p| (p.0 as f64).log10()).collect();
        let y: Vec<f64> = pts.iter().map(|p| p.1).collect();
        // equal rates at every size: nothing to fit (a flat line's R² of 1 would mean nothing)
        if y.windows(2).all(|w| w[0] == w[1]) {
            continue;
        }
        if let Some(line) = ols(&x, &y) {
            out.insert(
                name.to_owned(),
                RateFit {
                    sizes: pts.iter().map(|p| p.0).collect(),
                    slope_per_decade: line.slope,
                    r2: line.r2,
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::Study;

    fn curve(baseline: f64, scores: &[(u64, f64)], n: u64) -> StudentFit {
        let mut runs = vec![run(0, baseline, n)];
        runs.extend(scores.iter().map(|&(s, y)| run(s, y, n)));
        let study = Study::new(runs).unwrap();
        analyse(
            &study.curves[0],
            &study.runs,
            &Bootstrap { resamples: 200, ..Bootstrap::default() },
        )
    }

    fn run(size: u64, score: f64, n: u64) -> RunResult {
        serde_json::from_value(serde_json::json!({
            "run": format!("r{size}"), "model": "m", "data_size": size, "pass_at_1": score,
            "n_problems": n, "n_samples": n,
        }))
        .unwrap()
    }

    #[test]
    fn a_deep_dip_with_many_problems_is_a_valley_and_needs_a_baseline() {
        let f = curve(0.3, &[(1000, 0.1), (10_000, 0.35), (30_000, 0.45)], 1000);
        assert!(f.valley_detected, "{}", f.reason);
        assert_eq!((f.min_size, f.fit_sizes.len()), (Some(1000), 3));
        // the same dip on 20 problems is within noise
        let f = curve(0.3, &[(1000, 0.1), (10_000, 0.35), (30_000, 0.45)], 20);
        assert!(!f.valley_detected, "{}", f.reason);
        let study = Study::new(vec![run(1000, 0.1, 500), run(10_000, 0.3, 500)]).unwrap();
        let f = analyse(&study.curves[0], &study.runs, &Bootstrap::default());
        assert!(!f.valley_detected && f.reason.contains("no baseline"), "{}", f.reason);
        assert_eq!(f.min_size, Some(1000));
    }

    #[test]
    fn equal_scores_have_no_fit_and_say_so() {
        let f = curve(0.0, &[(2, 0.0), (4, 0.0), (8, 0.0)], 16);
        assert!(!f.valley_detected);
        assert_eq!((f.slope_per_decade, f.r2, f.power_law), (None, None, None));
        assert_eq!(
            f.no_fit.as_deref(),
            Some("pass@1 is 0.000 at every size from the bottom on: nothing to fit")
        );
        assert_eq!(f.fit_sizes, [2, 4, 8]);
        // a rising curve is fitted as before
        let f = curve(0.0, &[(2, 0.1), (4, 0.2), (8, 0.3)], 16);
        assert!(f.no_fit.is_none() && f.r2.is_some());
    }

    proptest::proptest! {
        /// A curve that never drops below its baseline is never a valley, whatever its shape.
        #[test]
        fn no_dip_no_valley(
            base in 0.01f64..0.9,
            rises in proptest::collection::vec(0.0f64..0.1, 2..5),
            n in 10u64..5000,
        ) {
            let scores: Vec<(u64, f64)> = rises
                .iter()
                .enumerate()
                .map(|(k, r)| (1000 * 10u64.pow(k as u32), (base + r).min(1.0)))
                .collect();
            let f = curve(base, &scores, n);
            proptest::prop_assert!(!f.valley_detected, "{}", f.reason);
            proptest::prop_assert!(f.depth_ratio.unwrap() >= 1.0);
        }

        /// The depth test agrees with the independent interval: detected dips are real ones.
        #[test]
        fn detected_valleys_dip_and_recover(
            base in 0.05f64..0.9,
            ys in proptest::collection::vec(0.0f64..1.0, 2..5),
            n in 10u64..5000,
        ) {
            let scores: Vec<(u64, f64)> =
                ys.iter().enumerate().map(|(k, y)| (1000 * 10u64.pow(k as u32), *y)).collect();
            let f = curve(base, &scores, n);
            if f.valley_detected {
                let bottom = f.min_score.unwrap();
                proptest::prop_assert!(bottom < base);
                proptest::prop_assert!(f.points.last().unwrap().pass_at_1 > bottom);
                proptest::prop_assert!(f.depth.unwrap().ci95[0] > 0.0);
            }
        }
    }
}
