//! The torchtune writer: a `full_finetune_distributed` config fed valley's pre-tokenised rows
//! (`valley_torchtune.tokenized_dataset`, not a chat dataset whose template torchtune
//! re-implements). Warmup is given in absolute steps (`num_warmup_steps`), recomputed from the
//! ratio for the steps torchtune really takes (its dataloader drops the last partial batch); it
//! resumes only at epoch boundaries (noted).

use std::fmt::Write as _;
use std::path::Path;

use super::files::EngineInputs;
use super::yaml::{Written, model_path, p, q, unsupported};
use crate::error::TrainError;
use crate::plan::Plan;
use crate::spec::{Backend, Device, LrSchedule, Precision, TrainSpec};

/// The torchtune helper module, written beside the config.
pub const TORCHTUNE_HELPER: &str = include_str!("../../python/valley_torchtune.py");

/// Steps per epoch of a dataloader that shards `rows` over `devices` (padding the last
/// shard, as DistributedSampler does), batches `micro` rows dropping the last partial batch,
/// and steps the optimizer every `accum` batches (dropping a partial window).
pub fn torchtune_steps_per_epoch(rows: u64, devices: u32, micro: u32, accum: u32) -> u64 {
    let per_rank = rows.div_ceil(u64::from(devices));
    per_rank / u64::from(micro) / u64::from(accum)
}

/// torchtune's model builder and checkpointer model type for a model folder, from its
/// `config.json` (`model_type`, `hidden_size`, `num_hidden_layers`).
fn torchtune_model(spec: &TrainSpec) -> Result<(&'static str, &'static str), TrainError> {
    let path = model_path(spec, Backend::Torchtune)?;
    let config = path.join("config.json");
    let known = [
        ("qwen2", 3584, 28, "torchtune.models.qwen2_5.qwen2_5_7b_instruct", "QWEN2"),
        ("qwen2", 896, 24, "torchtune.models.qwen2_5.qwen2_5_0_5b", "QWEN2"),
        ("qwen2", 1536, 28, "torchtune.models.qwen2_5.qwen2_5_1_5b_instruct", "QWEN2"),
        ("llama", 4096, 32, "torchtune.models.llama3_1.llama3_1_8b", "LLAMA3"),
    ];
    let (kind, hidden, layers) = match fs_err::read_to_string(&config) {
        Ok(text) => {
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| TrainError::Io {
                path: config.clone(),
                source: std::io::Error::other(e),
            })?;
            (
                v["model_type"].as_str().unwrap_or_default().to_owned(),
                v["hidden_size"].as_u64().unwrap_or(0),
                v["num_hidden_layers"].as_u64().unwrap_or(0),
            )
        }
        // the weights are not here (a dry run on a laptop): go by the model's name
        Err(_) => {
            let name = spec.model.name.to_lowercase();
            if name.contains("qwen2.5-7b") {
                ("qwen2".into(), 3584, 28)
            } else if name.contains("llama3.1-8b") || name.contains("llama-3.1-8b") {
                ("llama".into(), 4096, 32)
            } else {
                return Err(unsupported(
                    Backend::Torchtune,
                    format!(
                        "cannot tell the model builder: {} is not readable and `model.name` is neither qwen2.5-7b nor llama3.1-8b",
                        config.display()
                    ),
                ));
            }
        }
    };
    known
        .iter()
        .find(|(k, h, l, ..)| *k == kind && *h == hidden && *l == layers)
        .map(|(.., builder, ty)| (*builder, *ty))
        .ok_or_else(|| {
            unsupported(
                Backend::Torchtune,
                format!("no torchtune builder known for model_type {kind}, hidden_size {hidden}, {layers} layers"),
            )
        })
}

