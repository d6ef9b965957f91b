//! KV-cached sampling: the prompt runs in one forward pass, then one token per pass against the
//! cached keys and values; temperature and nucleus (top-p) sampling, greedy at temperature 0,
//! stopping at an end-of-turn token or after `max_tokens`.

use burn::tensor::backend::Backend;

use crate::llama::{CausalLm, KvCache};
use crate::rng::Rng;

/// How to pick tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    /// 0 is greedy (argmax).
    pub temperature: f64,
    /// Keep the smallest set of tokens whose probability reaches `top_p` (1: all).
    pub top_p: f64,
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Seed of the draws.
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self { temperature: 0.0, top_p: 1.0, max_tokens: 256, seed: 0 }
    }
}

/// Why generation ended, as OpenAI's `finish_reason` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop token (not included in the output) or stop string.
    Stop,
    /// `max_tokens`, or the model's context, was reached.
    Length,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
        }
    }
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The generated tokens, without the stop token.
    pub tokens: Vec<u32>,
    pub finish_reason: FinishReason,
}

/// Generates after `prompt`. `stop` holds the end-of-turn token ids; `on_token` sees each new
/// token and may end generation early by returning `true` (a stop string was produced).
pub fn generate<B: Backend>(
    model: &CausalLm<B>,
    prompt: &[u32],
    params: &SamplingParams,
    stop: &[u32],
    mut on_token: impl FnMut(&[u32]) -> bool,
) -> Generation {
    let mut rng = Rng::new(params.seed);
    let mut cache = KvCache::new(model.config.num_hidden_layers);
    let context = model.config.max_position_embeddings;
    let mut tokens = Vec::new();
    if prompt.is_empty() || params.max_tokens == 0 {
        return Generation { tokens, finish_reason: FinishReason::Length };
    }
    let mut logits = model.forward_cached(prompt, &mut cache);
    loop {
        let row = logits.into_data().convert::<f32>().into_vec::<f32>().expect("f32 logits");
        let next = sample(&row, params, &mut rng);
        if stop.contains(&next) {
            return Generation { tokens, finish_reason: FinishReason::Stop };
        }
        tokens.push(next);
        if on_token(&tokens) {
            return Generation { tokens, finish_reason: FinishReason::Stop };
        }
        if tokens.len() >= params.max_tokens || cache.len() + 1 >= context {
            return Generation { tokens, finish_reason: FinishReason::Length };
        }
        logits = model.forward_cached(&[next], &mut cache);
    }
}

/// Picks a token from one row of logits.
pub fn sample(logits: &[f32], params: &SamplingParams, rng: &mut Rng) -> u32 {
    if params.temperature <= 0.0 {
        // First maximum, as torch.argmax and llama.cpp's greedy sampler pick.
        let mut best = 0;
        for (i, &l) in logits.iter().enumerate() {
            if l > logits[best] {
                best = i;
            }
        }
        return best as u32;
    }
    let t = params.temperature;
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<(u32, f64)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, ((f64::from(l - max)) / t).exp()))
        .collect();
    let total: f64 = probs.iter().map(|p| p.1).sum();
    for p in &mut probs {
        p.1 /= total;
    }
    if params.top_p < 1.0 {
        probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut cum = 0.0;
        let mut keep = probs.len();
        for (i, p) in probs.iter().enumerate() {
            cum += p.1;
            if cum >= params.top_p {
                keep = i + 1;
                break;
            }
        }
        probs.truncate(keep);
        let kept: f64 = probs.iter().map(|p| p.1).sum();
        for p in &mut probs {
            p.1 /= kept;
        }
    }
    let u = rng.uniform();
    let mut cum = 0.0;
    for &(id, p) in &probs {
        cum += p;
        if u < cum {
            return id;
        }
    }
    probs.last().map_or(0, |p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum_and_top_p_cuts_the_tail() {
        let p = SamplingParams { temperature: 0.0, ..Default::default() };
        let mut rng = Rng::new(1);
        assert_eq!(sample(&[0.1, 2.0, 2.0, -1.0], &p, &mut rng), 1);
        // probabilities ~ [0.64, 0.24, 0.09, 0.03]: top_p 0.5 keeps only the first.
        let p = SamplingParams { temperature: 1.0, top_p: 0.5, ..Default::default() };
        for _ in 0..200 {
            assert_eq!(sample(&[3.0, 2.0, 1.0, 0.0], &p, &mut rng), 0);
        }
        // top_p 0.9 keeps three; the fourth never appears, all three do.
        let p = SamplingParams { temperature: 1.0, top_p: 0.9, ..Default::default() };
        let mut seen = [0; 4];
        for _ in 0..2000 {
            seen[sample(&[3.0, 2.0, 1.0, 0.0], &p, &mut rng) as usize] += 1;
        }
        assert_eq!(seen[3], 0);
        assert!(seen[0] > seen[1] && seen[1] > seen[2] && seen[2] > 0, "{seen:?}");
    }
}
