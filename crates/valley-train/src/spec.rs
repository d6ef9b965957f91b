//! The training spec: one TOML file describing a fine-tuning run, with the paper's
//! hyperparameters as defaults (He et al. 2025, §3: global batch 128, lr 8e-5, warmup ratio
//! 0.10, AdamW, max length 32,768, 5 epochs, loss on the assistant turn only).
//!
//! Keys are kebab-case (STYLE §4). Relative paths resolve against the spec file's folder, so a
//! spec and its data can move together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{SpecError, SpecErrorKind};

/// The template written by `valley train --print-template`; also the documentation of every
/// key. Parsing it gives the defaults (a test checks).
pub const TEMPLATE: &str = include_str!("spec/template.toml");

/// One training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainSpec {
    /// The student model and its tokenizer.
    pub model: ModelSpec,
    /// The traces and how they become conversations.
    pub data: DataSpec,
    /// Optimisation hyperparameters.
    #[serde(default)]
    pub train: TrainSettings,
    /// Where and how it runs.
    #[serde(default)]
    pub compute: ComputeSpec,
    /// Where the engine configs, logs, checkpoints and the run record go.
    pub output: OutputSpec,
}

/// The student.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelSpec {
    /// A short name for records (`qwen2.5-7b`).
    pub name: String,
    /// The weights: a Hugging Face model folder (config.json + safetensors) or a `.gguf` file.
    /// Absent only with `[model.init]` (a randomly initialised model).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The tokenizer folder (tokenizer.json + tokenizer_config.json); default: `path`.
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    /// A Jinja chat template overriding the tokenizer's.
    #[serde(default)]
    pub chat_template: Option<PathBuf>,
    /// A randomly initialised model of this shape instead of pretrained weights (native
    /// backend, tests).
    #[serde(default)]
    pub init: Option<ModelInit>,
}

/// The shape of a randomly initialised model (`[model.init]`), named as in HF `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelInit {
    /// `qwen2` or `llama`.
    pub family: ModelFamily,
    /// Width of the residual stream.
    pub hidden_size: u32,
    /// Width of the MLP.
    pub intermediate_size: u32,
    /// Number of decoder layers.
    pub num_hidden_layers: u32,
    /// Query heads.
    pub num_attention_heads: u32,
    /// Key/value heads (grouped-query attention); default: `num-attention-heads`.
    #[serde(default)]
    pub num_key_value_heads: Option<u32>,
    /// Vocabulary size; default: the tokenizer's.
    #[serde(default)]
    pub vocab_size: Option<u32>,
    /// RoPE base.
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    /// Whether the output projection shares the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Seed of the initial weights; default: `train.seed`.
    #[serde(default)]
    pub seed: Option<u64>,
}

fn default_rope_theta() -> f64 {
    10_000.0
}

/// A model family valley can build natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelFamily {
    /// Qwen2 / Qwen2.5.
    Qwen2,
    /// Llama 3 / 3.1.
    Llama,
}

/// The traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DataSpec {
    /// Traces (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`, `.parquet`).
    pub train: PathBuf,
    /// The number of rows the file holds. Lets a dry run plan without the file (the paper's
    /// 30K subset on a laptop); when the file exists, its row count must equal this.
    #[serde(default)]
    pub rows: Option<u64>,
    /// Field mapping, trace field = input column (`{ question = "input" }`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// A system turn put before each question.
    #[serde(default)]
    pub system: Option<String>,
    /// What to do with a conversation longer than `train.max-seq-len`.
    #[serde(default)]
    pub over_length: OverLength,
    /// How a conversation becomes tokens: the tokenizer's chat template as transformers renders
    /// it, or torchtune's own tokenizer format (the paper's trainer).
    #[serde(default)]
    pub template: TemplateKind,
}

