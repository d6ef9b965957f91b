//! The LLaMA-Factory writer: rows go in as a `tokenized_path` dataset; `cutoff_len` is valley's
//! limit; `max_samples` (the first N rows) is never written.

use std::path::Path;

use super::files::EngineInputs;
use super::hf_dataset::{HfLaunch, hf_common};
use super::yaml::{Written, model_path, p};
use crate::error::TrainError;
use crate::plan::Plan;
use crate::spec::{Backend, TrainSpec};

/// Writes LLaMA-Factory's config and the token converter into `dir`.
pub(super) fn write(
    spec: &TrainSpec,
    plan: &Plan,
    inputs: &EngineInputs<'_>,
    dir: &Path,
) -> Result<Written, TrainError> {
    let t = &spec.train;
    let model = model_path(spec, Backend::LlamaFactory)?;
    let tokenized = dir.join("llama-factory-tokenized");
    let mut y = format!(
        "# LLaMA-Factory config, written by `valley train` from {name}. The rows are valley's,\n\
         # pre-tokenised (tokenized_path): LLaMA-Factory neither templates nor cuts them; cutoff_len\n\
         # is valley's limit; max_samples (the first N rows) is deliberately absent.\n\
         model_name_or_path: {model}\n\
         stage: sft\n\
         do_train: true\n\
         finetuning_type: full\n\
         # LLaMA-Factory's argument parser wants a dataset name for training; its loader ignores\n\
         # it when tokenized_path holds data (and fails, not re-tokenises, when it does not).\n\
         dataset: valley_tokenized\n\
         tokenized_path: {tokenized}\n\
         cutoff_len: {max}\n\
         packing: false\n\
         train_on_prompt: false\n\
         overwrite_output_dir: true\n\
         plot_loss: false\n\
         ddp_timeout: 180000000\n",
        name = spec.model.name,
        model = p(model),
        tokenized = p(&tokenized),
        max = t.max_seq_len,
    );
    y.push_str(&hf_common(spec, plan, &inputs.out_dir.join("final"), false));
    let launch =
        HfLaunch { config: "llama-factory.yaml", module: "llamafactory.launcher", format: "disk" };
    Ok(launch.written(dir, inputs, &tokenized, y))
}
