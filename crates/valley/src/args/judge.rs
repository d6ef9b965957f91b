//! The arguments of `valley judge`, and the judge settings every command that judges code shares.

use std::path::PathBuf;

use clap::Args;

/// Settings shared by every command that judges code.
#[derive(Debug, Args)]
pub(crate) struct JudgeSettings {
    /// Problems with their tests: LiveCodeBench, TACO or assert-style (HumanEval/MBPP) rows.
    #[arg(long, value_name = "FILE")]
    pub(crate) problems: PathBuf,
    /// Force the problem row format instead of detecting it per row.
    #[arg(long, value_name = "lcb|taco|assert")]
    pub(crate) problem_format: Option<String>,
    /// Whose verdicts to reproduce: lcb (LiveCodeBench), taco, taco-strict, strict (DMOJ-style).
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: String,
    /// Concurrent sandboxed interpreters [default: one per core].
    #[arg(long, short = 'j', value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Python interpreter that runs the programs; its version goes into every verdict.
    #[arg(long, default_value = "python3", value_name = "PYTHON")]
    pub(crate) python: String,
    /// Per-test time limit in seconds [default: the profile's: lcb 6, taco 4, strict 6 CPU].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<f64>,
    /// Memory limit per grading process in MiB [default: strict 1024, others 8192].
    #[arg(long, value_name = "MIB")]
    pub(crate) memory_mb: Option<u64>,
    /// Absolute-or-relative tolerance for numbers (strict profile).
    #[arg(long, value_name = "TOL")]
    pub(crate) float_tol: Option<f64>,
    /// How code is extracted from a candidate's response [default: lcb for --profile lcb, else
    /// lenient]: lcb (LiveCodeBench's rule: the lines between the last two lines holding a
    /// triple backtick), lcb-codellama (`[PYTHON]` tags first), lcb-base (the whole output),
    /// after-think, lenient or last-block.
    #[arg(long, value_name = "MODE")]
    pub(crate) extract: Option<String>,
    /// Run even if the kernel denies part of the sandbox (namespaces, unprivileged user).
    #[arg(long)]
    pub(crate) allow_weak_sandbox: bool,
}

#[derive(Debug, Args)]
pub(crate) struct JudgeArgs {
    #[command(flatten)]
    pub(crate) judge: JudgeSettings,
    /// Candidates: `candidate_id`, `question_id`, and `code` or `response`.
    #[arg(long, value_name = "FILE")]
    pub(crate) candidates: PathBuf,
    /// Read a candidate field from another column: `--field code=solution`. Repeatable.
    #[arg(long = "field", value_name = "FIELD=COLUMN")]
    pub(crate) fields: Vec<String>,
    /// Output: one verdict record per candidate (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}
