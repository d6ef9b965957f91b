//! The benchmark's problem set for `generate` and `eval`: which files (a LiveCodeBench release)
//! and which rows (the scorer's date window, platform and difficulty filters).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use valley_types::{Day, LcbRelease, ProblemMeta, ProblemSelection};

use crate::args::BenchmarkArgs;
use crate::exit::Hint;

/// The files to read and the filter to apply to their rows.
#[derive(Debug)]
pub(crate) struct Benchmark {
    files: Vec<PathBuf>,
    release: Option<LcbRelease>,
    selection: ProblemSelection,
}

impl Benchmark {
    /// Resolves `--problems` with `--release` and the filters.
    pub(crate) fn resolve(problems: &Path, args: &BenchmarkArgs) -> anyhow::Result<Self> {
        let day = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<Day>> {
            v.as_deref()
                .map(|s| s.parse::<Day>().map_err(|e| anyhow::anyhow!("{flag}: {e}")))
                .transpose()
        };
        let selection = ProblemSelection {
            start_date: day("--start-date", &args.start_date)?,
            end_date: day("--end-date", &args.end_date)?,
            platforms: args.platform.clone(),
            difficulties: args.difficulty.clone(),
        };
        if let (Some(s), Some(e)) = (selection.start_date, selection.end_date)
            && s > e
        {
            bail!("--start-date {s} is after --end-date {e}: no problem could match");
        }
        let release = args
            .release
            .as_deref()
            .map(|r| r.parse::<LcbRelease>().map_err(|e| anyhow::anyhow!("--release: {e}")))
            .transpose()?;
        let files = match (&release, problems.is_dir()) {
            (Some(r), true) => r
                .files()
                .iter()
                .map(|name| release_file(problems, name))
                .collect::<Result<_, _>>()?,
            (Some(r), false) => {
                return Err(anyhow::Error::new(Hint {
                    message: format!(
                        "--release {r}: {} is not a folder of LiveCodeBench files",
                        problems.display()
                    ),
                    hint: "give --problems the folder holding test.jsonl, test2.jsonl, … (the \
                           code_generation_lite dataset), or drop --release to read one file"
                        .into(),
                }));
            }
            (None, true) => {
                return Err(anyhow::Error::new(Hint {
                    message: format!("--problems {} is a folder", problems.display()),
                    hint: "name a release to read LiveCodeBench's files from it, e.g. \
                           --release release_v6, or give one file"
                        .into(),
                }));
            }
            (None, false) => vec![problems.to_path_buf()],
        };
        Ok(Self { files, release, selection })
    }

    /// One file, every row.
    pub(crate) fn file(path: &Path) -> Self {
        Self {
            files: vec![path.to_path_buf()],
            release: None,
            selection: ProblemSelection::default(),
        }
    }

    /// Whether a LiveCodeBench release picked the files.
    pub(crate) fn is_release(&self) -> bool {
        self.release.is_some()
    }

    /// The files to read, in order.
    pub(crate) fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Whether a problem row is kept; a date filter on a row without a valid `contest_date` is
    /// an error naming file and line.
    pub(crate) fn keep(
        &self,
        row: &Map<String, Value>,
        file: &Path,
        line: u64,
    ) -> anyhow::Result<bool> {
        if !self.selection.is_active() {
            return Ok(true);
        }
        let text = |k: &str| row.get(k).and_then(Value::as_str);
        let meta = ProblemMeta {
            contest_date: text("contest_date"),
            platform: text("platform"),
            difficulty: text("difficulty"),
        };
        self.selection.accepts(&meta).map_err(|e| anyhow::anyhow!("{}:{line}: {e}", file.display()))
    }

    /// What was selected, for metrics.json and report.md.
    pub(crate) fn describe(&self) -> Value {
        json!({
            "release": self.release.map(|r| r.tag()),
            "files": self.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "filter": self.selection.describe(),
        })
    }
}

/// A release file in the dataset folder, plain or compressed.
fn release_file(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    for candidate in [name.to_string(), format!("{name}.gz"), format!("{name}.zst")] {
        let p = dir.join(&candidate);
        if p.is_file() {
            return Ok(p);
        }
    }
    let p = dir.join(name);
    Err(anyhow::anyhow!("{}: missing", p.display()))
        .context("the release needs every one of its files; is the dataset folder complete?")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(release: Option<&str>) -> BenchmarkArgs {
        BenchmarkArgs { release: release.map(String::from), ..Default::default() }
    }

    #[test]
    fn releases_pick_files_from_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["test.jsonl", "test2.jsonl.gz", "test3.jsonl"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let b = Benchmark::resolve(dir.path(), &args(Some("release_v2"))).unwrap();
        assert_eq!(b.files(), [dir.path().join("test.jsonl"), dir.path().join("test2.jsonl.gz")]);
        let b = Benchmark::resolve(dir.path(), &args(Some("v3"))).unwrap();
        assert_eq!(b.files(), [dir.path().join("test3.jsonl")]);
        let e = Benchmark::resolve(dir.path(), &args(Some("release_v4"))).unwrap_err();
        assert!(format!("{e:#}").contains("test4.jsonl: missing"), "{e:#}");
        assert!(Benchmark::resolve(dir.path(), &args(None)).is_err());
        let file = dir.path().join("test.jsonl");
        assert!(Benchmark::resolve(&file, &args(Some("release_v1"))).is_err());
        assert_eq!(Benchmark::resolve(&file, &args(None)).unwrap().files(), [file]);
    }
}