/// How conversations are rendered and tokenized.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TemplateKind {
    /// The tokenizer's Jinja chat template as transformers' `apply_chat_template` renders it
    /// (Qwen2.5's adds its default system prompt), loss on each assistant turn's content and
    /// end-of-turn token.
    #[default]
    Hf,
    /// torchtune's `Qwen2_5Tokenizer` / `Llama3Tokenizer` format (no default system prompt,
    /// each piece tokenized on its own, torchtune's labels, its truncation rule replacing the
    /// last token by the end-of-sequence token); `valley-data`'s `TorchtuneRenderer`.
    Torchtune,
}

/// The policy for conversations longer than `train.max-seq-len`; valley applies it before any
/// engine sees the data and counts what it did, so no engine can drop or cut rows silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverLength {
    /// Refuse the run, naming the first such row.
    #[default]
    Error,
    /// Leave such rows out (counted in the plan).
    Drop,
    /// Keep the first `max-seq-len` tokens (what torchtune, TRL and LLaMA-Factory do).
    Truncate,
}

/// Optimisation hyperparameters; the defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct TrainSettings {
    /// Passes over the data.
    pub epochs: u32,
    /// Sequences per optimizer step, over all devices; fixed whatever the device count.
    pub global_batch: u32,
    /// Sequences per forward pass on one device.
    pub micro_batch: u32,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Share of the optimizer steps spent warming up linearly from 0.
    pub warmup_ratio: f64,
    /// The decay after warmup.
    pub lr_schedule: LrSchedule,
    /// The optimizer.
    pub optimizer: Optimizer,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// AdamW betas.
    pub betas: [f64; 2],
    /// AdamW epsilon.
    pub eps: f64,
    /// Gradient clipping by global norm; 0 turns it off.
    pub max_grad_norm: f64,
    /// Longest conversation in tokens.
    pub max_seq_len: u32,
    /// Which tokens carry the loss.
    pub loss_on: LossOn,
    /// Seed of the data order and initialisation.
    pub seed: u64,
    /// Save a checkpoint every this many optimizer steps (0: only at the end).
    pub save_every_steps: u64,
    /// Recompute activations in the backward pass instead of storing them.
    pub gradient_checkpointing: bool,
    /// Compute precision.
    pub precision: Precision,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            epochs: 5,
            global_batch: 128,
            micro_batch: 1,
            learning_rate: 8e-5,
            warmup_ratio: 0.10,
            lr_schedule: LrSchedule::Cosine,
            optimizer: Optimizer::Adamw,
            weight_decay: 0.0,
            betas: [0.9, 0.999],
            eps: 1e-8,
            max_grad_norm: 1.0,
            max_seq_len: 32_768,
            loss_on: LossOn::Assistant,
            seed: 42,
            save_every_steps: 0,
            gradient_checkpointing: true,
            precision: Precision::Bf16,
        }
    }
}

/// Learning-rate decay after the linear warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// Cosine decay to 0 (transformers' `cosine`, torchtune's
    /// `get_cosine_schedule_with_warmup`).
    Cosine,
    /// Linear decay to 0.
    Linear,
    /// Constant after warmup.
    Constant,
}

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Optimizer {
    /// AdamW (Loshchilov & Hutter), fp32 states.
    Adamw,
}

/// Which tokens carry the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossOn {
    /// The assistant turn, its end-of-turn token included (valley's loss mask).
    Assistant,
    /// Every token.
    All,
}

/// Compute precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// bfloat16 weights and activations (fp32 optimizer states).
    Bf16,
    /// float32 throughout.
    Fp32,
}

/// Where and how the run executes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ComputeSpec {
    /// The training engine.
    pub backend: Backend,
    /// Machines.
    pub nodes: u32,
    /// GPUs on each machine.
    pub gpus_per_node: u32,
    /// How the engine's processes start.
    pub launcher: Launcher,
    /// `cuda` or `cpu` (tests).
    pub device: Device,
    /// How parameters, gradients and optimizer states are spread over the devices.
    pub sharding: Sharding,
    /// Memory of one GPU in GiB, for the pre-flight check.
    pub gpu_memory_gib: f64,
    /// The Python interpreter with the engine installed.
    pub python: String,
    /// Extra `sbatch` options (`--partition=gpu`, `--time=48:00:00`), launcher `slurm` only.
    pub sbatch_options: Vec<String>,
}

