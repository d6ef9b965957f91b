//! The errors of the judging service and of evaluation, one per operation.

use std::path::PathBuf;

use valley_data::chat::RenderError;
use valley_data::io::{ReadDatasetError, WriteDatasetError};
use valley_judge::{AdmitProblemError, ParseProblemError, Profile};

/// Resolving a benchmark's files failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchmarkError {
    /// A release names files in a folder, and the problems path is a file.
    #[error("release {release}: {} is not a folder of LiveCodeBench files", problems.display())]
    NotAFolder {
        /// The release tag.
        release: String,
        /// The problems path.
        problems: PathBuf,
    },
    /// The problems path is a folder, and no release says which of its files to read.
    #[error("{} is a folder", problems.display())]
    Folder {
        /// The problems path.
        problems: PathBuf,
    },
    /// A file of the release is missing from the folder.
    #[error(
        "the release needs every one of its files; is the dataset folder complete?: {}: missing",
        path.display()
    )]
    MissingFile {
        /// The file, uncompressed name.
        path: PathBuf,
    },
}

/// A problem row could not be matched against the benchmark's filters (a date window on a row
/// without a valid `contest_date`).
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct SelectionError {
    /// The problems file.
    pub path: PathBuf,
    /// Its line.
    pub line: u64,
    /// The field at fault and why.
    pub message: String,
}

/// A file to read could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}", path.display())]
pub struct OpenError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: Box<ReadDatasetError>,
}

impl OpenError {
    /// Opens `path` for reading rows.
    pub(crate) fn open(path: &std::path::Path) -> Result<valley_data::io::RowReader, Self> {
        valley_data::io::RowReader::open(path)
            .map_err(|source| Self { path: path.to_path_buf(), source: Box::new(source) })
    }
}

/// Reading a benchmark's problems failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadProblemsError {
    /// The file could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A row could not be read.
    #[error(transparent)]
    Row(#[from] ReadDatasetError),
    /// A row is not JSON.
    #[error("{}:{line}: invalid JSON", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A row is not a problem of a known format.
    #[error("{}:{line}: cannot read the problem", path.display())]
    Problem {
        /// The file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// Why.
        #[source]
        source: ParseProblemError,
    },
    /// A row could not be matched against the filters.
    #[error(transparent)]
    Selection(#[from] SelectionError),
    /// Two rows share a `question_id`.
    #[error(
        "{}:{line}: field `question_id`: duplicate id `{id}` (first on {}:{first_line}); a problem's id must be unique",
        path.display(),
        first_path.display()
    )]
    Duplicate {
        /// The file of the second row.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The id.
        id: String,
        /// The file of the first row with the id.
        first_path: PathBuf,
        /// Its line.
        first_line: u64,
    },
    /// The profile's grader cannot judge the problem as stored (its format does not match).
    #[error("{}:{line}: the {profile} grader cannot judge this problem: {source}", path.display())]
    Admit {
        /// The file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The profile.
        profile: Profile,
        /// Which test and why.
        #[source]
        source: AdmitProblemError,
    },
}

/// Reading the records to judge (candidates, traces, generations) failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadInputError {
    /// The file could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A row could not be read or decoded.
    #[error(transparent)]
    Row(#[from] ReadDatasetError),
    /// A record names no problem.
    #[error(
        "{}:{line}: field `{field}`: missing (a trace needs its problem's id to be judged)",
        path.display()
    )]
    NoProblemId {
        /// The file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The field (with its input column when mapped).
        field: String,
    },
    /// Two records share a key (`candidate_id`).
    #[error(
        "{}:{line}: field `{field}`: duplicate id `{id}` (first on line {first_line}); it must be unique",
        path.display()
    )]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// The second record's line.
        line: u64,
        /// The field (with its input column when mapped).
        field: String,
        /// The id.
        id: String,
        /// The first record's line.
        first_line: u64,
    },
    /// A record names a problem the problems file does not hold.
    #[error("{}:{line}: field `{field}`: no problem `{id}` in {}", path.display(), problems.display())]
    UnknownProblem {
        /// The file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The field (with its input column when mapped).
        field: String,
        /// The problem id.
        id: String,
        /// The problems file.
        problems: PathBuf,
    },
}

/// The judge could judge none of the records (its environment or harness failed on every one):
/// there is no result, and nothing is written.
#[derive(Debug, thiserror::Error)]
#[error(
    "the judge could judge none of the {records} records, so nothing was written (the first, `{candidate_id}`: {reason})"
)]
pub struct NothingJudgedError {
    /// Records given to the judge.
    pub records: usize,
    /// The first record's candidate id.
    pub candidate_id: String,
    /// Why the judge failed on it.
    pub reason: String,
}

/// Evaluating judged generations failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A response could not be tokenized to count its length.
    #[error("cannot tokenize the response of {candidate}")]
    Tokenize {
        /// The generation's candidate id.
        candidate: String,
        /// Why.
        #[source]
        source: RenderError,
    },
    /// The judge could judge none of the generations.
    #[error(transparent)]
    NothingJudged(#[from] NothingJudgedError),
}

/// Writing an evaluation's outputs failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteEvalError {
    /// A file or folder could not be written (the error names it).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The verdicts could not be written.
    #[error(transparent)]
    Write(#[from] WriteDatasetError),
}
