//! Errors of loading a tokenizer and of rendering a conversation with its chat template.

use std::path::PathBuf;

/// Compiling or rendering a chat template failed.
#[derive(Debug, thiserror::Error)]
#[error("{}", match .kind {
    TemplateErrorKind::Compile => "cannot compile the chat template",
    TemplateErrorKind::Render => "cannot render the chat template",
})]
pub struct TemplateError {
    kind: TemplateErrorKind,
    #[source]
    source: minijinja::Error,
}

/// What went wrong with a chat template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateErrorKind {
    /// The template source is not valid Jinja.
    Compile,
    /// The template failed while rendering (including `raise_exception`).
    Render,
}

impl TemplateError {
    pub(crate) fn new(kind: TemplateErrorKind, source: minijinja::Error) -> Self {
        Self { kind, source }
    }

    /// Whether the template failed to compile or to render.
    pub fn kind(&self) -> TemplateErrorKind {
        self.kind
    }
}

/// Loading a tokenizer folder (`tokenizer.json`, `tokenizer_config.json`, chat template) failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot load tokenizer from {}", .path.display())]
pub struct LoadTokenizerError {
    path: PathBuf,
    #[source]
    kind: LoadTokenizerErrorKind,
}

impl LoadTokenizerError {
    pub(crate) fn new(path: impl Into<PathBuf>, kind: LoadTokenizerErrorKind) -> Self {
        Self { path: path.into(), kind }
    }

    /// The file or folder at fault.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// What went wrong.
    pub fn kind(&self) -> &LoadTokenizerErrorKind {
        &self.kind
    }
}

/// Why a tokenizer could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadTokenizerErrorKind {
    /// A file could not be read.
    #[error("cannot read file")]
    Io(#[source] std::io::Error),
    /// `tokenizer.json` was rejected by the `tokenizers` crate.
    #[error("invalid tokenizer.json")]
    Tokenizer(#[source] tokenizers::Error),
    /// `tokenizer_config.json` is not valid JSON, or a field has the wrong type.
    #[error("invalid tokenizer_config.json: {0}")]
    Config(String),
    /// Neither `--chat-template`, `chat_template.jinja` nor `tokenizer_config.json` holds a template.
    #[error(
        "no chat template: tokenizer_config.json has no `chat_template` and no template file was given"
    )]
    NoChatTemplate,
    /// The template did not compile.
    #[error(transparent)]
    Template(TemplateError),
}

/// Rendering or tokenizing one conversation failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The chat template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The conversation rendered up to an assistant turn is not a prefix of the whole rendering,
    /// so the turn's tokens cannot be located (the template rewrites earlier turns).
    #[error(
        "the chat template renders the conversation before message {message_index} differently from the whole conversation, so the assistant turn cannot be located"
    )]
    NotPrefix {
        /// Index of the assistant message.
        message_index: usize,
    },
    /// The tokenizer failed on the rendered text.
    #[error("cannot tokenize the rendered conversation")]
    Tokenize(#[source] tokenizers::Error),
    /// The tokenizer lacks a special token torchtune's format of its family writes.
    #[error("the tokenizer has no `{token}`, which torchtune's {format} format needs")]
    MissingToken {
        /// The token.
        token: String,
        /// The format.
        format: &'static str,
    },
}
