//! The judging service and evaluation, as library functions: what `valley judge`,
//! `valley data label` and `valley eval` do, without the command line.
//!
//! - [`Benchmark`]: which files (a LiveCodeBench release) and which rows (date window, platform,
//!   difficulty) make a benchmark; [`load_benchmark`] reads its problems into a [`ProblemSet`],
//!   [`count_benchmark`] counts them without reading their tests;
//! - judging: [`judge_all`] (any tasks), [`read_candidates`] and [`judge_candidates`]
//!   (`valley judge`), [`read_traces`] and [`label_traces`] (`valley data label`), and the
//!   [`JudgeSummary`] both print;
//! - evaluation: [`read_generations`], [`evaluate`] (judge the generations and compute the
//!   typed [`valley_types::EvalMetrics`] record, `metrics.json`), [`report_markdown`] and
//!   [`write_outputs`];
//! - [`import_lcb`]: LiveCodeBench's `code_generation_lite` files read directly into one problems
//!   file for a release and window (`valley data import lcb`).
//!
//! Errors are typed per operation ([`LoadProblemsError`], [`ReadInputError`], [`EvalError`], …);
//! a candidate program's failure is a verdict, never an error. The judge's own failure on a
//! record (`JUDGE_ERROR`) is neither the program's failure nor a result: it is left out of pass
//! rates and pass@k (and counted), a labelled trace gets no `correct`, and a run that judged
//! nothing writes nothing ([`NothingJudgedError`]).
//!
//! ```no_run
//! use std::path::Path;
//! use valley_eval::{Benchmark, EvalConfig, evaluate, load_benchmark, read_generations};
//! use valley_judge::{JudgeConfig, Profile};
//! let problems = Path::new("problems.jsonl");
//! let benchmark = Benchmark::file(problems);
//! let set = load_benchmark(&benchmark, None, Profile::Lcb)?;
//! let generations = read_generations(Path::new("generations.jsonl"), problems, &set, false)?;
//! let judge = JudgeConfig { profile: Profile::Lcb, ..Default::default() }.init()?;
//! let config = EvalConfig::default();
//! let evaluation =
//!     evaluate(&judge, &set, benchmark.describe(), &generations, None, &config, &|_| {})?;
//! println!("pass@1 {:?}", evaluation.metrics.overall.pass_at_1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod benchmark;
mod error;
mod eval;
mod import_lcb;
mod judging;
mod problems;

pub use benchmark::Benchmark;
pub use error::{
    BenchmarkError, EvalError, LoadProblemsError, NothingJudgedError, OpenError, ReadInputError,
    SelectionError, WriteEvalError,
};
pub use eval::{
    EvalConfig, Evaluation, Generations, evaluate, format_rate, metrics_json, read_generations,
    report_markdown, write_outputs,
};
pub use import_lcb::{ImportLcbError, LcbImport, import_lcb};
pub use judging::{
    JudgeSummary, Judged, Progress, SandboxSummary, Unmatched, judge_all, judge_candidates,
    label_trace, label_traces, read_candidates, read_traces,
};
pub use problems::{ProblemSet, count_benchmark, load_benchmark, load_problems};
