//! Errors of loading a spec and of running, inspecting and verifying a study.

use std::path::PathBuf;

/// A spec file that cannot be read or is not a valid study.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file cannot be read.
    #[error("cannot read the study spec")]
    Read {
        /// The I/O error (it names the path).
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse into a study.
    #[error("{}:{}: {message}", file.display(), line.map_or("?".into(), |l| l.to_string()))]
    Parse {
        /// The spec file.
        file: PathBuf,
        /// The line at fault.
        line: Option<usize>,
        /// What is wrong (it names the field).
        message: String,
    },
    /// The spec parses but names something that does not exist or contradicts itself.
    #[error("{}:{}: field `{field}`: {message}", file.display(), line.map_or("?".into(), |l| l.to_string()))]
    Invalid {
        /// The spec file.
        file: PathBuf,
        /// The line at fault, when it can be found.
        line: Option<usize>,
        /// The field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// A study that cannot be planned, run, shown or verified.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The spec.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A spec field names a file that is missing.
    #[error("{}: field `{field}`: {}: no such file or folder", spec.display(), path.display())]
    MissingInput {
        /// The spec file.
        spec: PathBuf,
        /// The field.
        field: String,
        /// The resolved path.
        path: PathBuf,
    },
    /// The grid has a cycle or names a run that does not exist.
    #[error("{}: field `from`: {message}", spec.display())]
    Plan {
        /// The spec file.
        spec: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// File I/O (the error names the path).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The state database.
    #[error("state database {}", path.display())]
    Db {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// Another `valley study run` holds the study.
    #[error("the study in {} is already being run by another process", out.display())]
    Locked {
        /// The study's output folder.
        out: PathBuf,
    },
    /// A step's work failed.
    #[error("step `{step}` failed: {message}")]
    StepFailed {
        /// Step id.
        step: String,
        /// What failed.
        message: String,
    },
    /// The run was interrupted (a signal); running steps were stopped and will rerun.
    #[error(
        "interrupted; the steps that were running will run again on the next `valley study run`"
    )]
    Interrupted,
    /// A Slurm command failed.
    #[error("slurm: {0}")]
    Slurm(String),
    /// A step's job file is malformed (a bug or a hand edit).
    #[error("{}: {message}", path.display())]
    Job {
        /// The job file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl StudyError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StudyError::Io { context: context.into(), source }
    }
}
