//! The inference engine on the CPU: a decoder that keeps a GGUF file's quantised blocks as they
//! are ([`crate::quant`]) and runs batched forward passes over many sequences at once, each with
//! its own key/value cache. `valley serve` decodes with it (continuous batching), `valley model
//! logits` scores with it. Training and the CUDA backend use the burn model in [`crate::llama`];
//! from an HF folder both compute the same f32 arithmetic.
//!
//! ```no_run
//! use valley_native::engine::{QuantLm, Step};
//! use valley_native::quant::Isa;
//! let model = QuantLm::load("SmolLM2-135M-Instruct.Q4_1.gguf".as_ref(), Isa::detect())?;
//! let (mut cache, mut ws, mut logits) = (model.new_cache(), model.workspace(), Vec::new());
//! model.forward(&mut [Step { cache: &mut cache, tokens: &[1, 2, 3] }], &mut ws, &mut logits);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod attend;
pub mod forward;
pub mod kv;
pub mod model;
pub mod ops;

pub use forward::{Step, Workspace};
pub use kv::SeqCache;
pub use model::QuantLm;

/// The next-token logits of one token sequence from the model in `path` (an HF folder or a GGUF
/// file) as the engine computes them (GGUF weights in their blocks): `ids.len()` rows of `vocab`
/// values, row-major, and `vocab`.
pub fn cpu_logits(
    path: &std::path::Path,
    ids: &[u32],
) -> Result<(Vec<f32>, usize), crate::weights::LoadModelError> {
    let model = QuantLm::load(path, crate::quant::Isa::detect())?;
    let vocab = model.head().rows;
    if let Some(&id) = ids.iter().find(|&&id| id as usize >= model.config.vocab_size) {
        return Err(crate::weights::LoadModelError::TokenId {
            path: path.to_path_buf(),
            id,
            vocab: model.config.vocab_size,
        });
    }
    Ok((model.logits_of(ids), vocab))
}
