//! The plan's records: steps (what each runs, what it reads, what goes into its key), runs and
//! the plan itself, and where a step's folders are.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a step writes while it runs, as it appears in an action's arguments: replaced by the
/// step's partial folder, which is renamed to its final folder on success.
pub(crate) const OUT: &str = "{out}";

/// The folder inside a train step's output that holds the final checkpoint (`output.dir` of the
/// train config).
pub(crate) const TRAIN_OUTPUT: &str = "run";

/// What kind of work a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// `valley data import ocr2|taco|lcb`.
    Import,
    /// `valley generate` of a teacher recipe's teacher at its endpoint.
    Teacher,
    /// `valley data traces`.
    Traces,
    /// `valley data decontam`.
    Decontam,
    /// `valley data label`.
    Label,
    /// `valley data subsets`.
    Subsets,
    /// `valley data split`.
    Split,
    /// `valley train`.
    Train,
    /// `valley generate` (starting the engine's servers with `--engine`).
    Generate,
    /// `valley eval`.
    Eval,
    /// The run-result records of every evaluated run.
    Results,
    /// `valley report`.
    Report,
}

impl StepKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Import => "import",
            StepKind::Teacher => "teacher",
            StepKind::Traces => "traces",
            StepKind::Decontam => "decontam",
            StepKind::Label => "label",
            StepKind::Subsets => "subsets",
            StepKind::Split => "split",
            StepKind::Train => "train",
            StepKind::Generate => "generate",
            StepKind::Eval => "eval",
            StepKind::Results => "results",
            StepKind::Report => "report",
        }
    }
}

/// What executing a step does; arguments may hold `{out}`, the step's partial folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Action {
    /// `valley <args>`.
    Valley {
        /// Arguments after `valley`.
        args: Vec<String>,
    },
    /// Writes `{out}/train.toml` and runs `valley train --config` on it.
    Train {
        /// The train config.
        config: toml::Table,
    },
    /// Writes `{out}/results.jsonl`: one run-result record per evaluated run.
    Results {
        /// The runs, each with its eval folder.
        runs: Vec<ResultSource>,
    },
}

/// One evaluated run for the results step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultSource {
    /// The run's record without its metrics.
    pub run: RunInfo,
    /// The eval step's final folder (`metrics.json`, `verdicts.jsonl`).
    pub eval_dir: PathBuf,
    /// The eval step's key.
    pub eval_step: String,
}

/// An external file or folder a step reads; its content hash goes into the step's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// The spec field it comes from (`datasets.scaling.traces`).
    pub field: String,
    /// The resolved path.
    pub path: PathBuf,
}

/// One node of the study's DAG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Unique id, also its folder under the study's output (`train/qwen/scaling-1000`).
    pub id: String,
    /// What it does.
    pub kind: StepKind,
    /// Indices of the steps it reads.
    pub deps: Vec<usize>,
    /// External inputs.
    pub inputs: Vec<Input>,
    /// Settings that change its result (everything but paths and parallelism).
    pub settings: Value,
    /// How it runs.
    pub action: Action,
    /// Whether a half-done partial folder of the same key is kept for the next attempt (the
    /// generation journal resumes).
    pub resumable: bool,
    /// The run it belongs to.
    pub run: Option<String>,
    /// Training examples read (train steps), for the estimate.
    pub train_rows: Option<u64>,
    /// The student's parameter count, for the estimate.
    pub params: Option<f64>,
}

/// One run of the grid: a student, trained (or not) on one data part from one starting point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Run id (`qwen/scaling-1000`, `qwen/scaling-30000+correctness-correct`, `qwen/base`).
    pub id: String,
    /// Student key.
    pub student: String,
    /// The model name reports show.
    pub model: String,
    /// `<dataset>/<part>`, none for a baseline.
    pub data: Option<String>,
    /// Training examples (0 for a baseline).
    pub data_size: u64,
    /// The split group, for a split dataset.
    pub split: Option<String>,
    /// The run this one continues training from.
    pub base: Option<String>,
}

/// A study's steps, in dependency order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Step>,
    /// The runs.
    pub runs: Vec<RunInfo>,
    /// The study's output folder.
    pub out: PathBuf,
}

impl Plan {
    /// The final folder of a step.
    pub fn step_dir(&self, i: usize) -> PathBuf {
        step_dir(&self.out, &self.steps[i].id)
    }

    /// The index of the step with this id.
    pub fn index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    /// Steps that read step `i`, directly.
    pub fn dependents(&self, i: usize) -> Vec<usize> {
        (0..self.steps.len()).filter(|&j| self.steps[j].deps.contains(&i)).collect()
    }
}

/// The final folder of step `id` under `out`.
pub(crate) fn step_dir(out: &Path, id: &str) -> PathBuf {
    out.join(id)
}

/// The partial folder a step writes to before it is renamed to its final folder.
pub(crate) fn partial_dir(out: &Path, id: &str) -> PathBuf {
    partial_dir_of(&step_dir(out, id))
}

/// The partial folder of the step whose final folder is `dir`.
pub(crate) fn partial_dir_of(dir: &Path) -> PathBuf {
    let name = dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!(".{name}.partial"))
}
