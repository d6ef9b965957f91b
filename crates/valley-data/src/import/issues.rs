//! Rows an import leaves out, counted by reason with the first few named by file, row and field.

use std::path::Path;

use valley_types::{IssueSummary, RowIssue};

/// Named examples kept per reason.
const EXAMPLES_PER_REASON: usize = 5;
/// Named examples kept in all.
const EXAMPLES: usize = 50;

/// Collects the rows an import leaves out: every row counted under its reason, the first few of
/// each reason named by file, row and field.
#[derive(Debug, Default)]
pub struct Issues {
    summary: IssueSummary,
}

impl Issues {
    /// Counts `rows` rows left out for `reason` (`detail` adds to the example's reason), naming
    /// the first of them.
    pub fn add(
        &mut self,
        reason: &str,
        file: &Path,
        row: u64,
        field: &str,
        detail: &str,
        rows: u64,
    ) {
        let s = &mut self.summary;
        s.rows += rows;
        let n = s.by_reason.entry(reason.to_owned()).or_insert(0);
        let first_for_reason = *n;
        *n += rows;
        let shown_for_reason = s.examples.iter().filter(|e| e.reason.starts_with(reason)).count();
        if first_for_reason < EXAMPLES_PER_REASON as u64
            && shown_for_reason < EXAMPLES_PER_REASON
            && s.examples.len() < EXAMPLES
        {
            let reason =
                if detail.is_empty() { reason.to_owned() } else { format!("{reason}: {detail}") };
            s.examples.push(RowIssue {
                file: file.display().to_string(),
                row,
                field: field.to_owned(),
                reason,
            });
        }
    }

    /// Rows left out so far.
    pub fn rows(&self) -> u64 {
        self.summary.rows
    }

    /// The summary for the manifest.
    pub fn into_summary(self) -> IssueSummary {
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_row_and_names_a_few_per_reason() {
        let mut i = Issues::default();
        for row in 1..=8 {
            i.add(
                "index out of range",
                Path::new("a.jsonl"),
                row,
                "index",
                "taco:train has 3 rows",
                1,
            );
        }
        i.add("no --source for apps:train", Path::new("a.jsonl"), 9, "dataset", "", 40);
        let s = i.into_summary();
        assert_eq!(s.rows, 48);
        assert_eq!(s.by_reason["index out of range"], 8);
        assert_eq!(s.by_reason["no --source for apps:train"], 40);
        assert_eq!(s.examples.len(), EXAMPLES_PER_REASON + 1);
        assert_eq!(
            s.examples[0].to_string(),
            "a.jsonl:1: field `index`: index out of range: taco:train has 3 rows"
        );
        assert_eq!(
            s.examples.last().unwrap().to_string(),
            "a.jsonl:9: field `dataset`: no --source for apps:train"
        );
    }
}
