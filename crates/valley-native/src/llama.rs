//! The Llama-family decoder (Llama, and Qwen2 = Llama with q/k/v biases), written with
//! autograd-capable ops only, field names mirroring the HF checkpoint tensors
//! (`model.layers.{i}.self_attn.q_proj.weight`, …).
//!
//! Every parameter is held as a rank-2 tensor: matrices in HF's `[out, in]` layout, vectors
//! (norm weights, biases) as one row `[1, n]`, so they broadcast over the `[tokens, hidden]`
//! activations. Activations run flat as `[batch * seq, hidden]` except inside attention.
//!
//! Packing: each row of a batch may hold several examples. `segments` numbers them (0 for
//! padding); a token attends only to earlier tokens of its own segment, and `positions`
//! restart at 0 for each segment, so a packed row computes exactly what separate rows would.

use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::config::{ModelConfig, held_shape, parameter_shapes};

/// A projection `y = x Wᵀ (+ b)`, `weight` in HF's `[out, in]` layout.
#[derive(Debug, Clone)]
pub struct Linear<B: Backend> {
    pub weight: Tensor<B, 2>,
    pub bias: Option<Tensor<B, 2>>,
}

impl<B: Backend> Linear<B> {
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let y = x.matmul(self.weight.clone().transpose());
        match &self.bias {
            Some(b) => y + b.clone(),
            None => y,
        }
    }
}

/// Root-mean-square norm with a learned scale (`weight` as a `[1, n]` row).
#[derive(Debug, Clone)]
pub struct RmsNorm<B: Backend> {
    pub weight: Tensor<B, 2>,
    pub eps: f64,
}

impl<B: Backend> RmsNorm<B> {
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let rms = (x.clone().powi_scalar(2).mean_dim(1) + self.eps).sqrt();
        x / rms * self.weight.clone()
    }
}

#[derive(Debug, Clone)]
pub struct Attention<B: Backend> {
    pub q_proj: Linear<B>,
    pub k_proj: Linear<B>,
    pub v_proj: Linear<B>,
    pub o_proj: Linear<B>,
}

#[derive(Debug, Clone)]
pub struct Mlp<B: Backend> {
    pub gate_proj: Linear<B>,
    pub up_proj: Linear<B>,
    pub down_proj: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let h = silu(self.gate_proj.forward(x.clone())) * self.up_proj.forward(x);
        self.down_proj.forward(h)
    }
}

#[derive(Debug, Clone)]
pub struct DecoderLayer<B: Backend> {
    pub input_layernorm: RmsNorm<B>,
    pub self_attn: Attention<B>,
    pub post_attention_layernorm: RmsNorm<B>,
    pub mlp: Mlp<B>,
}

/// `model.*` of the checkpoint.
#[derive(Debug, Clone)]
pub struct Body<B: Backend> {
    pub embed_tokens: Tensor<B, 2>,
    pub layers: Vec<DecoderLayer<B>>,
    pub norm: RmsNorm<B>,
}

/// A causal language model: `model.*` plus `lm_head.weight` (absent when tied).
#[derive(Debug, Clone)]
pub struct CausalLm<B: Backend> {
    pub config: ModelConfig,
    pub model: Body<B>,
    pub lm_head: Option<Tensor<B, 2>>,
}

/// The keys and values of earlier positions, per layer, for incremental decoding.
#[derive(Debug, Clone)]
pub struct KvCache<B: Backend> {
    layers: Vec<Option<(Tensor<B, 4>, Tensor<B, 4>)>>,
    len: usize,
}

