//! Which benchmark problems a run is scored on: LiveCodeBench release versions, and the
//! date-window, platform and difficulty filters as LiveCodeBench's own scorer applies them.
//!
//! LiveCodeBench publishes `code_generation_lite` as files `test.jsonl`, `test2.jsonl`, …,
//! `test6.jsonl`; a release tag names a set of them (its dataset script): `release_vN` is the first
//! N files, `release_latest` all of them, `vN` the N-th file alone, and `vN_vM` the files N to M.
//! Its scorer (`lcb_runner/evaluation/compute_scores.py`) then keeps a problem when
//! `start <= contest_date` and `contest_date <= end`, with both bounds read as midnight of the
//! given day (`datetime.strptime(d, "%Y-%m-%d")`) and `contest_date` read with
//! `datetime.fromisoformat`, so a contest at `end`'s midnight is kept and one later that day is
//! not; `--platform` keeps `platform == value` exactly.
//!
//! ```
//! use valley_types::{LcbRelease, ProblemSelection, ProblemMeta};
//! let r: LcbRelease = "release_v3".parse().unwrap();
//! assert_eq!(r.files(), ["test.jsonl", "test2.jsonl", "test3.jsonl"]);
//! let s = ProblemSelection { start_date: Some("2023-09-01".parse().unwrap()), ..Default::default() };
//! let meta = ProblemMeta { contest_date: Some("2023-08-31T00:00:00"), ..Default::default() };
//! assert_eq!(s.accepts(&meta), Ok(false));
//! ```

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time};

/// The number of files LiveCodeBench has published (`test.jsonl` … `test6.jsonl`).
pub const LCB_RELEASE_FILES: u8 = 6;

/// A LiveCodeBench release tag, as its dataset script reads `version_tag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcbRelease {
    kind: ReleaseKind,
    first: u8,
    last: u8,
}

/// How a release tag is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReleaseKind {
    /// `release_vN`: the first N files.
    Cumulative,
    /// `release_latest`: every file.
    Latest,
    /// `vN`: one file.
    Single,
    /// `vN_vM`: files N to M.
    Range,
}

impl LcbRelease {
    /// The files of the release, in order.
    pub fn files(&self) -> Vec<String> {
        (self.first..=self.last).map(lcb_file_name).collect()
    }

    /// The tag's canonical spelling.
    pub fn tag(&self) -> String {
        match self.kind {
            ReleaseKind::Cumulative => format!("release_v{}", self.last),
            ReleaseKind::Latest => "release_latest".into(),
            ReleaseKind::Single => format!("v{}", self.first),
            ReleaseKind::Range => format!("v{}_v{}", self.first, self.last),
        }
    }
}

impl fmt::Display for LcbRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag())
    }
}

fn lcb_file_name(n: u8) -> String {
    if n == 1 { "test.jsonl".into() } else { format!("test{n}.jsonl") }
}

impl FromStr for LcbRelease {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "unknown LiveCodeBench release `{s}` (expected release_v1 … release_v{n}, \
                 release_latest, v1 … v{n}, or vN_vM)",
                n = LCB_RELEASE_FILES
            )
        };
        let version = |v: &str| -> Option<u8> {
            let n: u8 = v.strip_prefix('v')?.parse().ok()?;
            (1..=LCB_RELEASE_FILES).contains(&n).then_some(n)
        };
        if s == "release_latest" {
            return Ok(Self { kind: ReleaseKind::Latest, first: 1, last: LCB_RELEASE_FILES });
        }
        if let Some(v) = s.strip_prefix("release_") {
            let n = version(v).ok_or_else(bad)?;
            return Ok(Self { kind: ReleaseKind::Cumulative, first: 1, last: n });
        }
        if let Some((a, b)) = s.split_once('_') {
            let (a, b) = (version(a).ok_or_else(bad)?, version(b).ok_or_else(bad)?);
            if a >= b {
                return Err(format!("{}: the first version must be older than the second", bad()));
            }
            return Ok(Self { kind: ReleaseKind::Range, first: a, last: b });
        }
        let n = version(s).ok_or_else(bad)?;
        Ok(Self { kind: ReleaseKind::Single, first: n, last: n })
    }
}

/// A calendar day, `YYYY-MM-DD`, as the LiveCodeBench scorer's `--start_date`/`--end_date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(Date);

