//! The axolotl writer: rows go in pre-tokenised (`input_ids`, `attention_mask`, `labels`, no
//! `type`), so axolotl neither templates nor masks them; `excess_length_strategy: raise`, so its
//! default `drop` can never shrink a data arm.

use std::path::Path;

use super::files::EngineInputs;
use super::hf_dataset::{HfLaunch, hf_common};
use super::yaml::{Written, model_path, p, schedule_name};
use crate::error::TrainError;
use crate::plan::Plan;
use crate::spec::{Backend, Sharding, TrainSpec};

/// Writes axolotl's config and the token converter into `dir`.
pub(super) fn write(
    spec: &TrainSpec,
    plan: &Plan,
    inputs: &EngineInputs<'_>,
    dir: &Path,
) -> Result<Written, TrainError> {
    let t = &spec.train;
    let model = model_path(spec, Backend::Axolotl)?;
    let data = dir.join("axolotl-tokens.jsonl");
    let mut y = format!(
        "# axolotl config, written by `valley train` from {name}. The rows are valley's, pre-tokenised\n\
         # (no `type`): axolotl neither templates nor masks them. excess_length_strategy: raise, so\n\
         # axolotl's default `drop` cannot shrink the data; valley applied its own policy first.\n\
         base_model: {model}\n\
         datasets:\n  - path: {data}\n    ds_type: json\n\
         dataset_prepared_path: {prepared}\n\
         val_set_size: 0\n\
         sequence_len: {max}\n\
         excess_length_strategy: raise\n\
         sample_packing: false\n\
         pad_to_sequence_len: false\n\
         micro_batch_size: {micro}\n\
         num_epochs: {epochs}\n\
         optimizer: adamw_torch\n\
         lr_scheduler: {sched}\n\
         warmup_ratio: null\n\
         train_on_inputs: false\n\
         shuffle_merged_datasets: true\n",
        name = spec.model.name,
        model = p(model),
        data = p(&data),
        prepared = p(&dir.join("axolotl-prepared")),
        max = t.max_seq_len,
        micro = plan.micro_batch,
        epochs = plan.epochs,
        sched = schedule_name(t.lr_schedule),
    );
    y.push_str(&hf_common(spec, plan, &inputs.out_dir.join("final"), true));
    if spec.compute.sharding == Sharding::Fsdp && plan.devices > 1 {
        y.push_str("fsdp_version: 2\nfsdp_config:\n  reshard_after_forward: true\n  auto_wrap_policy: TRANSFORMER_BASED_WRAP\n  state_dict_type: FULL_STATE_DICT\n");
    }
    let launch = HfLaunch { config: "axolotl.yaml", module: "axolotl.cli.train", format: "jsonl" };
    Ok(launch.written(dir, inputs, &data, y))
}
