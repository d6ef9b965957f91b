//! Config writers for torchtune, axolotl and LLaMA-Factory, each in the engine's own YAML, each
//! fed valley's pre-tokenised rows so the engine neither templates nor truncates nor drops, and
//! each avoiding the engine's known traps (../shared/research/anchors-mission.md):
//!
//! - torchtune: warmup is given in absolute steps (`num_warmup_steps`), recomputed from the
//!   ratio for the steps torchtune will really take (its dataloader drops the last partial
//!   batch); the dataset is `valley_torchtune.tokenized_dataset`, not a chat dataset whose
//!   template torchtune re-implements; it resumes only at epoch boundaries (noted).
//! - axolotl: rows go in pre-tokenised (`input_ids`, `attention_mask`, `labels`, no `type`);
//!   `excess_length_strategy: raise`, so its default `drop` can never shrink a data arm.
//! - LLaMA-Factory: rows go in as a `tokenized_path` dataset; `cutoff_len` is valley's limit;
//!   `max_samples` (first N rows) is never written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::engine::EngineInputs;
use crate::error::TrainError;
use crate::plan::Plan;
use crate::spec::{Backend, Device, LrSchedule, Precision, Sharding, TrainSpec};

/// The torchtune helper module, written beside the config.
pub const TORCHTUNE_HELPER: &str = include_str!("../../python/valley_torchtune.py");
/// The converter to the HF-dataset forms axolotl and LLaMA-Factory load pre-tokenised.
pub const TOKENS_TO_HF: &str = include_str!("../../python/valley_tokens_to_hf.py");

/// What a writer produced.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// Files and their text.
    pub files: Vec<(PathBuf, String)>,
    /// The Python arguments that start training (after the launcher's own).
    pub entry: Vec<String>,
    /// Extra environment for the engine's processes.
    pub env: Vec<(String, String)>,
    /// A Python command to run once, before launching (data conversion).
    pub prepare: Option<Vec<String>>,
    /// Where the engine differs from the plan.
    pub notes: Vec<String>,
}

fn q(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).unwrap_or_default()
}

fn p(path: &Path) -> String {
    q(path.display().to_string())
}

fn unsupported(backend: Backend, message: impl Into<String>) -> TrainError {
    TrainError::Unsupported { backend: backend.as_str().into(), message: message.into() }
}

fn model_path(spec: &TrainSpec, backend: Backend) -> Result<&Path, TrainError> {
    spec.model.path.as_deref().ok_or_else(|| {
        unsupported(
            backend,
            "needs pretrained weights (`model.path`); `[model.init]` is for native and trl",
        )
    })
}

fn schedule_name(s: LrSchedule) -> &'static str {
    match s {
        LrSchedule::Cosine => "cosine",
        LrSchedule::Linear => "linear",
        LrSchedule::Constant => "constant_with_warmup",
    }
}

/// Steps per epoch of a dataloader that shards `rows` over `devices` (padding the last
/// shard, as DistributedSampler does), batches `micro` rows dropping the last partial batch,
/// and steps the optimizer every `accum` batches (dropping a partial window).
pub fn torchtune_steps_per_epoch(rows: u64, devices: u32, micro: u32, accum: u32) -> u64 {
    let per_rank = rows.div_ceil(u64::from(devices));
    per_rank / u64::from(micro) / u64::from(accum)
}

/// Writes `backend`'s files into `dir`.
pub fn write(
    backend: Backend,
    spec: &TrainSpec,
    plan: &Plan,
    inputs: &EngineInputs<'_>,
    dir: &Path,
) -> Result<Written, TrainError> {
    match backend {
        Backend::Torchtune => torchtune(spec, plan, inputs, dir),
        Backend::Axolotl => axolotl(spec, plan, inputs, dir),
        Backend::LlamaFactory => llama_factory(spec, plan, inputs, dir),
        Backend::Native | Backend::Trl => {
            Err(unsupported(backend, "has no YAML config writer (bug: please report it)"))
        }
    }
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

fn torchtune(
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

fn hf_common(spec: &TrainSpec, plan: &Plan, out: &Path, axolotl: bool) -> String {
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

fn axolotl(
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

fn llama_factory(
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

/// An engine that reads HF datasets: its YAML config, launched as `python -m MODULE CONFIG`,
/// after valley's tokens are converted by `valley_tokens_to_hf.py` to `target` in `format`.
struct HfLaunch {
    config: &'static str,
    module: &'static str,
    format: &'static str,
}

impl HfLaunch {
    fn written(
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
