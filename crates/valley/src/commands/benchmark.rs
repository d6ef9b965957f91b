//! `--problems` with `--release` and the filters, validated into a [`Benchmark`] for `generate`
//! and `eval`.

use std::path::Path;

use valley_eval::{Benchmark, BenchmarkError};
use valley_types::{Day, LcbRelease, ProblemSelection};

use crate::args::BenchmarkArgs;
use crate::exit::Hint;

/// Resolves `--problems` with `--release` and the filters.
pub(crate) fn resolve(problems: &Path, args: &BenchmarkArgs) -> anyhow::Result<Benchmark> {
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
        anyhow::bail!("--start-date {s} is after --end-date {e}: no problem could match");
    }
    let release = args
        .release
        .as_deref()
        .map(|r| r.parse::<LcbRelease>().map_err(|e| anyhow::anyhow!("--release: {e}")))
        .transpose()?;
    Benchmark::resolve(problems, release, selection).map_err(|e| match e {
        BenchmarkError::NotAFolder { release, problems } => anyhow::Error::new(Hint {
            message: format!(
                "--release {release}: {} is not a folder of LiveCodeBench files",
                problems.display()
            ),
            hint: "give --problems the folder holding test.jsonl, test2.jsonl, … (the \
                   code_generation_lite dataset), or drop --release to read one file"
                .into(),
        }),
        BenchmarkError::Folder { problems } => anyhow::Error::new(Hint {
            message: format!("--problems {} is a folder", problems.display()),
            hint: "name a release to read LiveCodeBench's files from it, e.g. \
                   --release release_v6, or give one file"
                .into(),
        }),
        e @ BenchmarkError::MissingFile { .. } => anyhow::Error::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(release: Option<&str>) -> BenchmarkArgs {
        BenchmarkArgs { release: release.map(String::from), ..Default::default() }
    }

    #[test]
    fn flags_are_named_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("test.jsonl"), "").unwrap();
        let e = resolve(dir.path(), &args(None)).unwrap_err();
        assert!(e.to_string().starts_with("--problems "), "{e}");
        let file = dir.path().join("test.jsonl");
        let e = resolve(&file, &args(Some("release_v1"))).unwrap_err();
        assert!(e.to_string().starts_with("--release release_v1: "), "{e}");
        let window = BenchmarkArgs {
            start_date: Some("2024-02-01".into()),
            end_date: Some("2024-01-01".into()),
            ..Default::default()
        };
        let e = resolve(&file, &window).unwrap_err();
        assert!(e.to_string().contains("is after --end-date"), "{e}");
        assert_eq!(resolve(&file, &args(None)).unwrap().files(), [file]);
    }
}
