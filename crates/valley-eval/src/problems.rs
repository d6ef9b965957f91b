//! Reading a benchmark's problems: every row of its files, parsed as a problem, checked against
//! the profile that will judge it, kept or left out by its filters.
//!
//! A problem's `question_id` is its key: two rows with one id (in one file or across a
//! release's files) are refused, naming both lines, rather than the last one silently judging
//! the other's candidates. A row whose tests the profile's grader cannot read as stored (a TACO
//! call-based row under `lcb`) is refused, naming the row, the test and why
//! ([`Profile::admit`]): judged anyway, every candidate would fail for the dataset's fault.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use valley_judge::{Profile, parse_problem, problem_id};
use valley_types::{Problem, ProblemFormat};

use crate::Benchmark;
use crate::error::{LoadProblemsError, OpenError};

/// The problems of a benchmark, and the ids its filters left out.
#[derive(Debug, Clone, Default)]
pub struct ProblemSet {
    /// The kept problems, by `question_id`.
    pub problems: HashMap<String, Problem>,
    /// The ids of the problems the filters left out.
    pub excluded: HashSet<String>,
}

/// Reads every file of the benchmark and keeps the rows its filters accept; the format is
/// detected per row unless `format` forces one, and each problem is made ready for `profile`'s
/// grader ([`Profile::admit`]). A bad row, a duplicate id or a problem the grader cannot judge
/// is an error naming file and line.
pub fn load_benchmark(
    bench: &Benchmark,
    format: Option<ProblemFormat>,
    profile: Profile,
) -> Result<ProblemSet, LoadProblemsError> {
    let mut set = ProblemSet::default();
    let mut first: HashMap<String, (PathBuf, u64)> = HashMap::new();
    for path in bench.files() {
        let rows = OpenError::open(path)?;
        for row in rows {
            let row = row?;
            let value: serde_json::Value = serde_json::from_slice(&row.json).map_err(|source| {
                LoadProblemsError::Json { path: path.clone(), line: row.line, source }
            })?;
            let problem = parse_problem(&value, format).map_err(|source| {
                LoadProblemsError::Problem { path: path.clone(), line: row.line, source }
            })?;
            if let Some((first_path, first_line)) =
                first.insert(problem.question_id.clone(), (path.clone(), row.line))
            {
                return Err(LoadProblemsError::Duplicate {
                    path: path.clone(),
                    line: row.line,
                    id: problem.question_id,
                    first_path,
                    first_line,
                });
            }
            let problem = profile.admit(problem).map_err(|source| LoadProblemsError::Admit {
                path: path.clone(),
                line: row.line,
                profile,
                source,
            })?;
            let keep = match &value {
                serde_json::Value::Object(map) => bench.keep(map, path, row.line)?,
                _ => true,
            };
            if keep {
                set.problems.insert(problem.question_id.clone(), problem);
            } else {
                set.excluded.insert(problem.question_id);
            }
        }
    }
    Ok(set)
}

/// The number of problems of a benchmark that its filters keep, as [`load_benchmark`] would
/// keep them, without reading their tests: for a dry run's estimate over LiveCodeBench's
/// multi-gigabyte files. A bad row or a duplicate id is an error naming file and line.
pub fn count_benchmark(bench: &Benchmark) -> Result<u64, LoadProblemsError> {
    let mut kept = HashSet::new();
    let mut first: HashMap<String, (PathBuf, u64)> = HashMap::new();
    for path in bench.files() {
        for row in OpenError::open(path)? {
            let row = row?;
            let value: serde_json::Value = serde_json::from_slice(&row.json).map_err(|source| {
                LoadProblemsError::Json { path: path.clone(), line: row.line, source }
            })?;
            let id = problem_id(&value).map_err(|source| LoadProblemsError::Problem {
                path: path.clone(),
                line: row.line,
                source,
            })?;
            if let Some((first_path, first_line)) =
                first.insert(id.clone(), (path.clone(), row.line))
            {
                return Err(LoadProblemsError::Duplicate {
                    path: path.clone(),
                    line: row.line,
                    id,
                    first_path,
                    first_line,
                });
            }
            let keep = match &value {
                serde_json::Value::Object(map) => bench.keep(map, path, row.line)?,
                _ => true,
            };
            if keep {
                kept.insert(id);
            }
        }
    }
    Ok(kept.len() as u64)
}

