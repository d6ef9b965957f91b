//! The resolved plan: the spec's hyperparameters turned into the numbers every engine is given
//! (optimizer steps, warmup steps, gradient accumulation per device), from the rows left after
//! the over-length policy.
//!
//! The arithmetic, kept the same for every backend:
//! - devices = nodes × GPUs per node; gradient accumulation = global batch / (micro batch ×
//!   devices), so changing the device count changes only the accumulation.
//! - steps per epoch = ceil(rows / global batch): each epoch sees every row once, its last step
//!   takes the remainder (a smaller batch, its loss still averaged over its own tokens).
//! - optimizer steps = steps per epoch × epochs; warmup steps = ceil(warmup ratio × optimizer
//!   steps), as transformers' `get_warmup_steps` rounds.

use serde::{Deserialize, Serialize};

use crate::data::{CountSource, DataSummary};
use crate::spec::{Backend, LrSchedule, TrainSpec};

/// The numbers a run trains with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `model.name`.
    pub model: String,
    /// The engine.
    pub backend: Backend,
    /// Rows trained on per epoch.
    pub rows: u64,
    /// Where `rows` and the token counts come from.
    pub rows_source: CountSource,
    /// Rows left out as too long.
    pub rows_dropped: u64,
    /// Rows cut to `max_seq_len`.
    pub rows_truncated: u64,
    /// Passes over the data.
    pub epochs: u32,
    /// Sequences per optimizer step, all devices together.
    pub global_batch: u32,
    /// Sequences per forward pass per device.
    pub micro_batch: u32,
    /// Machines.
    pub nodes: u32,
    /// GPUs per machine.
    pub gpus_per_node: u32,
    /// nodes × gpus_per_node.
    pub devices: u32,
    /// Micro-batches each device accumulates per optimizer step.
    pub gradient_accumulation: u32,
    /// Optimizer steps per epoch.
    pub steps_per_epoch: u64,
    /// Optimizer steps of the whole run.
    pub optimizer_steps: u64,
    /// Of those, linear warmup steps.
    pub warmup_steps: u64,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// The share of steps spent warming up.
    pub warmup_ratio: f64,
    /// Decay after warmup.
    pub lr_schedule: LrSchedule,
    /// Longest sequence.
    pub max_seq_len: u32,
    /// Tokens per epoch (null when the data file is not present).
    pub tokens: Option<u64>,
    /// Tokens per epoch that carry the loss.
    pub trained_tokens: Option<u64>,
    /// Tokens over all epochs.
    pub total_tokens: Option<u64>,
    /// The longest row, in tokens.
    pub max_tokens: Option<u64>,
}

impl Plan {
    /// Resolves `spec` against what preparing its data found.
    pub fn resolve(spec: &TrainSpec, data: &DataSummary) -> Self {
        let t = &spec.train;
        let devices = spec.devices();
        let gradient_accumulation = t.global_batch / (t.micro_batch * devices);
        let steps_per_epoch = data.rows.div_ceil(u64::from(t.global_batch));
        let optimizer_steps = steps_per_epoch * u64::from(t.epochs);
        Self {
            model: spec.model.name.clone(),
            backend: spec.compute.backend,
            rows: data.rows,
            rows_source: data.source,
            rows_dropped: data.dropped,
            rows_truncated: data.truncated,
            epochs: t.epochs,
            global_batch: t.global_batch,
            micro_batch: t.micro_batch,
            nodes: spec.compute.nodes,
            gpus_per_node: spec.compute.gpus_per_node,
            devices,
            gradient_accumulation,
            steps_per_epoch,
            optimizer_steps,
            warmup_steps: warmup_steps(t.warmup_ratio, optimizer_steps),
            learning_rate: t.learning_rate,
            warmup_ratio: t.warmup_ratio,
            lr_schedule: t.lr_schedule,
            max_seq_len: t.max_seq_len,
            tokens: data.tokens,
            trained_tokens: data.trained_tokens,
            total_tokens: data.tokens.map(|n| n * u64::from(t.epochs)),
            max_tokens: data.max_tokens,
        }
    }

    /// The learning rate at optimizer step `step` (0-based), as the schedules of transformers
    /// and torchtune define it: linear from 0 over the warmup, then the decay to 0.
    pub fn lr_at(&self, step: u64) -> f64 {
        let (w, n) = (self.warmup_steps, self.optimizer_steps);
        if step < w {
            return self.learning_rate * step as f64 / w.max(1) as f64;
        }
        let progress = (step - w) as f64 / (n.saturating_sub(w)).max(1) as f64;
        let factor = match self.lr_schedule {
            LrSchedule::Constant => 1.0,
            LrSchedule::Linear => (1.0 - progress).max(0.0),
            LrSchedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        };
        self.learning_rate * factor
    }

