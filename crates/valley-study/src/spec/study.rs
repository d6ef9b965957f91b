//! The spec file's top level, and its `[study]` and `[slurm]` tables: where and how the steps
//! run.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::distill::DistillSpec;
use super::grid::{DatasetSpec, RunGrid, StudentSpec};
use super::stages::{BenchmarkSpec, EstimateSpec, EvalSpec, GenerateSpec, ReportSpec};

/// A whole study, as written in the spec file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StudySpec {
    /// Students with no training: the untrained model is generated and evaluated as a run of its
    /// own (`<student>/base`).
    #[serde(default)]
    pub baselines: Vec<String>,
    /// Name, output folder, backend.
    pub study: StudySettings,
    /// Slurm settings, for `backend = "slurm"`.
    #[serde(default)]
    pub slurm: SlurmSettings,
    /// The problems every run is evaluated on.
    pub benchmark: BenchmarkSpec,
    /// The models that are fine-tuned, by short name.
    pub students: BTreeMap<String, StudentSpec>,
    /// Training data made from its sources: questions, teacher traces, TACO problems.
    #[serde(default)]
    pub distill: Option<DistillSpec>,
    /// Training data, by short name; each yields parts (`scaling/1000`, `correctness/correct`).
    #[serde(default)]
    pub datasets: BTreeMap<String, DatasetSpec>,
    /// Grids of runs: every student x every data part x every starting point.
    #[serde(default)]
    pub runs: Vec<RunGrid>,
    /// Training settings copied into every run's train config (`valley train --config`).
    #[serde(default)]
    pub train: toml::Table,
    /// Sampling settings.
    #[serde(default)]
    pub generate: GenerateSpec,
    /// Judging settings.
    #[serde(default)]
    pub eval: EvalSpec,
    /// The final report over every run.
    #[serde(default)]
    pub report: ReportSpec,
    /// Constants of the `--dry-run` cost estimate.
    #[serde(default)]
    pub estimate: EstimateSpec,
}

/// `[study]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StudySettings {
    /// The study's name (reports, Slurm job names).
    pub name: String,
    /// Output folder [default: `<spec stem>-out` beside the spec].
    #[serde(default)]
    pub out: Option<PathBuf>,
    /// Where steps run.
    #[serde(default)]
    pub backend: BackendKind,
    /// Steps running at once on the local backend.
    #[serde(default = "one")]
    pub jobs: usize,
    /// Extra attempts of a failed step (local) or job (Slurm requeue).
    #[serde(default)]
    pub retries: u32,
}

/// Where steps run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// Child processes of `valley study run`, `jobs` at a time.
    #[default]
    Local,
    /// One `sbatch` job per step, chained with `--dependency=afterok`.
    Slurm,
}

/// `[slurm]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SlurmSettings {
    /// `--partition`.
    #[serde(default)]
    pub partition: Option<String>,
    /// `--time` of every job (`HH:MM:SS`).
    #[serde(default)]
    pub time: Option<String>,
    /// `--gres=gpu:N` for train steps.
    #[serde(default)]
    pub train_gpus: u32,
    /// `--gres=gpu:N` for generate steps (per node).
    #[serde(default)]
    pub generate_gpus: u32,
    /// `--nodes=N` for generate steps: their engine replicas spread over the nodes.
    #[serde(default = "super::stages::one_u32")]
    pub generate_nodes: u32,
    /// `--cpus-per-task` of every job.
    #[serde(default)]
    pub cpus_per_task: Option<u32>,
    /// More `sbatch` options, verbatim.
    #[serde(default)]
    pub extra_args: Vec<String>,
    /// Seconds between `squeue`/`sacct` polls.
    #[serde(default = "default_poll")]
    pub poll_seconds: f64,
}

fn one() -> usize {
    1
}

fn default_poll() -> f64 {
    2.0
}
