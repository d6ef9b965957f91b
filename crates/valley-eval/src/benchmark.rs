//! The benchmark's problem set for generation and evaluation: which files (a LiveCodeBench
//! release) and which rows (the scorer's date window, platform and difficulty filters).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use valley_types::{BenchmarkSelection, LcbRelease, ProblemMeta, ProblemSelection};

use crate::error::{BenchmarkError, SelectionError};

/// The files to read and the filter to apply to their rows.
#[derive(Debug, Clone)]
pub struct Benchmark {
    files: Vec<PathBuf>,
    release: Option<LcbRelease>,
    selection: ProblemSelection,
}

impl Benchmark {
    /// The files of `release` in the folder `problems` (plain or compressed), or the file
    /// `problems` itself without a release; rows filtered by `selection`.
    pub fn resolve(
        problems: &Path,
        release: Option<LcbRelease>,
        selection: ProblemSelection,
    ) -> Result<Self, BenchmarkError> {
        let files = match (&release, problems.is_dir()) {
            (Some(r), true) => r
                .files()
                .iter()
                .map(|name| release_file(problems, name))
                .collect::<Result<_, _>>()?,
            (Some(r), false) => {
                return Err(BenchmarkError::NotAFolder {
                    release: r.tag(),
                    problems: problems.to_path_buf(),
                });
            }
            (None, true) => {
                return Err(BenchmarkError::Folder { problems: problems.to_path_buf() });
            }
            (None, false) => vec![problems.to_path_buf()],
        };
        Ok(Self { files, release, selection })
    }

    /// One file, every row.
    pub fn file(path: &Path) -> Self {
        Self {
            files: vec![path.to_path_buf()],
            release: None,
            selection: ProblemSelection::default(),
        }
    }

    /// Whether a LiveCodeBench release picked the files.
    pub fn is_release(&self) -> bool {
        self.release.is_some()
    }

    /// The files to read, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Whether a problem row (line `line` of `file`) is kept; a date filter on a row without a
    /// valid `contest_date` is an error naming file and line.
    pub fn keep(
        &self,
        row: &Map<String, Value>,
        file: &Path,
        line: u64,
    ) -> Result<bool, SelectionError> {
        if !self.selection.is_active() {
            return Ok(true);
        }
        let text = |k: &str| row.get(k).and_then(Value::as_str);
        let meta = ProblemMeta {
            contest_date: text("contest_date"),
            platform: text("platform"),
            difficulty: text("difficulty"),
        };
        self.selection.accepts(&meta).map_err(|message| SelectionError {
            path: file.to_path_buf(),
            line,
            message,
        })
    }

    /// What was selected, for metrics.json and report.md.
    pub fn describe(&self) -> BenchmarkSelection {
        BenchmarkSelection {
            release: self.release.map(|r| r.tag()),
            files: self.files.iter().map(|f| f.display().to_string()).collect(),
            filter: self.selection.describe(),
            hub: Vec::new(),
        }
    }
}

/// A release file in the dataset folder, plain or compressed.
fn release_file(dir: &Path, name: &str) -> Result<PathBuf, BenchmarkError> {
    for candidate in [name.to_string(), format!("{name}.gz"), format!("{name}.zst")] {
        let p = dir.join(&candidate);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(BenchmarkError::MissingFile { path: dir.join(name) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(problems: &Path, release: Option<&str>) -> Result<Benchmark, BenchmarkError> {
        let release = release.map(|r| r.parse().unwrap());
        Benchmark::resolve(problems, release, ProblemSelection::default())
    }

    #[test]
    fn releases_pick_files_from_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["test.jsonl", "test2.jsonl.gz", "test3.jsonl"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let b = resolve(dir.path(), Some("release_v2")).unwrap();
        assert_eq!(b.files(), [dir.path().join("test.jsonl"), dir.path().join("test2.jsonl.gz")]);
        let b = resolve(dir.path(), Some("v3")).unwrap();
        assert_eq!(b.files(), [dir.path().join("test3.jsonl")]);
        let e = resolve(dir.path(), Some("release_v4")).unwrap_err();
        assert!(e.to_string().contains("test4.jsonl: missing"), "{e}");
        assert!(matches!(resolve(dir.path(), None), Err(BenchmarkError::Folder { .. })));
        let file = dir.path().join("test.jsonl");
        assert!(matches!(
            resolve(&file, Some("release_v1")),
            Err(BenchmarkError::NotAFolder { .. })
        ));
        assert_eq!(resolve(&file, None).unwrap().files(), [file]);
    }

    #[test]
    fn rows_outside_the_window_are_left_out_and_undated_rows_refused() {
        let selection = ProblemSelection {
            start_date: Some("2024-01-01".parse().unwrap()),
            ..Default::default()
        };
        let b = Benchmark { files: vec![], release: None, selection };
        let row = |v: Value| v.as_object().unwrap().clone();
        let p = Path::new("p.jsonl");
        let late = row(serde_json::json!({"contest_date": "2024-02-01T00:00:00"}));
        let early = row(serde_json::json!({"contest_date": "2023-02-01T00:00:00"}));
        assert!(b.keep(&late, p, 1).unwrap());
        assert!(!b.keep(&early, p, 2).unwrap());
        let e = b.keep(&row(serde_json::json!({})), p, 3).unwrap_err();
        assert!(e.to_string().starts_with("p.jsonl:3: field `contest_date`"), "{e}");
        assert_eq!(b.describe().filter, "contest_date >= 2024-01-01");
    }
}