    /// Readable summary lines for the dry run.
    pub fn describe(&self) -> String {
        let tokens = match (self.tokens, self.trained_tokens) {
            (Some(t), Some(m)) => format!(
                "{t} tokens per epoch ({m} with loss), {} over the run, longest {}",
                t * u64::from(self.epochs),
                self.max_tokens.unwrap_or(0)
            ),
            _ => "tokens unknown (the data file is not present; rows as declared)".to_owned(),
        };
        format!(
            "{model}: {rows} rows x {epochs} epochs at global batch {gb} ({devices} devices = {nodes} node(s) x {gpn} GPU(s), micro-batch {mb}, gradient accumulation {ga})\n\
             {spe} steps per epoch, {steps} optimizer steps, {warm} warmup steps, lr {lr:e} {sched}\n\
             max length {max}; {dropped} rows dropped, {trunc} truncated; {tokens}",
            model = self.model,
            rows = self.rows,
            epochs = self.epochs,
            gb = self.global_batch,
            devices = self.devices,
            nodes = self.nodes,
            gpn = self.gpus_per_node,
            mb = self.micro_batch,
            ga = self.gradient_accumulation,
            spe = self.steps_per_epoch,
            steps = self.optimizer_steps,
            warm = self.warmup_steps,
            lr = self.learning_rate,
            sched = match self.lr_schedule {
                LrSchedule::Cosine => "cosine",
                LrSchedule::Linear => "linear",
                LrSchedule::Constant => "constant",
            },
            max = self.max_seq_len,
            dropped = self.rows_dropped,
            trunc = self.rows_truncated,
        )
    }
}

/// ceil(ratio × steps), computed so that float noise (0.1 × 1170 = 117.00000000000001) does
/// not add a step.
fn warmup_steps(ratio: f64, steps: u64) -> u64 {
    let exact = ratio * steps as f64;
    let rounded = exact.round();
    if (exact - rounded).abs() < 1e-9 { rounded as u64 } else { exact.ceil() as u64 }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;

    fn spec(extra: &str) -> TrainSpec {
        let text = format!(
            "[model]\nname = \"m\"\npath = \"m\"\n[data]\ntrain = \"d.jsonl\"\n[output]\ndir = \"o\"\n{extra}"
        );
        TrainSpec::parse(Path::new("s.toml"), &text).unwrap()
    }

    fn declared(rows: u64) -> DataSummary {
        DataSummary {
            source: CountSource::Declared,
            rows_in: rows,
            rows,
            dropped: 0,
            truncated: 0,
            tokens: None,
            trained_tokens: None,
            max_tokens: None,
        }
    }

    /// (rows, epochs, global batch, devices) -> (accumulation, steps per epoch, steps, warmup)
    fn check(extra: &str, rows: u64, expect: (u32, u64, u64, u64)) {
        let plan = Plan::resolve(&spec(extra), &declared(rows));
        let got = (
            plan.gradient_accumulation,
            plan.steps_per_epoch,
            plan.optimizer_steps,
            plan.warmup_steps,
        );
        assert_eq!(got, expect, "{extra} rows={rows}");
    }

    #[test]
    fn the_papers_schedules() {
        // 30K x 5 epochs at 128 on 8 GPUs: 235 steps per epoch (234 full + 1 of 48 rows)
        check("", 30_000, (16, 235, 1175, 118));
        check("", 10_000, (16, 79, 395, 40));
        // the 1K arm: about 40 steps and 4 warmup steps (anchors-mission.md)
        check("", 1_000, (16, 8, 40, 4));
        check("", 128, (16, 1, 5, 1));
    }

    #[test]
    fn gpu_count_changes_only_the_accumulation() {
        check("[compute]\ngpus-per-node = 1", 30_000, (128, 235, 1175, 118));
        check(
            "[compute]\ngpus-per-node = 4\nnodes = 4\nlauncher = \"slurm\"",
            30_000,
            (8, 235, 1175, 118),
        );
        check(
            "[compute]\ngpus-per-node = 8\n[train]\nmicro-batch = 2",
            30_000,
            (8, 235, 1175, 118),
        );
        check("[compute]\ndevice = \"cpu\"", 30_000, (128, 235, 1175, 118));
    }

    #[test]
    fn warmup_rounds_up_without_float_noise() {
        assert_eq!(warmup_steps(0.1, 1170), 117);
        assert_eq!(warmup_steps(0.1, 1171), 118);
        assert_eq!(warmup_steps(0.0, 1171), 0);
        assert_eq!(warmup_steps(0.03, 100), 3);
    }

    #[test]
    fn lr_warms_up_then_decays_to_zero() {
        let plan = Plan::resolve(&spec(""), &declared(1_000));
        assert_eq!(plan.lr_at(0), 0.0);
        assert!((plan.lr_at(2) - 4e-5).abs() < 1e-12);
        assert!((plan.lr_at(4) - 8e-5).abs() < 1e-12);
        assert!(plan.lr_at(40) < 1e-12);
    }

    proptest! {
        #[test]
        fn steps_cover_every_row_every_epoch(
            rows in 1u64..200_000,
            epochs in 1u32..10,
            gb_pow in 0u32..9,
            dev_pow in 0u32..4,
        ) {
            let gb = 1u32 << gb_pow;
            let devices = 1u32 << dev_pow.min(gb_pow);
            let extra = format!("[train]\nepochs = {epochs}\nglobal-batch = {gb}\n[compute]\ngpus-per-node = {devices}");
            let plan = Plan::resolve(&spec(&extra), &declared(rows));
            prop_assert_eq!(plan.gradient_accumulation * plan.micro_batch * plan.devices, gb);
            // every row fits in the epoch's steps, and no step is empty
            prop_assert!(plan.steps_per_epoch * u64::from(gb) >= rows);
            prop_assert!((plan.steps_per_epoch - 1) * u64::from(gb) < rows);
            prop_assert_eq!(plan.optimizer_steps, plan.steps_per_epoch * u64::from(epochs));
            prop_assert!(plan.warmup_steps <= plan.optimizer_steps);
            prop_assert!(plan.warmup_steps as f64 >= 0.1 * plan.optimizer_steps as f64 - 1e-6);
        }
    }
}
