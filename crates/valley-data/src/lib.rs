//! Dataset reading and writing and the curation stages of valley.
//!
//! - [`chat`]: tokenizer and chat template: a conversation rendered as HF transformers renders it,
//!   its token ids and its loss mask.
//! - [`stats`]: token-length percentiles and reasoning-block shapes for `valley data stats`.

pub mod chat;
pub mod stats;
