//! Supervised fine-tuning: AdamW with f32 state, linear warmup then decay, a global batch by
//! gradient accumulation, clipping by global norm, checkpoints every N steps in HF layout with
//! the optimizer, schedule and data-order state, and exact resume.
//!
//! The step is the HF Trainer's: the learning rate of optimizer step `k` (from 0) is
//! `peak · λ(k)` with `λ(k) = k / warmup` during warmup, then linear or cosine decay to 0 at the
//! last step; the loss of a global batch is the mean over its loss tokens, so accumulation does
//! not change the gradient.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::pack::{Example, PackedBatch, pack};
use crate::rng::Rng;
use crate::weights::{self, HostTensors, LoadModelError, SaveCheckpointError};

/// The decay after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    Linear,
    Cosine,
    Constant,
}

/// Hyperparameters of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftConfig {
    pub epochs: u32,
    /// Examples per optimizer step.
    pub global_batch: usize,
    /// Examples per forward pass (packed into rows of at most `max_seq_len`).
    pub micro_batch: usize,
    pub learning_rate: f64,
    /// Optimizer steps of linear warmup from 0 (the plan rounds `ratio · steps` up).
    pub warmup_steps: u64,
    pub schedule: Schedule,
    pub weight_decay: f64,
    pub betas: [f64; 2],
    pub eps: f64,
    /// 0 turns clipping off.
    pub max_grad_norm: f64,
    pub max_seq_len: usize,
    pub seed: u64,
    /// Save every this many steps (0: only the final model).
    pub save_every_steps: u64,
}

impl SftConfig {
    /// Optimizer steps per epoch for `n` examples (a last, smaller batch counts).
    pub fn steps_per_epoch(&self, n: usize) -> u64 {
        n.div_ceil(self.global_batch) as u64
    }

    /// The learning rate of step `k` (from 0) of `total`.
    pub fn lr_at(&self, k: u64, total: u64) -> f64 {
        let warmup = self.warmup_steps.min(total);
        let factor = if k < warmup {
            k as f64 / warmup.max(1) as f64
        } else {
            let progress = (k - warmup) as f64 / (total - warmup).max(1) as f64;
            match self.schedule {
                Schedule::Linear => (1.0 - progress).max(0.0),
                Schedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
                Schedule::Constant => 1.0,
            }
        };
        self.learning_rate * factor
    }
}

/// One optimizer step's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: u64,
    pub epoch: u32,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    /// Tokens of the step (padding excluded).
    pub tokens: u64,
    pub loss_tokens: u64,
    pub seconds: f64,
}

/// Everything besides weights and moments that a resumed run needs, saved as
/// `trainer_state.json` in each checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps done.
    pub step: u64,
    pub total_steps: u64,
    /// SHA-free fingerprint of the data: count and total tokens; a resume on other data is refused.
    pub examples: usize,
    pub example_tokens: u64,
    pub seed: u64,
    pub config: SftConfig,
    pub history: Vec<StepRecord>,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SftSummary {
    pub steps: u64,
    pub total_steps: u64,
    pub resumed_from_step: Option<u64>,
    pub first_loss: Option<f64>,
    pub final_loss: Option<f64>,
    pub tokens: u64,
    pub tokens_per_second: f64,
    pub seconds: f64,
    pub model_dir: PathBuf,
    pub history: Vec<StepRecord>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SftError {
    #[error("no training examples")]
    NoData,
    #[error(
        "example {index} has {tokens} tokens, over max-seq-len {max} (apply the over-length policy first)"
    )]
    TooLong { index: usize, tokens: usize, max: usize },
    #[error("example {index}: loss mask has {mask} entries for {tokens} tokens")]
    MaskLength { index: usize, mask: usize, tokens: usize },
    #[error("example {index}: token id {id} is outside the vocabulary ({vocab})")]
    TokenId { index: usize, id: u32, vocab: usize },
    #[error("checkpoint {path}: {message}")]
    Resume { path: PathBuf, message: String },
    #[error(transparent)]
    Load(#[from] LoadModelError),
    #[error(transparent)]
    Save(#[from] SaveCheckpointError),
    #[error("loss is not finite at step {0}")]
    NotFinite(u64),
}

/// Files copied into every checkpoint so it is a complete HF folder (tokenizer and template).
#[derive(Debug, Clone, Default)]
pub struct ExtraFiles {
    pub files: Vec<(String, Vec<u8>)>,
}

/// Where checkpoints go: `dir/checkpoint-<step>/` and the final model in `dir/model/`.
#[derive(Debug, Clone)]
pub struct RunDirs {
    pub dir: PathBuf,
}

impl RunDirs {
    pub fn checkpoint(&self, step: u64) -> PathBuf {
        self.dir.join(format!("checkpoint-{step}"))
    }
    pub fn model(&self) -> PathBuf {
        self.dir.join("model")
    }
    /// The checkpoint with the most steps, if any.
    pub fn latest_checkpoint(&self) -> Option<(u64, PathBuf)> {
        let entries = fs_err::read_dir(&self.dir).ok()?;
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let step = name.strip_prefix("checkpoint-")?.parse::<u64>().ok()?;
                e.path().join("trainer_state.json").is_file().then(|| (step, e.path()))
            })
            .max_by_key(|(s, _)| *s)
    }
}

