//! Memory pre-flight: peak GPU memory of one device for (model, sequence length, micro batch,
//! checkpointing, sharding), so a run that cannot fit is refused before it is queued.
//!
//! The model: parameters P from the shape (`config.json`, `[model.init]`, or the paper's two
//! models by name). Per device, in bytes:
//! - weights, gradients and AdamW's two moments: (2 + 2 + 4) P in bf16 (torch keeps the moments
//!   in the parameters' dtype), 16 P in fp32; divided by the device count under FSDP;
//! - activations (Korthikanti et al. 2022, flash/SDPA attention): 34 s b h bytes per layer
//!   without checkpointing; with it, each layer's input (2 s b h) plus one layer recomputed;
//! - logits: s b V (bf16) + 2 x 4 s b V for the fp32 upcast and its gradient, the largest single
//!   buffer at 32K tokens and a 150K vocabulary;
//! - 1.5 GiB of CUDA context and allocator slack.
//!
//! It is an estimate for refusing the impossible, not a promise: measured peaks belong in the
//! run record (the launcher logs them on the GPU).

use std::path::Path;

use serde::Serialize;

use crate::spec::{Precision, Sharding, TrainSpec};

const GIB: f64 = (1u64 << 30) as f64;

/// A model's shape, as far as memory goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shape {
    /// Residual width.
    pub hidden: u64,
    /// MLP width.
    pub intermediate: u64,
    /// Layers.
    pub layers: u64,
    /// Vocabulary.
    pub vocab: u64,
    /// Query heads.
    pub heads: u64,
    /// Key/value heads.
    pub kv_heads: u64,
    /// Whether the output projection is the embedding.
    pub tied: bool,
}

impl Shape {
    /// Parameters.
    pub fn params(&self) -> u64 {
        let head_dim = self.hidden / self.heads.max(1);
        let attn = self.hidden * self.hidden * 2 + self.hidden * head_dim * self.kv_heads * 2;
        let mlp = 3 * self.hidden * self.intermediate;
        let embed = self.vocab * self.hidden * if self.tied { 1 } else { 2 };
        self.layers * (attn + mlp + 2 * self.hidden) + embed
    }
}

/// The estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryEstimate {
    /// Parameters.
    pub params: u64,
    /// Weights, gradients and optimizer states on one device, GiB.
    pub states_gib: f64,
    /// Activations kept for the backward pass, GiB.
    pub activations_gib: f64,
    /// Logits and their gradient, GiB.
    pub logits_gib: f64,
    /// The peak, GiB.
    pub total_gib: f64,
    /// The device's memory, GiB.
    pub device_gib: f64,
    /// Whether it fits.
    pub fits: bool,
    /// What would fit, when it does not.
    pub advice: Option<String>,
}

/// The shape of `spec`'s model, when it can be known.
pub fn shape(spec: &TrainSpec, tokenizer_vocab: u32) -> Option<Shape> {
    if let Some(i) = &spec.model.init {
        return Some(Shape {
            hidden: u64::from(i.hidden_size),
            intermediate: u64::from(i.intermediate_size),
            layers: u64::from(i.num_hidden_layers),
            vocab: u64::from(i.vocab_size.unwrap_or(tokenizer_vocab)),
            heads: u64::from(i.num_attention_heads),
            kv_heads: u64::from(i.num_key_value_heads.unwrap_or(i.num_attention_heads)),
            tied: i.tie_word_embeddings,
        });
    }
    let path = spec.model.path.as_deref()?;
    if let Some(s) = from_config(&path.join("config.json")) {
        return Some(s);
    }
    let name = spec.model.name.to_lowercase();
    if name.contains("qwen2.5-7b") {
        Some(Shape {
            hidden: 3584,
            intermediate: 18944,
            layers: 28,
            vocab: 152_064,
            heads: 28,
            kv_heads: 4,
            tied: false,
        })
    } else if name.contains("llama3.1-8b") || name.contains("llama-3.1-8b") {
        Some(Shape {
            hidden: 4096,
            intermediate: 14336,
            layers: 32,
            vocab: 128_256,
            heads: 32,
            kv_heads: 8,
            tied: false,
        })
    } else {
        None
    }
}

fn from_config(path: &Path) -> Option<Shape> {
    let v: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(path).ok()?).ok()?;
    let get = |k: &str| v.get(k).and_then(serde_json::Value::as_u64);
    let heads = get("num_attention_heads")?;
    Some(Shape {
        hidden: get("hidden_size")?,
        intermediate: get("intermediate_size")?,
        layers: get("num_hidden_layers")?,
        vocab: get("vocab_size")?,
        heads,
        kv_heads: get("num_key_value_heads").unwrap_or(heads),
        tied: v.get("tie_word_embeddings").and_then(serde_json::Value::as_bool).unwrap_or(false),
    })
}

