//! OpenCodeReasoning-2's source datasets: how each names its question text, and reading the rows
//! an import needs from local copies of their splits.
//!
//! OCR2 publishes no question text (`question` is `"-"`); its card's recipe (NVIDIA NeMo-Skills,
//! `recipes/opencodereasoning/scripts/prepare_questions.py`, `get_question`) takes it from the
//! source row at `dataset[split][int(index)]`: TACO's and APPS's `question`, CodeContests'
//! `description`, and for open-r1's Codeforces the `description` followed by the input and output
//! formats, the examples and the note, each under its heading. [`SourceKind::question`] builds the
//! same text.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::error::ImportError;
use super::read::sorted_shards;
use crate::io::Columns;

/// A source dataset OCR2 draws its questions from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// `BAAI/TACO`: `question`.
    Taco,
    /// `codeparrot/apps`: `question`.
    Apps,
    /// `deepmind/code_contests`: `description`.
    CodeContests,
    /// `open-r1/codeforces`: `description`, `input_format`, `output_format`, `examples`, `note`.
    Codeforces,
}

impl SourceKind {
    /// Every kind, for help texts.
    pub const ALL: [SourceKind; 4] = [Self::Taco, Self::Apps, Self::CodeContests, Self::Codeforces];

    /// The dataset's name as OCR2's `dataset` field spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Taco => "taco",
            Self::Apps => "apps",
            Self::CodeContests => "code_contests",
            Self::Codeforces => "open-r1/codeforces",
        }
    }

    /// The kind OCR2's `dataset` value names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The columns the question text and difficulty are read from.
    pub(crate) fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Taco | Self::Apps => &["question", "difficulty"],
            Self::CodeContests => &["description", "difficulty"],
            Self::Codeforces => {
                &["description", "input_format", "output_format", "examples", "note", "rating"]
            }
        }
    }

    /// The question text of a source row, or the field that lacks it.
    pub fn question(self, row: &Map<String, Value>) -> Result<String, (&'static str, String)> {
        let text = |field: &'static str| -> Result<Option<&str>, (&'static str, String)> {
            match row.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str()).filter(|s| !s.is_empty())),
                Some(_) => Err((field, "expected a string".into())),
            }
        };
        let required = |field: &'static str| {
            text(field)?.map(str::to_owned).ok_or_else(|| (field, "empty in the source row".into()))
        };
        match self {
            Self::Taco | Self::Apps => required("question"),
            Self::CodeContests => required("description"),
            Self::Codeforces => {
                let mut q = required("description")?;
                if let Some(s) = text("input_format")? {
                    q.push_str("\n\nInput\n\n");
                    q.push_str(s);
                }
                if let Some(s) = text("output_format")? {
                    q.push_str("\n\nOutput\n\n");
                    q.push_str(s);
                }
                match row.get("examples") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(examples)) if examples.is_empty() => {}
                    Some(Value::Array(examples)) => {
                        q.push_str("\n\nExamples");
                        for ex in examples {
                            for (key, heading) in [("input", "Input"), ("output", "Output")] {
                                match ex.get(key) {
                                    Some(Value::String(s)) => {
                                        q.push_str(&format!("\n\n{heading}\n\n{s}"));
                                    }
                                    None | Some(Value::Null) => {}
                                    Some(_) => {
                                        return Err((
                                            "examples",
                                            format!("`{key}` is not a string"),
                                        ));
                                    }
                                }
                            }
                        }
                    }
                    Some(_) => return Err(("examples", "expected a list".into())),
                }
                if let Some(s) = text("note")? {
                    q.push_str("\n\nNote\n\n");
                    q.push_str(s);
                }
                Ok(q)
            }
        }
    }

    /// The source's own difficulty label, when the row has one (TACO's and APPS's
    /// `difficulty`, CodeContests' numeric `difficulty`, Codeforces' `rating`).
    pub(crate) fn difficulty(self, row: &Map<String, Value>) -> Option<Value> {
        let field = match self {
            Self::Codeforces => "rating",
            _ => "difficulty",
        };
        row.get(field).filter(|v| !v.is_null()).cloned()
    }
}

/// `--source NAME:SPLIT=FILE`: a local copy of one split of a source dataset (repeat it for the
/// split's shards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// The dataset.
    pub kind: SourceKind,
    /// The split.
    pub split: String,
    /// The file.
    pub file: PathBuf,
}

