//! The SFT loss: next-token cross-entropy summed over the tokens whose target carries the loss
//! mask, divided by a normaliser the caller picks (the loss tokens of the whole global batch,
//! so accumulated micro-batches add up to the mean over the global batch).

use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::llama::CausalLm;
use crate::pack::PackedBatch;

/// `sum(-log p(target) · weight) / normaliser` as a one-element tensor.
pub fn sft_loss<B: Backend>(
    model: &CausalLm<B>,
    packed: &PackedBatch,
    normaliser: f64,
) -> Tensor<B, 1> {
    let device = model.model.embed_tokens.device();
    let hidden = model.hidden_states(&packed.batch);
    let logits = model.logits(hidden);
    let n = packed.targets.len();
    let targets = Tensor::<B, 2, Int>::from_data(
        TensorData::new(packed.targets.iter().map(|&t| t as i64).collect(), [n, 1]),
        &device,
    );
    let weights =
        Tensor::<B, 2>::from_data(TensorData::new(packed.weights.clone(), [n, 1]), &device);
    let picked = log_softmax(logits, 1).gather(1, targets);
    (picked * weights).sum().neg() / normaliser
}
