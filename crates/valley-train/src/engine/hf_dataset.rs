//! What axolotl and LLaMA-Factory share: both read HF datasets, so valley's tokens are converted
//! first (`valley_tokens_to_hf.py`), and both take the transformers trainer's arguments.

use std::fmt::Write as _;
use std::path::Path;

use super::files::EngineInputs;
use super::yaml::{Written, p, schedule_name};
use crate::plan::Plan;
use crate::spec::{Precision, TrainSpec};

/// The converter to the HF-dataset forms axolotl and LLaMA-Factory load pre-tokenised.
pub const TOKENS_TO_HF: &str = include_str!("../../python/valley_tokens_to_hf.py");

/// The transformers trainer's arguments, as both engines' YAML spells them.
pub(super) fn hf_common(spec: &TrainSpec, plan: &Plan, out: &Path, axolotl: bool) -> String {
    let t = &spec.train;
    let mut y = String::new();
    let _ = write!(
        y,
        "output_dir: {out}\n\
         {hf_only}\
         gradient_accumulation_steps: {accum}\n\
         learning_rate: {lr:e}\n\
         warmup_steps: {warmup}\n\
         weight_decay: {wd}\n\
         adam_beta1: {b0}\n\
         adam_beta2: {b1}\n\
         adam_epsilon: {eps:e}\n\
         max_grad_norm: {clip}\n\
         seed: {seed}\n\
         bf16: {bf16}\n\
         gradient_checkpointing: {ckpting}\n\
         logging_steps: 1\n\
         save_strategy: {save}\n",
        out = p(out),
        hf_only = if axolotl {
            String::new()
        } else {
            format!(
                "per_device_train_batch_size: {}\nnum_train_epochs: {}\nlr_scheduler_type: {}\ndata_seed: {}\nreport_to: none\n",
                plan.micro_batch,
                plan.epochs,
                schedule_name(t.lr_schedule),
                t.seed
            )
        },
        accum = plan.gradient_accumulation,
        lr = t.learning_rate,
        warmup = plan.warmup_steps,
        wd = t.weight_decay,
        b0 = t.betas[0],
        b1 = t.betas[1],
        eps = t.eps,
        clip = t.max_grad_norm,
        seed = t.seed,
        bf16 = t.precision == Precision::Bf16,
        ckpting = t.gradient_checkpointing,
        save = if t.save_every_steps > 0 { "steps" } else { "\"no\"" },
    );
    // axolotl's validator refuses save_steps beside save_strategy "no"
    if t.save_every_steps > 0 {
        let _ = writeln!(y, "save_steps: {}", t.save_every_steps);
    }
    y
}

/// An engine that reads HF datasets: its YAML config, launched as `python -m MODULE CONFIG`,
/// after valley's tokens are converted by `valley_tokens_to_hf.py` to `target` in `format`.
pub(super) struct HfLaunch {
    pub(super) config: &'static str,
    pub(super) module: &'static str,
    pub(super) format: &'static str,
}

impl HfLaunch {
    pub(super) fn written(
        &self,
        dir: &Path,
        inputs: &EngineInputs<'_>,
        target: &Path,
        yaml: String,
    ) -> Written {
        let config = dir.join(self.config);
        let converter = dir.join("valley_tokens_to_hf.py");
        Written {
            files: vec![(converter.clone(), TOKENS_TO_HF.into()), (config.clone(), yaml)],
            entry: vec!["-m".into(), self.module.into(), config.display().to_string()],
            env: Vec::new(),
            prepare: Some(vec![
                converter.display().to_string(),
                inputs.data.display().to_string(),
                target.display().to_string(),
                "--format".into(),
                self.format.into(),
            ]),
            notes: Vec::new(),
        }
    }
}