impl std::str::FromStr for SourceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid source `{s}` (expected NAME:SPLIT=FILE, e.g. taco:train=F)");
        let (key, file) = s.split_once('=').ok_or_else(bad)?;
        let (name, split) = key.rsplit_once(':').ok_or_else(bad)?;
        if name.is_empty() || split.is_empty() || file.is_empty() {
            return Err(bad());
        }
        let kind = SourceKind::from_name(name).ok_or_else(|| {
            let names: Vec<_> = SourceKind::ALL.iter().map(|k| k.name()).collect();
            format!(
                "unknown source dataset `{name}` in `{s}` (expected one of: {})",
                names.join(", ")
            )
        })?;
        Ok(Self { kind, split: split.to_owned(), file: PathBuf::from(file) })
    }
}

/// A question read from a source row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceQuestion {
    pub(crate) text: String,
    pub(crate) difficulty: Option<Value>,
}

/// What reading one split for the wanted indices found.
#[derive(Debug, Default)]
pub(crate) struct SplitRows {
    /// Rows in the split (its shards together).
    pub(crate) rows: u64,
    /// The wanted rows' questions, or where and why a wanted row has none.
    pub(crate) found: HashMap<u64, Result<SourceQuestion, SourceRowIssue>>,
    /// Each shard read: path, SHA-256, rows.
    pub(crate) files: Vec<(PathBuf, String, u64)>,
}

/// Why a source row gave no question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceRowIssue {
    pub(crate) file: PathBuf,
    pub(crate) row: u64,
    pub(crate) field: &'static str,
    pub(crate) reason: String,
}

/// Reads one split's shards (in shard order) and keeps the questions at `wanted` positions.
pub(crate) fn read_split(
    kind: SourceKind,
    files: &[PathBuf],
    wanted: &BTreeSet<u64>,
) -> Result<SplitRows, ImportError> {
    let mut out = SplitRows::default();
    let mut position = 0u64;
    for path in sorted_shards(files) {
        let mut rows = 0u64;
        let mut reader = super::read::Rows::open(&path, Columns::Only(kind.columns()))?;
        while let Some(row) = reader.next_row()? {
            if wanted.contains(&position) {
                let map = row.object()?;
                let found = kind
                    .question(&map)
                    .map(|text| SourceQuestion { text, difficulty: kind.difficulty(&map) })
                    .map_err(|(field, reason)| SourceRowIssue {
                        file: path.clone(),
                        row: row.line,
                        field,
                        reason,
                    });
                out.found.insert(position, found);
            }
            position += 1;
            rows += 1;
        }
        out.files.push((path.clone(), reader.sha256(), rows));
    }
    out.rows = position;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn question_text_per_source() {
        let r = row(serde_json::json!({"question": "Q", "description": "D"}));
        assert_eq!(SourceKind::Taco.question(&r).unwrap(), "Q");
        assert_eq!(SourceKind::Apps.question(&r).unwrap(), "Q");
        assert_eq!(SourceKind::CodeContests.question(&r).unwrap(), "D");
        let cf = row(serde_json::json!({
            "description": "D", "input_format": "I", "output_format": "", "note": null,
            "examples": [{"input": "1\n", "output": "2\n"}, {"input": "3\n"}],
        }));
        // empty and null sections are left out, as `if benchmark["output_format"]:` does
        assert_eq!(
            SourceKind::Codeforces.question(&cf).unwrap(),
            "D\n\nInput\n\nI\n\nExamples\n\nInput\n\n1\n\n\nOutput\n\n2\n\n\nInput\n\n3\n"
        );
        let empty = row(serde_json::json!({"description": ""}));
        assert_eq!(SourceKind::CodeContests.question(&empty).unwrap_err().0, "description");
        assert_eq!(SourceKind::Taco.question(&empty).unwrap_err().0, "question");
    }

    #[test]
    fn source_specs() {
        let s: SourceSpec = "open-r1/codeforces:train=hf://datasets/a/b/x.parquet".parse().unwrap();
        assert_eq!((s.kind, s.split.as_str()), (SourceKind::Codeforces, "train"));
        assert_eq!(s.file, PathBuf::from("hf://datasets/a/b/x.parquet"));
        for bad in ["taco=f", "taco:train", ":train=f", "taco:=f", "nope:train=f"] {
            assert!(bad.parse::<SourceSpec>().is_err(), "{bad}");
        }
    }
}