impl<B: Backend> KvCache<B> {
    pub fn new(num_layers: usize) -> Self {
        Self { layers: vec![None; num_layers], len: 0 }
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A batch in the layout the model reads: `[batch, seq]` row-major host arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub batch: usize,
    pub seq: usize,
    pub input_ids: Vec<u32>,
    /// Position of each token inside its own example.
    pub positions: Vec<u32>,
    /// Example number of each token inside its row, from 1; 0 is padding.
    pub segments: Vec<u32>,
}

impl<B: Backend> CausalLm<B> {
    /// Builds the model from a source of parameters, asked in [`parameter_shapes`] order with
    /// each name and its held (rank-2) shape.
    pub fn build<E>(
        config: ModelConfig,
        mut get: impl FnMut(&str, [usize; 2]) -> Result<Tensor<B, 2>, E>,
    ) -> Result<Self, E> {
        let shapes = parameter_shapes(&config);
        let mut it = shapes.iter();
        let mut next = |expect: &str| -> Result<Tensor<B, 2>, E> {
            let (name, shape) = it.next().expect("bug: parameter list out of step; please report");
            debug_assert!(name.ends_with(expect), "{name} vs {expect}");
            get(name, held_shape(shape))
        };
        let eps = config.rms_norm_eps;
        let embed_tokens = next("embed_tokens.weight")?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for _ in 0..config.num_hidden_layers {
            let input_layernorm = RmsNorm { weight: next("input_layernorm.weight")?, eps };
            let mut proj = |n: &str| -> Result<Linear<B>, E> {
                let weight = next(&format!("{n}.weight"))?;
                let bias =
                    if config.attention_bias { Some(next(&format!("{n}.bias"))?) } else { None };
                Ok(Linear { weight, bias })
            };
            let q_proj = proj("q_proj")?;
            let k_proj = proj("k_proj")?;
            let v_proj = proj("v_proj")?;
            let o_proj = Linear { weight: next("o_proj.weight")?, bias: None };
            let post_attention_layernorm =
                RmsNorm { weight: next("post_attention_layernorm.weight")?, eps };
            let mlp = Mlp {
                gate_proj: Linear { weight: next("gate_proj.weight")?, bias: None },
                up_proj: Linear { weight: next("up_proj.weight")?, bias: None },
                down_proj: Linear { weight: next("down_proj.weight")?, bias: None },
            };
            layers.push(DecoderLayer {
                input_layernorm,
                self_attn: Attention { q_proj, k_proj, v_proj, o_proj },
                post_attention_layernorm,
                mlp,
            });
        }
        let norm = RmsNorm { weight: next("norm.weight")?, eps };
        let lm_head = if config.tie_word_embeddings { None } else { Some(next("lm_head.weight")?) };
        Ok(Self { config, model: Body { embed_tokens, layers, norm }, lm_head })
    }

    /// Every parameter with its HF name, in [`parameter_shapes`] order.
    pub fn parameters(&self) -> Vec<(String, Tensor<B, 2>)> {
        let mut out = Vec::new();
        let mut push = |name: String, t: &Tensor<B, 2>| out.push((name, t.clone()));
        push("model.embed_tokens.weight".into(), &self.model.embed_tokens);
        for (i, l) in self.model.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            push(format!("{p}.input_layernorm.weight"), &l.input_layernorm.weight);
            let a = &l.self_attn;
            for (n, lin) in [("q_proj", &a.q_proj), ("k_proj", &a.k_proj), ("v_proj", &a.v_proj)] {
                push(format!("{p}.self_attn.{n}.weight"), &lin.weight);
                if let Some(b) = &lin.bias {
                    push(format!("{p}.self_attn.{n}.bias"), b);
                }
            }
            push(format!("{p}.self_attn.o_proj.weight"), &a.o_proj.weight);
            push(
                format!("{p}.post_attention_layernorm.weight"),
                &l.post_attention_layernorm.weight,
            );
            push(format!("{p}.mlp.gate_proj.weight"), &l.mlp.gate_proj.weight);
            push(format!("{p}.mlp.up_proj.weight"), &l.mlp.up_proj.weight);
            push(format!("{p}.mlp.down_proj.weight"), &l.mlp.down_proj.weight);
        }
        push("model.norm.weight".into(), &self.model.norm.weight);
        if let Some(h) = &self.lm_head {
            push("lm_head.weight".into(), h);
        }
        out
    }

    /// The output matrix `[vocab, hidden]` (the embedding when tied).
    fn head(&self) -> &Tensor<B, 2> {
        self.lm_head.as_ref().unwrap_or(&self.model.embed_tokens)
    }