/// Peak memory of one device with these settings.
pub fn estimate_with(
    shape: &Shape,
    seq: u64,
    micro: u64,
    devices: u64,
    checkpointing: bool,
    sharded: bool,
    bf16: bool,
) -> (f64, f64, f64) {
    let p = shape.params() as f64;
    let per_param = if bf16 { 8.0 } else { 16.0 };
    let states = per_param * p / if sharded { devices as f64 } else { 1.0 };
    let (s, b, h, l) = (seq as f64, micro as f64, shape.hidden as f64, shape.layers as f64);
    let width = if bf16 { 1.0 } else { 2.0 };
    let activations = if checkpointing {
        (2.0 * s * b * h * l + 34.0 * s * b * h) * width
    } else {
        34.0 * s * b * h * l * width
    };
    let logits = s * b * shape.vocab as f64 * (2.0 * width + 8.0);
    (states / GIB, activations / GIB, logits / GIB)
}

/// The pre-flight estimate for `spec` on its devices.
pub fn estimate(spec: &TrainSpec, shape: &Shape) -> MemoryEstimate {
    let t = &spec.train;
    let c = &spec.compute;
    let devices = u64::from(spec.devices());
    let bf16 = t.precision == Precision::Bf16;
    let sharded = c.sharding == Sharding::Fsdp;
    let seq = u64::from(t.max_seq_len);
    let run = |micro, ckpt, sharded, devices| {
        let (a, b, c) = estimate_with(shape, seq, micro, devices, ckpt, sharded, bf16);
        a + b + c + 1.5
    };
    let (states, activations, logits) = estimate_with(
        shape,
        seq,
        u64::from(t.micro_batch),
        devices,
        t.gradient_checkpointing,
        sharded,
        bf16,
    );
    let total = states + activations + logits + 1.5;
    let fits = total <= c.gpu_memory_gib;
    let advice = (!fits).then(|| {
        let mut options = Vec::new();
        if t.micro_batch > 1
            && run(1, t.gradient_checkpointing, sharded, devices) <= c.gpu_memory_gib
        {
            options.push("train.micro-batch = 1".to_owned());
        }
        if !t.gradient_checkpointing
            && run(u64::from(t.micro_batch), true, sharded, devices) <= c.gpu_memory_gib
        {
            options.push("train.gradient-checkpointing = true".to_owned());
        }
        if !sharded
            && run(u64::from(t.micro_batch), t.gradient_checkpointing, true, devices)
                <= c.gpu_memory_gib
        {
            options.push("compute.sharding = \"fsdp\"".to_owned());
        }
        if let Some(d) = (1..=1024u64).find(|&d| run(1, true, true, d) <= c.gpu_memory_gib) {
            options.push(format!(
                "micro-batch 1, checkpointing and FSDP over {d} GPUs of {} GiB",
                c.gpu_memory_gib
            ));
        }
        if options.is_empty() {
            format!(
                "nothing fits {} GiB per GPU at max-seq-len {seq}: lower train.max-seq-len",
                c.gpu_memory_gib
            )
        } else {
            format!("would fit: {}", options.join("; or "))
        }
    });
    MemoryEstimate {
        params: shape.params(),
        states_gib: states,
        activations_gib: activations,
        logits_gib: logits,
        total_gib: total,
        device_gib: c.gpu_memory_gib,
        fits,
        advice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qwen7b() -> Shape {
        Shape {
            hidden: 3584,
            intermediate: 18944,
            layers: 28,
            vocab: 152_064,
            heads: 28,
            kv_heads: 4,
            tied: false,
        }
    }

    #[test]
    fn qwen_7b_has_its_parameter_count() {
        let p = qwen7b().params() as f64;
        assert!((p / 7.6e9 - 1.0).abs() < 0.02, "{p}");
    }

    #[test]
    fn the_papers_setting_fits_8_h100s_and_one_gpu_does_not() {
        let (s, a, l) = estimate_with(&qwen7b(), 32_768, 1, 8, true, true, true);
        let total = s + a + l + 1.5;
        assert!(total < 80.0, "{s} {a} {l}");
        let (s1, ..) = estimate_with(&qwen7b(), 32_768, 1, 1, true, true, true);
        assert!(s1 > 56.0, "{s1}");
        // checkpointing and sharding each lower the peak
        let (_, a_no, _) = estimate_with(&qwen7b(), 32_768, 1, 8, false, true, true);
        assert!(a_no > 5.0 * a);
    }
}
