//! A model's architecture as HF `config.json` states it, with each family's defaults.

use serde::{Deserialize, Serialize};

/// The two model families we implement. Qwen2 is Llama with biases on the q, k and v
/// projections and its own defaults (`modeling_qwen2.py` vs `modeling_llama.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `model_type = "llama"` (Llama 2/3, SmolLM2, TinyLlama, …).
    Llama,
    /// `model_type = "qwen2"` (Qwen2, Qwen2.5).
    Qwen2,
}

impl Family {
    /// The HF `architectures` entry.
    pub fn architecture(self) -> &'static str {
        match self {
            Self::Llama => "LlamaForCausalLM",
            Self::Qwen2 => "Qwen2ForCausalLM",
        }
    }
}

/// The architecture of a decoder: the fields of HF's `LlamaConfig` / `Qwen2Config` we use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Which family's code and defaults apply.
    pub model_type: Family,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    /// Per-head width; `hidden_size / num_attention_heads` when absent.
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    /// Llama-3.1's "llama3" rotary frequency scaling; `None` for plain rotary embeddings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<Llama3RopeScaling>,
    pub max_position_embeddings: usize,
    /// The output head shares the token embedding matrix.
    pub tie_word_embeddings: bool,
    /// Biases on q, k and v (always on for Qwen2; Llama's `attention_bias`).
    pub attention_bias: bool,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<u32>,
}

/// The "llama3" rotary scaling of Llama 3.1 (transformers' `_compute_llama3_parameters`): long
/// wavelengths are divided by `factor`, short ones kept, the band between interpolated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Llama3RopeScaling {
    pub factor: f64,
    pub low_freq_factor: f64,
    pub high_freq_factor: f64,
    pub original_max_position_embeddings: usize,
}

impl Llama3RopeScaling {
    /// Scales the inverse frequencies of a rotary table, as transformers does.
    pub fn apply(&self, inv_freq: &mut [f64]) {
        let old = self.original_max_position_embeddings as f64;
        let low_wavelen = old / self.low_freq_factor;
        let high_wavelen = old / self.high_freq_factor;
        for f in inv_freq {
            let wavelen = 2.0 * std::f64::consts::PI / *f;
            if wavelen > low_wavelen {
                *f /= self.factor;
            } else if wavelen >= high_wavelen {
                let smooth = (old / wavelen - self.low_freq_factor)
                    / (self.high_freq_factor - self.low_freq_factor);
                *f = (1.0 - smooth) * *f / self.factor + smooth * *f;
            }
        }
    }
}

/// `config.json` as written by transformers: every field optional so each family fills its own
/// defaults, unknown fields ignored (configs carry many we do not use).
#[derive(Debug, Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    architectures: Option<Vec<String>>,
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: Option<f64>,
    rope_theta: Option<f64>,
    max_position_embeddings: Option<usize>,
    tie_word_embeddings: Option<bool>,
    attention_bias: Option<bool>,
    /// transformers 4's rotary scaling (`rope_theta` beside it).
    rope_scaling: Option<serde_json::Value>,
    /// transformers 5's rotary parameters: `rope_theta` and `rope_type` (+ the scaling's fields).
    rope_parameters: Option<serde_json::Value>,
    bos_token_id: Option<serde_json::Value>,
    eos_token_id: Option<serde_json::Value>,
}

