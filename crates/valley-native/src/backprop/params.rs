//! The decoder's parameters as flat f32 vectors in checkpoint order (`parameter_shapes`), and an
//! index naming each layer's tensors in it.

use crate::config::{ModelConfig, parameter_shapes};
use crate::tensors::HostTensors;

/// Where one layer's tensors are in the parameter list.
#[derive(Debug, Clone)]
pub struct LayerIx {
    pub input_layernorm: usize,
    pub q: usize,
    pub k: usize,
    pub v: usize,
    /// q, k and v biases (Qwen2).
    pub bias: Option<[usize; 3]>,
    pub o: usize,
    pub post_attention_layernorm: usize,
    pub gate: usize,
    pub up: usize,
    pub down: usize,
}

/// Where every tensor is in the parameter list.
#[derive(Debug, Clone)]
pub struct Index {
    pub names: Vec<String>,
    pub shapes: Vec<Vec<usize>>,
    pub embed: usize,
    pub layers: Vec<LayerIx>,
    pub norm: usize,
    /// `None` when tied to the embedding.
    pub lm_head: Option<usize>,
}

impl Index {
    pub fn new(cfg: &ModelConfig) -> Self {
        let (names, shapes): (Vec<String>, Vec<Vec<usize>>) =
            parameter_shapes(cfg).into_iter().unzip();
        let at = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .expect("bug: a parameter the config lists; please report")
        };
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                let p = |s: &str| at(&format!("model.layers.{i}.{s}"));
                LayerIx {
                    input_layernorm: p("input_layernorm.weight"),
                    q: p("self_attn.q_proj.weight"),
                    k: p("self_attn.k_proj.weight"),
                    v: p("self_attn.v_proj.weight"),
                    bias: cfg.attention_bias.then(|| {
                        [
                            p("self_attn.q_proj.bias"),
                            p("self_attn.k_proj.bias"),
                            p("self_attn.v_proj.bias"),
                        ]
                    }),
                    o: p("self_attn.o_proj.weight"),
                    post_attention_layernorm: p("post_attention_layernorm.weight"),
                    gate: p("mlp.gate_proj.weight"),
                    up: p("mlp.up_proj.weight"),
                    down: p("mlp.down_proj.weight"),
                }
            })
            .collect();
        let lm_head = (!cfg.tie_word_embeddings).then(|| at("lm_head.weight"));
        Self {
            embed: at("model.embed_tokens.weight"),
            layers,
            norm: at("model.norm.weight"),
            lm_head,
            names,
            shapes,
        }
    }

    /// The output matrix (the embedding when tied).
    pub fn head(&self) -> usize {
        self.lm_head.unwrap_or(self.embed)
    }

    /// Zeros shaped like every parameter.
    pub fn zeros(&self) -> Vec<Vec<f32>> {
        self.shapes.iter().map(|s| vec![0.0; s.iter().product()]).collect()
    }

    /// The parameters of `host`, in order; `Err(name)` for one missing or misshapen.
    pub fn from_host(&self, host: &HostTensors, prefix: &str) -> Result<Vec<Vec<f32>>, String> {
        self.names
            .iter()
            .zip(&self.shapes)
            .map(|(name, shape)| {
                let key = format!("{prefix}{name}");
                match host.get(&key) {
                    Some((s, v))
                        if s.iter().product::<usize>() == shape.iter().product::<usize>() =>
                    {
                        Ok(v.clone())
                    }
                    Some((s, _)) => Err(format!("`{key}` has shape {s:?}, expected {shape:?}")),
                    None => Err(format!("`{key}` missing")),
                }
            })
            .collect()
    }

    /// `values` under their HF names and shapes (with `prefix`).
    pub fn to_host(&self, values: &[Vec<f32>], prefix: &str, out: &mut HostTensors) {
        for ((name, shape), v) in self.names.iter().zip(&self.shapes).zip(values) {
            out.insert(format!("{prefix}{name}"), (shape.clone(), v.clone()));
        }
    }
}
