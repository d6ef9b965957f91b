//! Reading the generations to evaluate, against the benchmark's problems.

use std::collections::HashSet;
use std::path::Path;

use valley_data::io::{FieldMap, decode_row};
use valley_types::Generation;

use crate::error::{OpenError, ReadInputError};
use crate::problems::ProblemSet;

/// The generations of the selected problems, and how many records were left out.
#[derive(Debug, Clone, Default)]
pub struct Generations {
    /// One record per (question, sample) key, the first of each, in file order.
    pub records: Vec<Generation>,
    /// Records of problems outside the selection (skipped).
    pub outside_selection: u64,
}

/// Reads the generations; the first record of a (question, sample) key wins. A record for a
/// problem the selection left out (or, with a `release`, in none of its files) is skipped and
/// counted; one for a problem in no problems file (read from `problems_path`) is an error
/// naming its line.
pub fn read_generations(
    path: &Path,
    problems_path: &Path,
    problems: &ProblemSet,
    release: bool,
) -> Result<Generations, ReadInputError> {
    let mut seen = HashSet::new();
    let mut out = Generations::default();
    let mut duplicates = 0;
    let fields = FieldMap::default();
    let rows = OpenError::open(path)?;
    for row in rows {
        let row = row?;
        let g: Generation = decode_row(path, &row, &fields)?;
        let known = problems.problems.contains_key(&g.question_id);
        if problems.excluded.contains(&g.question_id) || (release && !known) {
            out.outside_selection += 1;
            continue;
        }
        if !known {
            return Err(ReadInputError::UnknownProblem {
                path: path.to_path_buf(),
                line: row.line,
                field: "question_id".into(),
                id: g.question_id,
                problems: problems_path.to_path_buf(),
            });
        }
        if seen.insert((g.question_id.clone(), g.sample_index)) {
            out.records.push(g);
        } else {
            duplicates += 1;
        }
    }
    if duplicates > 0 {
        tracing::warn!(
            "{}: {duplicates} duplicate records ignored (the first of each key is kept)",
            path.display()
        );
    }
    Ok(out)
}
