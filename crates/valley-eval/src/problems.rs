//! Reading a benchmark's problems: every row of its files, parsed as a problem, kept or left out
//! by its filters.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use valley_judge::{parse_problem, problem_id};
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
/// detected per row unless `format` forces one. A bad row is an error naming file and line.
pub fn load_benchmark(
    bench: &Benchmark,
    format: Option<ProblemFormat>,
) -> Result<ProblemSet, LoadProblemsError> {
    let mut set = ProblemSet::default();
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
/// keep them (distinct ids), without reading their tests: for a dry run's estimate over
/// LiveCodeBench's multi-gigabyte files. A bad row is an error naming file and line.
pub fn count_benchmark(bench: &Benchmark) -> Result<u64, LoadProblemsError> {
    let mut kept = HashSet::new();
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

/// Reads every problem row of one file, keyed by `question_id`.
pub fn load_problems(
    path: &Path,
    format: Option<ProblemFormat>,
) -> Result<HashMap<String, Problem>, LoadProblemsError> {
    Ok(load_benchmark(&Benchmark::file(path), format)?.problems)
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
        let e = load_problems(&path, None).unwrap_err();
        assert!(e.to_string().ends_with("p.jsonl:2: invalid JSON"), "{e}");
        std::fs::write(&path, format!("{good}\n")).unwrap();
        let problems = load_problems(&path, None).unwrap();
        assert_eq!(problems.keys().collect::<Vec<_>>(), ["a"]);
    }

    /// The dry run's count is the number of problems `load_benchmark` keeps: the window's rows,
    /// a repeated id once.
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
        assert_eq!(load_benchmark(&bench, None).unwrap().problems.len(), 2);
        assert_eq!(count_benchmark(&Benchmark::file(&path)).unwrap(), 4);
        std::fs::write(&path, format!("{}\n{{\"contest_date\": \"2024-09-01\"}}\n", rows[1]))
            .unwrap();
        let e = count_benchmark(&Benchmark::file(&path)).unwrap_err();
        assert!(e.to_string().ends_with("test.jsonl:2: cannot read the problem"), "{e}");
    }
}
