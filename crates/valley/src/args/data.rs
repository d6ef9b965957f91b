//! The arguments of `valley data …`: where traces come from, and each data command's flags.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::import::{ImportCommand, TracesArgs};
use super::judge::JudgeSettings;
use super::range::{FloatRange, count, jobs};

#[derive(Debug, Subcommand)]
pub(crate) enum DataCommand {
    /// Nested random subsets (each size a subset of the next larger), with a manifest.
    Subsets(SubsetsArgs),
    /// Balanced, disjoint groups of exactly N rows by correctness or difficulty, with a manifest.
    Split(SplitArgs),
    /// Judge each trace's final code against its problem and write the traces back with
    /// `correct` and the verdict added.
    Label(LabelArgs),
    /// Token-length percentiles of the rendered conversations, the share over --max-len and the
    /// shapes of the responses' `<think>` blocks.
    Stats(StatsArgs),
    /// Each trace as the student sees it in training: chat-template text, token ids, loss mask.
    Render(RenderArgs),
    /// Remove exact duplicates (normalised text) and near duplicates (MinHash), with a report.
    Dedup(DedupArgs),
    /// Remove traces whose question overlaps a benchmark problem (word n-grams), with a report.
    Decontam(DecontamArgs),
    /// Check that the outputs beside a manifest still hold exactly the rows it recorded.
    Verify(VerifyArgs),
    /// Datasets as published: OpenCodeReasoning-2 with its questions filled from their sources,
    /// TACO as problems with stable ids, LiveCodeBench's files read directly.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Teacher traces from `valley generate`'s records: each joined with its question, brought
    /// to `<think>…</think>` then the answer, unfinished ones and ones without a closed
    /// `<think>` block counted and kept out (filter `finished-with-closed-think`).
    Traces(TracesArgs),
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
    #[arg(long, value_delimiter = ',', required = true, value_name = "N,N,...", value_parser = count::<u64>(1..=u64::MAX))]
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
    #[arg(long, value_name = "N", value_parser = count::<u64>(1..=u64::MAX))]
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

/// The tokenizer and chat template a trace is rendered with.
#[derive(Debug, Args)]
pub(crate) struct TokenizerArgs {
    /// Tokenizer: a folder with `tokenizer.json` and `tokenizer_config.json` (as saved by HF
    /// transformers), or the path of its `tokenizer.json`.
    #[arg(long, value_name = "PATH")]
    pub(crate) tokenizer: PathBuf,
    /// Jinja chat template to use instead of the tokenizer's.
    #[arg(long, value_name = "FILE")]
    pub(crate) chat_template: Option<PathBuf>,
    /// System prompt: a system turn before each question.
    #[arg(long, value_name = "TEXT")]
    pub(crate) system: Option<String>,
    /// Worker threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N", value_parser = jobs())]
    pub(crate) jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) tokenizer: TokenizerArgs,
    /// Length limit, in tokens, for the share of over-long conversations.
    #[arg(long, default_value_t = 32768, value_name = "TOKENS", value_parser = count::<u32>(1..=u64::from(u32::MAX)))]
    pub(crate) max_len: u32,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) tokenizer: TokenizerArgs,
    /// Output: one `{id, text, input_ids, loss_mask}` per trace (`.jsonl`, `.jsonl.gz`,
    /// `.jsonl.zst`).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LabelArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) judge: JudgeSettings,
    /// Output: the traces with `correct`, `verdict` and `verdict_detail` added.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Leave out (counted, and named by line in the summary) the traces whose question has no
    /// problem in --problems, instead of stopping at the first (e.g. a TACO row its import left
    /// out for having no tests).
    #[arg(long)]
    pub(crate) skip_unmatched: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DedupKeyArg {
    /// The question alone.
    Question,
    /// The response alone.
    Response,
    /// Question and response together.
    Pair,
}

#[derive(Debug, Args)]
pub(crate) struct DedupArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Kept rows (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`), in input order.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// One JSON record per removed row: id, line, reason (`exact`/`near`), the row it duplicates
    /// and the similarity.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Which text identifies a duplicate.
    #[arg(long = "by", value_enum, default_value = "question")]
    pub(crate) key: DedupKeyArg,
    /// Estimated Jaccard similarity of word shingles at or above which rows are near duplicates.
    #[arg(long, default_value_t = 0.8, value_name = "J", value_parser = FloatRange::left_open(0.0, 1.0))]
    pub(crate) near_threshold: f64,
    /// Exact duplicates only.
    #[arg(long, conflicts_with = "near_threshold")]
    pub(crate) exact_only: bool,
    /// Words per shingle.
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = count::<usize>(1..=1024))]
    pub(crate) shingle: usize,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DecontamArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Benchmark problems: LiveCodeBench, TACO, HumanEval/MBPP rows, or any rows with a
    /// `question_content`, `question`, `prompt`, `text` or `description` field.
    #[arg(long, value_name = "FILE")]
    pub(crate) benchmark: PathBuf,
    /// Traces kept, in input order.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// One JSON record per removed trace: the problem it overlaps, shared n-grams, an example.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Words per n-gram.
    #[arg(long, default_value_t = 13, value_name = "N", value_parser = count::<usize>(1..=1024))]
    pub(crate) ngram: usize,
    /// Shared n-grams needed to remove a trace.
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = count::<usize>(1..=u64::MAX))]
    pub(crate) min_overlap: usize,
    /// Ignore n-grams found in more than this many benchmark problems (template text shared by
    /// problems, not a leak of one).
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = count::<usize>(1..=u64::MAX))]
    pub(crate) max_problems: usize,
    /// Share of a benchmark problem's n-grams a question must contain to be removed (a leak
    /// carries much of a problem; a phrase next to a prompt template only a sliver).
    #[arg(long, default_value_t = 0.2, value_name = "SHARE", value_parser = FloatRange::closed(0.0, 1.0))]
    pub(crate) min_coverage: f64,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The `manifest.json` written by `data subsets` or `data split`.
    #[arg(value_name = "MANIFEST")]
    pub(crate) manifest: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}
