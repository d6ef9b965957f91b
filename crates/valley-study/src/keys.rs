//! Step keys: the SHA-256 of what a step's result depends on — its kind, its settings, the
//! content of its external inputs and its upstream steps' keys. Equal keys mean the step's
//! output can be reused; a changed hyperparameter changes the key of its step and, through the
//! upstream keys, of every step after it, and of nothing else.

use serde_json::json;

use crate::error::StudyError;
use crate::plan::Plan;
use crate::store::Store;

/// Version of the key material's layout; bump it to invalidate every cached step.
pub const KEY_VERSION: u32 = 1;

/// One step's key and the hashes of its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct StepKey {
    /// The key.
    pub key: String,
    /// Per input, its field, path and content hash.
    pub inputs: Vec<(String, String, String)>,
}

/// The keys of every step, in plan order. A missing input is an error naming its spec field.
pub fn compute(
    plan: &Plan,
    store: &Store,
    spec_path: &std::path::Path,
) -> Result<Vec<StepKey>, StudyError> {
    let mut keys: Vec<StepKey> = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let mut inputs = Vec::new();
        for input in &step.inputs {
            if !input.path.exists() {
                return Err(StudyError::MissingInput {
                    spec: spec_path.to_path_buf(),
                    field: input.field.clone(),
                    path: input.path.clone(),
                });
            }
            let h = store.content_hash(&input.path)?;
            inputs.push((input.field.clone(), input.path.to_string_lossy().into_owned(), h));
        }
        let material = json!({
            "v": KEY_VERSION,
            "kind": step.kind.as_str(),
            "id": step.id,
            "settings": step.settings,
            "inputs": inputs.iter().map(|(f, _, h)| json!([f, h])).collect::<Vec<_>>(),
            "deps": step.deps.iter().map(|&d| json!([plan.steps[d].id, keys[d].key])).collect::<Vec<_>>(),
        });
        let key = crate::hash::sha256_hex(material.to_string().as_bytes());
        keys.push(StepKey { key, inputs });
    }
    Ok(keys)
}
