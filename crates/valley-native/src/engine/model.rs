//! The decoder's weights for the engine: projections as [`QMatrix`] (a GGUF file's blocks as
//! stored, or f32 from an HF folder), norms and biases as f32 vectors.

use std::path::Path;

use crate::config::{ModelConfig, held_shape, parameter_shapes};
use crate::gguf::{self, RawTensor};
use crate::quant::quantize::quantize_weights;
use crate::quant::{GgmlType, Isa, QMatrix};
use crate::tensors::HostTensors;
use crate::weights::LoadModelError;

/// One decoder layer.
#[derive(Debug, Clone)]
pub struct Layer {
    pub input_layernorm: Vec<f32>,
    pub q_proj: QMatrix,
    pub k_proj: QMatrix,
    pub v_proj: QMatrix,
    /// q, k and v biases (Qwen2).
    pub qkv_bias: Option<[Vec<f32>; 3]>,
    pub o_proj: QMatrix,
    pub post_attention_layernorm: Vec<f32>,
    pub gate_proj: QMatrix,
    pub up_proj: QMatrix,
    pub down_proj: QMatrix,
}

/// A causal language model ready for the engine.
#[derive(Debug, Clone)]
pub struct QuantLm {
    pub config: ModelConfig,
    pub embed_tokens: QMatrix,
    pub layers: Vec<Layer>,
    pub norm: Vec<f32>,
    /// `None` when tied to the embedding.
    pub lm_head: Option<QMatrix>,
    /// The kernels this model runs with.
    pub isa: Isa,
}

/// A named weight, as the loaders hand it over.
enum Weight {
    Matrix(QMatrix),
    Vector(Vec<f32>),
}

impl QuantLm {
    /// Loads a model: a GGUF file's tensors as stored (quantised), or an HF folder's as f32.
    pub fn load(path: &Path, isa: Isa) -> Result<Self, LoadModelError> {
        if path.extension().is_some_and(|e| e == "gguf") {
            let gguf_err = |source| LoadModelError::Gguf { path: path.to_path_buf(), source };
            let g = gguf::read_header(path).map_err(gguf_err)?;
            let config = g.config().map_err(gguf_err)?;
            let mut weights = std::collections::HashMap::new();
            gguf::read_raw(path, &g, &config, |t: RawTensor| {
                let w = raw_weight(t.ty, &t.shape, t.bytes)
                    .map_err(|m| gguf::GgufError::Tensor(t.name.clone(), m))?;
                weights.insert(t.name, w);
                Ok(())
            })
            .map_err(gguf_err)?;
            return Self::build(config, weights, path, isa);
        }
        let (config, host) = crate::weights::load_host(path)?;
        Self::from_host(config, &host, path, isa)
    }

    /// A model from f32 host tensors (an HF folder, a checkpoint being trained).
    pub fn from_host(
        config: ModelConfig,
        host: &HostTensors,
        source: &Path,
        isa: Isa,
    ) -> Result<Self, LoadModelError> {
        let weights = host
            .iter()
            .map(|(name, (shape, values))| {
                let w = match shape.as_slice() {
                    [r, c] => Weight::Matrix(QMatrix::from_f32(*r, *c, values)),
                    _ => Weight::Vector(values.clone()),
                };
                (name.clone(), w)
            })
            .collect();
        Self::build(config, weights, source, isa)
    }

