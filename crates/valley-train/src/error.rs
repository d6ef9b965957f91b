//! Errors of loading a spec, preparing its data and running an engine.

use std::path::{Path, PathBuf};

/// A training spec could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
#[error("{}{}{}: {kind}",
    .path.display(),
    .line.map(|l| format!(":{l}")).unwrap_or_default(),
    .field.as_ref().map(|f| format!(": field `{f}`")).unwrap_or_default())]
pub struct SpecError {
    /// The spec file.
    pub path: PathBuf,
    /// The 1-based line at fault, when known.
    pub line: Option<usize>,
    /// The dotted key at fault (`train.global-batch`), when known.
    pub field: Option<String>,
    /// What is wrong.
    #[source]
    pub kind: SpecErrorKind,
}

/// What is wrong with a spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecErrorKind {
    /// The file cannot be read.
    #[error("cannot read it")]
    Io(#[source] std::io::Error),
    /// Not valid TOML, or a key of the wrong name or type.
    #[error("{0}")]
    Syntax(String),
    /// A value outside what valley accepts.
    #[error("{0}")]
    Invalid(String),
}

impl SpecError {
    pub(crate) fn new(
        path: &Path,
        line: Option<usize>,
        field: Option<String>,
        kind: SpecErrorKind,
    ) -> Self {
        Self { path: path.to_path_buf(), line, field, kind }
    }

    pub(crate) fn from_toml(
        path: &Path,
        text: &str,
        field: Option<String>,
        err: &toml::de::Error,
    ) -> Self {
        let line = err.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        // a span that ends a line counts that line; a span at a line start is the next line
        let line = line.map(|l| {
            let start = err.span().map_or(0, |s| s.start);
            if start > 0 && text.as_bytes().get(start - 1) == Some(&b'\n') { l + 1 } else { l }
        });
        Self::new(path, line, field, SpecErrorKind::Syntax(err.message().trim().to_owned()))
    }

    pub(crate) fn invalid(
        path: &Path,
        text: &str,
        section: &str,
        key: &str,
        message: String,
    ) -> Self {
        let line = line_of(text, section, key);
        Self::new(path, line, Some(format!("{section}.{key}")), SpecErrorKind::Invalid(message))
    }
}

/// The line of `key` in `[section]`, else of the section's header.
fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    let mut header = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            current = name.trim().to_owned();
            if current == section {
                header = Some(i + 1);
            }
            continue;
        }
        if current == section {
            let k = t.split('=').next().unwrap_or_default().trim();
            if k == key && t.contains('=') {
                return Some(i + 1);
            }
        }
    }
    header
}

/// Reading or rendering the training data failed.
#[derive(Debug, thiserror::Error)]
pub enum PrepareDataError {
    /// The tokenizer cannot be loaded.
    #[error(transparent)]
    Tokenizer(#[from] valley_data::chat::LoadTokenizerError),
    /// The data file cannot be read, or a row is malformed.
    #[error(transparent)]
    Read(#[from] valley_data::io::ReadDatasetError),
    /// A row cannot be rendered.
    #[error("{}:{line}: trace `{id}`: cannot render it", .path.display())]
    Render {
        /// The data file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The trace's id.
        id: String,
        /// Why.
        #[source]
        source: valley_data::chat::RenderError,
    },
    /// A conversation is longer than `max-seq-len` under `over-length = "error"`.
    #[error(
        "{}:{line}: trace `{id}`: {tokens} tokens exceed train.max-seq-len {max} (set data.over-length = \"drop\" or \"truncate\")",
        .path.display()
    )]
    OverLength {
        /// The data file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The trace's id.
        id: String,
        /// Its rendered length.
        tokens: usize,
        /// The limit.
        max: u32,
    },
    /// The file's row count differs from the spec's `data.rows`.
    #[error("{}: field `data.rows`: the spec declares {declared} rows but {} holds {found}", .spec.display(), .path.display())]
    RowCount {
        /// The spec file.
        spec: PathBuf,
        /// The data file.
        path: PathBuf,
        /// `data.rows`.
        declared: u64,
        /// Rows in the file.
        found: u64,
    },
    /// The field mapping is malformed.
    #[error("field `data.fields`: {0}")]
    Fields(String),
    /// The tokenised output cannot be written.
    #[error(transparent)]
    Write(#[from] valley_data::io::WriteDatasetError),
    /// No row is left to train on.
    #[error("{}: no rows left to train on", .0.display())]
    Empty(PathBuf),
    /// `data.template = "torchtune"` with a tokenizer whose family torchtune's format is not
    /// known for.
    #[error(
        "field `data.template`: torchtune's format is known for Qwen2.5 and Llama 3 tokenizers; {} is neither (no `<|im_start|>` or `<|start_header_id|>`)",
        .0.display()
    )]
    TorchtuneFamily(PathBuf),
    /// The torchtune renderer cannot be built for this tokenizer.
    #[error("field `data.template`: {0}")]
    TorchtuneTokens(#[source] valley_data::chat::RenderError),
}

/// Running a trainer failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file of the run cannot be written or read.
    #[error("cannot access {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The engine's process cannot be started.
    #[error("cannot start `{program}`")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The engine ran and failed.
    #[error("{engine} failed ({status}); its log: {}", .log.display())]
    EngineFailed {
        /// The engine.
        engine: String,
        /// Its exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
    },
    /// The run cannot fit the devices (memory pre-flight).
    #[error("{0}")]
    WontFit(String),
    /// This backend cannot do what the spec asks.
    #[error("backend `{backend}`: {message}")]
    Unsupported {
        /// The backend.
        backend: String,
        /// What it cannot do.
        message: String,
    },
    /// A backend-specific failure (the native trainer's own errors).
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_finds_the_key_in_its_section() {
        let text = "[a]\nx = 1\n[b]\nx = 2\n";
        assert_eq!(line_of(text, "b", "x"), Some(4));
        assert_eq!(line_of(text, "b", "y"), Some(3));
        assert_eq!(line_of(text, "c", "x"), None);
    }
}
