//! Weights on the host: reading HF folders (config.json + safetensors) and GGUF files, random
//! initialisation, and writing HF-compatible checkpoints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::config::{ConfigError, ModelConfig};
use crate::config::{held_shape, parameter_shapes};
use crate::gguf::{self, GgufError};
use crate::llama::CausalLm;
use crate::rng::Rng;

pub use crate::tensors::HostTensors;

/// Why a model cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadModelError {
    #[error("reading {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}")]
    Config {
        path: PathBuf,
        #[source]
        source: ConfigError,
    },
    #[error("{path}")]
    Gguf {
        path: PathBuf,
        #[source]
        source: GgufError,
    },
    #[error("{path}: {message}")]
    Safetensors { path: PathBuf, message: String },
    #[error("{path}: tensor `{name}`: {message}")]
    Tensor { path: PathBuf, name: String, message: String },
    #[error("{path}: token id {id} is outside the vocabulary of {vocab}")]
    TokenId { path: PathBuf, id: u32, vocab: usize },
}

/// Why a checkpoint cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum SaveCheckpointError {
    #[error("writing {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {path}: {message}")]
    Safetensors { path: PathBuf, message: String },
}

/// Loads a model: an HF folder (`config.json` + `model.safetensors` or shards) or a `.gguf` file.
pub fn load_host(path: &Path) -> Result<(ModelConfig, HostTensors), LoadModelError> {
    if path.extension().is_some_and(|e| e == "gguf") {
        return gguf::read_gguf(path)
            .map_err(|source| LoadModelError::Gguf { path: path.to_path_buf(), source });
    }
    let config_path = path.join("config.json");
    let text = fs_err::read_to_string(&config_path)
        .map_err(|source| LoadModelError::Io { path: config_path.clone(), source })?;
    let config = ModelConfig::from_hf_json(&text)
        .map_err(|source| LoadModelError::Config { path: config_path.clone(), source })?;
    let mut files: Vec<PathBuf> = fs_err::read_dir(path)
        .map_err(|source| LoadModelError::Io { path: path.to_path_buf(), source })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(LoadModelError::Safetensors {
            path: path.to_path_buf(),
            message: "no *.safetensors file".into(),
        });
    }
    let mut out = HostTensors::new();
    for file in files {
        let bytes = fs_err::read(&file)
            .map_err(|source| LoadModelError::Io { path: file.clone(), source })?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| LoadModelError::Safetensors {
            path: file.clone(),
            message: e.to_string(),
        })?;
        for (name, view) in st.tensors() {
            let values = to_f32(&view).map_err(|message| LoadModelError::Tensor {
                path: file.clone(),
                name: name.clone(),
                message,
            })?;
            out.insert(name, (view.shape().to_vec(), values));
        }
    }
    Ok((config, out))
}

fn to_f32(view: &TensorView<'_>) -> Result<Vec<f32>, String> {
    let b = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => {
            b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        }
        Dtype::F16 => {
            b.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
        }
        Dtype::BF16 => {
            b.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
        }
        Dtype::F64 => b
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        other => return Err(format!("dtype {other:?} is not a float type")),
    })
}

/// Random weights as transformers initialises a fresh model: matrices ~ N(0, 0.02²), norm
/// weights 1, biases 0. Deterministic in `seed`.
pub fn init_host(config: &ModelConfig, seed: u64) -> HostTensors {
    let mut rng = Rng::new(seed);
    parameter_shapes(config)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let values = if name.ends_with("norm.weight") {
                vec![1.0; n]
            } else if name.ends_with(".bias") {
                vec![0.0; n]
            } else {
                (0..n).map(|_| 0.02 * rng.normal() as f32).collect()
            };
            (name, (shape, values))
        })
        .collect()
}

/// Builds a model on `device` from host tensors, checking every name and shape. A tied
/// checkpoint that also ships `lm_head.weight` is fine (transformers writes it sometimes); an
/// untied one without it is an error.
pub fn to_device<B: Backend>(
    config: ModelConfig,
    host: &HostTensors,
    source: &Path,
    device: &B::Device,
) -> Result<CausalLm<B>, LoadModelError> {
    CausalLm::build(config, |name, held| {
        let (shape, values) = host.get(name).ok_or_else(|| LoadModelError::Tensor {
            path: source.to_path_buf(),
            name: name.to_owned(),
            message: "missing".into(),
        })?;
        if held_shape(shape) != held {
            return Err(LoadModelError::Tensor {
                path: source.to_path_buf(),
                name: name.to_owned(),
                message: format!("shape {shape:?}, expected {held:?} (config.json)"),
            });
        }
        Ok(Tensor::<B, 2>::from_data(TensorData::new(values.clone(), held), device))
    })
}