/// Why a `config.json` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid JSON")]
    Json(#[source] serde_json::Error),
    #[error("field `model_type`: {0:?} is not a supported family (llama, qwen2)")]
    Family(String),
    #[error("field `{0}`: {1}")]
    Field(&'static str, String),
}

impl ModelConfig {
    /// Parses HF `config.json` text, applying the family's defaults for absent fields.
    pub fn from_hf_json(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = serde_json::from_str(text).map_err(ConfigError::Json)?;
        let family = match raw.model_type.as_deref() {
            Some("llama") => Family::Llama,
            Some("qwen2") => Family::Qwen2,
            Some(other) => return Err(ConfigError::Family(other.to_owned())),
            None => {
                match raw.architectures.as_deref().and_then(|a| a.first()).map(String::as_str) {
                    Some("LlamaForCausalLM") => Family::Llama,
                    Some("Qwen2ForCausalLM") => Family::Qwen2,
                    other => return Err(ConfigError::Family(format!("{other:?}"))),
                }
            }
        };
        let (rope_theta, rope_scaling) = rope(&raw)?;
        // Defaults of transformers' LlamaConfig and Qwen2Config.
        let (vocab, hidden, inter, layers, heads, eps, theta, max_pos, tie) = match family {
            Family::Llama => (32000, 4096, 11008, 32, 32, 1e-6, 10000.0, 2048, false),
            Family::Qwen2 => (151936, 4096, 22016, 32, 32, 1e-6, 10000.0, 32768, false),
        };
        let num_attention_heads = raw.num_attention_heads.unwrap_or(heads);
        let hidden_size = raw.hidden_size.unwrap_or(hidden);
        let cfg = Self {
            model_type: family,
            vocab_size: raw.vocab_size.unwrap_or(vocab),
            hidden_size,
            intermediate_size: raw.intermediate_size.unwrap_or(inter),
            num_hidden_layers: raw.num_hidden_layers.unwrap_or(layers),
            num_attention_heads,
            num_key_value_heads: raw.num_key_value_heads.unwrap_or(num_attention_heads),
            head_dim: raw.head_dim.unwrap_or(hidden_size / num_attention_heads.max(1)),
            rms_norm_eps: raw.rms_norm_eps.unwrap_or(eps),
            rope_theta: rope_theta.unwrap_or(theta),
            rope_scaling,
            max_position_embeddings: raw.max_position_embeddings.unwrap_or(max_pos),
            tie_word_embeddings: raw.tie_word_embeddings.unwrap_or(tie),
            attention_bias: match family {
                Family::Qwen2 => true,
                Family::Llama => raw.attention_bias.unwrap_or(false),
            },
            bos_token_id: first_id(raw.bos_token_id.as_ref()),
            eos_token_id: first_id(raw.eos_token_id.as_ref()),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the shapes fit together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("head_dim", self.head_dim),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(ConfigError::Field(name, "must be positive".into()));
            }
        }
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return Err(ConfigError::Field(
                "num_key_value_heads",
                format!(
                    "{} does not divide num_attention_heads {}",
                    self.num_key_value_heads, self.num_attention_heads
                ),
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(ConfigError::Field("head_dim", "must be even (rotary pairs)".into()));
        }
        Ok(())
    }

    /// HF `config.json` for this architecture, loadable by transformers' `AutoConfig`.
    pub fn to_hf_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "architectures": [self.model_type.architecture()],
            "model_type": self.model_type,
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "float32",
            "use_cache": true,
        });
        let map = v.as_object_mut().expect("a JSON object literal");
        if let Some(r) = &self.rope_scaling {
            // the transformers 4 form, which transformers 5 still reads
            map.insert(
                "rope_scaling".into(),
                serde_json::json!({
                    "rope_type": "llama3",
                    "factor": r.factor,
                    "low_freq_factor": r.low_freq_factor,
                    "high_freq_factor": r.high_freq_factor,
                    "original_max_position_embeddings": r.original_max_position_embeddings,
                }),
            );
        }
        if self.model_type == Family::Llama {
            map.insert("attention_bias".into(), self.attention_bias.into());
            map.insert("mlp_bias".into(), false.into());
        }
        if let Some(id) = self.bos_token_id {
            map.insert("bos_token_id".into(), id.into());
        }
        if let Some(id) = self.eos_token_id {
            map.insert("eos_token_id".into(), id.into());
        }
        v
    }

    /// Number of scalar parameters.
    pub fn parameter_count(&self) -> usize {
        parameter_shapes(self).iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }
}

