//! The native backend of `valley train`: valley-train's [`Trainer`] over [`crate::sft`].

use std::path::{Path, PathBuf};

use valley_train::data::{load_tokenizer, read_tokenized};
use valley_train::spec::{Device, LrSchedule, ModelFamily, Precision};
use valley_train::{
    LossPoint, Plan, Progress, TrainContext, TrainError, TrainOutcome, TrainSpec, Trainer,
};

use crate::config::{Family, ModelConfig};
use crate::pack::Example;
use crate::sft::{Engine, ExtraFiles, RunDirs, Schedule, Sft, SftConfig};
use crate::weights::{self, HostTensors};

/// The native trainer (`compute.backend = "native"`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NativeTrainer;

const NAME: &str = "native";

fn unsupported(message: impl Into<String>) -> TrainError {
    TrainError::Unsupported { backend: NAME.into(), message: message.into() }
}

fn backend_err(e: impl std::error::Error + Send + Sync + 'static) -> TrainError {
    TrainError::Backend(Box::new(e))
}

impl Trainer for NativeTrainer {
    fn name(&self) -> &str {
        NAME
    }

    fn train(
        &self,
        spec: &TrainSpec,
        plan: &Plan,
        ctx: &mut TrainContext<'_>,
    ) -> Result<TrainOutcome, TrainError> {
        let t = &spec.train;
        if t.precision != Precision::Fp32 {
            return Err(unsupported(
                "trains in fp32 (f32 weights, gradients and AdamW state); set train.precision = \"fp32\"",
            ));
        }
        if t.gradient_checkpointing {
            return Err(unsupported(
                "has no gradient checkpointing (activations are kept); set train.gradient-checkpointing = false",
            ));
        }
        if plan.devices != 1 {
            return Err(unsupported(format!(
                "runs on one device; the plan has {} (set compute.nodes = 1 and compute.gpus-per-node = 1)",
                plan.devices
            )));
        }
        let (model_config, host, source) = load_student(spec)?;
        let examples = read_examples(&ctx.data)?;
        let config = SftConfig {
            epochs: t.epochs,
            global_batch: t.global_batch as usize,
            micro_batch: t.micro_batch as usize,
            learning_rate: t.learning_rate,
            warmup_steps: plan.warmup_steps,
            schedule: match t.lr_schedule {
                LrSchedule::Cosine => Schedule::Cosine,
                LrSchedule::Linear => Schedule::Linear,
                LrSchedule::Constant => Schedule::Constant,
            },
            weight_decay: t.weight_decay,
            betas: t.betas,
            eps: t.eps,
            max_grad_norm: t.max_grad_norm,
            max_seq_len: t.max_seq_len as usize,
            seed: t.seed,
            save_every_steps: t.save_every_steps,
        };
        let extra = tokenizer_files(spec)?;
        let dirs = RunDirs { dir: ctx.out_dir.clone() };
        match spec.compute.device {
            Device::Cpu => run::<crate::backprop::Backprop>(
                config,
                model_config,
                &host,
                &source,
                &examples,
                &dirs,
                &extra,
                plan,
                ctx,
                (),
            ),
            #[cfg(feature = "cuda")]
            Device::Cuda => {
                run::<crate::autodiff::Autodiff<burn::backend::Autodiff<burn::backend::Cuda>>>(
                    config,
                    model_config,
                    &host,
                    &source,
                    &examples,
                    &dirs,
                    &extra,
                    plan,
                    ctx,
                    Default::default(),
                )
            }
            #[cfg(not(feature = "cuda"))]
            Device::Cuda => Err(unsupported(
                "this valley was built without the `cuda` feature (cargo build --release --features valley-native/cuda); or set compute.device = \"cpu\"",
            )),
        }
    }
}