    /// Final hidden states `[batch * seq, hidden]` of a (packed) training batch.
    pub fn hidden_states(&self, batch: &Batch) -> Tensor<B, 2> {
        let device = self.model.embed_tokens.device();
        let (b, t) = (batch.batch, batch.seq);
        let rope = Rope::new(&self.config, &batch.positions, b, t, &device);
        let mask = packed_mask::<B>(batch, &device);
        let ids = Tensor::<B, 1, Int>::from_data(
            TensorData::new(batch.input_ids.iter().map(|&i| i as i64).collect(), [b * t]),
            &device,
        );
        let mut x = self.model.embed_tokens.clone().select(0, ids);
        for layer in &self.model.layers {
            x = layer.forward(x, b, t, &rope, mask.clone(), None, &self.config);
        }
        self.model.norm.forward(x)
    }

    /// Logits `[rows, vocab]` of hidden states `[rows, hidden]`.
    pub fn logits(&self, hidden: Tensor<B, 2>) -> Tensor<B, 2> {
        hidden.matmul(self.head().clone().transpose())
    }

    /// Runs `ids` (one sequence) after the cached positions and returns the last position's
    /// logits `[1, vocab]`, extending the cache.
    pub fn forward_cached(&self, ids: &[u32], cache: &mut KvCache<B>) -> Tensor<B, 2> {
        let device = self.model.embed_tokens.device();
        let t = ids.len();
        let past = cache.len;
        let positions: Vec<u32> = (past..past + t).map(|p| p as u32).collect();
        let rope = Rope::new(&self.config, &positions, 1, t, &device);
        // Causal over the cached positions plus the new ones.
        let total = past + t;
        let mut bias = vec![0f32; t * total];
        for i in 0..t {
            for j in (past + i + 1)..total {
                bias[i * total + j] = f32::NEG_INFINITY;
            }
        }
        let mask = Tensor::<B, 4>::from_data(TensorData::new(bias, [1, 1, t, total]), &device);
        let ids_t = Tensor::<B, 1, Int>::from_data(
            TensorData::new(ids.iter().map(|&i| i as i64).collect(), [t]),
            &device,
        );
        let mut x = self.model.embed_tokens.clone().select(0, ids_t);
        for (i, layer) in self.model.layers.iter().enumerate() {
            x = layer.forward(
                x,
                1,
                t,
                &rope,
                mask.clone(),
                Some(&mut cache.layers[i]),
                &self.config,
            );
        }
        cache.len = total;
        let last = x.slice([t - 1..t, 0..self.config.hidden_size]);
        self.logits(self.model.norm.forward(last))
    }
}

impl<B: Backend> DecoderLayer<B> {
    #[expect(clippy::too_many_arguments, reason = "one layer's inputs, all distinct")]
    fn forward(
        &self,
        x: Tensor<B, 2>,
        b: usize,
        t: usize,
        rope: &Rope<B>,
        mask: Tensor<B, 4>,
        cache: Option<&mut Option<(Tensor<B, 4>, Tensor<B, 4>)>>,
        cfg: &ModelConfig,
    ) -> Tensor<B, 2> {
        let h = self.input_layernorm.forward(x.clone());
        let h = self.self_attn.forward(h, b, t, rope, mask, cache, cfg);
        let x = x + h;
        let h = self.mlp.forward(self.post_attention_layernorm.forward(x.clone()));
        x + h
    }
}