impl Default for ComputeSpec {
    fn default() -> Self {
        Self {
            backend: Backend::Trl,
            nodes: 1,
            gpus_per_node: 8,
            launcher: Launcher::Torchrun,
            device: Device::Cuda,
            sharding: Sharding::Fsdp,
            gpu_memory_gib: 80.0,
            python: "python3".to_owned(),
            sbatch_options: Vec::new(),
        }
    }
}

/// A training engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// valley's own Rust trainer (crate `valley-native`).
    Native,
    /// Hugging Face transformers (TRL's `SFTTrainer` data handling when TRL is installed).
    Trl,
    /// torchtune's `full_finetune_distributed` recipe (what the paper used).
    Torchtune,
    /// axolotl.
    Axolotl,
    /// LLaMA-Factory.
    LlamaFactory,
}

impl Backend {
    /// The name used in specs, file names and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Trl => "trl",
            Self::Torchtune => "torchtune",
            Self::Axolotl => "axolotl",
            Self::LlamaFactory => "llama-factory",
        }
    }
}

/// How an engine's processes are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Launcher {
    /// `torchrun --standalone` on this machine.
    Torchrun,
    /// `accelerate launch` on this machine.
    Accelerate,
    /// An `sbatch` script: one `srun` task per node, each a `torchrun` joined by a c10d
    /// rendezvous on the first node.
    Slurm,
}

/// The device kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Device {
    /// NVIDIA GPUs.
    Cuda,
    /// The CPU (tests and tiny models).
    Cpu,
}

/// How model state is spread over the devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sharding {
    /// Every device holds everything (DDP).
    None,
    /// Parameters, gradients and optimizer states sharded over all devices (FSDP full shard,
    /// ZeRO-3).
    Fsdp,
}

/// Outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutputSpec {
    /// The run folder.
    pub dir: PathBuf,
}

