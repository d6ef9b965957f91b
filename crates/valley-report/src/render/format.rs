//! Number and size formatting shared by every table and figure.

pub use crate::study::size_label;

/// A value with `digits` decimals, or an em dash when absent.
pub(crate) fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |x| format!("{x:.digits$}"))
}

/// `[lo, hi]` with `digits` decimals.
pub(crate) fn interval(ci: [f64; 2], digits: usize) -> String {
    format!("[{:.digits$}, {:.digits$}]", ci[0], ci[1])
}

/// A signed value.
pub(crate) fn signed(v: f64, digits: usize) -> String {
    format!("{v:+.digits$}")
}

/// A p-value: three significant digits, or `<1e-4`.
pub(crate) fn p_value(p: f64) -> String {
    if p < 1e-4 { "<1e-4".into() } else { format!("{p:.4}") }
}

/// A comparison's name as tables show it (`correct − incorrect`).
pub(crate) fn versus(a: &str, b: &str) -> String {
    format!("{a} − {b}")
}

/// A relative difference as a signed percentage, or an em dash when undefined.
pub(crate) fn relative(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{:+.0}%", r * 100.0))
}

/// A comparison's paired cells: problems each run alone solved (`a/b`), McNemar p and d_z, or
/// em dashes when the runs have no per-problem outcomes.
pub(crate) fn paired_cells(paired: Option<&crate::stats::Paired>) -> (String, String, String) {
    match paired {
        Some(p) => {
            (format!("{}/{}", p.a_better, p.b_better), p_value(p.mcnemar_p), opt(p.cohens_dz, 3))
        }
        None => ("—".into(), "—".into(), "—".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (n, s) in [
            (0, "Baseline"),
            (1000, "1K"),
            (1500, "1.5K"),
            (30_000, "30K"),
            (500, "500"),
            (2_000_000, "2M"),
        ] {
            assert_eq!(size_label(n), s);
        }
        assert_eq!(opt(None, 3), "—");
        assert_eq!(interval([0.1, 0.25], 3), "[0.100, 0.250]");
        assert_eq!(p_value(0.00001), "<1e-4");
    }
}
