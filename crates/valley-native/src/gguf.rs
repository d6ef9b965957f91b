//! GGUF files (llama.cpp's format): metadata, tensors under their HF names (as stored, for the
//! quantised engine, or dequantised to f32), and the tokenizer and chat template the metadata
//! carries.
//!
//! llama.cpp's converter permutes the rows of `q_proj` and `k_proj` of llama-architecture
//! models (its rotary embedding pairs adjacent dimensions, HF's pairs the two halves of a
//! head); [`read_gguf`] undoes that so the weights are HF's again. Qwen2 files are not permuted.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::config::{Family, ModelConfig};
use crate::quant::GgmlType;
use crate::quant::dequant::dequantize;
use crate::tensors::HostTensors;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
}

impl Value {
    fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Int(i) => u64::try_from(*i).ok(),
            _ => None,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(f) => Some(*f),
            Self::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Why a GGUF file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("read failed")]
    Io(#[from] std::io::Error),
    #[error("not a GGUF file (magic {0:?})")]
    Magic([u8; 4]),
    #[error("unsupported GGUF version {0}")]
    Version(u32),
    #[error("metadata `{0}`: {1}")]
    Metadata(String, String),
    #[error("tensor `{0}`: {1}")]
    Tensor(String, String),
}

/// A tensor's place in the file.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    /// GGUF order: `dims[0]` is the innermost (contiguous) axis.
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    pub offset: u64,
}

/// A parsed GGUF header.
#[derive(Debug, Clone)]
pub struct Gguf {
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    data_start: u64,
}

struct Reader<R> {
    r: R,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn string(&mut self) -> Result<String, GgufError> {
        let n = self.u64()?;
        if n > 1 << 30 {
            return Err(GgufError::Metadata("<string>".into(), format!("length {n} too large")));
        }
        let mut buf = vec![0u8; n as usize];
        self.r.read_exact(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
    fn value(&mut self, ty: u32, key: &str) -> Result<Value, GgufError> {
        Ok(match ty {
            0 => Value::Int(i64::from(self.bytes::<1>()?[0])),
            1 => Value::Int(i64::from(self.bytes::<1>()?[0] as i8)),
            2 => Value::Int(i64::from(u16::from_le_bytes(self.bytes()?))),
            3 => Value::Int(i64::from(i16::from_le_bytes(self.bytes()?))),
            4 => Value::Int(i64::from(self.u32()?)),
            5 => Value::Int(i64::from(i32::from_le_bytes(self.bytes()?))),
            6 => Value::Float(f64::from(f32::from_le_bytes(self.bytes()?))),
            7 => Value::Bool(self.bytes::<1>()?[0] != 0),
            8 => Value::Str(self.string()?),
            9 => {
                let elem = self.u32()?;
                let n = self.u64()?;
                if n > 1 << 28 {
                    return Err(GgufError::Metadata(key.into(), format!("array of {n} too large")));
                }
                let mut out = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    out.push(self.value(elem, key)?);
                }
                Value::Array(out)
            }
            10 => Value::Int(self.u64()? as i64),
            11 => Value::Int(i64::from_le_bytes(self.bytes()?)),
            12 => Value::Float(f64::from_le_bytes(self.bytes()?)),
            other => {
                return Err(GgufError::Metadata(key.into(), format!("unknown value type {other}")));
            }
        })
    }
}

/// Reads the header (metadata and tensor table) of a GGUF file.
pub fn read_header(path: &Path) -> Result<Gguf, GgufError> {
    let file = fs_err::File::open(path)?;
    let mut r = Reader { r: std::io::BufReader::new(file) };
    let magic = r.bytes::<4>()?;
    if &magic != b"GGUF" {
        return Err(GgufError::Magic(magic));
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::Version(version));
    }
    let n_tensors = r.u64()?;
    let n_kv = r.u64()?;
    let mut metadata = BTreeMap::new();
    for _ in 0..n_kv {
        let key = r.string()?;
        let ty = r.u32()?;
        let value = r.value(ty, &key)?;
        metadata.insert(key, value);
    }
    let mut tensors = Vec::with_capacity(n_tensors as usize);
    for _ in 0..n_tensors {
        let name = r.string()?;
        let nd = r.u32()?;
        let dims = (0..nd).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?;
        let ggml_type = r.u32()?;
        let offset = r.u64()?;
        tensors.push(TensorInfo { name, dims, ggml_type, offset });
    }
    let alignment = metadata.get("general.alignment").and_then(Value::as_u64).unwrap_or(32);
    let pos = r.r.stream_position()?;
    let data_start = pos.div_ceil(alignment) * alignment;
    Ok(Gguf { metadata, tensors, data_start })
}