#[expect(clippy::too_many_arguments, reason = "a run's inputs, all distinct")]
fn run<E: Engine>(
    config: SftConfig,
    model_config: ModelConfig,
    host: &HostTensors,
    source: &Path,
    examples: &[Example],
    dirs: &RunDirs,
    extra: &ExtraFiles,
    plan: &Plan,
    ctx: &mut TrainContext<'_>,
    device: E::Device,
) -> Result<TrainOutcome, TrainError> {
    let mut sft =
        Sft::<E>::new(config, model_config, host, source, examples, dirs, ctx.resume, device)
            .map_err(backend_err)?;
    let total = sft.total_steps();
    let per_epoch = plan.steps_per_epoch.max(1) as f64;
    let (mut tokens, mut seconds) = (0u64, 0f64);
    let progress = &mut ctx.progress;
    let summary = sft
        .run(examples, dirs, extra, &mut |r| {
            tokens += r.tokens;
            seconds += r.seconds;
            let rate = tokens as f64 / seconds.max(1e-9);
            let left = total.saturating_sub(r.step) as f64 * seconds / r.step.max(1) as f64;
            (progress)(&Progress {
                step: r.step,
                total_steps: total,
                epoch: r.step as f64 / per_epoch,
                loss: r.loss,
                learning_rate: r.lr,
                tokens_per_second: Some(rate),
                eta_seconds: Some(left),
            });
            true
        })
        .map_err(backend_err)?;
    let curve = summary.history.iter().map(|r| LossPoint { step: r.step, loss: r.loss }).collect();
    Ok(TrainOutcome::from_curve(NAME, summary.steps, curve, summary.model_dir, summary.seconds))
}

/// The student's architecture and initial weights: loaded from `model.path` (HF folder or
/// GGUF), or drawn at random for `[model.init]` (vocabulary from the tokenizer by default).
pub fn load_student(spec: &TrainSpec) -> Result<(ModelConfig, HostTensors, PathBuf), TrainError> {
    if let Some(path) = &spec.model.path {
        let (config, host) = weights::load_host(path).map_err(backend_err)?;
        return Ok((config, host, path.clone()));
    }
    let init =
        spec.model.init.as_ref().ok_or_else(|| unsupported("needs model.path or [model.init]"))?;
    let vocab = match init.vocab_size {
        Some(v) => v as usize,
        None => load_tokenizer(spec).map_err(backend_err)?.tokenizer().get_vocab_size(true),
    };
    let heads = init.num_attention_heads as usize;
    let hidden = init.hidden_size as usize;
    let family = match init.family {
        ModelFamily::Qwen2 => Family::Qwen2,
        ModelFamily::Llama => Family::Llama,
    };
    let config = ModelConfig {
        model_type: family,
        vocab_size: vocab,
        hidden_size: hidden,
        intermediate_size: init.intermediate_size as usize,
        num_hidden_layers: init.num_hidden_layers as usize,
        num_attention_heads: heads,
        num_key_value_heads: init.num_key_value_heads.map_or(heads, |k| k as usize),
        head_dim: hidden / heads.max(1),
        rms_norm_eps: 1e-6,
        rope_theta: init.rope_theta,
        rope_scaling: None,
        max_position_embeddings: spec.train.max_seq_len as usize,
        tie_word_embeddings: init.tie_word_embeddings,
        attention_bias: family == Family::Qwen2,
        bos_token_id: None,
        eos_token_id: None,
    };
    config.validate().map_err(|e| unsupported(format!("[model.init]: {e}")))?;
    let seed = init.seed.unwrap_or(spec.train.seed);
    let host = weights::init_host(&config, seed);
    Ok((config, host, PathBuf::from("[model.init]")))
}

fn read_examples(path: &Path) -> Result<Vec<Example>, TrainError> {
    read_tokenized(path)
        .map_err(backend_err)?
        .map(|r| {
            r.map(|row| Example { input_ids: row.input_ids, loss_mask: row.loss_mask })
                .map_err(backend_err)
        })
        .collect()
}

/// The tokenizer files copied into every checkpoint, so it is a complete HF folder.
fn tokenizer_files(spec: &TrainSpec) -> Result<ExtraFiles, TrainError> {
    let Some(dir) = spec.tokenizer_path() else {
        return Ok(ExtraFiles::default());
    };
    let dir = if dir.is_dir() {
        dir.to_path_buf()
    } else {
        dir.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    let mut files = Vec::new();
    for name in [
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "chat_template.jinja",
        "generation_config.json",
    ] {
        let path = dir.join(name);
        if path.is_file() {
            let bytes = fs_err::read(&path)
                .map_err(|source| TrainError::Io { path: path.clone(), source })?;
            files.push((name.to_owned(), bytes));
        }
    }
    if let Some(template) = &spec.model.chat_template {
        let bytes = fs_err::read(template)
            .map_err(|source| TrainError::Io { path: template.clone(), source })?;
        files.push(("chat_template.jinja".to_owned(), bytes));
    }
    Ok(ExtraFiles { files })
}
