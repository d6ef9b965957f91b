//! The contract between valley and its Python launcher (`python/valley_hf_train.py`): the launch
//! config valley writes, and the `VALLEY_EVENT {json}` lines the launcher prints.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::spec::ModelInit;

/// The launcher script, embedded so a run folder is self-contained.
pub const HF_LAUNCHER: &str = include_str!("../../python/valley_hf_train.py");

/// The prefix of an event line on the launcher's stdout.
pub const EVENT_PREFIX: &str = "VALLEY_EVENT ";

/// Everything the launcher needs: valley's plan, not the engine's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HfLaunchConfig {
    /// `loop`: the launcher's own training loop (the only one so far).
    pub trainer: String,
    /// The Hugging Face model folder.
    pub model_path: Option<PathBuf>,
    /// A random model's shape instead, with `vocab_size` and `seed` filled in.
    pub init: Option<HfInit>,
    /// The pre-tokenised rows.
    pub data: PathBuf,
    /// The run folder.
    pub out_dir: PathBuf,
    /// Continue from the newest checkpoint.
    pub resume: bool,
    /// The padding id (never trained on).
    pub pad_token_id: u32,
    /// `cuda` or `cpu`.
    pub device: String,
    /// `fsdp` or `none`.
    pub sharding: String,
    /// `bf16` or `fp32`.
    pub precision: String,
    /// Recompute activations.
    pub gradient_checkpointing: bool,
    /// Plan: passes over the data.
    pub epochs: u32,
    /// Plan: rows per optimizer step.
    pub global_batch: u32,
    /// Plan: rows per forward pass per device.
    pub micro_batch: u32,
    /// Plan: micro-batches per device per step.
    pub gradient_accumulation: u32,
    /// Plan: steps per epoch.
    pub steps_per_epoch: u64,
    /// Plan: steps in all.
    pub optimizer_steps: u64,
    /// Plan: warmup steps.
    pub warmup_steps: u64,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// `cosine`, `linear` or `constant`.
    pub lr_schedule: String,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// AdamW betas.
    pub betas: [f64; 2],
    /// AdamW epsilon.
    pub eps: f64,
    /// Clipping norm (0: none).
    pub max_grad_norm: f64,
    /// Longest row.
    pub max_seq_len: u32,
    /// Data order and initialisation seed.
    pub seed: u64,
    /// Checkpoint every N steps (0: final only).
    pub save_every_steps: u64,
    /// TRL `SFTConfig` arguments, for the TRL path.
    pub trl: serde_json::Value,
}

/// [`ModelInit`] with the tokenizer's vocabulary and the seed resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HfInit {
    /// `qwen2` or `llama`.
    pub family: String,
    /// Vocabulary size.
    pub vocab_size: u32,
    /// Residual width.
    pub hidden_size: u32,
    /// MLP width.
    pub intermediate_size: u32,
    /// Layers.
    pub num_hidden_layers: u32,
    /// Query heads.
    pub num_attention_heads: u32,
    /// Key/value heads.
    pub num_key_value_heads: Option<u32>,
    /// RoPE base.
    pub rope_theta: f64,
    /// Tied embeddings.
    pub tie_word_embeddings: bool,
    /// Initialisation seed.
    pub seed: u64,
}

impl HfInit {
    /// Fills in what the spec leaves to the tokenizer and `train.seed`.
    pub fn new(init: &ModelInit, tokenizer_vocab: u32, seed: u64) -> Self {
        Self {
            family: match init.family {
                crate::spec::ModelFamily::Qwen2 => "qwen2",
                crate::spec::ModelFamily::Llama => "llama",
            }
            .to_owned(),
            vocab_size: init.vocab_size.unwrap_or(tokenizer_vocab),
            hidden_size: init.hidden_size,
            intermediate_size: init.intermediate_size,
            num_hidden_layers: init.num_hidden_layers,
            num_attention_heads: init.num_attention_heads,
            num_key_value_heads: init.num_key_value_heads,
            rope_theta: init.rope_theta,
            tie_word_embeddings: init.tie_word_embeddings,
            seed: init.seed.unwrap_or(seed),
        }
    }
}

/// One line the launcher printed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An optimizer step finished.
    Step {
        /// 1-based step.
        step: u64,
        /// Steps in all.
        total_steps: u64,
        /// Fractional epoch.
        epoch: f64,
        /// Mean loss per trained token.
        loss: f64,
        /// Learning rate used.
        lr: f64,
        /// Throughput so far.
        #[serde(default)]
        tokens_per_second: Option<f64>,
        /// Time left.
        #[serde(default)]
        eta_seconds: Option<f64>,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// At step.
        step: u64,
        /// Its folder.
        path: PathBuf,
    },
    /// Training resumed from a checkpoint.
    Resumed {
        /// From step.
        step: u64,
        /// The checkpoint.
        checkpoint: PathBuf,
    },
    /// Training finished.
    Done {
        /// Steps done.
        steps: u64,
        /// The final Hugging Face model folder.
        checkpoint: PathBuf,
    },
    /// Something worth showing.
    Note {
        /// The text.
        message: String,
    },
}

/// Parses one stdout line: `Some` for an event line.
pub fn parse_event(line: &str) -> Option<Result<Event, serde_json::Error>> {
    line.strip_prefix(EVENT_PREFIX).map(serde_json::from_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_step_lines_and_ignores_others() {
        let line = r#"VALLEY_EVENT {"step": 3, "total_steps": 10, "epoch": 0.3, "loss": 2.5, "lr": 1e-5, "tokens": 99, "trained_tokens": 50, "tokens_per_second": null, "eta_seconds": 7.0, "event": "step"}"#;
        let Some(Ok(Event::Step { step, loss, eta_seconds, .. })) = parse_event(line) else {
            panic!("not a step: {line}");
        };
        assert_eq!((step, loss, eta_seconds), (3, 2.5, Some(7.0)));
        assert!(parse_event("[rank0]: loading weights").is_none());
        assert!(matches!(parse_event("VALLEY_EVENT {\"event\": \"bogus\"}"), Some(Err(_))));
    }
}
