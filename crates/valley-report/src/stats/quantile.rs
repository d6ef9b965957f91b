//! The 97.5% quantiles behind every 95% interval of the report.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The standard normal's 97.5% quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Student's t 97.5% quantile with `df` degrees of freedom (`df` ≥ 1; infinite for 0), from
/// statrs's inverse CDF.
pub fn t95(df: usize) -> f64 {
    if df == 0 {
        return f64::INFINITY;
    }
    StudentsT::new(0.0, 1.0, df as f64)
        .expect("bug: a t distribution with df >= 1 is valid")
        .inverse_cdf(0.975)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // scipy.stats.t.ppf(0.975, df)
        for (df, want) in [
            (1, 12.706_204_736),
            (2, 4.302_652_730),
            (10, 2.228_138_852),
            (30, 2.042_272_456),
            (40, 2.021_075_390),
            (100, 1.983_971_519),
            (1000, 1.962_339_081),
        ] {
            assert!((t95(df) - want).abs() < 1e-6, "df {df}: {}", t95(df));
        }
        assert!(t95(0).is_infinite());
    }
}
