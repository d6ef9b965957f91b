//! Balanced, disjoint groups by correctness or difficulty (`valley data split`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use valley_types::{Manifest, ManifestGroup, Trace};

use crate::io::{FieldMap, ReadDatasetError};
use crate::select::{self, MaterializeError, SELECTION_RULE};

/// What to split on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitBy {
    /// `correct` / `incorrect`, from the `correct` field.
    Correctness,
    /// `easy` (easy, medium) / `hard` (medium_hard, hard, very_hard), from `difficulty`.
    Difficulty,
}

impl SplitBy {
    /// The group names, in output order.
    pub fn groups(self) -> [&'static str; 2] {
        match self {
            Self::Correctness => ["correct", "incorrect"],
            Self::Difficulty => ["easy", "hard"],
        }
    }

    /// The group a trace belongs to (0 or 1), or the label it was left out under.
    pub fn classify(self, trace: &Trace) -> Result<usize, String> {
        match self {
            Self::Correctness => match trace.correct {
                Some(true) => Ok(0),
                Some(false) => Ok(1),
                None => Err("<missing correct>".into()),
            },
            Self::Difficulty => {
                let Some(raw) = trace.difficulty.as_deref() else {
                    return Err("<missing difficulty>".into());
                };
                match normalise_difficulty(raw).as_str() {
                    "easy" | "medium" => Ok(0),
                    "medium_hard" | "hard" | "very_hard" => Ok(1),
                    _ => Err(raw.to_owned()),
                }
            }
        }
    }
}

/// `Medium Hard`, `medium-hard` and `MEDIUM_HARD` all read as `medium_hard`.
pub fn normalise_difficulty(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() })
        .collect()
}

/// What to split.
#[derive(Debug, Clone)]
pub struct SplitConfig {
    /// The traces.
    pub input: PathBuf,
    /// Field mapping for the input.
    pub fields: FieldMap,
    /// What to split on.
    pub by: SplitBy,
    /// Rows per group.
    pub per_group: u64,
    /// Selection seed.
    pub seed: u64,
    /// Output folder.
    pub out: PathBuf,
    /// Where the input came from on the Hub, if it did (recorded in the manifest).
    pub hub: Vec<valley_types::HubSource>,
}

/// Splitting failed.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// The configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// Reading the input failed.
    #[error(transparent)]
    Read(#[from] ReadDatasetError),
    /// A group holds fewer than the requested rows; nothing was written.
    #[error("group `{group}` has {available} rows, fewer than the {wanted} requested")]
    ShortGroup {
        /// The short group.
        group: String,
        /// Rows it holds.
        available: u64,
        /// Rows requested.
        wanted: u64,
        /// Every group's size, for the summary.
        counts: BTreeMap<String, u64>,
    },
    /// Writing the outputs failed.
    #[error(transparent)]
    Write(#[from] MaterializeError),
}

/// Splits the input into two groups of exactly `per_group` rows each, plus `manifest.json`.
pub fn run(config: &SplitConfig) -> Result<Manifest, SplitError> {
    if config.per_group == 0 {
        return Err(SplitError::Config("--per-group must be positive".into()));
    }
    let by = config.by;
    let scan = select::scan(&config.input, &config.fields, config.seed, |t| by.classify(t))?;
    let names = by.groups();
    let mut members: [Vec<&select::Entry<Result<usize, String>>>; 2] = [Vec::new(), Vec::new()];
    let mut excluded: BTreeMap<String, u64> = BTreeMap::new();
    for e in &scan.entries {
        match &e.group {
            Ok(g) => members[*g].push(e),
            Err(label) => *excluded.entry(label.clone()).or_default() += 1,
        }
    }
    let counts: BTreeMap<String, u64> =
        names.iter().zip(&members).map(|(n, m)| ((*n).to_owned(), m.len() as u64)).collect();
    for (name, m) in names.iter().zip(&members) {
        if (m.len() as u64) < config.per_group {
            return Err(SplitError::ShortGroup {
                group: (*name).to_owned(),
                available: m.len() as u64,
                wanted: config.per_group,
                counts,
            });
        }
    }
    let mut groups = BTreeMap::new();
    let mut outputs = Vec::new();
    for (name, m) in names.iter().zip(&members) {
        let chosen = &m[..config.per_group as usize];
        let file = format!("{name}.jsonl");
        groups.insert(
            (*name).to_owned(),
            ManifestGroup {
                count: config.per_group,
                ids_sha256: select::ids_sha256(chosen.iter().map(|e| e.id.as_str())),
                path: file.clone(),
                available: Some(m.len() as u64),
            },
        );
        outputs.push((config.out.join(file), chosen.iter().map(|e| e.ordinal).collect()));
    }
    let manifest = Manifest {
        command: format!(
            "split --by {}",
            match by {
                SplitBy::Correctness => "correctness",
                SplitBy::Difficulty => "difficulty",
            }
        ),
        seed: config.seed,
        input_sha256: scan.input_sha256.clone(),
        input: config.input.display().to_string(),
        input_rows: scan.entries.len() as u64,
        selection: SELECTION_RULE.into(),
        groups,
        hub: config.hub.clone(),
        excluded,
        valley_version: env!("CARGO_PKG_VERSION").into(),
    };
    select::materialize_with_manifest(
        &config.input,
        &config.fields,
        &outputs,
        &manifest,
        &config.out.join("manifest.json"),
    )?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difficulty_labels_normalise() {
        for (raw, want) in [
            ("easy", Ok(0)),
            ("Medium", Ok(0)),
            ("MEDIUM_HARD", Ok(1)),
            ("medium-hard", Ok(1)),
            ("very hard", Ok(1)),
            ("unknown", Err("unknown".to_owned())),
        ] {
            let t = Trace {
                id: "1".into(),
                question: String::new(),
                response: String::new(),
                question_id: None,
                difficulty: Some(raw.into()),
                source: None,
                correct: None,
                extra: Default::default(),
            };
            assert_eq!(SplitBy::Difficulty.classify(&t), want, "{raw}");
        }
    }
}
