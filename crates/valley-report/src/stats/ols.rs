//! Ordinary least squares of a score on log10(data size), and the power-law fit it is compared
//! with.
//!
//! *Definition.* The log-linear fit is `score = a + b·log10(size)`, fitted by ordinary least
//! squares; `b` is the change in score per tenfold data (`slope_per_decade`). The power law is
//! `score = c·size^k`, fitted by least squares on `ln score = ln c + k·ln size`. Both `r2` are
//! computed on the score scale (`1 − SS_res/SS_tot`), so they compare like with like.
//!
//! *Pitfalls.* With two points every two-parameter fit is exact (`r2 = 1`); with three, `r2` says
//! little about which shape is right. The regression interval of the slope needs at least three
//! points and is very wide with few (Student's t with n − 2 degrees of freedom).

use serde::Serialize;

use super::quantile::t95;

/// A least-squares line `y = intercept + slope·x`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ols {
    /// Points fitted.
    pub n: usize,
    /// Value at x = 0.
    pub intercept: f64,
    /// Change in y per unit of x.
    pub slope: f64,
    /// Coefficient of determination on the fitted scale (1 when every point is on the line).
    pub r2: f64,
    /// Standard error of the slope from the residuals (`None` below three points).
    pub slope_se: Option<f64>,
    /// 95% interval of the slope from the residuals, Student's t with n − 2 degrees of freedom
    /// (`None` below three points).
    pub slope_ci95: Option<[f64; 2]>,
    /// Weight of each y in the slope (`slope = Σ wᵢ·yᵢ`), to propagate known errors of the yᵢ.
    #[serde(skip)]
    pub slope_weights: Vec<f64>,
}

impl Ols {
    /// The fitted y at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// The least-squares line through `(x, y)`, or `None` with fewer than two points or all x equal.
pub fn ols(x: &[f64], y: &[f64]) -> Option<Ols> {
    let n = x.len();
    if n < 2 || y.len() != n {
        return None;
    }
    let xm = x.iter().sum::<f64>() / n as f64;
    let ym = y.iter().sum::<f64>() / n as f64;
    let sxx: f64 = x.iter().map(|v| (v - xm).powi(2)).sum();
    if sxx <= f64::EPSILON * n as f64 {
        return None;
    }
    let slope_weights: Vec<f64> = x.iter().map(|v| (v - xm) / sxx).collect();
    let slope: f64 = slope_weights.iter().zip(y).map(|(w, v)| w * v).sum();
    let intercept = ym - slope * xm;
    let ss_res: f64 = x.iter().zip(y).map(|(a, b)| (b - (intercept + slope * a)).powi(2)).sum();
    let ss_tot: f64 = y.iter().map(|v| (v - ym).powi(2)).sum();
    let (slope_se, slope_ci95) = if n >= 3 {
        let se = (ss_res / (n - 2) as f64 / sxx).sqrt();
        let t = t95(n - 2);
        (Some(se), Some([slope - t * se, slope + t * se]))
    } else {
        (None, None)
    };
    Some(Ols {
        n,
        intercept,
        slope,
        r2: r_squared(ss_res, ss_tot),
        slope_se,
        slope_ci95,
        slope_weights,
    })
}

/// A power law `y = coefficient · size^exponent`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PowerLaw {
    /// `c` in `c·size^k`.
    pub coefficient: f64,
    /// `k` in `c·size^k`.
    pub exponent: f64,
    /// Coefficient of determination on the score scale.
    pub r2: f64,
}

impl PowerLaw {
    /// The fitted score at `size`.
    pub fn at(&self, size: f64) -> f64 {
        self.coefficient * size.powf(self.exponent)
    }
}

/// The power law through `(size, y)`, fitted on the log-log scale; `None` when a size or a score
/// is not positive, or with fewer than two distinct sizes.
pub fn power_law(size: &[f64], y: &[f64]) -> Option<PowerLaw> {
    if size.iter().chain(y).any(|v| *v <= 0.0) {
        return None;
    }
    let lx: Vec<f64> = size.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let fit = ols(&lx, &ly)?;
    let law = PowerLaw { coefficient: fit.intercept.exp(), exponent: fit.slope, r2: 0.0 };
    let ym = y.iter().sum::<f64>() / y.len() as f64;
    let ss_res: f64 = size.iter().zip(y).map(|(s, v)| (v - law.at(*s)).powi(2)).sum();
    let ss_tot: f64 = y.iter().map(|v| (v - ym).powi(2)).sum();
    Some(PowerLaw { r2: r_squared(ss_res, ss_tot), ..law })
}

/// `1 − SS_res/SS_tot`; a flat series is explained perfectly only by a perfect fit.
fn r_squared(ss_res: f64, ss_tot: f64) -> f64 {
    if ss_tot <= 0.0 { if ss_res <= 1e-24 { 1.0 } else { 0.0 } } else { 1.0 - ss_res / ss_tot }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn exact_line_and_known_regression() {
        let f = ols(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]).unwrap();
        assert!(close(f.slope, 2.0) && close(f.intercept, 1.0) && close(f.r2, 1.0));
        assert_eq!(f.slope_se, Some(0.0));
        // y = 1, 2, 2 at x = 0, 1, 2: slope 0.5, intercept 7/6, SS_res 1/6, SS_tot 2/3, r2 0.75;
        // se = sqrt((1/6)/1/2) = 0.288675, t(1) = 12.706.
        let f = ols(&[0.0, 1.0, 2.0], &[1.0, 2.0, 2.0]).unwrap();
        assert!(close(f.slope, 0.5) && close(f.intercept, 7.0 / 6.0) && close(f.r2, 0.75));
        assert!((f.slope_se.unwrap() - 0.288_675_134_6).abs() < 1e-9);
        let [lo, hi] = f.slope_ci95.unwrap();
        assert!((lo - (0.5 - 12.706 * 0.288_675_134_6)).abs() < 1e-3 && hi > 4.0);
        assert!(close(f.slope_weights.iter().zip([1.0, 2.0, 2.0]).map(|(w, y)| w * y).sum(), 0.5));
    }

    #[test]
    fn degenerate_inputs() {
        assert!(ols(&[1.0], &[1.0]).is_none());
        assert!(ols(&[1.0, 1.0], &[1.0, 2.0]).is_none());
        let two = ols(&[1.0, 2.0], &[1.0, 5.0]).unwrap();
        assert!(close(two.r2, 1.0) && two.slope_ci95.is_none());
        assert!(power_law(&[1.0, 2.0], &[0.0, 1.0]).is_none());
    }

    #[test]
    fn power_law_recovers_its_parameters() {
        let sizes = [1e3, 1e4, 3e4];
        let y: Vec<f64> = sizes.iter().map(|s: &f64| 0.002 * s.powf(0.5)).collect();
        let p = power_law(&sizes, &y).unwrap();
        assert!(
            (p.coefficient - 0.002).abs() < 1e-12 && close(p.exponent, 0.5) && close(p.r2, 1.0)
        );
    }
}