impl Day {
    /// Midnight of the day.
    fn midnight(self) -> DateTime {
        self.0.to_datetime(Time::midnight())
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), self.0.month(), self.0.day())
    }
}

impl FromStr for Day {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_day(s).ok_or_else(|| format!("`{s}` is not a date of the form YYYY-MM-DD"))
    }
}

fn parse_day(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    // Python's dates start at year 1; jiff knows the calendar (months, leap years).
    if year < 1 {
        return None;
    }
    Date::new(year as i16, month as i8, day as i8).ok().map(Day)
}

/// A naive date and time (no time zone), as Python's `datetime.fromisoformat` reads
/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.ffffff]]` (a space may replace the `T`).
fn parse_datetime(s: &str) -> Result<DateTime, String> {
    let bad = |why: &str| format!("`{s}` is not an ISO date-time ({why})");
    let day = parse_day(s.get(..10).unwrap_or(s)).ok_or_else(|| bad("expected YYYY-MM-DD"))?;
    let rest = &s[10.min(s.len())..];
    if rest.is_empty() {
        return Ok(day.midnight());
    }
    let Some(time) = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' ')) else {
        return Err(bad("expected `T` after the date"));
    };
    if time.contains(['+', 'Z', 'z']) || time.get(8..).is_some_and(|t| t.contains('-')) {
        return Err(bad("time zones are not supported: LiveCodeBench's dates are naive"));
    }
    let (hms, frac) = match time.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (time, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    let field = |p: &str, max: u32| -> Option<u32> {
        (p.len() == 2 && p.bytes().all(|c| c.is_ascii_digit()))
            .then(|| p.parse().ok())?
            .filter(|v| *v <= max)
    };
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (field(h, 23), field(m, 59), Some(0)),
        [h, m, sec] => (field(h, 23), field(m, 59), field(sec, 59)),
        _ => (None, None, None),
    };
    let (Some(h), Some(m), Some(sec)) = (h, m, sec) else {
        return Err(bad("expected HH:MM[:SS]"));
    };
    if frac.is_some() && parts.len() != 3 {
        return Err(bad("fractions need seconds"));
    }
    let micros = match frac {
        None => 0,
        Some(f) if (1..=6).contains(&f.len()) && f.bytes().all(|c| c.is_ascii_digit()) => {
            f.parse::<u32>().map_err(|_| bad("bad fraction"))? * 10u32.pow(6 - f.len() as u32)
        }
        Some(_) => return Err(bad("expected 1 to 6 fraction digits")),
    };
    let time = Time::new(h as i8, m as i8, sec as i8, micros as i32 * 1000)
        .map_err(|_| bad("expected HH:MM[:SS]"))?;
    Ok(day.0.to_datetime(time))
}

/// The fields of a problem row a selection looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProblemMeta<'a> {
    /// `contest_date` (ISO 8601).
    pub contest_date: Option<&'a str>,
    /// `platform`.
    pub platform: Option<&'a str>,
    /// `difficulty`.
    pub difficulty: Option<&'a str>,
}

/// Filters on problem rows, applied as LiveCodeBench's scorer applies them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProblemSelection {
    /// Keep problems with `contest_date >= start_date` (midnight).
    pub start_date: Option<Day>,
    /// Keep problems with `contest_date <= end_date` (midnight).
    pub end_date: Option<Day>,
    /// Keep problems whose `platform` equals one of these (all when empty).
    pub platforms: Vec<String>,
    /// Keep problems whose `difficulty` equals one of these (all when empty).
    pub difficulties: Vec<String>,
}

impl ProblemSelection {
    /// Whether any filter is set.
    pub fn is_active(&self) -> bool {
        self.start_date.is_some()
            || self.end_date.is_some()
            || !self.platforms.is_empty()
            || !self.difficulties.is_empty()
    }

    /// Whether the problem is kept. A date filter on a problem without a (valid) `contest_date`
    /// is an error naming the field, not a silent drop.
    pub fn accepts(&self, p: &ProblemMeta<'_>) -> Result<bool, String> {
        if self.start_date.is_some() || self.end_date.is_some() {
            let Some(raw) = p.contest_date else {
                return Err("field `contest_date`: missing, but a date window is set".into());
            };
            let date = parse_datetime(raw).map_err(|e| format!("field `contest_date`: {e}"))?;
            if self.start_date.is_some_and(|s| date < s.midnight())
                || self.end_date.is_some_and(|e| date > e.midnight())
            {
                return Ok(false);
            }
        }
        let member = |set: &[String], v: Option<&str>| {
            set.is_empty() || v.is_some_and(|v| set.iter().any(|s| s == v))
        };
        Ok(member(&self.platforms, p.platform) && member(&self.difficulties, p.difficulty))
    }

    /// A one-line description, for reports (`contest_date in [2023-05-01, 2024-03-01],
    /// platform in {atcoder}`), or `all problems`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match (self.start_date, self.end_date) {
            (Some(s), Some(e)) => parts.push(format!("contest_date in [{s}, {e}]")),
            (Some(s), None) => parts.push(format!("contest_date >= {s}")),
            (None, Some(e)) => parts.push(format!("contest_date <= {e}")),
            (None, None) => {}
        }
        if !self.platforms.is_empty() {
            parts.push(format!("platform in {{{}}}", self.platforms.join(", ")));
        }
        if !self.difficulties.is_empty() {
            parts.push(format!("difficulty in {{{}}}", self.difficulties.join(", ")));
        }
        if parts.is_empty() { "all problems".into() } else { parts.join(", ") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_tags_name_lcb_files() {
        let files = |s: &str| s.parse::<LcbRelease>().unwrap().files();
        assert_eq!(files("release_v1"), ["test.jsonl"]);
        assert_eq!(files("release_v2"), ["test.jsonl", "test2.jsonl"]);
        assert_eq!(files("release_latest").len(), 6);
        assert_eq!(files("v4"), ["test4.jsonl"]);
        assert_eq!(files("v2_v4"), ["test2.jsonl", "test3.jsonl", "test4.jsonl"]);
        for bad in ["release_v7", "v0", "v3_v2", "v2_v2", "latest", "release_v", "V1"] {
            assert!(bad.parse::<LcbRelease>().is_err(), "{bad}");
        }
        assert_eq!("v1_v3".parse::<LcbRelease>().unwrap().to_string(), "v1_v3");
        assert_eq!("release_v5".parse::<LcbRelease>().unwrap().to_string(), "release_v5");
    }

    #[test]
    fn days_parse_strictly() {
        assert!("2024-02-29".parse::<Day>().is_ok());
        for bad in ["2023-02-29", "2024-13-01", "2024-1-01", "2024/01/01", "20240101", ""] {
            assert!(bad.parse::<Day>().is_err(), "{bad}");
        }
    }

    #[test]
    fn date_window_is_the_scorers() {
        let sel = ProblemSelection {
            start_date: Some("2023-05-01".parse().unwrap()),
            end_date: Some("2023-06-01".parse().unwrap()),
            ..Default::default()
        };
        let at =
            |d: &str| sel.accepts(&ProblemMeta { contest_date: Some(d), ..Default::default() });
        assert_eq!(at("2023-05-01T00:00:00"), Ok(true));
        assert_eq!(at("2023-04-30T23:59:59"), Ok(false));
        assert_eq!(at("2023-06-01T00:00:00"), Ok(true));
        assert_eq!(at("2023-06-01"), Ok(true));
        // The scorer compares with midnight of the end day: later that day is out.
        assert_eq!(at("2023-06-01T00:00:00.000001"), Ok(false));
        assert_eq!(at("2023-06-01 12:00"), Ok(false));
        assert!(at("2023-05-10T00:00:00+00:00").is_err());
        assert!(at("yesterday").is_err());
        assert!(sel.accepts(&ProblemMeta::default()).is_err());
    }

    #[test]
    fn platform_and_difficulty_are_exact() {
        let sel = ProblemSelection {
            platforms: vec!["atcoder".into()],
            difficulties: vec!["easy".into(), "medium".into()],
            ..Default::default()
        };
        let meta = |p, d| ProblemMeta { platform: p, difficulty: d, contest_date: None };
        assert_eq!(sel.accepts(&meta(Some("atcoder"), Some("easy"))), Ok(true));
        assert_eq!(sel.accepts(&meta(Some("AtCoder"), Some("easy"))), Ok(false));
        assert_eq!(sel.accepts(&meta(Some("atcoder"), Some("hard"))), Ok(false));
        assert_eq!(sel.accepts(&meta(None, Some("easy"))), Ok(false));
        assert!(ProblemSelection::default().accepts(&meta(None, None)).unwrap());
        assert_eq!(
            sel.describe(),
            "platform in {atcoder}, difficulty in {easy, medium}".to_string()
        );
    }
}
