//! Native Qwen2 and Llama models: load HF checkpoints and GGUF files, fine-tune (SFT), generate
//! with a KV cache, and serve an OpenAI-compatible API, on CPU or (feature `cuda`) one GPU.
//!
//! Built on burn 0.21 (see `DESIGN.md`): the model is written once over burn's `Backend`
//! trait with autograd-capable ops only, so the same code runs on the CPU backend ([`Cpu`]),
//! under autodiff for training ([`CpuTrain`]), in f64 for gradient checks, and on CUDA.
//!
//! - [`llama`]: the decoder (`CausalLm`), names mirroring the checkpoint tensors.
//! - [`config`] (with the parameter names and shapes), [`tensors`], [`weights`], [`gguf`]: loading
//!   and saving.
//! - [`loss`]: masked next-token loss over packed rows; [`pack`]: packing.
//! - [`sft`]: the training loop (AdamW, schedule, accumulation, clipping, checkpoints, resume).
//! - [`generate`]: KV-cached sampling; [`serve`]: the HTTP server.
//!
//! ```no_run
//! use valley_native::{Cpu, weights};
//! let (config, host) = weights::load_host("SmolLM2-135M-Instruct.Q4_1.gguf".as_ref())?;
//! let model = weights::to_device::<Cpu>(config, &host, "m.gguf".as_ref(), &Default::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod autodiff;
pub mod backprop;
pub mod chat;
pub mod config;
pub mod engine;
pub mod export;
pub mod generate;
pub mod gguf;
pub mod llama;
pub mod loss;
pub mod pack;
pub mod quant;
pub mod rng;
pub mod serve;
pub mod sft;
pub mod tensors;
pub mod trainer;
pub mod weights;

/// The CPU backend (burn-flex: pure Rust, SIMD, `gemm` matmuls on all cores).
pub type Cpu = burn::backend::Flex;
/// The CPU backend under autodiff, for training.
pub type CpuTrain = burn::backend::Autodiff<Cpu>;
