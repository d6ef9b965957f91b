//! What is studied: the students (`[students.<name>]`), the training data and how it is cut
//! (`[datasets.<name>]`), and the grids of runs (`[[runs]]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[students.<name>]`: one model to fine-tune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StudentSpec {
    /// The name reports show [default: the table key].
    #[serde(default)]
    pub display: Option<String>,
    /// A local checkpoint folder (hashed into every key that depends on it).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A hub id (`Qwen/Qwen2.5-7B-Instruct`), passed to engines that fetch it themselves.
    #[serde(default)]
    pub hub: Option<String>,
    /// Instead of weights: a randomly initialised model of this shape (`[model.init]` of the
    /// train spec: `family`, `hidden-size`, …), for tests and smoke runs.
    #[serde(default)]
    pub init: Option<toml::Table>,
    /// Parameters, for the cost estimate.
    #[serde(default)]
    pub params: Option<f64>,
    /// Tokenizer folder [default: `path`].
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    /// Jinja chat template replacing the tokenizer's.
    #[serde(default)]
    pub chat_template: Option<PathBuf>,
    /// Training settings of this student, over `[train]`.
    #[serde(default)]
    pub train: toml::Table,
    /// More flags for the engine serving this student's runs, after `[generate] engine-args`
    /// (a context extension one model family needs, say).
    #[serde(default)]
    pub engine_args: Vec<String>,
}

/// `[datasets.<name>]`: traces, optionally labelled by judging, then cut into parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DatasetSpec {
    /// The traces (`id`, `question`, `response`, …), or a `[distill]` output
    /// (`distill:traces`, `distill:taco-traces`).
    pub traces: PathBuf,
    /// Field mapping passed as `--field F=C`.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Nested random subsets of these sizes (parts `1000`, `10000`, …).
    #[serde(default)]
    pub sizes: Vec<u64>,
    /// Balanced groups by `correctness` (parts `correct`, `incorrect`) or `difficulty` (`easy`,
    /// `hard`).
    #[serde(default)]
    pub split: Option<SplitBy>,
    /// Rows in each split group.
    #[serde(default)]
    pub per_group: Option<u64>,
    /// Selection seed.
    #[serde(default)]
    pub seed: u64,
    /// Judge the traces first (`valley data label`), adding the `correct` field.
    #[serde(default)]
    pub label: Option<LabelSpec>,
}

/// What a split groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitBy {
    /// `correct` / `incorrect`.
    Correctness,
    /// `easy` / `hard`.
    Difficulty,
}

impl SplitBy {
    /// The flag value of `valley data split --by`.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitBy::Correctness => "correctness",
            SplitBy::Difficulty => "difficulty",
        }
    }

    /// The parts a split writes.
    pub fn parts(self) -> [&'static str; 2] {
        match self {
            SplitBy::Correctness => ["correct", "incorrect"],
            SplitBy::Difficulty => ["easy", "hard"],
        }
    }
}

/// `label = { problems = …, profile = … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LabelSpec {
    /// Problems with the tests the traces' code is judged against, or `distill:taco-problems`
    /// (then traces whose question has no problem are left out and counted).
    pub problems: PathBuf,
    /// Judge profile.
    #[serde(default = "taco")]
    pub profile: String,
    /// Force the problem row format.
    #[serde(default)]
    pub problem_format: Option<String>,
}

/// `[[runs]]`: a grid of training runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunGrid {
    /// Student names.
    pub students: Vec<String>,
    /// Data parts, `<dataset>/<part>`.
    pub data: Vec<String>,
    /// Starting points: `base` (the student itself) or an earlier run's id
    /// (`qwen/scaling-30000`), whose final checkpoint training continues from.
    #[serde(default = "from_base")]
    pub from: Vec<String>,
    /// Training settings of these runs, over the student's and `[train]`.
    #[serde(default)]
    pub train: toml::Table,
}

fn taco() -> String {
    "taco".into()
}

fn from_base() -> Vec<String> {
    vec!["base".into()]
}