/// The rotary base and scaling, from `rope_theta` + `rope_scaling` (transformers 4) or
/// `rope_parameters` (transformers 5, which writes the base inside it).
fn rope(raw: &RawConfig) -> Result<(Option<f64>, Option<Llama3RopeScaling>), ConfigError> {
    let present = |v: &Option<serde_json::Value>| v.as_ref().filter(|v| !v.is_null()).cloned();
    let (field, params) = match (present(&raw.rope_parameters), present(&raw.rope_scaling)) {
        (Some(p), _) => ("rope_parameters", p),
        (None, Some(s)) => ("rope_scaling", s),
        (None, None) => return Ok((raw.rope_theta, None)),
    };
    let obj = params
        .as_object()
        .ok_or_else(|| ConfigError::Field(field, format!("{params} is not an object")))?;
    let theta =
        raw.rope_theta.or_else(|| obj.get("rope_theta").and_then(serde_json::Value::as_f64));
    let kind = obj.get("rope_type").or_else(|| obj.get("type")).and_then(serde_json::Value::as_str);
    match kind {
        None | Some("default") => Ok((theta, None)),
        Some("llama3") => {
            let num = |k: &str| {
                obj.get(k).and_then(serde_json::Value::as_f64).ok_or_else(|| {
                    ConfigError::Field(field, format!("`{k}` missing or not a number"))
                })
            };
            let scaling = Llama3RopeScaling {
                factor: num("factor")?,
                low_freq_factor: num("low_freq_factor")?,
                high_freq_factor: num("high_freq_factor")?,
                original_max_position_embeddings: num("original_max_position_embeddings")? as usize,
            };
            if scaling.factor <= 0.0 || scaling.high_freq_factor <= scaling.low_freq_factor {
                return Err(ConfigError::Field(
                    field,
                    "llama3 needs factor > 0 and high_freq_factor > low_freq_factor".into(),
                ));
            }
            Ok((theta, Some(scaling)))
        }
        Some(other) => Err(ConfigError::Field(
            field,
            format!("rope type {other:?} is not supported (default and llama3 are)"),
        )),
    }
}

fn first_id(v: Option<&serde_json::Value>) -> Option<u32> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::Array(a) => a.first().and_then(|n| n.as_u64()).map(|n| n as u32),
        _ => None,
    }
}

/// The HF names and shapes of every parameter, in checkpoint order.
pub fn parameter_shapes(cfg: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let h = cfg.hidden_size;
    let q = cfg.num_attention_heads * cfg.head_dim;
    let kv = cfg.num_key_value_heads * cfg.head_dim;
    let mut out = vec![("model.embed_tokens.weight".to_owned(), vec![cfg.vocab_size, h])];
    for i in 0..cfg.num_hidden_layers {
        let p = format!("model.layers.{i}");
        out.push((format!("{p}.input_layernorm.weight"), vec![h]));
        for (name, rows) in [("q_proj", q), ("k_proj", kv), ("v_proj", kv)] {
            out.push((format!("{p}.self_attn.{name}.weight"), vec![rows, h]));
            if cfg.attention_bias {
                out.push((format!("{p}.self_attn.{name}.bias"), vec![rows]));
            }
        }
        out.push((format!("{p}.self_attn.o_proj.weight"), vec![h, q]));
        out.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
        out.push((format!("{p}.mlp.gate_proj.weight"), vec![cfg.intermediate_size, h]));
        out.push((format!("{p}.mlp.up_proj.weight"), vec![cfg.intermediate_size, h]));
        out.push((format!("{p}.mlp.down_proj.weight"), vec![h, cfg.intermediate_size]));
    }
    out.push(("model.norm.weight".to_owned(), vec![h]));
    if !cfg.tie_word_embeddings {
        out.push(("lm_head.weight".to_owned(), vec![cfg.vocab_size, h]));
    }
    out
}