impl<B: Backend> Attention<B> {
    #[expect(clippy::too_many_arguments, reason = "one layer's inputs, all distinct")]
    fn forward(
        &self,
        x: Tensor<B, 2>,
        b: usize,
        t: usize,
        rope: &Rope<B>,
        mask: Tensor<B, 4>,
        cache: Option<&mut Option<(Tensor<B, 4>, Tensor<B, 4>)>>,
        cfg: &ModelConfig,
    ) -> Tensor<B, 2> {
        let (nh, nkv, hd) = (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim);
        let heads = |y: Tensor<B, 2>, n: usize| y.reshape([b, t, n, hd]).swap_dims(1, 2);
        let q = rope.apply(heads(self.q_proj.forward(x.clone()), nh));
        let mut k = rope.apply(heads(self.k_proj.forward(x.clone()), nkv));
        let mut v = heads(self.v_proj.forward(x), nkv);
        if let Some(slot) = cache {
            if let Some((pk, pv)) = slot.take() {
                k = Tensor::cat(vec![pk, k], 2);
                v = Tensor::cat(vec![pv, v], 2);
            }
            *slot = Some((k.clone(), v.clone()));
        }
        let tk = k.dims()[2];
        let rep = nh / nkv;
        let expand = |y: Tensor<B, 4>| -> Tensor<B, 4> {
            if rep == 1 {
                y
            } else {
                y.reshape([b, nkv, 1, tk, hd])
                    .expand([b, nkv, rep, tk, hd])
                    .reshape([b, nh, tk, hd])
            }
        };
        let (k, v) = (expand(k), expand(v));
        let scores = q.matmul(k.transpose()) * (1.0 / (hd as f64).sqrt()) + mask;
        let out = softmax(scores, 3).matmul(v);
        self.o_proj.forward(out.swap_dims(1, 2).reshape([b * t, nh * hd]))
    }
}

/// `x · sigmoid(x)`, composed from `exp` so it keeps the tensor's precision (burn 0.21's
/// `activation::silu` computes in f32 on the f64 backend, which spoils gradient checks).
fn silu<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    x.clone() / (x.neg().exp() + 1.0)
}

/// Rotary embedding in HF's rotate-half layout: the first half of each head's dimensions pairs
/// with the second half.
struct Rope<B: Backend> {
    cos: Tensor<B, 4>,
    sin: Tensor<B, 4>,
    half: usize,
}

impl<B: Backend> Rope<B> {
    fn new(cfg: &ModelConfig, positions: &[u32], b: usize, t: usize, device: &B::Device) -> Self {
        let hd = cfg.head_dim;
        let half = hd / 2;
        let mut inv: Vec<f64> =
            (0..half).map(|i| 1.0 / cfg.rope_theta.powf(2.0 * i as f64 / hd as f64)).collect();
        if let Some(scaling) = &cfg.rope_scaling {
            scaling.apply(&mut inv);
        }
        let mut cos = Vec::with_capacity(positions.len() * hd);
        let mut sin = Vec::with_capacity(positions.len() * hd);
        for &p in positions {
            for _ in 0..2 {
                for f in &inv {
                    // Angles in f32 as transformers computes them (inv_freq and positions f32).
                    let angle = (p as f32) * (*f as f32);
                    cos.push(angle.cos());
                    sin.push(angle.sin());
                }
            }
        }
        let cos = Tensor::<B, 4>::from_data(TensorData::new(cos, [b, 1, t, hd]), device);
        let sin = Tensor::<B, 4>::from_data(TensorData::new(sin, [b, 1, t, hd]), device);
        Self { cos, sin, half }
    }

    /// `x·cos + rotate_half(x)·sin` for `x` of shape `[batch, heads, seq, head_dim]`.
    fn apply(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, h, t, d] = x.dims();
        let x1 = x.clone().slice([0..b, 0..h, 0..t, 0..self.half]);
        let x2 = x.clone().slice([0..b, 0..h, 0..t, self.half..d]);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        x * self.cos.clone() + rotated * self.sin.clone()
    }
}

/// The additive attention bias `[batch, 1, seq, seq]`: 0 where a token may attend (an earlier
/// or the same position of its own segment), -inf elsewhere.
fn packed_mask<B: Backend>(batch: &Batch, device: &B::Device) -> Tensor<B, 4> {
    let (b, t) = (batch.batch, batch.seq);
    let mut bias = vec![f32::NEG_INFINITY; b * t * t];
    for r in 0..b {
        let seg = &batch.segments[r * t..(r + 1) * t];
        for i in 0..t {
            for j in 0..=i {
                if seg[j] == seg[i] {
                    bias[(r * t + i) * t + j] = 0.0;
                }
            }
        }
    }
    Tensor::from_data(TensorData::new(bias, [b, 1, t, t]), device)
}
