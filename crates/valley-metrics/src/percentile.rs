//! Percentiles of a sorted sample, the two ways valley reports them.
//!
//! *Definition.* [`nearest_rank`]: the smallest value with at least a share `q` of the values at
//! or below it (always a member of the sample). [`interpolated`]: linear interpolation between
//! the order statistics at position `q·(n − 1)`, numpy's default.
//!
//! *Why it matters.* Lengths (tokens of a response, of a training conversation) are reported by
//! nearest rank, so a percentile is a length that occurred; bootstrap intervals and fitted
//! quantities interpolate, as numpy (and so the papers' scripts) do.
//!
//! *Example.* For `1..=100`, the nearest-rank median is 50 and the interpolated one 50.5.
//!
//! *Pitfalls.* Both expect the slice sorted ascending; neither sorts it.

use valley_types::{LengthPercentiles, LengthStats};

/// The nearest-rank percentile `q` (in [0, 1]) of `sorted` (ascending), or `None` when empty.
pub fn nearest_rank<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (q * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// The percentile `q` (in [0, 1]) of `sorted` (ascending) by linear interpolation between order
/// statistics (numpy's default), or `None` when empty.
pub fn interpolated(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q * last as f64;
    let below = pos.floor() as usize;
    let above = (below + 1).min(last);
    let frac = pos - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * frac)
}

/// The count, nearest-rank percentiles (10, 25, 50, 75, 90, 99), maximum and mean of lengths.
pub fn length_stats(values: impl IntoIterator<Item = u64>) -> LengthStats {
    let mut v: Vec<u64> = values.into_iter().collect();
    v.sort_unstable();
    let at = |q: f64| nearest_rank(&v, q);
    let percentiles = match (at(0.10), at(0.25), at(0.50), at(0.75), at(0.90), at(0.99), v.last()) {
        (Some(p10), Some(p25), Some(p50), Some(p75), Some(p90), Some(p99), Some(&max)) => {
            Some(LengthPercentiles {
                p10,
                p25,
                p50,
                p75,
                p90,
                p99,
                max,
                mean: v.iter().sum::<u64>() as f64 / v.len() as f64,
            })
        }
        _ => None,
    };
    LengthStats { count: v.len() as u64, percentiles }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_cases() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 0.5), Some(50));
        assert_eq!(nearest_rank(&v, 0.9), Some(90));
        assert_eq!(nearest_rank(&v, 1.0), Some(100));
        assert_eq!(nearest_rank(&v, 0.0), Some(1));
        assert_eq!(nearest_rank(&[1, 2], 0.5), Some(1));
        assert_eq!(nearest_rank::<u32>(&[], 0.5), None);
        let f: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(interpolated(&f, 0.5), Some(50.5));
        assert_eq!(interpolated(&[0.0, 1.0], 0.25), Some(0.25));
        assert_eq!(interpolated(&[3.0], 0.9), Some(3.0));
        assert_eq!(interpolated(&[], 0.5), None);
    }

    #[test]
    fn length_stats_of_a_small_set() {
        let s = length_stats([30, 100, 60, 100, 40, 5, 20, 95]);
        assert_eq!(s.count, 8);
        let p = s.percentiles.unwrap();
        assert_eq!(
            (p.p10, p.p25, p.p50, p.p75, p.p90, p.p99, p.max),
            (5, 20, 40, 95, 100, 100, 100)
        );
        assert_eq!(p.mean, 56.25);
        assert_eq!(length_stats([]), LengthStats { count: 0, percentiles: None });
    }

    proptest! {
        #[test]
        fn nearest_rank_is_a_member_and_monotone(mut v in proptest::collection::vec(0u32..1000, 1..200), q in 0.0f64..1.0) {
            v.sort_unstable();
            let x = nearest_rank(&v, q).unwrap();
            prop_assert!(v.contains(&x));
            prop_assert!(x <= nearest_rank(&v, (q + 0.01).min(1.0)).unwrap());
            let at_or_below = v.iter().filter(|y| **y <= x).count() as f64;
            prop_assert!(at_or_below / v.len() as f64 >= q - 1e-9);
        }

        #[test]
        fn interpolated_lies_between_its_neighbours(mut v in proptest::collection::vec(0.0f64..1.0, 1..50), q in 0.0f64..=1.0) {
            v.sort_by(f64::total_cmp);
            let x = interpolated(&v, q).unwrap();
            prop_assert!(v[0] <= x && x <= v[v.len() - 1]);
        }
    }
}
