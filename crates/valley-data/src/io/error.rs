//! Errors of reading and writing record files; each names the file, and a row error its line and
//! field.

use std::path::PathBuf;

/// Reading a record file failed.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {kind}", line.map(|l| format!(":{l}")).unwrap_or_default(), path = path.display())]
pub struct ReadDatasetError {
    /// The file being read.
    pub path: PathBuf,
    /// The 1-based line (JSON Lines) or row (Parquet), when the error is about one row.
    pub line: Option<u64>,
    /// What went wrong.
    #[source]
    pub kind: ReadDatasetErrorKind,
}

/// What went wrong while reading a record file.
#[derive(Debug, thiserror::Error)]
pub enum ReadDatasetErrorKind {
    /// The file could not be opened or read.
    #[error("cannot read file")]
    Io(#[source] std::io::Error),
    /// The file's extension names no format we read.
    #[error("unknown file format (expected .jsonl, .jsonl.gz, .jsonl.zst, .json, .parquet)")]
    UnknownFormat,
    /// A line is not valid JSON.
    #[error("malformed JSON")]
    Json(#[source] serde_json::Error),
    /// A line is valid JSON but not an object.
    #[error("row is not a JSON object")]
    NotAnObject,
    /// A field is missing or has the wrong type.
    #[error("field `{field}`{}: {message}", column.as_ref().map(|c| format!(" (column `{c}`)")).unwrap_or_default())]
    Field {
        /// The record field (a nested path such as `metadata.func_name` when nested).
        field: String,
        /// The input column it was read from, when mapped.
        column: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// Two rows share an id.
    #[error("duplicate id `{id}` (first seen on line {first_line})")]
    DuplicateId {
        /// The repeated id.
        id: String,
        /// Where it was first seen.
        first_line: u64,
    },
    /// The Parquet file could not be decoded.
    #[error("cannot decode Parquet")]
    Parquet(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ReadDatasetError {
    pub(crate) fn file(path: impl Into<PathBuf>, kind: ReadDatasetErrorKind) -> Self {
        Self { path: path.into(), line: None, kind }
    }

    pub(crate) fn row(path: impl Into<PathBuf>, line: u64, kind: ReadDatasetErrorKind) -> Self {
        Self { path: path.into(), line: Some(line), kind }
    }
}

/// Writing an output file failed; nothing was left under the final name.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", path.display())]
pub struct WriteDatasetError {
    /// The output's final path.
    pub path: PathBuf,
    /// The underlying failure.
    #[source]
    pub source: std::io::Error,
}