/// The next-token logits of one token sequence, computed on the CPU by the model in `path` (an
/// HF folder or a GGUF file): `ids.len()` rows of `vocab` values, row-major, and `vocab`. For
/// checking a checkpoint another engine wrote against that engine's own forward pass.
pub fn cpu_logits(path: &Path, ids: &[u32]) -> Result<(Vec<f32>, usize), LoadModelError> {
    let (config, host) = load_host(path)?;
    if let Some(&id) = ids.iter().find(|&&id| id as usize >= config.vocab_size) {
        return Err(LoadModelError::TokenId {
            path: path.to_path_buf(),
            id,
            vocab: config.vocab_size,
        });
    }
    let device = Default::default();
    let model: CausalLm<crate::Cpu> = to_device(config, &host, path, &device)?;
    let example = crate::pack::Example { input_ids: ids.to_vec(), loss_mask: vec![1; ids.len()] };
    let packed = crate::pack::pack(&[&example], ids.len());
    let logits = model.logits(model.hidden_states(&packed.batch));
    let [_, vocab] = logits.dims();
    let values = logits.into_data().convert::<f32>().into_vec::<f32>().expect("f32 data");
    Ok((values, vocab))
}

/// Copies a model's parameters to the host under their HF names and shapes.
pub fn to_host<B: Backend>(model: &CausalLm<B>) -> HostTensors {
    let shapes: HashMap<String, Vec<usize>> = parameter_shapes(&model.config).into_iter().collect();
    model
        .parameters()
        .into_iter()
        .map(|(name, t)| {
            let values = t.into_data().convert::<f32>().into_vec::<f32>().expect("f32 data");
            let shape = shapes[&name].clone();
            (name, (shape, values))
        })
        .collect()
}

/// Writes `tensors` as one f32 safetensors file (with `{"format": "pt"}` metadata, which
/// transformers expects).
pub fn write_safetensors(path: &Path, tensors: &HostTensors) -> Result<(), SaveCheckpointError> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, (s, v))| (n.clone(), s.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            let view = TensorView::new(Dtype::F32, s.clone(), b)
                .expect("bug: shape and bytes agree; please report");
            (n.clone(), view)
        })
        .collect();
    let meta: HashMap<String, String> = [("format".to_owned(), "pt".to_owned())].into();
    safetensors::serialize_to_file(views, Some(meta), path).map_err(|e| {
        SaveCheckpointError::Safetensors { path: path.to_path_buf(), message: e.to_string() }
    })
}

/// Reads a safetensors file written by [`write_safetensors`] (any float dtype).
pub fn read_safetensors(path: &Path) -> Result<HostTensors, LoadModelError> {
    let bytes = fs_err::read(path)
        .map_err(|source| LoadModelError::Io { path: path.to_path_buf(), source })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| LoadModelError::Safetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let v = to_f32(&view).map_err(|message| LoadModelError::Tensor {
                path: path.to_path_buf(),
                name: name.clone(),
                message,
            })?;
            Ok((name, (view.shape().to_vec(), v)))
        })
        .collect()
}

/// Writes an HF model folder into `dir` (which must exist): `config.json` and
/// `model.safetensors`, loadable with transformers' `AutoModelForCausalLM.from_pretrained`.
pub fn write_hf_model(
    dir: &Path,
    config: &ModelConfig,
    tensors: &HostTensors,
) -> Result<(), SaveCheckpointError> {
    let io = |path: PathBuf| move |source| SaveCheckpointError::Io { path: path.clone(), source };
    let config_path = dir.join("config.json");
    let text = serde_json::to_string_pretty(&config.to_hf_json()).expect("JSON values serialise");
    fs_err::write(&config_path, text + "\n").map_err(io(config_path.clone()))?;
    write_safetensors(&dir.join("model.safetensors"), tensors)
}