/// The rank-2 shape a parameter is held in (`[n]` → `[1, n]`).
pub fn held_shape(shape: &[usize]) -> [usize; 2] {
    match shape {
        [n] => [1, *n],
        [r, c] => [*r, *c],
        _ => unreachable!("bug: parameters are vectors or matrices; please report"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qwen2_gets_qkv_bias_and_llama_does_not() {
        let q = ModelConfig::from_hf_json(
            r#"{"model_type":"qwen2","hidden_size":64,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":10,"intermediate_size":8,"num_hidden_layers":1}"#,
        )
        .unwrap();
        assert!(q.attention_bias);
        assert_eq!(q.head_dim, 16);
        let l = ModelConfig::from_hf_json(
            r#"{"model_type":"llama","hidden_size":64,"num_attention_heads":4,"vocab_size":10,"intermediate_size":8,"num_hidden_layers":1,"tie_word_embeddings":true,"eos_token_id":[7,8]}"#,
        )
        .unwrap();
        assert!(!l.attention_bias);
        assert!(l.tie_word_embeddings);
        assert_eq!(l.num_key_value_heads, 4);
        assert_eq!(l.eos_token_id, Some(7));
        let back = ModelConfig::from_hf_json(&l.to_hf_json().to_string()).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn bad_configs_name_the_field() {
        let e = ModelConfig::from_hf_json(r#"{"model_type":"gpt2"}"#).unwrap_err();
        assert!(e.to_string().contains("model_type"), "{e}");
        let e = ModelConfig::from_hf_json(
            r#"{"model_type":"llama","num_attention_heads":4,"num_key_value_heads":3}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("num_key_value_heads"), "{e}");
    }

    #[test]
    fn rotary_settings_of_transformers_4_and_5() {
        let base = r#""model_type":"llama","hidden_size":64,"num_attention_heads":4,"vocab_size":10,"intermediate_size":8,"num_hidden_layers":1"#;
        // transformers 5 writes the base inside rope_parameters, and no rope_theta
        let v5 = format!(
            r#"{{{base},"rope_parameters":{{"rope_theta":1000000.0,"rope_type":"default"}}}}"#
        );
        let c = ModelConfig::from_hf_json(&v5).unwrap();
        assert_eq!((c.rope_theta, c.rope_scaling), (1e6, None));
        let llama3 = r#""factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192"#;
        let v4 = format!(
            r#"{{{base},"rope_theta":500000.0,"rope_scaling":{{"rope_type":"llama3",{llama3}}}}}"#
        );
        let v5 = format!(
            r#"{{{base},"rope_parameters":{{"rope_theta":500000.0,"rope_type":"llama3",{llama3}}}}}"#
        );
        let (a, b) =
            (ModelConfig::from_hf_json(&v4).unwrap(), ModelConfig::from_hf_json(&v5).unwrap());
        assert_eq!(a, b);
        assert_eq!(a.rope_theta, 500000.0);
        let s = a.rope_scaling.unwrap();
        assert_eq!((s.factor, s.original_max_position_embeddings), (8.0, 8192));
        assert_eq!(ModelConfig::from_hf_json(&a.to_hf_json().to_string()).unwrap(), a);
        // transformers' llama3 table: high frequencies kept, low ones divided by 8, the band
        // between interpolated (wavelengths 2048 and 8192 at these settings)
        let mut inv =
            vec![1.0, 2.0 * std::f64::consts::PI / 4096.0, 2.0 * std::f64::consts::PI / 10000.0];
        s.apply(&mut inv);
        assert_eq!(inv[0], 1.0);
        let smooth = (8192.0 / 4096.0 - 1.0) / 3.0;
        let f = 2.0 * std::f64::consts::PI / 4096.0;
        assert!((inv[1] - ((1.0 - smooth) * f / 8.0 + smooth * f)).abs() < 1e-15);
        assert!((inv[2] - 2.0 * std::f64::consts::PI / 10000.0 / 8.0).abs() < 1e-15);
        let yarn = format!(r#"{{{base},"rope_scaling":{{"rope_type":"yarn","factor":4.0}}}}"#);
        let e = ModelConfig::from_hf_json(&yarn).unwrap_err().to_string();
        assert!(e.contains("rope_scaling") && e.contains("yarn"), "{e}");
        let partial = format!(r#"{{{base},"rope_scaling":{{"rope_type":"llama3","factor":8.0}}}}"#);
        let e = ModelConfig::from_hf_json(&partial).unwrap_err().to_string();
        assert!(e.contains("low_freq_factor"), "{e}");
    }
}
