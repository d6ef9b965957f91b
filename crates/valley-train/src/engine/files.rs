//! The records of an engine run: what a backend wrote and how to start it, and what the backends
//! need besides the spec and the plan.

use std::path::{Path, PathBuf};

use super::launch::LaunchCommand;

/// What a backend wrote and how to start it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineFiles {
    /// Every file written.
    pub files: Vec<PathBuf>,
    /// The command that trains (for `slurm`: `sbatch --parsable <script>`).
    pub command: LaunchCommand,
    /// The sbatch script, launcher `slurm` only.
    pub sbatch: Option<PathBuf>,
    /// A command to run once before launching (data conversion), in the run folder.
    pub prepare: Option<LaunchCommand>,
    /// Where the engine's output is written.
    pub log: PathBuf,
    /// Differences between the engine's behaviour and the plan that valley could not remove.
    pub notes: Vec<String>,
}

/// What the backends need besides the spec and the plan.
#[derive(Debug, Clone)]
pub struct EngineInputs<'a> {
    /// The pre-tokenised rows.
    pub data: &'a Path,
    /// The run folder.
    pub out_dir: &'a Path,
    /// Continue from the newest checkpoint.
    pub resume: bool,
    /// The tokenizer's vocabulary size, with added tokens (for `[model.init]`).
    pub tokenizer_vocab: u32,
}
