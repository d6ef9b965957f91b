//! Sampling from OpenAI-compatible servers for evaluation and for teacher traces.
//!
//! - [`prompt`]: LiveCodeBench's code-generation prompt in each of its styles ([`lcb_prompt`],
//!   the style from the model's name by LiveCodeBench's registry, [`PromptStyle::for_model`]) and
//!   plain questions;
//! - [`Client`]: one request to `chat/completions` or `completions`, with retries and backoff on
//!   429, 5xx and transport errors;
//! - [`Journal`]: the crash-safe, append-only JSON Lines file of [`valley_types::Generation`]
//!   records; a job killed at any moment and restarted ends with each (question, sample) once;
//! - [`TeacherRecipe`]: a teacher's published sampling settings and response shape
//!   (`examples/teachers.toml`);
//! - [`GenerateConfig`] → [`Generator`]: runs a job with bounded concurrency, reporting
//!   [`Event`]s for a progress bar, over one endpoint or a [`Pool`] of replicas (least outstanding
//!   requests first; a replica whose server dies loses no sample; stragglers are hedged).
//!
//! ```no_run
//! use std::sync::Arc;
//! use valley_generate::{GenerateConfig, Journal, PromptStyle, Task, lcb_prompt};
//! let config = GenerateConfig { endpoints: vec!["http://127.0.0.1:8000/v1".into()], n: 4, ..Default::default() };
//! let (journal, _resumed) = Journal::open("generations.jsonl", Some(&config.identity()))?;
//! let style = PromptStyle::for_model("Qwen/Qwen2.5-7B-Instruct").unwrap_or_default();
//! let task = Task {
//!     question_id: "abc001_a".into(),
//!     prompt: lcb_prompt("Print 1.", None, style), // raw ChatML text, for `completions`
//!     prompt_style: Some(style),
//! };
//! let summary = config.init()?.run(vec![task], journal, Arc::new(|_event| {}))?;
//! assert_eq!(summary.planned, 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod job;
mod journal;
mod pool;
pub mod prompt;
pub mod teacher;

pub use client::{Client, Completion, RequestError, RetryPolicy, parse_completion};
pub use job::{
    Event, Failure, GenerateConfig, GenerateError, Generator, Monitor, Outstanding, Summary, Task,
};
pub use journal::{JobIdentity, Journal, JournalError, Resumed};
pub use pool::{Pool, Probe, ReplicaState};
pub use prompt::{
    Message, PromptBody, PromptStyle, lcb_messages, lcb_prompt, lcb_question_template,
    question_messages,
};
pub use teacher::{RecipeError, Teacher, TeacherRecipe};
