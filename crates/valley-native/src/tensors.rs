//! Named f32 tensors on the host, the form weights take between files and the model (a leaf:
//! the GGUF reader and the weight loaders both use it).

use std::collections::BTreeMap;

/// Named f32 tensors on the host: name → (shape, values).
pub type HostTensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;
