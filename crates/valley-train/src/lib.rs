//! Training runs for valley: one TOML spec, its resolved plan, and the backends that train it.
//!
//! - [`spec`]: [`TrainSpec`], the run's TOML file (kebab-case keys; the paper's hyperparameters
//!   as defaults).
//! - [`data`]: every trace rendered through valley-data's chat template and tokenizer, the
//!   over-length policy applied, written pre-tokenised for the engines.
//! - [`plan`]: [`Plan`], the step arithmetic (gradient accumulation, optimizer and warmup steps)
//!   shared by every backend.
//! - [`memory`]: the pre-flight estimate of peak GPU memory.
//! - [`engine`]: config writers, launchers and log monitoring for the existing engines.
//! - [`check`]: parity of an engine's own preprocessing with valley's tokens and masks.
//! - [`trainer`]: the [`Trainer`] trait that the native trainer (`valley-native`) and the
//!   engine adapters implement.
//!
//! ```
//! use std::path::Path;
//! use valley_train::{Plan, TrainSpec};
//! use valley_train::data::{CountSource, DataSummary};
//!
//! let spec = TrainSpec::parse(Path::new("run.toml"), r#"
//!     [model]
//!     name = "qwen2.5-7b"
//!     path = "models/Qwen2.5-7B-Instruct"
//!     [data]
//!     train = "30000.jsonl"
//!     rows = 30000
//!     [output]
//!     dir = "runs/q7b"
//! "#)?;
//! let rows = DataSummary { source: CountSource::Declared, rows_in: 30_000, rows: 30_000,
//!     dropped: 0, truncated: 0, tokens: None, trained_tokens: None, max_tokens: None };
//! let plan = Plan::resolve(&spec, &rows);
//! assert_eq!((plan.optimizer_steps, plan.warmup_steps, plan.gradient_accumulation), (1175, 118, 16));
//! # Ok::<(), valley_train::SpecError>(())
//! ```

pub mod check;
pub mod data;
pub mod engine;
mod error;
pub mod memory;
pub mod plan;
pub mod spec;
pub mod trainer;

pub use error::{PrepareDataError, SpecError, SpecErrorKind, TrainError};
pub use plan::Plan;
pub use spec::TrainSpec;
pub use trainer::{LossPoint, Progress, TrainContext, TrainOutcome, Trainer};
