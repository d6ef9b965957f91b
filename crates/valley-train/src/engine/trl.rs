//! transformers/TRL: valley's launcher (`python/valley_hf_train.py`) and its launch config, with
//! TRL's `SFTConfig` arguments set from the plan so that TRL's traps cannot apply: `max_length`
//! is valley's (TRL's default 1024 would truncate), the loss mask is valley's
//! (`completion_mask`, `completion_only_loss`), the rows arrive tokenised (TRL never applies a
//! chat template), packing is off, and warmup is given in steps.

use std::path::Path;

use serde_json::json;

use super::protocol::{HfInit, HfLaunchConfig};
use crate::plan::Plan;
use crate::spec::{LrSchedule, Precision, Sharding, TrainSpec};

/// The launch config for `spec` and `plan`.
pub fn launch_config(
    spec: &TrainSpec,
    plan: &Plan,
    data: &Path,
    out_dir: &Path,
    resume: bool,
    tokenizer_vocab: u32,
) -> HfLaunchConfig {
    let t = &spec.train;
    let schedule = match t.lr_schedule {
        LrSchedule::Cosine => "cosine",
        LrSchedule::Linear => "linear",
        LrSchedule::Constant => "constant",
    };
    let trl = json!({
        "output_dir": out_dir.join("trl"),
        "per_device_train_batch_size": plan.micro_batch,
        "gradient_accumulation_steps": plan.gradient_accumulation,
        "num_train_epochs": plan.epochs,
        "max_steps": plan.optimizer_steps,
        "learning_rate": plan.learning_rate,
        "lr_scheduler_type": if schedule == "constant" { "constant_with_warmup" } else { schedule },
        "warmup_steps": plan.warmup_steps,
        "weight_decay": t.weight_decay,
        "adam_beta1": t.betas[0],
        "adam_beta2": t.betas[1],
        "adam_epsilon": t.eps,
        "max_grad_norm": t.max_grad_norm,
        "max_length": t.max_seq_len,
        "packing": false,
        "completion_only_loss": true,
        "assistant_only_loss": false,
        "seed": t.seed,
        "data_seed": t.seed,
        "bf16": t.precision == Precision::Bf16,
        "gradient_checkpointing": t.gradient_checkpointing,
        "logging_steps": 1,
        "save_strategy": if t.save_every_steps > 0 { "steps" } else { "no" },
        "save_steps": t.save_every_steps.max(1),
        "report_to": "none",
        "use_cpu": spec.compute.device == crate::spec::Device::Cpu,
        "dataloader_drop_last": false,
    });
    HfLaunchConfig {
        trainer: "loop".to_owned(),
        model_path: spec.model.path.clone(),
        init: spec.model.init.as_ref().map(|i| HfInit::new(i, tokenizer_vocab, t.seed)),
        data: data.to_path_buf(),
        out_dir: out_dir.to_path_buf(),
        resume,
        pad_token_id: 0,
        device: match spec.compute.device {
            crate::spec::Device::Cuda => "cuda",
            crate::spec::Device::Cpu => "cpu",
        }
        .to_owned(),
        sharding: match spec.compute.sharding {
            Sharding::Fsdp => "fsdp",
            Sharding::None => "none",
        }
        .to_owned(),
        precision: match t.precision {
            Precision::Bf16 => "bf16",
            Precision::Fp32 => "fp32",
        }
        .to_owned(),
        gradient_checkpointing: t.gradient_checkpointing,
        epochs: plan.epochs,
        global_batch: plan.global_batch,
        micro_batch: plan.micro_batch,
        gradient_accumulation: plan.gradient_accumulation,
        steps_per_epoch: plan.steps_per_epoch,
        optimizer_steps: plan.optimizer_steps,
        warmup_steps: plan.warmup_steps,
        learning_rate: plan.learning_rate,
        lr_schedule: schedule.to_owned(),
        weight_decay: t.weight_decay,
        betas: t.betas,
        eps: t.eps,
        max_grad_norm: t.max_grad_norm,
        max_seq_len: t.max_seq_len,
        seed: t.seed,
        save_every_steps: t.save_every_steps,
        trl,
    }
}