    fn build(
        config: ModelConfig,
        mut weights: std::collections::HashMap<String, Weight>,
        source: &Path,
        isa: Isa,
    ) -> Result<Self, LoadModelError> {
        let bad = |name: &str, message: String| LoadModelError::Tensor {
            path: source.to_path_buf(),
            name: name.to_owned(),
            message,
        };
        let shapes: std::collections::HashMap<String, Vec<usize>> =
            parameter_shapes(&config).into_iter().collect();
        let mut take = |name: String| -> Result<Weight, LoadModelError> {
            let w = weights.remove(&name).ok_or_else(|| bad(&name, "missing".into()))?;
            let expect = held_shape(&shapes[&name]);
            let got = match &w {
                Weight::Matrix(m) => [m.rows, m.cols],
                Weight::Vector(v) => [1, v.len()],
            };
            if got != expect {
                return Err(bad(&name, format!("shape {got:?}, expected {expect:?} (the config)")));
            }
            Ok(w)
        };
        let matrix = |w: Weight, name: &str| match w {
            Weight::Matrix(m) => Ok(m),
            Weight::Vector(_) => Err(bad(name, "is a vector, expected a matrix".into())),
        };
        let vector = |w: Weight, name: &str| match w {
            Weight::Vector(v) => Ok(v),
            Weight::Matrix(m) if m.rows == 1 => {
                let mut v = Vec::new();
                m.row_f32(0, &mut v);
                Ok(v)
            }
            Weight::Matrix(_) => Err(bad(name, "is a matrix, expected a vector".into())),
        };
        let mut mat = |n: String| -> Result<QMatrix, LoadModelError> {
            let w = take(n.clone())?;
            matrix(w, &n).map(|m| m.prepared(isa))
        };
        let embed_tokens = mat("model.embed_tokens.weight".into())?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let q_proj = mat(format!("{p}.self_attn.q_proj.weight"))?;
            let k_proj = mat(format!("{p}.self_attn.k_proj.weight"))?;
            let v_proj = mat(format!("{p}.self_attn.v_proj.weight"))?;
            let o_proj = mat(format!("{p}.self_attn.o_proj.weight"))?;
            let gate_proj = mat(format!("{p}.mlp.gate_proj.weight"))?;
            let up_proj = mat(format!("{p}.mlp.up_proj.weight"))?;
            let down_proj = mat(format!("{p}.mlp.down_proj.weight"))?;
            layers.push(Layer {
                input_layernorm: Vec::new(),
                q_proj,
                k_proj,
                v_proj,
                qkv_bias: None,
                o_proj,
                post_attention_layernorm: Vec::new(),
                gate_proj,
                up_proj,
                down_proj,
            });
        }
        let mut vec = |n: String| -> Result<Vec<f32>, LoadModelError> {
            let w = take(n.clone())?;
            vector(w, &n)
        };
        for (i, layer) in layers.iter_mut().enumerate() {
            let p = format!("model.layers.{i}");
            layer.input_layernorm = vec(format!("{p}.input_layernorm.weight"))?;
            layer.post_attention_layernorm = vec(format!("{p}.post_attention_layernorm.weight"))?;
            if config.attention_bias {
                layer.qkv_bias = Some([
                    vec(format!("{p}.self_attn.q_proj.bias"))?,
                    vec(format!("{p}.self_attn.k_proj.bias"))?,
                    vec(format!("{p}.self_attn.v_proj.bias"))?,
                ]);
            }
        }
        let norm = vec("model.norm.weight".into())?;
        let lm_head = if config.tie_word_embeddings {
            None
        } else {
            let w = take("lm_head.weight".into())?;
            Some(matrix(w, "lm_head.weight")?.prepared(isa))
        };
        Ok(Self { config, embed_tokens, layers, norm, lm_head, isa })
    }

    /// The output matrix `[vocab, hidden]` (the embedding when tied).
    pub fn head(&self) -> &QMatrix {
        self.lm_head.as_ref().unwrap_or(&self.embed_tokens)
    }

    /// Bytes of weights held.
    pub fn weight_bytes(&self) -> usize {
        let l: usize = self
            .layers
            .iter()
            .map(|l| {
                [&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj]
                    .iter()
                    .map(|m| m.bytes())
                    .sum::<usize>()
            })
            .sum();
        l + self.embed_tokens.bytes() + self.lm_head.as_ref().map_or(0, QMatrix::bytes)
    }

    /// The weight types in use, each with its count of matrices (for the server's start line).
    pub fn weight_types(&self) -> Vec<(GgmlType, usize)> {
        let mut counts: Vec<(GgmlType, usize)> = Vec::new();
        let mut add = |t: GgmlType| match counts.iter_mut().find(|(u, _)| *u == t) {
            Some((_, n)) => *n += 1,
            None => counts.push((t, 1)),
        };
        add(self.embed_tokens.ty);
        for l in &self.layers {
            for m in
                [&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj]
            {
                add(m.ty);
            }
        }
        if let Some(h) = &self.lm_head {
            add(h.ty);
        }
        counts
    }

    /// The model with every projection (and a separate output head) requantised to `ty`
    /// where its rows are whole blocks of `ty`; the others, and the embedding, stay as they are.
    /// (`valley serve --quantize`: an f32 checkpoint served with 8-bit weights.)
    pub fn requantize(mut self, ty: GgmlType) -> Self {
        let isa = self.isa;
        let convert = |m: &mut QMatrix| {
            if m.ty == ty || !m.cols.is_multiple_of(ty.block().0) {
                return;
            }
            let mut values = Vec::with_capacity(m.cols);
            let mut bytes = Vec::with_capacity(ty.bytes_for(m.rows * m.cols));
            for r in 0..m.rows {
                values.clear();
                m.row_f32(r, &mut values);
                if quantize_weights(ty, &values, &mut bytes).is_none() {
                    return;
                }
            }
            *m = QMatrix::new(ty, m.rows, m.cols, bytes)
                .expect("whole blocks of the right length")
                .prepared(isa);
        };
        for l in &mut self.layers {
            for m in [
                &mut l.q_proj,
                &mut l.k_proj,
                &mut l.v_proj,
                &mut l.o_proj,
                &mut l.gate_proj,
                &mut l.up_proj,
                &mut l.down_proj,
            ] {
                convert(m);
            }
        }
        if let Some(h) = &mut self.lm_head {
            convert(h);
        }
        self
    }
}

/// A GGUF tensor as a weight: matrices kept in their blocks, vectors (norms, biases) as f32.
fn raw_weight(ty: GgmlType, shape: &[usize], bytes: Vec<u8>) -> Result<Weight, String> {
    match shape {
        [r, c] => QMatrix::new(ty, *r, *c, bytes).map(Weight::Matrix).map_err(|e| e.to_string()),
        [_] => {
            let mut v = Vec::new();
            crate::quant::dequant::dequantize(ty, &bytes, &mut v);
            Ok(Weight::Vector(v))
        }
        other => Err(format!("rank {} is not a vector or a matrix", other.len())),
    }
}