/// Reads every problem row of one file, keyed by `question_id`, ready for `profile`.
pub fn load_problems(
    path: &Path,
    format: Option<ProblemFormat>,
    profile: Profile,
) -> Result<HashMap<String, Problem>, LoadProblemsError> {
    Ok(load_benchmark(&Benchmark::file(path), format, profile)?.problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_row_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        let good = r#"{"question_id": "a", "public_test_cases": "[]", "private_test_cases": "[]", "metadata": "{}"}"#;
        std::fs::write(&path, format!("{good}\nnot json\n")).unwrap();
        let e = load_problems(&path, None, Profile::Lcb).unwrap_err();
        assert!(e.to_string().ends_with("p.jsonl:2: invalid JSON"), "{e}");
        std::fs::write(&path, format!("{good}\n")).unwrap();
        let problems = load_problems(&path, None, Profile::Lcb).unwrap();
        assert_eq!(problems.keys().collect::<Vec<_>>(), ["a"]);
    }

    /// The dry run's count is the number of problems `load_benchmark` keeps: the window's rows;
    /// a repeated id is an error to both.
    #[test]
    fn the_count_is_what_loading_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.jsonl");
        let row = |id: &str, date: &str| {
            format!(
                r#"{{"question_id": "{id}", "contest_date": "{date}T00:00:00", "public_test_cases": "[]", "private_test_cases": "[]", "metadata": "{{}}"}}"#
            )
        };
        let rows = [
            row("a", "2024-07-31"),
            row("b", "2024-08-01"),
            row("c", "2025-01-31"),
            row("d", "2025-02-02"),
        ];
        std::fs::write(&path, rows.join("\n") + "\n").unwrap();
        let selection = valley_types::ProblemSelection {
            start_date: Some("2024-08-01".parse().unwrap()),
            end_date: Some("2025-02-01".parse().unwrap()),
            ..Default::default()
        };
        let release = Some("release_v1".parse().unwrap());
        let bench = Benchmark::resolve(dir.path(), release, selection).unwrap();
        assert_eq!(count_benchmark(&bench).unwrap(), 2);
        assert_eq!(load_benchmark(&bench, None, Profile::Lcb).unwrap().problems.len(), 2);
        assert_eq!(count_benchmark(&Benchmark::file(&path)).unwrap(), 4);
        std::fs::write(&path, [rows[2].clone(), rows[2].clone()].join("\n") + "\n").unwrap();
        let e = count_benchmark(&Benchmark::file(&path)).unwrap_err().to_string();
        assert!(e.contains("test.jsonl:2: field `question_id`: duplicate id `c`"), "{e}");
        std::fs::write(&path, format!("{}\n{{\"contest_date\": \"2024-09-01\"}}\n", rows[1]))
            .unwrap();
        let e = count_benchmark(&Benchmark::file(&path)).unwrap_err();
        assert!(e.to_string().ends_with("test.jsonl:2: cannot read the problem"), "{e}");
    }

    #[test]
    fn a_duplicate_id_is_refused_naming_both_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        let row = |id: &str| {
            format!(
                r#"{{"question_id": "{id}", "public_test_cases": "[]", "private_test_cases": "[]", "metadata": "{{}}"}}"#
            )
        };
        std::fs::write(&path, format!("{}\n{}\n{}\n", row("a"), row("b"), row("a"))).unwrap();
        let e = load_problems(&path, None, Profile::Lcb).unwrap_err().to_string();
        assert!(e.contains("p.jsonl:3: field `question_id`: duplicate id `a`"), "{e}");
        assert!(e.contains("first on ") && e.contains("p.jsonl:1"), "{e}");
    }

    #[test]
    fn a_row_the_grader_cannot_read_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        // a TACO call-based row: its arguments are JSON lists, which LiveCodeBench cannot read
        let taco = r#"{"question_id": "t", "input_output": "{\"fn_name\": \"f\", \"inputs\": [[1, 2]], \"outputs\": [3]}"}"#;
        std::fs::write(&path, format!("{taco}\n")).unwrap();
        let e = load_problems(&path, None, Profile::Lcb).unwrap_err().to_string();
        assert!(e.contains("p.jsonl:1") && e.contains("--profile taco"), "{e}");
        assert!(load_problems(&path, None, Profile::Taco).is_ok());
    }
}