/// The HF name of a GGUF tensor name (`blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`).
pub fn hf_name(gguf_name: &str) -> Option<String> {
    let fixed = match gguf_name {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_owned());
    }
    let rest = gguf_name.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (part, kind) = rest.rsplit_once('.')?;
    let hf = match part {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.{kind}"))
}

impl Gguf {
    fn meta(&self, key: &str) -> Result<&Value, GgufError> {
        self.metadata.get(key).ok_or_else(|| GgufError::Metadata(key.into(), "missing".into()))
    }

    fn meta_u(&self, key: &str) -> Result<usize, GgufError> {
        self.meta(key)?
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| GgufError::Metadata(key.into(), "not an integer".into()))
    }

    /// The architecture (`general.architecture`) as a family.
    pub fn family(&self) -> Result<Family, GgufError> {
        match self.meta("general.architecture")?.as_str() {
            Some("llama") => Ok(Family::Llama),
            Some("qwen2") => Ok(Family::Qwen2),
            other => Err(GgufError::Metadata(
                "general.architecture".into(),
                format!("{other:?} is not a supported family (llama, qwen2)"),
            )),
        }
    }

    /// The model configuration its metadata describes.
    pub fn config(&self) -> Result<ModelConfig, GgufError> {
        let family = self.family()?;
        let arch = match family {
            Family::Llama => "llama",
            Family::Qwen2 => "qwen2",
        };
        let key = |k: &str| format!("{arch}.{k}");
        let hidden = self.meta_u(&key("embedding_length"))?;
        let heads = self.meta_u(&key("attention.head_count"))?;
        let kv = self.meta_u(&key("attention.head_count_kv")).unwrap_or(heads);
        let vocab = match self.meta_u(&key("vocab_size")) {
            Ok(v) => v,
            Err(_) => match self.meta("tokenizer.ggml.tokens")? {
                Value::Array(a) => a.len(),
                _ => {
                    return Err(GgufError::Metadata(
                        "tokenizer.ggml.tokens".into(),
                        "not an array".into(),
                    ));
                }
            },
        };
        let f = |k: &str, default: f64| {
            self.metadata.get(&key(k)).and_then(Value::as_f64).unwrap_or(default)
        };
        if self.tensors.iter().any(|t| t.name == "rope_freqs.weight") {
            // llama.cpp stores Llama-3.1's rotary scaling only as this table of per-frequency
            // divisors; reading the model without it would silently change every position.
            return Err(GgufError::Tensor(
                "rope_freqs.weight".into(),
                "Llama-3.1's rotary scaling is not supported from GGUF; load the HF checkpoint (its llama3 rope scaling is)".into(),
            ));
        }
        let tied = !self.tensors.iter().any(|t| t.name == "output.weight");
        let cfg = ModelConfig {
            model_type: family,
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: self.meta_u(&key("feed_forward_length"))?,
            num_hidden_layers: self.meta_u(&key("block_count"))?,
            num_attention_heads: heads,
            num_key_value_heads: kv,
            head_dim: self.meta_u(&key("rope.dimension_count")).unwrap_or(hidden / heads.max(1)),
            rms_norm_eps: f("attention.layer_norm_rms_epsilon", 1e-6),
            rope_theta: f("rope.freq_base", 10000.0),
            rope_scaling: None,
            max_position_embeddings: self.meta_u(&key("context_length")).unwrap_or(2048),
            tie_word_embeddings: tied,
            attention_bias: family == Family::Qwen2,
            bos_token_id: self
                .metadata
                .get("tokenizer.ggml.bos_token_id")
                .and_then(Value::as_u64)
                .map(|v| v as u32),
            eos_token_id: self
                .metadata
                .get("tokenizer.ggml.eos_token_id")
                .and_then(Value::as_u64)
                .map(|v| v as u32),
        };
        cfg.validate().map_err(|e| GgufError::Metadata(arch.into(), e.to_string()))?;
        Ok(cfg)
    }
}

