//! Value parsers for numeric flags: every number is checked when the command line is parsed
//! (finite, inside its range, the range named in the message), so no value a user can type
//! reaches the work as NaN, infinity, zero where zero means nothing, or a size that overflows
//! (issue 14).

use std::ops::RangeInclusive;

use clap::builder::{RangedU64ValueParser, TypedValueParser};

/// Largest per-test time limit of the judge, in seconds (an hour: LiveCodeBench uses 6).
pub(crate) const MAX_TEST_SECONDS: f64 = 3600.0;
/// Largest wait or request time limit of `generate`, in seconds (a week).
pub(crate) const MAX_WAIT_SECONDS: f64 = 7.0 * 86_400.0;
/// Concurrent workers (sandboxed interpreters, threads, steps) at most.
pub(crate) const MAX_JOBS: u64 = 1024;
/// Memory limit per grading process in MiB: below 64 no Python interpreter runs; above 1 TiB
/// is no limit at all.
pub(crate) const MEMORY_MB: RangeInclusive<u64> = 64..=1 << 20;
/// Bootstrap resamples at most (ten million already takes minutes).
pub(crate) const MAX_RESAMPLES: u64 = 10_000_000;
/// Token budgets and counts at most.
pub(crate) const MAX_TOKENS: u64 = 100_000_000;

/// A float inside `lo..hi`, each end open or closed as `lo_open`/`hi_open` say.
#[derive(Clone, Copy)]
pub(crate) struct FloatRange {
    lo: f64,
    lo_open: bool,
    hi: f64,
    hi_open: bool,
    unit: &'static str,
}

impl FloatRange {
    /// A positive number of seconds, at most `hi`.
    pub(crate) const fn seconds(hi: f64) -> Self {
        Self { lo: 0.0, lo_open: true, hi, hi_open: false, unit: "seconds" }
    }

    /// A value in `[lo, hi]`.
    pub(crate) const fn closed(lo: f64, hi: f64) -> Self {
        Self { lo, lo_open: false, hi, hi_open: false, unit: "" }
    }

    /// A value in `(lo, hi]`.
    pub(crate) const fn left_open(lo: f64, hi: f64) -> Self {
        Self { lo, lo_open: true, hi, hi_open: false, unit: "" }
    }

    fn contains(self, v: f64) -> bool {
        let above = if self.lo_open { v > self.lo } else { v >= self.lo };
        let below = if self.hi_open { v < self.hi } else { v <= self.hi };
        v.is_finite() && above && below
    }

    fn describe(self) -> String {
        let unit = if self.unit.is_empty() { String::new() } else { format!("{} ", self.unit) };
        format!(
            "expected {unit}in {}{}, {}{}",
            if self.lo_open { '(' } else { '[' },
            self.lo,
            self.hi,
            if self.hi_open { ')' } else { ']' }
        )
    }

    /// Parses `text` as a finite float inside the range.
    pub(crate) fn check(self, text: &str) -> Result<f64, String> {
        let v: f64 =
            text.trim().parse().map_err(|_| format!("not a number; {}", self.describe()))?;
        if self.contains(v) { Ok(v) } else { Err(format!("{}, got {v}", self.describe())) }
    }
}

impl TypedValueParser for FloatRange {
    type Value = f64;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<f64, clap::Error> {
        let invalid = |message: String| {
            let flag = arg.map_or_else(|| "value".to_owned(), ToString::to_string);
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value '{}' for '{flag}': {message}\n", value.to_string_lossy()),
            )
            .with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| invalid("not UTF-8".into()))?;
        self.check(text).map_err(invalid)
    }
}

/// A count in `range` (for `usize`, `u32` and `u64` flags).
pub(crate) fn count<T>(range: RangeInclusive<u64>) -> RangedU64ValueParser<T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
    <T as TryFrom<u64>>::Error: std::error::Error + Send + Sync + 'static,
{
    RangedU64ValueParser::<T>::new().range(range)
}

/// Worker counts: 1 to [`MAX_JOBS`].
pub(crate) fn jobs() -> RangedU64ValueParser<usize> {
    count(1..=MAX_JOBS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_outside_their_range_name_it() {
        let s = FloatRange::seconds(3600.0);
        assert_eq!(s.check("1.5"), Ok(1.5));
        assert_eq!(s.check("3600"), Ok(3600.0));
        for bad in ["0", "-1", "nan", "NaN", "inf", "-inf", "1e20", "3600.01", "x", ""] {
            let e = s.check(bad).unwrap_err();
            assert!(e.contains("(0, 3600]"), "{bad}: {e}");
        }
        let t = FloatRange::closed(0.0, 10.0);
        assert_eq!(t.check("0"), Ok(0.0));
        assert!(t.check("nan").unwrap_err().contains("[0, 10]"));
    }
}
