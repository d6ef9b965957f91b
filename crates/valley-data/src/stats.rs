//! Dataset statistics for `valley data stats`: token lengths of the rendered conversations and
//! the shape of the responses' reasoning blocks.
//!
//! [`TraceStats`] is fed one trace at a time (its token count and its response), so a caller can
//! stream any number of rows; it keeps one `u32` per row for exact percentiles.

use std::collections::BTreeMap;

use serde::Serialize;
use valley_types::{ThinkStatus, parse_response};

/// Token-length percentiles of the rendered conversations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenLengths {
    /// Tokens summed over all rows.
    pub total: u64,
    /// Mean tokens per row (0 for no rows).
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: u32,
    /// 90th percentile (nearest rank).
    pub p90: u32,
    /// 99th percentile (nearest rank).
    pub p99: u32,
    /// Longest row.
    pub max: u32,
}

/// The summary `valley data stats` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsSummary {
    /// Rows read and rendered.
    pub rows: u64,
    /// Token lengths of the rendered conversations.
    pub tokens: TokenLengths,
    /// The length limit the next two fields refer to.
    pub max_len: u32,
    /// Rows longer than `max_len` tokens.
    pub over_max_len: u64,
    /// `over_max_len / rows` (0 for no rows).
    pub over_max_len_share: f64,
    /// Rows whose response starts with `<think>` and closes it.
    pub well_formed_think: u64,
    /// `well_formed_think / rows` (0 for no rows).
    pub well_formed_think_share: f64,
    /// Rows by the shape of their reasoning block (`well_formed`, `unclosed`, `closed_only`,
    /// `misplaced`, `missing`).
    pub think: BTreeMap<String, u64>,
    /// Rows per `difficulty` label (`none` when absent).
    pub difficulty: BTreeMap<String, u64>,
    /// Rows per `correct` label (`true`, `false`, `none`).
    pub correct: BTreeMap<String, u64>,
}

/// Running statistics over traces.
#[derive(Debug, Clone, Default)]
pub struct TraceStats {
    lengths: Vec<u32>,
    total: u64,
    think: BTreeMap<&'static str, u64>,
    difficulty: BTreeMap<String, u64>,
    correct: BTreeMap<String, u64>,
}

impl TraceStats {
    /// Empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one trace: its rendered length in tokens, its response and labels.
    pub fn add(
        &mut self,
        tokens: usize,
        response: &str,
        difficulty: Option<&str>,
        correct: Option<bool>,
    ) {
        let tokens = u32::try_from(tokens).unwrap_or(u32::MAX);
        self.lengths.push(tokens);
        self.total += u64::from(tokens);
        *self.think.entry(think_name(parse_response(response).think)).or_default() += 1;
        *self.difficulty.entry(difficulty.unwrap_or("none").to_owned()).or_default() += 1;
        let correct = match correct {
            Some(true) => "true",
            Some(false) => "false",
            None => "none",
        };
        *self.correct.entry(correct.to_owned()).or_default() += 1;
    }

    /// Rows counted so far.
    pub fn rows(&self) -> u64 {
        self.lengths.len() as u64
    }

    /// The summary for a length limit of `max_len` tokens.
    pub fn summary(&self, max_len: u32) -> StatsSummary {
        let mut sorted = self.lengths.clone();
        sorted.sort_unstable();
        let rows = sorted.len() as u64;
        let share = |n: u64| if rows == 0 { 0.0 } else { n as f64 / rows as f64 };
        let over = sorted.iter().filter(|l| **l > max_len).count() as u64;
        let well_formed = self.think.get("well_formed").copied().unwrap_or(0);
        let think = [
            ThinkStatus::WellFormed,
            ThinkStatus::Unclosed,
            ThinkStatus::ClosedOnly,
            ThinkStatus::Misplaced,
            ThinkStatus::Missing,
        ]
        .into_iter()
        .map(|s| (think_name(s).to_owned(), self.think.get(think_name(s)).copied().unwrap_or(0)))
        .collect();
        StatsSummary {
            rows,
            tokens: TokenLengths {
                total: self.total,
                mean: share(self.total),
                p50: percentile(&sorted, 50.0),
                p90: percentile(&sorted, 90.0),
                p99: percentile(&sorted, 99.0),
                max: sorted.last().copied().unwrap_or(0),
            },
            max_len,
            over_max_len: over,
            over_max_len_share: share(over),
            well_formed_think: well_formed,
            well_formed_think_share: share(well_formed),
            think,
            difficulty: self.difficulty.clone(),
            correct: self.correct.clone(),
        }
    }
}

fn think_name(s: ThinkStatus) -> &'static str {
    match s {
        ThinkStatus::WellFormed => "well_formed",
        ThinkStatus::Unclosed => "unclosed",
        ThinkStatus::ClosedOnly => "closed_only",
        ThinkStatus::Misplaced => "misplaced",
        ThinkStatus::Missing => "missing",
    }
}

/// The nearest-rank `p`th percentile of `sorted` (ascending): the smallest value with at least
/// `p`% of the values at or below it; 0 for an empty slice.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    valley_metrics::nearest_rank(sorted, p / 100.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 1.0), 7);
        assert_eq!(percentile(&[1, 2], 50.0), 1);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn summary_counts_lengths_and_think_blocks() {
        let mut s = TraceStats::new();
        s.add(10, "<think>a</think>b", Some("easy"), Some(true));
        s.add(30, "<think>a", Some("hard"), None);
        s.add(20, "no think", None, Some(false));
        let sum = s.summary(15);
        assert_eq!(sum.rows, 3);
        assert_eq!(
            sum.tokens,
            TokenLengths { total: 60, mean: 20.0, p50: 20, p90: 30, p99: 30, max: 30 }
        );
        assert_eq!(sum.over_max_len, 2);
        assert!((sum.over_max_len_share - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(sum.well_formed_think, 1);
        assert_eq!(sum.think["unclosed"], 1);
        assert_eq!(sum.think["missing"], 1);
        assert_eq!(sum.difficulty["none"], 1);
        assert_eq!(sum.correct["false"], 1);
    }

    #[test]
    fn empty_input_has_zero_shares() {
        let sum = TraceStats::new().summary(32768);
        assert_eq!(sum.rows, 0);
        assert_eq!(sum.tokens.max, 0);
        assert!(sum.over_max_len_share == 0.0 && sum.well_formed_think_share == 0.0);
    }
}
