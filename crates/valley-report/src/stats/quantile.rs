//! The 97.5% quantiles behind every 95% interval of the report.

/// The standard normal's 97.5% quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Student's t 97.5% quantile with `df` degrees of freedom (`df` ≥ 1): tabulated to 30, then the
/// Cornish-Fisher expansion to its second term, within 1e-4 of the exact value.
pub fn t95(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706_205, 4.302_653, 3.182_446, 2.776_445, 2.570_582, 2.446_912, 2.364_624, 2.306_004,
        2.262_157, 2.228_139, 2.200_985, 2.178_813, 2.160_369, 2.144_787, 2.131_450, 2.119_905,
        2.109_816, 2.100_922, 2.093_024, 2.085_963, 2.079_614, 2.073_873, 2.068_658, 2.063_899,
        2.059_539, 2.055_529, 2.051_831, 2.048_407, 2.045_230, 2.042_272,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => {
            let (z, d) = (Z95, df as f64);
            z + (z.powi(3) + z) / (4.0 * d)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!((t95(1) - 12.706).abs() < 1e-3);
        assert!((t95(10) - 2.228).abs() < 1e-3);
        // exact: 2.021075 (df 40), 1.983972 (df 100)
        assert!((t95(40) - 2.021_075).abs() < 1e-4);
        assert!((t95(100) - 1.983_972).abs() < 1e-4);
        assert!(t95(0).is_infinite());
    }
}