/// A tensor of the file as stored: its type, HF name and HF shape (outermost first), and its
/// bytes with llama.cpp's q/k row permutation undone (rows are whole blocks, so this holds for
/// quantised tensors too).
#[derive(Debug, Clone)]
pub struct RawTensor {
    pub name: String,
    pub ty: GgmlType,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

/// Reads every model tensor of a GGUF file as stored (no dequantisation), under HF names, in
/// HF row order; `f` sees each one as it is read.
pub fn read_raw(
    path: &Path,
    g: &Gguf,
    cfg: &ModelConfig,
    mut f: impl FnMut(RawTensor) -> Result<(), GgufError>,
) -> Result<(), GgufError> {
    let mut file = fs_err::File::open(path)?;
    for t in &g.tensors {
        let Some(name) = hf_name(&t.name) else {
            // derived tables llama.cpp may add (rope_freqs is refused in `config`)
            continue;
        };
        let ty =
            GgmlType::from_id(t.ggml_type).filter(|t| !matches!(t, GgmlType::Q8_1 | GgmlType::Q8K));
        let ty = ty.ok_or_else(|| {
            GgufError::Tensor(t.name.clone(), format!("ggml type {} is not supported (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K are)", t.ggml_type))
        })?;
        // GGUF dims are innermost first; HF shapes outermost first.
        let shape: Vec<usize> = t.dims.iter().rev().map(|&d| d as usize).collect();
        let n: usize = shape.iter().product();
        let (per, _) = ty.block();
        let inner = shape.last().copied().unwrap_or(1);
        if !inner.is_multiple_of(per) {
            return Err(GgufError::Tensor(
                t.name.clone(),
                format!("rows of {inner} values are not whole {} blocks", ty.name()),
            ));
        }
        let mut bytes = vec![0u8; ty.bytes_for(n)];
        file.seek(SeekFrom::Start(g.data_start + t.offset))?;
        file.read_exact(&mut bytes)?;
        if cfg.model_type == Family::Llama {
            let heads = if name.contains("q_proj.") {
                Some(cfg.num_attention_heads)
            } else if name.contains("k_proj.") {
                Some(cfg.num_key_value_heads)
            } else {
                None
            };
            if let Some(heads) = heads {
                let rows = shape[0];
                let row_bytes = bytes.len() / rows;
                let mut out = Vec::with_capacity(bytes.len());
                for src in llama_qk_order(rows, heads) {
                    out.extend_from_slice(&bytes[src * row_bytes..(src + 1) * row_bytes]);
                }
                bytes = out;
            }
        }
        f(RawTensor { name, ty, shape, bytes })?;
    }
    Ok(())
}

/// Reads a GGUF model: its config and every tensor dequantised to f32, under HF names, in HF
/// layout (`[out, in]` row-major; q/k rows un-permuted for llama).
pub fn read_gguf(path: &Path) -> Result<(ModelConfig, HostTensors), GgufError> {
    let g = read_header(path)?;
    let cfg = g.config()?;
    let mut out = BTreeMap::new();
    read_raw(path, &g, &cfg, |t| {
        let mut values = Vec::with_capacity(t.shape.iter().product());
        dequantize(t.ty, &t.bytes, &mut values);
        out.insert(t.name, (t.shape, values));
        Ok(())
    })?;
    Ok((cfg, out))
}

/// The inverse of llama.cpp's `permute(w, n_head)` as a row order: HF row `i` of a q or k
/// projection is GGUF row `order[i]`. Within each head, llama.cpp reordered the rows from
/// `[2, head_dim/2]` (HF halves) to `[head_dim/2, 2]` (interleaved pairs).
pub fn llama_qk_order(rows: usize, n_head: usize) -> Vec<usize> {
    let half = rows / n_head / 2;
    let mut order = vec![0; rows];
    for h in 0..n_head {
        for i in 0..half {
            for two in 0..2 {
                // GGUF row (h, i, two) holds HF row (h, two, i).
                order[(h * 2 + two) * half + i] = (h * half + i) * 2 + two;
            }
        }
    }
    order
}

/// The tokenizer the metadata carries, as a `tokenizer.json` document (HF `tokenizers` format),
/// and the special tokens and chat template of its `tokenizer_config.json`.
pub fn tokenizer_files(g: &Gguf) -> Result<(serde_json::Value, serde_json::Value), GgufError> {
    let model = g.meta("tokenizer.ggml.model")?.as_str().unwrap_or_default().to_owned();
    if model != "gpt2" {
        return Err(GgufError::Metadata(
            "tokenizer.ggml.model".into(),
            format!("{model:?} is not supported (only byte-level BPE, \"gpt2\")"),
        ));
    }
    let strings = |key: &str| -> Result<Vec<String>, GgufError> {
        match g.meta(key)? {
            Value::Array(a) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| GgufError::Metadata(key.into(), "not strings".into()))
                })
                .collect(),
            _ => Err(GgufError::Metadata(key.into(), "not an array".into())),
        }
    };
    let tokens = strings("tokenizer.ggml.tokens")?;
    let merges = strings("tokenizer.ggml.merges")?;
    let types: Vec<i64> = match g.metadata.get("tokenizer.ggml.token_type") {
        Some(Value::Array(a)) => {
            a.iter().map(|v| if let Value::Int(i) = v { *i } else { 1 }).collect()
        }
        _ => vec![1; tokens.len()],
    };
    let pre = g.metadata.get("tokenizer.ggml.pre").and_then(Value::as_str).unwrap_or("default");
    // llama.cpp's pre-tokenizer names and the HF pre-tokenizers they stand for.
    let pre_tokenizer = match pre {
        // SmolLM, StarCoder, Refact: each digit alone, then GPT-2's byte-level split.
        "smollm" | "starcoder" | "refact" => {
            serde_json::json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]})
        }
        "gpt2" | "default" => serde_json::json!(
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}),
        "qwen2" => serde_json::json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]}),
        other => {
            return Err(GgufError::Metadata(
                "tokenizer.ggml.pre".into(),
                format!(
                    "pre-tokenizer {other:?} is not supported (smollm, starcoder, refact, gpt2, qwen2)"
                ),
            ));
        }
    };
    let vocab: serde_json::Map<String, serde_json::Value> =
        tokens.iter().enumerate().map(|(i, t)| (t.clone(), i.into())).collect();
    // Control (3) and user-defined (4) tokens are matched whole, before the BPE.
    let added: Vec<serde_json::Value> = tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| matches!(types.get(*i), Some(3 | 4)))
        .map(|(i, t)| {
            serde_json::json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": types[i] == 3})
        })
        .collect();
    let tokenizer = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": merges},
    });
    let token = |key: &str| {
        g.metadata.get(key).and_then(Value::as_u64).and_then(|i| tokens.get(i as usize)).cloned()
    };
    let mut config = serde_json::json!({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": false,
        "model_max_length": g.config().map(|c| c.max_position_embeddings).unwrap_or(2048),
    });
    let map = config.as_object_mut().expect("a JSON object literal");
    for (hf, key) in [
        ("bos_token", "tokenizer.ggml.bos_token_id"),
        ("eos_token", "tokenizer.ggml.eos_token_id"),
        ("unk_token", "tokenizer.ggml.unknown_token_id"),
        ("pad_token", "tokenizer.ggml.padding_token_id"),
    ] {
        if let Some(t) = token(key) {
            map.insert(hf.into(), t.into());
        }
    }
    if let Some(t) = g.metadata.get("tokenizer.chat_template").and_then(Value::as_str) {
        map.insert("chat_template".into(), t.into());
    }
    Ok((tokenizer, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        // llama.cpp: w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2).reshape(rows, cols)
        let (n_head, rows, cols) = (2, 8, 3);
        let hf: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
        let half = rows / n_head / 2;
        let mut permuted = vec![0f32; hf.len()];
        for h in 0..n_head {
            for two in 0..2 {
                for i in 0..half {
                    let src = (h * 2 + two) * half + i;
                    let dst = (h * half + i) * 2 + two;
                    permuted[dst * cols..(dst + 1) * cols]
                        .copy_from_slice(&hf[src * cols..(src + 1) * cols]);
                }
            }
        }
        assert_ne!(permuted, hf);
        let order = llama_qk_order(rows, n_head);
        let back: Vec<f32> =
            order.iter().flat_map(|&r| permuted[r * cols..(r + 1) * cols].to_vec()).collect();
        assert_eq!(back, hf);
    }

    #[test]
    fn gguf_names_map_to_hf() {
        assert_eq!(
            hf_name("blk.12.attn_q.weight").unwrap(),
            "model.layers.12.self_attn.q_proj.weight"
        );
        assert_eq!(
            hf_name("blk.0.ffn_norm.weight").unwrap(),
            "model.layers.0.post_attention_layernorm.weight"
        );
        assert_eq!(hf_name("token_embd.weight").unwrap(), "model.embed_tokens.weight");
        assert_eq!(hf_name("rope_freqs.weight"), None);
    }
}
