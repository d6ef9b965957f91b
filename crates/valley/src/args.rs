//! Command-line arguments (clap derive). Raw arguments are validated into library configs in
//! `commands/`, before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Study how reasoning distillation scales for code: data, train, generate, judge, metrics,
/// report.
#[derive(Debug, Parser)]
#[command(name = "valley", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// More log output on stderr (-v info, -vv debug); `VALLEY_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Build, inspect and render distillation datasets.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum DataCommand {
    /// Nested random subsets (each size a subset of the next larger), with a manifest.
    Subsets(SubsetsArgs),
    /// Balanced, disjoint groups of exactly N rows by correctness or difficulty, with a manifest.
    Split(SplitArgs),
}

/// Where traces come from and how their fields are named.
#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    /// Traces: `.jsonl`, `.jsonl.gz`, `.jsonl.zst` or `.parquet`.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub(crate) input: PathBuf,
    /// Read a record field from another input column: `--field response=output`. Repeatable.
    #[arg(long = "field", value_name = "FIELD=COLUMN")]
    pub(crate) fields: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SubsetsArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Subset sizes, comma-separated, in any order: `30000,10000,1000`.
    #[arg(long, value_delimiter = ',', required = true, value_name = "N,N,...")]
    pub(crate) sizes: Vec<u64>,
    /// Selection seed.
    #[arg(long)]
    pub(crate) seed: u64,
    /// Output folder: `<size>.jsonl` per size and `manifest.json`.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SplitBy {
    /// `correct.jsonl` / `incorrect.jsonl` from the `correct` field.
    Correctness,
    /// `easy.jsonl` (easy, medium) / `hard.jsonl` (medium_hard, hard, very_hard).
    Difficulty,
}

#[derive(Debug, Args)]
pub(crate) struct SplitArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// What to split on.
    #[arg(long, value_enum)]
    pub(crate) by: SplitBy,
    /// Rows in each group; the split is refused (exit 1) when a group has fewer.
    #[arg(long, value_name = "N")]
    pub(crate) per_group: u64,
    /// Selection seed.
    #[arg(long)]
    pub(crate) seed: u64,
    /// Output folder: one `<group>.jsonl` per group and `manifest.json`.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}
