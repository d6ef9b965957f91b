//! The `Trainer` trait every backend implements: valley's native trainer (crate
//! `valley-native`) and the engine adapters of this crate. The caller resolves the spec into a
//! [`Plan`] and prepares the pre-tokenised data first, so every backend trains on the same
//! rows, tokens and masks with the same step arithmetic.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::plan::Plan;
use crate::spec::TrainSpec;

/// A training backend.
pub trait Trainer {
    /// The backend's name in records (`native`, `trl`, …).
    fn name(&self) -> &str;

    /// Trains as `spec` and `plan` say on `ctx.data`, writing under `ctx.out_dir`.
    fn train(
        &self,
        spec: &TrainSpec,
        plan: &Plan,
        ctx: &mut TrainContext<'_>,
    ) -> Result<TrainOutcome, TrainError>;
}

/// What a run is given besides the spec and the plan.
pub struct TrainContext<'a> {
    /// The run folder (exists).
    pub out_dir: PathBuf,
    /// The pre-tokenised rows ([`crate::data::TokenizedRow`] JSON Lines) to train on.
    pub data: PathBuf,
    /// Continue from the newest checkpoint under `out_dir` when there is one.
    pub resume: bool,
    /// Called after each optimizer step.
    pub progress: &'a mut dyn FnMut(&Progress),
}

impl std::fmt::Debug for TrainContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainContext")
            .field("out_dir", &self.out_dir)
            .field("data", &self.data)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// Where a run stands after an optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Optimizer steps done (1-based).
    pub step: u64,
    /// Optimizer steps of the run.
    pub total_steps: u64,
    /// Fractional epoch.
    pub epoch: f64,
    /// Mean loss per trained token of this step.
    pub loss: f64,
    /// The learning rate used at this step.
    pub learning_rate: f64,
    /// Tokens per second over the run so far, when known.
    pub tokens_per_second: Option<f64>,
    /// Seconds left at the current pace, when known.
    pub eta_seconds: Option<f64>,
}

/// One point of the loss curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    /// Optimizer step (1-based).
    pub step: u64,
    /// Mean loss per trained token at that step.
    pub loss: f64,
}

/// What a finished run produced; goes into the run record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// The backend.
    pub backend: String,
    /// Optimizer steps done.
    pub steps: u64,
    /// The loss after each logged step.
    pub loss_curve: Vec<LossPoint>,
    /// The first logged loss.
    pub first_loss: Option<f64>,
    /// The last logged loss.
    pub final_loss: Option<f64>,
    /// The final checkpoint (a Hugging Face model folder for the engine backends).
    pub final_checkpoint: PathBuf,
    /// Seconds the training took.
    pub seconds: f64,
}

impl TrainOutcome {
    /// Builds an outcome from a loss curve, filling `first_loss`/`final_loss`.
    pub fn from_curve(
        backend: &str,
        steps: u64,
        loss_curve: Vec<LossPoint>,
        final_checkpoint: PathBuf,
        seconds: f64,
    ) -> Self {
        Self {
            backend: backend.to_owned(),
            steps,
            first_loss: loss_curve.first().map(|p| p.loss),
            final_loss: loss_curve.last().map(|p| p.loss),
            loss_curve,
            final_checkpoint,
            seconds,
        }
    }
}
