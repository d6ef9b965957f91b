//! A share of responses, kept as its two counts so rates from several runs add up exactly.

use serde::{Deserialize, Serialize};

/// `count` of `total` items have a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rate {
    /// Items with the property.
    pub count: u64,
    /// Items looked at.
    pub total: u64,
}

impl Rate {
    /// Counts the items of `flags` that are `true`.
    pub fn of(flags: impl IntoIterator<Item = bool>) -> Self {
        flags.into_iter().fold(Self::default(), |r, f| Self {
            count: r.count + u64::from(f),
            total: r.total + 1,
        })
    }

    /// `count / total`, or `None` when nothing was looked at.
    pub fn value(self) -> Option<f64> {
        (self.total > 0).then(|| self.count as f64 / self.total as f64)
    }
}

impl std::ops::Add for Rate {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self { count: self.count + other.count, total: self.total + other.total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_value() {
        assert_eq!(Rate::of([true, false, true]), Rate { count: 2, total: 3 });
        assert_eq!(Rate::of([]).value(), None);
        assert_eq!(Rate::of([true, false]).value(), Some(0.5));
        assert_eq!(Rate::of([true]) + Rate::of([false]), Rate { count: 1, total: 2 });
    }
}
