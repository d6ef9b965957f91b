//! Plain records shared by every valley stage, and the pure functions that read them.
//!
//! Stages (data, judge, generate, train, report) meet only through the records defined here, so
//! this crate holds no I/O. The main types:
//!
//! - [`Trace`]: one distillation example (`question`, teacher `response`, optional labels);
//! - [`ParsedResponse`] / [`parse_response`]: a response split into reasoning and answer, telling
//!   well-formed, unclosed and missing `<think>` blocks apart;
//! - [`extract_code`]: the final code block of a response, with named fallback modes shared by
//!   data labelling and evaluation;
//! - [`Manifest`]: what a curation command drew, so a user can verify it later;
//! - [`EvalMetrics`]: an evaluation's `metrics.json`, as `valley eval` writes it;
//! - [`Question`], [`SourceRef`], [`ImportManifest`]: `data import`'s questions, the stable ids of
//!   source dataset rows, and what an import read, wrote and left out;
//! - [`RunResult`]: one evaluated run of a study, as `valley report` reads it.
//!
//! ```
//! use valley_types::{parse_response, ThinkStatus, extract_code, ExtractMode};
//! let r = "<think>try x</think>\nAnswer:\n```python\nprint(1)\n```\n";
//! let parsed = parse_response(r);
//! assert_eq!(parsed.think, ThinkStatus::WellFormed);
//! assert_eq!(extract_code(r, ExtractMode::AfterThink).as_deref(), Some("print(1)"));
//! ```

mod candidate;
mod eval_metrics;
mod failure;
mod generation;
mod import;
mod manifest;
mod problem;
mod prompt_style;
mod run_result;
mod selection;
mod trace;
mod verdict;

pub use candidate::Candidate;
pub use eval_metrics::{
    BenchmarkSelection, Bootstrap, EvalMetrics, EvalSummary, Interval, LengthPercentiles,
    LengthSource, LengthStats, ResponseTokens,
};
pub use failure::FailureDecomposition;
pub use generation::{ApiKind, Generation, SamplingParams, ThinkSpan};
pub use import::{
    HubSource, ImportInput, ImportManifest, ImportOutput, IssueSummary, Question, RowIssue,
    SourceCount, SourceRef,
};
pub use manifest::{Manifest, ManifestGroup};
pub use problem::{Problem, ProblemFormat, TestCase, TestStyle};
pub use prompt_style::{LCB_MODELS, PromptShape, PromptStyle};
pub use run_result::{RUN_RESULT_VERSION, RunResult};
pub use selection::{Day, LCB_RELEASE_FILES, LcbRelease, ProblemMeta, ProblemSelection};
pub use trace::{
    ExtractMode, ParsedResponse, ResponseFormat, THINK_CLOSE, THINK_OPEN, ThinkStatus, Trace,
    extract_code, parse_response, python_strip,
};
pub use verdict::{FirstFailure, Verdict, VerdictRecord};
