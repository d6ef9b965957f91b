//! A GGUF model written out as an HF folder (`config.json`, `model.safetensors` in f32,
//! `tokenizer.json`, `tokenizer_config.json`), so engines that read only HF checkpoints
//! (transformers, TRL, torchtune…) can start from the same weights valley's native backend loads.

use std::path::{Path, PathBuf};

use crate::gguf::{self, GgufError};
use crate::weights::{self, SaveCheckpointError};

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportSummary {
    /// The HF folder.
    pub out: PathBuf,
    /// `llama` or `qwen2`.
    pub model_type: String,
    /// Tensors written.
    pub tensors: usize,
    /// Parameters written.
    pub parameters: u64,
}

/// Why a GGUF file cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading {path}")]
    Gguf {
        path: PathBuf,
        #[source]
        source: GgufError,
    },
    #[error("{0} exists; choose a new folder")]
    Exists(PathBuf),
    #[error("writing {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Save(#[from] SaveCheckpointError),
}

/// Writes the model and tokenizer of the GGUF file `gguf` as the HF folder `out` (staged in a
/// sibling `.partial` folder and renamed when complete; `out` must not exist).
pub fn export_gguf_to_hf(gguf: &Path, out: &Path) -> Result<ExportSummary, ExportError> {
    if out.exists() {
        return Err(ExportError::Exists(out.to_path_buf()));
    }
    let at = |source| ExportError::Gguf { path: gguf.to_path_buf(), source };
    let header = gguf::read_header(gguf).map_err(at)?;
    let (tokenizer, tokenizer_config) = gguf::tokenizer_files(&header).map_err(at)?;
    let (config, tensors) = gguf::read_gguf(gguf).map_err(at)?;
    let name =
        out.file_name().map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    let partial = out.with_file_name(format!(".{name}.partial"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    if partial.exists() {
        fs_err::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    fs_err::create_dir_all(&partial).map_err(io(&partial))?;
    let json = |v: &serde_json::Value| {
        serde_json::to_vec_pretty(v).expect("bug: a JSON value always serialises; please report")
    };
    let hf_config = config.to_hf_json();
    for (file, value) in [
        ("config.json", &hf_config),
        ("tokenizer.json", &tokenizer),
        ("tokenizer_config.json", &tokenizer_config),
    ] {
        let path = partial.join(file);
        fs_err::write(&path, json(value)).map_err(io(&path))?;
    }
    weights::write_safetensors(&partial.join("model.safetensors"), &tensors)?;
    fs_err::rename(&partial, out).map_err(io(out))?;
    Ok(ExportSummary {
        out: out.to_path_buf(),
        model_type: hf_config["model_type"].as_str().unwrap_or_default().to_owned(),
        tensors: tensors.len(),
        parameters: tensors.values().map(|(_, v)| v.len() as u64).sum(),
    })
}
