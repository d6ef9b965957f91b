//! The arguments of `valley data import …` (datasets as published: OpenCodeReasoning-2, TACO,
//! LiveCodeBench's `code_generation_lite`) and `valley data traces` (teacher traces).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::benchmark::BenchmarkArgs;

#[derive(Debug, Args)]
pub(crate) struct TracesArgs {
    /// Questions (`data import ocr2`'s questions.jsonl). Repeatable.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) questions: Vec<PathBuf>,
    /// One teacher's generations: TEACHER=FILE (TEACHER as named in --recipe). Repeatable.
    #[arg(long = "generations", value_name = "TEACHER=FILE", required = true)]
    pub(crate) generations: Vec<String>,
    /// Teacher recipe whose `response-format` says how each teacher shapes its responses
    /// (default: every response is `<think>…</think>` then the answer).
    #[arg(long, value_name = "FILE")]
    pub(crate) recipe: Option<PathBuf>,
    /// The traces file; its manifest goes beside it (`<name>.manifest.json`).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Keep only questions of these source datasets (e.g. taco). Repeatable.
    #[arg(long = "dataset", value_delimiter = ',', value_name = "NAME")]
    pub(crate) datasets: Vec<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// OpenCodeReasoning-2 rows with every question filled from its source dataset: one
    /// question per source question (DIR/questions.jsonl), OCR2's R1 responses as traces with
    /// --traces r1, rows left out counted and named (DIR/left_out.jsonl, DIR/manifest.json).
    Ocr2(ImportOcr2Args),
    /// TACO rows as problems with stable ids `taco/<split>/<index>`, the ids `import ocr2` gives
    /// to TACO questions; the manifest goes beside the problems file.
    Taco(ImportTacoArgs),
    /// LiveCodeBench's `code_generation_lite` files read directly (no loading script): one
    /// problems file for a release and window, each row checked, duplicates and unreadable rows
    /// left out and named; the manifest goes beside it.
    Lcb(ImportLcbArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportLcbArgs {
    /// A `code_generation_lite` file, or with --release the folder of test.jsonl … test6.jsonl.
    #[arg(long, short = 'i', value_name = "FILE|DIR")]
    pub(crate) input: PathBuf,
    #[command(flatten)]
    pub(crate) benchmark: BenchmarkArgs,
    /// The problems file; its manifest goes beside it (`<name>.manifest.json`).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What OCR2's own responses to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Ocr2TracesArg {
    /// `r1_generation`, as traces with teacher `ocr2-r1`.
    R1,
}

#[derive(Debug, Args)]
pub(crate) struct ImportOcr2Args {
    /// OCR2 files (Parquet shards or JSON Lines; `hf://datasets/nvidia/OpenCodeReasoning-2/...`
    /// works too), read in path order.
    #[arg(long, short = 'i', value_name = "FILE", num_args = 1.., required = true)]
    pub(crate) input: Vec<PathBuf>,
    /// A local copy of a source split: NAME:SPLIT=FILE with NAME one of taco, apps,
    /// code_contests, open-r1/codeforces (OCR2's `dataset` values). Repeat for each shard.
    #[arg(long = "source", value_name = "NAME:SPLIT=FILE")]
    pub(crate) sources: Vec<String>,
    /// Output folder: questions.jsonl, left_out.jsonl, manifest.json (traces.jsonl).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Also write OCR2's own responses as traces (DIR/traces.jsonl).
    #[arg(long, value_enum, value_name = "KIND")]
    pub(crate) traces: Option<Ocr2TracesArg>,
    /// Keep only questions from these source datasets (e.g. taco). Repeatable.
    #[arg(long = "dataset", value_delimiter = ',', value_name = "NAME")]
    pub(crate) datasets: Vec<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TacoSplitArg {
    /// 25,443 rows.
    Train,
    /// 1,000 rows.
    Test,
}

#[derive(Debug, Args)]
pub(crate) struct ImportTacoArgs {
    /// The split's files (Parquet shards or JSON Lines), read in path order: a row's index is
    /// its position across them.
    #[arg(long, short = 'i', value_name = "FILE", num_args = 1.., required = true)]
    pub(crate) input: Vec<PathBuf>,
    /// Which split the files hold.
    #[arg(long, value_enum)]
    pub(crate) split: TacoSplitArg,
    /// The problems file (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`); its manifest goes beside it
    /// (`<name>.manifest.json`).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Keep each row's `solutions` (large; judging does not need them).
    #[arg(long)]
    pub(crate) keep_solutions: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}