/// The arithmetic of training — parameters, gradients, AdamW state — on some device: burn's
/// autodiff ([`crate::autodiff::Autodiff`], any burn backend) or the hand-written CPU pass
/// ([`crate::backprop::Backprop`]). The loop, schedule, checkpoints and resume are [`Sft`]'s.
pub trait Engine: Sized {
    type Device;
    /// The engine with `host`'s weights (checked against the config), zero moments.
    fn new(
        config: &ModelConfig,
        host: &HostTensors,
        source: &Path,
        device: Self::Device,
    ) -> Result<Self, SftError>;
    /// Replaces the weights and the moments (`exp_avg.*`, `exp_avg_sq.*` in `moments`).
    fn load(&mut self, params: &HostTensors, moments: &HostTensors) -> Result<(), String>;
    /// Adds the gradients of `batch`'s loss (its masked token losses over `normaliser`) to the
    /// accumulated ones and returns that loss.
    fn accumulate(&mut self, batch: &PackedBatch, normaliser: f64) -> f64;
    /// The global L2 norm of the accumulated gradients.
    fn grad_norm(&self) -> f64;
    /// PyTorch's AdamW with the accumulated gradients times `clip` (decoupled weight decay,
    /// bias-corrected moments, step `t` from 1); then the gradients are zeroed.
    fn adamw(&mut self, clip: f64, lr: f64, t: u64, config: &SftConfig);
    /// Weights, first and second moments under their HF names.
    fn host(&self) -> (HostTensors, HostTensors, HostTensors);
}

/// The trainer: a run's loop over an [`Engine`].
pub struct Sft<E: Engine> {
    config: SftConfig,
    model_config: ModelConfig,
    engine: E,
    state: TrainerState,
}

/// Called after each optimizer step (progress output; `false` stops the run, as a kill would).
pub type OnStep<'a> = dyn FnMut(&StepRecord) -> bool + 'a;

impl<E: Engine> Sft<E> {
    /// Starts a run from host weights, or with `resume` continues from the latest checkpoint
    /// in `dirs` when there is one. Without `resume`, an existing checkpoint is an error (a
    /// fresh run would mix its checkpoints with the old run's).
    #[expect(clippy::too_many_arguments, reason = "a run's inputs, all distinct")]
    pub fn new(
        config: SftConfig,
        model_config: ModelConfig,
        initial: &HostTensors,
        source: &Path,
        examples: &[Example],
        dirs: &RunDirs,
        resume: bool,
        device: E::Device,
    ) -> Result<Self, SftError> {
        validate(&config, &model_config, examples)?;
        let steps = config.steps_per_epoch(examples.len()) * u64::from(config.epochs);
        let example_tokens = examples.iter().map(|e| e.input_ids.len() as u64).sum();
        let fresh = TrainerState {
            step: 0,
            total_steps: steps,
            examples: examples.len(),
            example_tokens,
            seed: config.seed,
            config: config.clone(),
            history: Vec::new(),
        };
        let mut engine = E::new(&model_config, initial, source, device)?;
        let mut state = fresh.clone();
        let latest = dirs.latest_checkpoint();
        if let (Some((_, path)), false) = (&latest, resume) {
            return Err(SftError::Resume {
                path: path.clone(),
                message: "exists; resume the run (--resume) or use a new output dir".into(),
            });
        }
        if let Some((_, path)) = latest {
            let bad = |message: String| SftError::Resume { path: path.clone(), message };
            let text = fs_err::read_to_string(path.join("trainer_state.json"))
                .map_err(|e| bad(e.to_string()))?;
            let saved: TrainerState =
                serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
            if saved.config != fresh.config
                || saved.examples != fresh.examples
                || saved.example_tokens != fresh.example_tokens
            {
                return Err(bad(
                    "was written by a run with other hyperparameters or data; use a new output dir"
                        .into(),
                ));
            }
            let (_, host) = weights::load_host(&path)?;
            let moments = weights::read_safetensors(&path.join("optimizer.safetensors"))?;
            engine.load(&host, &moments).map_err(bad)?;
            state = saved;
        }
        Ok(Self { config, model_config, engine, state })
    }

