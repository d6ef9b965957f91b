//! Chat templates and tokenization: a conversation exactly as the student sees it in training.
//!
//! [`ChatTokenizer`] loads a model's `tokenizer.json` and `tokenizer_config.json` (with the
//! `tokenizers` crate) and renders its Jinja chat template with minijinja set up as HF
//! transformers' `apply_chat_template` sets up jinja2, so the text and token ids are the ones
//! transformers produces (checked on real Qwen2.5 and Llama-3.1 tokenizers by
//! `scripts/check_templates.py`). [`ChatTokenizer::render`] also returns the loss mask: 1 on the
//! assistant turns' tokens, their end-of-turn token included, 0 elsewhere.
//!
//! [`TorchtuneRenderer`] renders conversations as torchtune's own Qwen2.5 and Llama-3 tokenizers
//! do instead (no default system prompt, each piece tokenized on its own, torchtune's loss mask
//! and truncation rule): what a model trained with torchtune saw.

mod error;
mod mask;
mod python;
mod template;
#[cfg(test)]
mod test_support;
mod tokenizer;
mod torchtune;

pub use error::{
    LoadTokenizerError, LoadTokenizerErrorKind, RenderError, TemplateError, TemplateErrorKind,
};
pub use mask::{assistant_spans, loss_mask};
pub use template::{ChatTemplate, Message, trace_conversation};
pub use tokenizer::{ChatTokenizer, Rendered};
pub use torchtune::{TorchtuneFormat, TorchtuneRendered, TorchtuneRenderer};
