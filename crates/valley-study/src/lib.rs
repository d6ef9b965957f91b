//! A study: the paper's grid (students x data sizes and splits, continued training, baselines)
//! as one resumable command.
//!
//! A [`StudySpec`] (TOML) expands into a [`Plan`]: data steps (label, nested subsets, splits),
//! then per run train -> generate (starting the engine's servers on the checkpoint, `[generate]
//! engine = "vllm"`, or sampling an endpoint) -> eval, then the run-result records and the report.
//! Each step is keyed by the SHA-256 of its settings, its input files and its upstream keys
//! ([`keys`]); it runs as `valley study exec JOB` (a child process, or a Slurm job), writes into
//! a partial folder that is renamed on success, and leaves a [`Provenance`] manifest, so an
//! unchanged rerun does nothing, a changed hyperparameter reruns only what depends on it, and a
//! study killed at any moment resumes. State lives in SQLite ([`Store`]).
//!
//! The steps are other valley commands run as subprocesses: the study depends on the command
//! line contract, not on the crates that implement it.
//!
//! ```
//! use valley_study::{LoadedSpec, expand};
//! let text = r#"
//! baselines = ["tiny"]
//! [study]
//! name = "doc"
//! [benchmark]
//! problems = "problems.jsonl"
//! [students.tiny]
//! path = "models/tiny"
//! [datasets.scaling]
//! traces = "traces.jsonl"
//! sizes = [10, 100]
//! [[runs]]
//! students = ["tiny"]
//! data = ["scaling/10", "scaling/100"]
//! [generate]
//! engine = "vllm"
//! replicas = 2
//! "#;
//! let spec = LoadedSpec::parse(std::path::Path::new("/study/doc.toml"), text)?;
//! let plan = expand(&spec)?;
//! // data, 2 x (train, generate, eval), baseline (generate, eval), results, report
//! assert_eq!(plan.steps.len(), 1 + 2 * 3 + 2 + 2);
//! # Ok::<(), valley_study::StudyError>(())
//! ```

mod backend;
mod error;
mod estimate;
mod exec;
mod hash;
pub mod keys;
mod plan;
mod process;
mod provenance;
mod spec;
mod status;
mod store;
mod study;
mod verify;

pub use error::{SpecError, StudyError};
pub use estimate::{
    BenchmarkEstimate, Estimate, ProblemsSource, StepEstimate, TrainPlanner, estimate,
};
pub use exec::{Job, execute};
pub use plan::{Action, Plan, RunInfo, Step, StepKind, count_by_kind, expand};
pub use provenance::{GIT_REVISION, MANIFEST, Provenance};
pub use spec::{BackendKind, LoadedSpec, StudySpec};
pub use status::{StepStatus, StudyStatus, status};
pub use store::{StepState, Store};
pub use study::{Event, RunOptions, RunSummary, Study};
pub use verify::{StepCheck, VerifyReport, verify};
