//! The arguments of `valley judge`, and the judge settings every command that judges code shares.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::range::{self, FloatRange, count, jobs};

/// Settings shared by every command that judges code.
#[derive(Debug, Default, Args)]
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
    /// Concurrent sandboxed interpreters [default: one per core; never more than the candidates
    /// to run].
    #[arg(long, short = 'j', value_name = "N", value_parser = jobs())]
    pub(crate) jobs: Option<usize>,
    /// Python interpreter that runs the programs (any path: a virtual environment's
    /// `bin/python` too); its version goes into every verdict. It must import what the profile
    /// needs (numpy for lcb and taco): `valley judge env create DIR` makes such an environment
    /// [default: $VALLEY_JUDGE_PYTHON, else python3].
    #[arg(long, value_name = "PYTHON")]
    pub(crate) python: Option<String>,
    /// Per-test time limit in seconds [default: the profile's: lcb 6, taco 4, strict 6 CPU].
    #[arg(long, value_name = "SECONDS", value_parser = FloatRange::seconds(range::MAX_TEST_SECONDS))]
    pub(crate) timeout: Option<f64>,
    /// Memory limit per grading process in MiB [default: strict 1024, others 8192].
    #[arg(long, value_name = "MIB", value_parser = count::<u64>(range::MEMORY_MB))]
    pub(crate) memory_mb: Option<u64>,
    /// Absolute-or-relative tolerance for numbers (strict profile).
    #[arg(long, value_name = "TOL", value_parser = FloatRange::closed(0.0, 1.0))]
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

/// `valley judge`: judging (the flags), or `valley judge env …`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct JudgeCommandArgs {
    #[command(subcommand)]
    pub(crate) command: Option<JudgeCommand>,
    // Two groups, neither nesting another: clap leaves the group of an `Option` flatten empty
    // (so always `None`) when it holds a flatten itself.
    #[command(flatten)]
    pub(crate) settings: Option<JudgeSettings>,
    #[command(flatten)]
    pub(crate) run: Option<JudgeArgs>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JudgeCommand {
    /// The judge's declared Python environment: the interpreter plus the pinned packages
    /// LiveCodeBench's and TACO's graders import (numpy).
    #[command(subcommand)]
    Env(JudgeEnvCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum JudgeEnvCommand {
    /// Make (or complete) a virtual environment in DIR holding exactly the pinned packages,
    /// from PyPI; idempotent. Use it with `--python DIR/bin/python` or
    /// `VALLEY_JUDGE_PYTHON=DIR/bin/python`.
    Create(JudgeEnvCreateArgs),
    /// Check that an interpreter imports what each profile needs; exit 1 when a profile cannot
    /// judge with it.
    Check(JudgeEnvCheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct JudgeEnvCreateArgs {
    /// The environment's folder (created when missing).
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// The interpreter the environment is made from (LiveCodeBench's reference runs 3.11).
    #[arg(long, default_value = "python3", value_name = "PYTHON")]
    pub(crate) python: String,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct JudgeEnvCheckArgs {
    /// The interpreter to check [default: $VALLEY_JUDGE_PYTHON, else python3].
    #[arg(long, value_name = "PYTHON")]
    pub(crate) python: Option<String>,
    /// Only this profile [default: every profile].
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: Option<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct JudgeArgs {
    /// Filled from [`JudgeCommandArgs::settings`].
    #[arg(skip)]
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
