//! Records of `valley data import`: questions filled from their source datasets, the stable ids
//! that every import gives to a source dataset's rows, and the import manifest.
//!
//! A source dataset row has no id of its own (TACO, APPS), or one that another import does not
//! know, so every import names a row by where it sits: `{dataset}/{split}/{index}`, with the
//! dataset spelled as OpenCodeReasoning-2 spells it (`taco`, `apps`, `code_contests`,
//! `open-r1/codeforces`) and `index` the row's 0-based position in that split. `data import ocr2`
//! and `data import taco` both derive their ids from [`SourceRef::question_id`], so a trace of an
//! OCR2 question from TACO finds its problem in a TACO import with no join written by hand.
//!
//! ```
//! use valley_types::SourceRef;
//! let r = SourceRef { dataset: "open-r1/codeforces".into(), split: "train".into(), index: 13 };
//! assert_eq!(r.question_id(), "open-r1/codeforces/train/13");
//! assert_eq!(SourceRef::parse_question_id("open-r1/codeforces/train/13"), Some(r));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a question sits in its source dataset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceRef {
    /// The source dataset, as OpenCodeReasoning-2's `dataset` field names it.
    pub dataset: String,
    /// The split of the source dataset (`train`, `test`, `valid`).
    pub split: String,
    /// The row's 0-based position in that split, shards read in order.
    pub index: u64,
}

impl SourceRef {
    /// The stable question id of the row: `{dataset}/{split}/{index}`.
    pub fn question_id(&self) -> String {
        format!("{}/{}/{}", self.dataset, self.split, self.index)
    }

    /// Reads a stable question id back (the dataset may hold `/`, the split and index do not).
    pub fn parse_question_id(id: &str) -> Option<Self> {
        let (rest, index) = id.rsplit_once('/')?;
        let (dataset, split) = rest.rsplit_once('/')?;
        if dataset.is_empty() || split.is_empty() {
            return None;
        }
        Some(Self { dataset: dataset.into(), split: split.into(), index: index.parse().ok()? })
    }
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}[{}]", self.dataset, self.split, self.index)
    }
}

/// A question to sample teacher answers for, one per source question.
///
/// `valley generate --prompt-style raw` reads `question_id` and `question`; the other fields are
/// carried into the traces made from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// The stable id ([`SourceRef::question_id`]).
    pub question_id: String,
    /// The question text, as the source dataset holds it.
    pub question: String,
    /// Difficulty label (OCR2's `difficulty`, or the source's own label for a source import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<String>,
    /// The platform the question comes from (`codeforces`, `atcoder`, …), as OCR2's `source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The source dataset.
    pub dataset: String,
    /// The source dataset's split.
    pub split: String,
    /// The row's position in that split.
    pub index: u64,
    /// The license of the source row, as OCR2's `license` names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Every other field (`ocr2_question_id`, `ocr2_rows`, …).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Question {
    /// Where the question comes from.
    pub fn source_ref(&self) -> SourceRef {
        SourceRef { dataset: self.dataset.clone(), split: self.split.clone(), index: self.index }
    }
}

/// One row an import refused or could not match, named by file, row and field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowIssue {
    /// The file the row was read from.
    pub file: String,
    /// The 1-based line (JSON Lines) or row (Parquet).
    pub row: u64,
    /// The field at fault.
    pub field: String,
    /// What is wrong, in a few words.
    pub reason: String,
}

impl std::fmt::Display for RowIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: field `{}`: {}", self.file, self.row, self.field, self.reason)
    }
}

/// Rows left out of an import, counted by reason, with the first few named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueSummary {
    /// Rows left out.
    pub rows: u64,
    /// Rows left out, by reason (`no --source for apps:train`, `index out of range`, …).
    pub by_reason: BTreeMap<String, u64>,
    /// The first rows left out for each reason.
    pub examples: Vec<RowIssue>,
}

/// One file an import read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportInput {
    /// What the file is (`ocr2`, `source taco:train`, `taco:test`, `lcb`).
    pub role: String,
    /// The path as read (a Hub file's path in the local cache).
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Rows read.
    pub rows: u64,
}

/// One file an import wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportOutput {
    /// The file, relative to the manifest's folder.
    pub path: String,
    /// Rows written.
    pub rows: u64,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// Per source dataset: how many questions (and rows of the import's input) it gave.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceCount {
    /// Questions written.
    pub questions: u64,
    /// Input rows that referred to them.
    pub rows: u64,
}

/// A file read from the Hugging Face Hub, with the commit it was read at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubSource {
    /// The `hf://` path as given.
    pub uri: String,
    /// `dataset`, `model` or `space`.
    pub repo_type: String,
    /// `owner/name`.
    pub repo: String,
    /// The revision asked for (`main` when none).
    pub revision: String,
    /// The commit SHA the revision resolved to.
    pub commit: String,
    /// The repository paths read, in order.
    pub files: Vec<String>,
}

/// What an import read and wrote, and every row it left out: `DIR/manifest.json` of
/// `data import ocr2`, `P.manifest.json` beside a problems file of `data import taco|lcb`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportManifest {
    /// `import ocr2`, `import taco` or `import lcb`.
    pub command: String,
    /// Every file read, in the order read.
    pub inputs: Vec<ImportInput>,
    /// Files read from the Hub, with their commits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hub: Vec<HubSource>,
    /// Every file written, by name (`questions`, `traces`, `problems`).
    pub outputs: BTreeMap<String, ImportOutput>,
    /// Rows read from the main input.
    pub input_rows: u64,
    /// Questions (or problems) written, by source dataset.
    pub sources: BTreeMap<String, SourceCount>,
    /// Rows left out and why.
    pub left_out: IssueSummary,
    /// Settings that shaped the output (`traces`, `datasets`, `keep_solutions`, …).
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// valley's version.
    pub valley_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_junk() {
        for (d, s, i) in [("taco", "train", 0), ("open-r1/codeforces", "test", 9), ("apps", "x", 7)]
        {
            let r = SourceRef { dataset: d.into(), split: s.into(), index: i };
            assert_eq!(SourceRef::parse_question_id(&r.question_id()), Some(r));
        }
        for bad in ["taco/train", "taco/train/x", "/train/1", "taco//1", "1"] {
            assert_eq!(SourceRef::parse_question_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn question_keeps_extra_fields() {
        let row = r#"{"question_id":"taco/train/1","question":"q","dataset":"taco","split":"train","index":1,"ocr2_rows":3}"#;
        let q: Question = serde_json::from_str(row).unwrap();
        assert_eq!(q.extra["ocr2_rows"], 3);
        assert_eq!(serde_json::to_string(&q).unwrap(), row);
    }
}