fn safetensors_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = fs_err::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".safetensors"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Writes torchtune's config and helper into `dir`.
pub(super) fn write(
    spec: &TrainSpec,
    plan: &Plan,
    inputs: &EngineInputs<'_>,
    dir: &Path,
) -> Result<Written, TrainError> {
    let t = &spec.train;
    let (builder, model_type) = torchtune_model(spec)?;
    let model = model_path(spec, Backend::Torchtune)?;
    let steps_per_epoch = torchtune_steps_per_epoch(
        plan.rows,
        plan.devices,
        plan.micro_batch,
        plan.gradient_accumulation,
    );
    let steps = steps_per_epoch * u64::from(plan.epochs);
    let warmup = (t.warmup_ratio * steps as f64 - 1e-9).ceil().max(0.0) as u64;
    let mut notes = Vec::new();
    if steps != plan.optimizer_steps {
        notes.push(format!(
            "torchtune drops each epoch's last partial batch: {steps_per_epoch} steps per epoch, {steps} in all (plan: {}); warmup {warmup} steps keeps the ratio {}",
            plan.optimizer_steps, t.warmup_ratio
        ));
    }
    notes.push("torchtune resumes only at epoch boundaries (torchtune#2299); save-every-steps is not honoured".into());
    let files = safetensors_files(model);
    let files_yaml = if files.is_empty() {
        "    # the checkpoint's *.safetensors files (none found when this was written)\n    []"
            .to_owned()
    } else {
        files.iter().map(|f| format!("    - {}", q(f))).collect::<Vec<_>>().join("\n")
    };
    let scheduler = match t.lr_schedule {
        LrSchedule::Cosine => "torchtune.training.lr_schedulers.get_cosine_schedule_with_warmup",
        _ => {
            return Err(unsupported(
                Backend::Torchtune,
                "train.lr-schedule: torchtune ships only the cosine schedule with warmup",
            ));
        }
    };
    let mut y = String::new();
    let _ = write!(
        y,
        "# torchtune full_finetune_distributed config, written by `valley train` from {model_name}.\n\
         # Data: valley's pre-tokenised rows (its chat template and loss mask), not a torchtune chat\n\
         # dataset. Warmup is absolute: ceil({ratio} x {steps} torchtune steps) = {warmup}.\n\
         output_dir: {out}\n\
         seed: {seed}\n\
         shuffle: true\n\
         tokenizer:\n  _component_: valley_torchtune.PreTokenized\n  pad_id: 0\n  max_seq_len: {max}\n\
         dataset:\n  _component_: valley_torchtune.tokenized_dataset\n  path: {data}\n\
         collate_fn: torchtune.data.padded_collate_sft\n\
         model:\n  _component_: {builder}\n\
         checkpointer:\n  _component_: torchtune.training.FullModelHFCheckpointer\n  checkpoint_dir: {model}\n  checkpoint_files:\n{files_yaml}\n  recipe_checkpoint: null\n  output_dir: {ckpt}\n  model_type: {model_type}\n\
         resume_from_checkpoint: {resume}\n\
         batch_size: {micro}\n\
         epochs: {epochs}\n\
         max_steps_per_epoch: null\n\
         gradient_accumulation_steps: {accum}\n\
         clip_grad_norm: {clip}\n\
         optimizer:\n  _component_: torch.optim.AdamW\n  lr: {lr:e}\n  betas: [{b0}, {b1}]\n  eps: {eps:e}\n  weight_decay: {wd}\n  fused: {fused}\n\
         lr_scheduler:\n  _component_: {scheduler}\n  num_warmup_steps: {warmup}\n\
         loss:\n  _component_: torchtune.modules.loss.CEWithChunkedOutputLoss\n\
         optimizer_in_bwd: false\n\
         compile: false\n\
         device: {device}\n\
         dtype: {dtype}\n\
         enable_activation_checkpointing: {ckpting}\n\
         enable_activation_offloading: false\n\
         fsdp_cpu_offload: false\n\
         metric_logger:\n  _component_: torchtune.training.metric_logging.StdoutLogger\n\
         log_every_n_steps: 1\n\
         log_peak_memory_stats: true\n",
        model_name = spec.model.name,
        ratio = t.warmup_ratio,
        out = p(&inputs.out_dir.join("torchtune")),
        seed = t.seed,
        max = t.max_seq_len,
        data = p(inputs.data),
        model = p(model),
        ckpt = p(&inputs.out_dir.join("final")),
        resume = inputs.resume,
        micro = plan.micro_batch,
        epochs = plan.epochs,
        accum = plan.gradient_accumulation,
        clip = if t.max_grad_norm > 0.0 { t.max_grad_norm.to_string() } else { "null".into() },
        lr = t.learning_rate,
        b0 = t.betas[0],
        b1 = t.betas[1],
        eps = t.eps,
        wd = t.weight_decay,
        fused = spec.compute.device == Device::Cuda,
        device = if spec.compute.device == Device::Cuda { "cuda" } else { "cpu" },
        dtype = if t.precision == Precision::Bf16 { "bf16" } else { "fp32" },
        ckpting = t.gradient_checkpointing,
    );
    let config = dir.join("torchtune.yaml");
    Ok(Written {
        files: vec![
            (dir.join("valley_torchtune.py"), TORCHTUNE_HELPER.into()),
            (config.clone(), y),
        ],
        entry: vec![
            "-m".into(),
            "recipes.full_finetune_distributed".into(),
            "--config".into(),
            config.display().to_string(),
        ],
        env: vec![("PYTHONPATH".into(), dir.display().to_string())],
        prepare: None,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torchtune_drops_partial_batches() {
        // 30K rows on 8 GPUs, micro 1, accumulation 16: 3750 batches per rank -> 234 steps
        assert_eq!(torchtune_steps_per_epoch(30_000, 8, 1, 16), 234);
        assert_eq!(torchtune_steps_per_epoch(1_000, 8, 1, 16), 7);
        assert_eq!(torchtune_steps_per_epoch(1_024, 8, 1, 16), 8);
    }
}