impl TrainSpec {
    /// Reads and validates a spec file; relative paths become relative to its folder.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = fs_err::read_to_string(path)
            .map_err(|e| SpecError::new(path, None, None, SpecErrorKind::Io(e)))?;
        let mut spec = Self::parse(path, &text)?;
        let base = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // absolute, since engines run in the output folder
        let base = std::path::absolute(&base)
            .map_err(|e| SpecError::new(path, None, None, SpecErrorKind::Io(e)))?;
        spec.resolve_paths(&base);
        Ok(spec)
    }

    /// Parses and validates spec text (paths left as written); `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SpecError> {
        let de = toml::de::Deserializer::parse(text)
            .map_err(|e| SpecError::from_toml(path, text, None, &e))?;
        let spec: Self = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let field = (field != ".").then_some(field);
            SpecError::from_toml(path, text, field, e.inner())
        })?;
        spec.validate(path, text)?;
        Ok(spec)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for p in [&mut self.model.path, &mut self.model.tokenizer, &mut self.model.chat_template]
            .into_iter()
            .flatten()
        {
            join(p);
        }
        join(&mut self.data.train);
        join(&mut self.output.dir);
    }

    /// The tokenizer folder: `model.tokenizer`, else `model.path`.
    pub fn tokenizer_path(&self) -> Option<&Path> {
        self.model.tokenizer.as_deref().or(self.model.path.as_deref())
    }

    /// The number of devices: nodes × GPUs per node (1 on the CPU).
    pub fn devices(&self) -> u32 {
        match self.compute.device {
            Device::Cpu => self.compute.nodes,
            Device::Cuda => self.compute.nodes * self.compute.gpus_per_node,
        }
    }

    fn validate(&self, path: &Path, text: &str) -> Result<(), SpecError> {
        let bad = |section: &str, key: &str, message: String| {
            SpecError::invalid(path, text, section, key, message)
        };
        let t = &self.train;
        let c = &self.compute;
        if self.model.path.is_none() && self.model.init.is_none() {
            return Err(bad("model", "path", "missing (give `path`, or `[model.init]`)".into()));
        }
        if self.model.path.is_some() && self.model.init.is_some() {
            return Err(bad(
                "model",
                "init",
                "give either `path` or `[model.init]`, not both".into(),
            ));
        }
        if self.tokenizer_path().is_none() {
            return Err(bad("model", "tokenizer", "missing (no `path` to take it from)".into()));
        }
        if self.data.template == TemplateKind::Torchtune && self.model.chat_template.is_some() {
            return Err(bad(
                "model",
                "chat-template",
                "torchtune's format uses no chat template (data.template = \"torchtune\")".into(),
            ));
        }
        for (key, value) in [("epochs", t.epochs), ("global-batch", t.global_batch)] {
            if value == 0 {
                return Err(bad("train", key, "must be at least 1".into()));
            }
        }
        if t.micro_batch == 0 {
            return Err(bad("train", "micro-batch", "must be at least 1".into()));
        }
        if t.max_seq_len < 2 {
            return Err(bad("train", "max-seq-len", "must be at least 2".into()));
        }
        if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
            return Err(bad("train", "learning-rate", format!("{} is not > 0", t.learning_rate)));
        }
        if !(0.0..1.0).contains(&t.warmup_ratio) {
            return Err(bad(
                "train",
                "warmup-ratio",
                format!("{} is not in [0, 1)", t.warmup_ratio),
            ));
        }
        if t.weight_decay < 0.0 || t.eps <= 0.0 || t.max_grad_norm < 0.0 {
            let key = if t.weight_decay < 0.0 {
                "weight-decay"
            } else if t.eps <= 0.0 {
                "eps"
            } else {
                "max-grad-norm"
            };
            return Err(bad("train", key, "must not be negative (eps: > 0)".into()));
        }
        if t.betas.iter().any(|b| !(0.0..1.0).contains(b)) {
            return Err(bad("train", "betas", format!("{:?} not both in [0, 1)", t.betas)));
        }
        if c.nodes == 0 {
            return Err(bad("compute", "nodes", "must be at least 1".into()));
        }
        if c.gpus_per_node == 0 {
            return Err(bad("compute", "gpus-per-node", "must be at least 1".into()));
        }
        if c.backend == Backend::Native && c.launcher == Launcher::Slurm && c.nodes > 1 {
            return Err(bad(
                "compute",
                "nodes",
                "the native backend runs on one node; use an engine backend for several".into(),
            ));
        }
        if c.nodes > 1 && c.launcher != Launcher::Slurm {
            return Err(bad(
                "compute",
                "launcher",
                format!("{} nodes need launcher = \"slurm\"", c.nodes),
            ));
        }
        if c.gpu_memory_gib <= 0.0 {
            return Err(bad("compute", "gpu-memory-gib", "must be > 0".into()));
        }
        let devices = self.devices();
        let per_step = t.micro_batch * devices;
        if !t.global_batch.is_multiple_of(per_step) {
            let micro: Vec<String> = (1..=t.global_batch)
                .filter(|m| t.global_batch.is_multiple_of(m * devices))
                .map(|m| m.to_string())
                .collect();
            let counts: Vec<String> = (1..=t.global_batch)
                .filter(|d| t.global_batch.is_multiple_of(t.micro_batch * d))
                .map(|d| d.to_string())
                .collect();
            let hint = if micro.is_empty() {
                format!(
                    "device counts that divide it at micro-batch {}: {}",
                    t.micro_batch,
                    counts.join(", ")
                )
            } else {
                format!(
                    "micro-batch {} with {devices} devices, or {} devices at micro-batch {}",
                    micro.join(", "),
                    counts.join(", "),
                    t.micro_batch
                )
            };
            return Err(bad(
                "train",
                "global-batch",
                format!(
                    "{} is not divisible by micro-batch {} x {devices} devices = {per_step}; would work: {hint}",
                    t.global_batch, t.micro_batch
                ),
            ));
        }
        if let Some(init) = &self.model.init {
            let kv = init.num_key_value_heads.unwrap_or(init.num_attention_heads);
            if init.num_attention_heads == 0
                || init.hidden_size % init.num_attention_heads != 0
                || kv == 0
                || init.num_attention_heads % kv != 0
            {
                return Err(bad(
                    "model.init",
                    "num-attention-heads",
                    "hidden-size must divide by the heads, and heads by the key/value heads".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TrainSpec, String> {
        TrainSpec::parse(Path::new("run.toml"), text).map_err(|e| e.to_string())
    }

    const MINIMAL: &str = r#"
[model]
name = "tiny"
path = "models/tiny"

[data]
train = "traces.jsonl"

[output]
dir = "runs/tiny"
"#;

    #[test]
    fn defaults_are_the_papers() {
        let spec = parse(MINIMAL).unwrap();
        let t = &spec.train;
        assert_eq!((t.global_batch, t.epochs, t.max_seq_len), (128, 5, 32_768));
        assert_eq!((t.learning_rate, t.warmup_ratio), (8e-5, 0.10));
        assert_eq!(t.optimizer, Optimizer::Adamw);
        assert_eq!(t.loss_on, LossOn::Assistant);
        assert_eq!(spec.data.over_length, OverLength::Error);
    }

    #[test]
    fn the_template_parses_to_the_defaults() {
        let spec = parse(TEMPLATE).unwrap();
        assert_eq!(spec.train, TrainSettings::default());
        assert_eq!(spec.compute, ComputeSpec::default());
    }

    #[test]
    fn unknown_key_names_file_line_and_field() {
        let text = MINIMAL.replace("[output]", "[train]\nbatch_size = 3\n\n[output]");
        let err = parse(&text).unwrap_err();
        assert!(err.starts_with("run.toml:10: field `train.batch_size`"), "{err}");
        assert!(err.contains("unknown field `batch_size`"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let text = MINIMAL.replace("[output]", "[train]\nlearning-rate = \"high\"\n\n[output]");
        let err = parse(&text).unwrap_err();
        assert!(err.starts_with("run.toml:10: field `train.learning-rate`"), "{err}");
    }

    #[test]
    fn indivisible_batch_says_what_would_work() {
        let text = MINIMAL.replace("[output]", "[compute]\ngpus-per-node = 3\n\n[output]");
        let err = parse(&text).unwrap_err();
        assert!(err.contains("field `train.global-batch`"), "{err}");
        assert!(err.contains("would work"), "{err}");
        assert!(err.contains("1, 2, 4, 8"), "{err}");
    }

    #[test]
    fn relative_paths_resolve_against_the_spec_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run.toml");
        fs_err::write(&file, MINIMAL).unwrap();
        let spec = TrainSpec::load(&file).unwrap();
        assert!(spec.data.train.is_absolute());
        assert_eq!(spec.data.train, dir.path().join("traces.jsonl"));
        assert_eq!(spec.tokenizer_path(), Some(dir.path().join("models/tiny").as_path()));
        assert_eq!(spec.output.dir, dir.path().join("runs/tiny"));
    }

    #[test]
    fn several_nodes_need_slurm() {
        let text = MINIMAL.replace("[output]", "[compute]\nnodes = 2\n\n[output]");
        let err = parse(&text).unwrap_err();
        assert!(err.contains("field `compute.launcher`"), "{err}");
    }
}
