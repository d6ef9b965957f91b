//! Errors of an import: a file that cannot be read or written. Rows an import leaves out are
//! not errors: they are counted and named in its manifest.

use std::path::PathBuf;

use crate::io::{ReadDatasetError, WriteDatasetError};

/// An import stopped; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// An input could not be read, or a row is not JSON.
    #[error(transparent)]
    Read(#[from] ReadDatasetError),
    /// An output could not be written.
    #[error(transparent)]
    Write(#[from] WriteDatasetError),
    /// An input changed between two passes over it.
    #[error("{} changed while it was read (SHA-256 {first} on the first pass, {second} on the second)", path.display())]
    Changed {
        /// The input.
        path: PathBuf,
        /// Its hash on the first pass.
        first: String,
        /// Its hash on the second.
        second: String,
    },
}
