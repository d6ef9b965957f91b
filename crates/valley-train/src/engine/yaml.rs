//! What the YAML-configured engines (torchtune, axolotl, LLaMA-Factory) share: the files a
//! writer produces and the quoting, model path and schedule names of their configs.

use std::path::{Path, PathBuf};

use crate::error::TrainError;
use crate::spec::{Backend, LrSchedule, TrainSpec};

/// What a writer produced.
#[derive(Debug, Clone, Default)]
pub(super) struct Written {
    /// Files and their text.
    pub files: Vec<(PathBuf, String)>,
    /// The Python arguments that start training (after the launcher's own).
    pub entry: Vec<String>,
    /// Extra environment for the engine's processes.
    pub env: Vec<(String, String)>,
    /// A Python command to run once, before launching (data conversion).
    pub prepare: Option<Vec<String>>,
    /// Where the engine differs from the plan.
    pub notes: Vec<String>,
}

pub(super) fn q(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).unwrap_or_default()
}

pub(super) fn p(path: &Path) -> String {
    q(path.display().to_string())
}

pub(super) fn unsupported(backend: Backend, message: impl Into<String>) -> TrainError {
    TrainError::Unsupported { backend: backend.as_str().into(), message: message.into() }
}

pub(super) fn model_path(spec: &TrainSpec, backend: Backend) -> Result<&Path, TrainError> {
    spec.model.path.as_deref().ok_or_else(|| {
        unsupported(
            backend,
            "needs pretrained weights (`model.path`); `[model.init]` is for native and trl",
        )
    })
}

pub(super) fn schedule_name(s: LrSchedule) -> &'static str {
    match s {
        LrSchedule::Cosine => "cosine",
        LrSchedule::Linear => "linear",
        LrSchedule::Constant => "constant_with_warmup",
    }
}
