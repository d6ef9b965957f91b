//! GGUF files (llama.cpp's format): metadata, tensors dequantised to f32 under their HF names,
//! and the tokenizer and chat template the metadata carries.
//!
//! llama.cpp's converter permutes the rows of `q_proj` and `k_proj` of llama-architecture
//! models (its rotary embedding pairs adjacent dimensions, HF's pairs the two halves of a
//! head); [`read_gguf`] undoes that so the weights are HF's again. Qwen2 files are not permuted.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use half::f16;

use crate::config::{Family, ModelConfig};

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

/// (elements per block, bytes per block) of the ggml types we dequantise.
fn block_layout(ty: u32) -> Option<(usize, usize)> {
    Some(match ty {
        0 => (1, 4),   // F32
        1 => (1, 2),   // F16
        30 => (1, 2),  // BF16
        2 => (32, 18), // Q4_0
        3 => (32, 20), // Q4_1
        6 => (32, 22), // Q5_0
        7 => (32, 24), // Q5_1
        8 => (32, 34), // Q8_0
        _ => return None,
    })
}

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// Dequantises `n` values of type `ty` from `bytes`.
fn dequantize(ty: u32, bytes: &[u8], n: usize, out: &mut Vec<f32>) {
    match ty {
        0 => {
            out.extend(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        }
        1 => out.extend(bytes.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())),
        30 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16)),
        ),
        2 | 3 => {
            let bs = if ty == 2 { 18 } else { 20 };
            for blk in bytes.chunks_exact(bs) {
                let d = f16_at(blk, 0);
                let (m, qs) =
                    if ty == 2 { (-8.0 * d, &blk[2..18]) } else { (f16_at(blk, 2), &blk[4..20]) };
                let base = out.len();
                out.resize(base + 32, 0.0);
                for (j, q) in qs.iter().enumerate() {
                    out[base + j] = f32::from(q & 0x0f) * d + m;
                    out[base + j + 16] = f32::from(q >> 4) * d + m;
                }
            }
        }
        6 | 7 => {
            let bs = if ty == 6 { 22 } else { 24 };
            for blk in bytes.chunks_exact(bs) {
                let d = f16_at(blk, 0);
                let (m, rest) =
                    if ty == 6 { (-16.0 * d, &blk[2..]) } else { (f16_at(blk, 2), &blk[4..]) };
                let qh = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let qs = &rest[4..20];
                let base = out.len();
                out.resize(base + 32, 0.0);
                for (j, q) in qs.iter().enumerate() {
                    let h0 = ((qh >> j) & 1) << 4;
                    let h1 = ((qh >> (j + 16)) & 1) << 4;
                    out[base + j] = (u32::from(q & 0x0f) | h0) as f32 * d + m;
                    out[base + j + 16] = (u32::from(q >> 4) | h1) as f32 * d + m;
                }
            }
        }
        8 => {
            for blk in bytes.chunks_exact(34) {
                let d = f16_at(blk, 0);
                out.extend(blk[2..34].iter().map(|&q| f32::from(q as i8) * d));
            }
        }
        _ => unreachable!("bug: dequantize called for an unsupported type; please report"),
    }
    debug_assert!(out.len() >= n);
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

/// Reads a GGUF model: its config and every tensor dequantised to f32, under HF names, in HF
/// layout (`[out, in]` row-major; q/k rows un-permuted for llama).
pub fn read_gguf(path: &Path) -> Result<(ModelConfig, crate::tensors::HostTensors), GgufError> {
    let g = read_header(path)?;
    let cfg = g.config()?;
    let mut file = fs_err::File::open(path)?;
    let mut out = BTreeMap::new();
    for t in &g.tensors {
        let Some(name) = hf_name(&t.name) else {
            // derived tables llama.cpp may add (rope_freqs is refused in `config`)
            continue;
        };
        let n: usize = t.dims.iter().map(|&d| d as usize).product();
        let (per_block, block_bytes) = block_layout(t.ggml_type).ok_or_else(|| {
            GgufError::Tensor(t.name.clone(), format!("ggml type {} is not supported (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 are)", t.ggml_type))
        })?;
        if !n.is_multiple_of(per_block) {
            return Err(GgufError::Tensor(
                t.name.clone(),
                format!("{n} values is not whole blocks"),
            ));
        }
        let mut bytes = vec![0u8; n / per_block * block_bytes];
        file.seek(SeekFrom::Start(g.data_start + t.offset))?;
        file.read_exact(&mut bytes)?;
        let mut values = Vec::with_capacity(n);
        dequantize(t.ggml_type, &bytes, n, &mut values);
        // GGUF dims are innermost first; HF shapes outermost first.
        let shape: Vec<usize> = t.dims.iter().rev().map(|&d| d as usize).collect();
        if cfg.model_type == Family::Llama {
            if name.ends_with("q_proj.weight") || name.ends_with("q_proj.bias") {
                values = unpermute(values, &shape, cfg.num_attention_heads);
            } else if name.ends_with("k_proj.weight") || name.ends_with("k_proj.bias") {
                values = unpermute(values, &shape, cfg.num_key_value_heads);
            }
        }
        out.insert(name, (shape, values));
    }
    Ok((cfg, out))
}

/// Inverse of llama.cpp's `permute(w, n_head)`: within each head, rows were reordered from
/// `[2, head_dim/2]` (HF halves) to `[head_dim/2, 2]` (interleaved pairs).
fn unpermute(values: Vec<f32>, shape: &[usize], n_head: usize) -> Vec<f32> {
    let rows = shape[0];
    let cols: usize = shape[1..].iter().product();
    let half = rows / n_head / 2;
    let mut out = vec![0f32; values.len()];
    for h in 0..n_head {
        for i in 0..half {
            for two in 0..2 {
                // GGUF row (h, i, two) holds HF row (h, two, i).
                let src = (h * half + i) * 2 + two;
                let dst = (h * 2 + two) * half + i;
                out[dst * cols..(dst + 1) * cols]
                    .copy_from_slice(&values[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
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
    fn q4_1_and_q8_0_blocks_dequantise() {
        // Q4_1: d = 0.5, m = -1, nibbles 0..15 low, 15..0 high.
        let mut blk = Vec::new();
        blk.extend(f16::from_f32(0.5).to_le_bytes());
        blk.extend(f16::from_f32(-1.0).to_le_bytes());
        for j in 0..16u8 {
            blk.push(j | ((15 - j) << 4));
        }
        let mut out = Vec::new();
        dequantize(3, &blk, 32, &mut out);
        assert_eq!(out[0], -1.0);
        assert_eq!(out[15], 6.5);
        assert_eq!(out[16], 6.5);
        assert_eq!(out[31], -1.0);
        let mut blk = Vec::new();
        blk.extend(f16::from_f32(0.25).to_le_bytes());
        blk.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let mut out = Vec::new();
        dequantize(8, &blk, 32, &mut out);
        assert_eq!(out[0], -4.0);
        assert_eq!(out[31], 3.75);
    }

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
        assert_eq!(unpermute(permuted, &[rows, cols], n_head), hf);
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
