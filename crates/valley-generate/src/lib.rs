//! Sampling from OpenAI-compatible servers for evaluation and for teacher traces.
//!
//! - [`prompt`]: LiveCodeBench's code-generation prompt ([`lcb_messages`]) and plain questions;
//! - [`Client`]: one request to `chat/completions` or `completions`, with retries and backoff on
//!   429, 5xx and transport errors;
//! - [`Journal`]: the crash-safe, append-only JSON Lines file of [`valley_types::Generation`]
//!   records; a job killed at any moment and restarted ends with each (question, sample) once;
//! - [`GenerateConfig`] → [`Generator`]: runs a job with bounded concurrency, reporting
//!   [`Event`]s for a progress bar, over one endpoint or a [`Pool`] of replicas (least outstanding
//!   requests first; a replica whose server dies loses no sample; stragglers are hedged).
//!
//! ```no_run
//! use std::sync::Arc;
//! use valley_generate::{GenerateConfig, Journal, PromptBody, PromptStyle, Task, lcb_messages};
//! let config = GenerateConfig { endpoints: vec!["http://127.0.0.1:8000/v1".into()], n: 4, ..Default::default() };
//! let (journal, _resumed) = Journal::open("generations.jsonl", Some(&config.identity()))?;
//! let task = Task {
//!     question_id: "abc001_a".into(),
//!     prompt: PromptBody::Chat(lcb_messages("Print 1.", None, PromptStyle::OpenaiChat)),
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

pub use client::{Client, Completion, PromptBody, RequestError, RetryPolicy, parse_completion};
pub use job::{
    Event, Failure, GenerateConfig, GenerateError, Generator, Monitor, Outstanding, Summary, Task,
};
pub use journal::{JobIdentity, Journal, JournalError, Resumed};
pub use pool::{Pool, Probe, ReplicaState};
pub use prompt::{Message, PromptStyle, lcb_messages, lcb_question_template, question_messages};
