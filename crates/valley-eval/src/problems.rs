//! Reading a benchmark's problems: every row of its files, parsed as a problem, kept or left out
//! by its filters.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use valley_judge::parse_problem;
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
}
