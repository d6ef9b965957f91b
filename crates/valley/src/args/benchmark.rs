//! Which benchmark problems count (a LiveCodeBench release and the scorer's filters): flags that
//! `generate`, `eval` and `data import lcb` share.

use clap::Args;

/// Which benchmark problems count: a LiveCodeBench release and the scorer's filters.
#[derive(Debug, Default, Args)]
pub(crate) struct BenchmarkArgs {
    /// LiveCodeBench release: release_v1 … release_v6, release_latest, vN (one file) or vN_vM;
    /// --problems is then the folder holding LiveCodeBench's test.jsonl, test2.jsonl, ….
    #[arg(long, value_name = "TAG")]
    pub(crate) release: Option<String>,
    /// Keep problems whose contest_date is on or after this day (LiveCodeBench's --start_date).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub(crate) start_date: Option<String>,
    /// Keep problems whose contest_date is at or before this day's midnight (--end_date).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub(crate) end_date: Option<String>,
    /// Keep problems of these platforms (exact: atcoder, codeforces, leetcode). Repeatable.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub(crate) platform: Vec<String>,
    /// Keep problems of these difficulties (exact: easy, medium, hard). Repeatable.
    #[arg(long, value_delimiter = ',', value_name = "LABEL")]
    pub(crate) difficulty: Vec<String>,
}
