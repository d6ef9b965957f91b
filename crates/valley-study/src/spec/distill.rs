//! `[distill]`: the training data made from its sources — OpenCodeReasoning-2's questions filled
//! from their source datasets, answered by the teachers of a recipe, filtered, decontaminated
//! against the benchmark — and TACO's problems for labelling. Datasets use its outputs by name:
//! `traces = "distill:traces"`, `traces = "distill:taco-traces"`,
//! `label = { problems = "distill:taco-problems" }`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The prefix of a dataset value that names a `[distill]` output.
const DISTILL_PREFIX: &str = "distill:";

/// What `[distill]` makes, by the name datasets use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DistillOutput {
    /// Every question's teacher traces (decontaminated unless `decontam = false`).
    Traces,
    /// The traces of TACO questions only.
    TacoTraces,
    /// TACO's problems with tests, ids `taco/<split>/<index>`.
    TacoProblems,
}

impl DistillOutput {
    /// Every output, for messages.
    pub(crate) const ALL: [DistillOutput; 3] = [Self::Traces, Self::TacoTraces, Self::TacoProblems];

    /// The name after `distill:`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::TacoTraces => "taco-traces",
            Self::TacoProblems => "taco-problems",
        }
    }

    /// The output a spec value names, if it names one (`Some(Err)` for an unknown name).
    pub(crate) fn of(value: &Path) -> Option<Result<Self, String>> {
        let name = value.to_str()?.strip_prefix(DISTILL_PREFIX)?;
        Some(Self::ALL.into_iter().find(|o| o.name() == name).ok_or_else(|| {
            let names: Vec<_> =
                Self::ALL.iter().map(|o| format!("{DISTILL_PREFIX}{}", o.name())).collect();
            format!(
                "`{DISTILL_PREFIX}{name}` names no [distill] output (expected one of: {})",
                names.join(", ")
            )
        }))
    }
}

/// `[distill]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DistillSpec {
    /// OpenCodeReasoning-2 files: paths (relative to the spec) or `hf://` paths, globs allowed.
    pub ocr2: Vec<String>,
    /// The source splits, `NAME:SPLIT=FILE` (`taco:train=hf://datasets/BAAI/TACO/ALL/train-*.parquet`).
    #[serde(default)]
    pub sources: Vec<String>,
    /// Keep only the questions of these source datasets [default: all].
    #[serde(default)]
    pub datasets: Vec<String>,
    /// Sample only the first N questions (smoke runs).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The teacher recipe (`examples/teachers.toml`).
    pub recipe: PathBuf,
    /// The teachers to sample, by recipe name, with where each is served.
    pub teachers: BTreeMap<String, TeacherServer>,
    /// TACO's files of the split its questions come from, imported as problems to label the TACO
    /// traces; paths or `hf://` paths.
    #[serde(default)]
    pub taco: Vec<String>,
    /// Which TACO split `taco` holds.
    #[serde(default = "train")]
    pub taco_split: String,
    /// Remove traces whose question overlaps a benchmark problem (the benchmark's release and
    /// window), keeping the report.
    #[serde(default = "yes")]
    pub decontam: bool,
}

/// `[distill.teachers.<name>]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TeacherServer {
    /// The OpenAI-compatible endpoint serving it.
    pub endpoint: String,
    /// The model name the endpoint serves it under [default: the recipe's `model`].
    #[serde(default)]
    pub model: Option<String>,
    /// Requests in flight.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn train() -> String {
    "train".into()
}

fn yes() -> bool {
    true
}

fn default_concurrency() -> usize {
    32
}

impl DistillSpec {
    /// Whether a file value is an `hf://` path (kept as written, named in the key) rather than a
    /// local path (resolved against the spec's folder, hashed into the key).
    pub fn is_hub(value: &str) -> bool {
        value.starts_with("hf://")
    }
}

/// The file part of `NAME:SPLIT=FILE`.
pub(crate) fn source_file(spec: &str) -> Option<(&str, &str)> {
    spec.split_once('=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_by_name() {
        assert_eq!(
            DistillOutput::of(Path::new("distill:taco-traces")),
            Some(Ok(DistillOutput::TacoTraces))
        );
        assert_eq!(DistillOutput::of(Path::new("traces.jsonl")), None);
        let e = DistillOutput::of(Path::new("distill:nope")).unwrap().unwrap_err();
        assert!(e.contains("distill:taco-problems"), "{e}");
    }
}