    /// The engine (its weights, for checks after training).
    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// Steps already done (non-zero after a resume).
    pub fn step(&self) -> u64 {
        self.state.step
    }

    pub fn total_steps(&self) -> u64 {
        self.state.total_steps
    }

    /// The example order of `epoch`: a permutation drawn from the seed and the epoch alone, so
    /// a resumed run finds the same order without storing it.
    pub fn epoch_order(&self, epoch: u32, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng =
            Rng::new(self.config.seed ^ (u64::from(epoch) + 1).wrapping_mul(0xa076_1d64_78bd_642f));
        rng.shuffle(&mut order);
        order
    }

    /// Runs to the end (or until `on_step` returns false), checkpointing as configured, and
    /// writes the final model to `dirs.model()` when it reaches the end.
    pub fn run(
        &mut self,
        examples: &[Example],
        dirs: &RunDirs,
        extra: &ExtraFiles,
        on_step: &mut OnStep<'_>,
    ) -> Result<SftSummary, SftError> {
        let resumed_from = (self.state.step > 0).then_some(self.state.step);
        let per_epoch = self.config.steps_per_epoch(examples.len());
        let total = self.state.total_steps;
        let started = Instant::now();
        let mut tokens_run = 0u64;
        let mut order_epoch = u32::MAX;
        let mut order = Vec::new();
        while self.state.step < total {
            let k = self.state.step;
            let epoch = (k / per_epoch) as u32;
            let in_epoch = (k % per_epoch) as usize;
            if epoch != order_epoch {
                order = self.epoch_order(epoch, examples.len());
                order_epoch = epoch;
            }
            let lo = in_epoch * self.config.global_batch;
            let hi = (lo + self.config.global_batch).min(examples.len());
            let batch: Vec<&Example> = order[lo..hi].iter().map(|&i| &examples[i]).collect();
            let record = self.train_step(&batch, epoch)?;
            tokens_run += record.tokens;
            self.state.history.push(record.clone());
            self.state.step += 1;
            let save = self.config.save_every_steps;
            if save > 0 && self.state.step.is_multiple_of(save) && self.state.step < total {
                self.save_checkpoint(dirs, extra)?;
            }
            if !on_step(&record) {
                break;
            }
        }
        let done = self.state.step >= total;
        if done {
            self.save_model(&dirs.model(), extra, false)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let history = self.state.history.clone();
        Ok(SftSummary {
            steps: self.state.step,
            total_steps: total,
            resumed_from_step: resumed_from,
            first_loss: history.first().map(|r| r.loss),
            final_loss: history.last().map(|r| r.loss),
            tokens: tokens_run,
            tokens_per_second: tokens_run as f64 / seconds.max(1e-9),
            seconds,
            model_dir: dirs.model(),
            history,
        })
    }

    /// One optimizer step over `batch` (a global batch of examples): gradients accumulated
    /// over its micro-batches (each packed into rows of at most `max_seq_len`), the loss
    /// normalised by the loss tokens of the whole global batch, clipping, AdamW.
    pub fn train_step(&mut self, batch: &[&Example], epoch: u32) -> Result<StepRecord, SftError> {
        let t0 = Instant::now();
        let k = self.state.step;
        let micro: Vec<_> = batch
            .chunks(self.config.micro_batch)
            .map(|c| pack(c, self.config.max_seq_len))
            .collect();
        let loss_tokens: usize = micro.iter().map(|p| p.loss_tokens()).sum();
        let tokens: usize = micro.iter().map(|p| p.real_tokens()).sum();
        let normaliser = loss_tokens.max(1) as f64;
        let loss: f64 = micro.iter().map(|p| self.engine.accumulate(p, normaliser)).sum();
        if !loss.is_finite() {
            return Err(SftError::NotFinite(k));
        }
        let grad_norm = self.engine.grad_norm();
        let clip = if self.config.max_grad_norm > 0.0 && grad_norm > self.config.max_grad_norm {
            self.config.max_grad_norm / (grad_norm + 1e-6)
        } else {
            1.0
        };
        let lr = self.config.lr_at(k, self.state.total_steps);
        self.engine.adamw(clip, lr, k + 1, &self.config);
        Ok(StepRecord {
            step: k + 1,
            epoch,
            loss,
            lr,
            grad_norm,
            tokens: tokens as u64,
            loss_tokens: loss_tokens as u64,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// Writes `dirs.checkpoint(step)`: the HF model, `optimizer.safetensors` (AdamW moments),
    /// `trainer_state.json` (step, schedule, data-order fingerprint, history). Written under a
    /// temporary name and renamed, so a kill never leaves a half checkpoint.
    pub fn save_checkpoint(&self, dirs: &RunDirs, extra: &ExtraFiles) -> Result<PathBuf, SftError> {
        let path = dirs.checkpoint(self.state.step);
        self.save_model(&path, extra, true)?;
        Ok(path)
    }

    fn save_model(
        &self,
        path: &Path,
        extra: &ExtraFiles,
        with_state: bool,
    ) -> Result<(), SftError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| SaveCheckpointError::Io { path: p, source }
        };
        let parent = path.parent().unwrap_or(Path::new("."));
        fs_err::create_dir_all(parent).map_err(io(parent))?;
        let tmp = parent.join(format!(
            ".{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("checkpoint")
        ));
        if tmp.exists() {
            fs_err::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs_err::create_dir_all(&tmp).map_err(io(&tmp))?;
        let (host, m, v) = self.engine.host();
        weights::write_hf_model(&tmp, &self.model_config, &host)?;
        for (name, bytes) in &extra.files {
            fs_err::write(tmp.join(name), bytes).map_err(io(&tmp.join(name)))?;
        }
        if with_state {
            let mut moments = HostTensors::new();
            for (prefix, map) in [("exp_avg.", m), ("exp_avg_sq.", v)] {
                for (name, (shape, values)) in map {
                    moments.insert(format!("{prefix}{name}"), (shape, values));
                }
            }
            weights::write_safetensors(&tmp.join("optimizer.safetensors"), &moments)?;
            let text = serde_json::to_string_pretty(&self.state).expect("state serialises");
            fs_err::write(tmp.join("trainer_state.json"), text).map_err(io(&tmp))?;
        }
        if path.exists() {
            fs_err::remove_dir_all(path).map_err(io(path))?;
        }
        fs_err::rename(&tmp, path).map_err(io(path))?;
        Ok(())
    }
}

fn validate(config: &SftConfig, model: &ModelConfig, examples: &[Example]) -> Result<(), SftError> {
    if examples.is_empty() {
        return Err(SftError::NoData);
    }
    for (index, e) in examples.iter().enumerate() {
        if e.input_ids.len() > config.max_seq_len {
            return Err(SftError::TooLong {
                index,
                tokens: e.input_ids.len(),
                max: config.max_seq_len,
            });
        }
        if e.loss_mask.len() != e.input_ids.len() {
            return Err(SftError::MaskLength {
                index,
                mask: e.loss_mask.len(),
                tokens: e.input_ids.len(),
            });
        }
        if let Some(&id) = e.input_ids.iter().find(|&&id| id as usize >= model.vocab_size) {
            return Err(SftError::TokenId { index, id, vocab: model.vocab_size });
        }
    }
    Ok(())
}
