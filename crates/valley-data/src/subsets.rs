//! Nested random subsets (`valley data subsets`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use valley_types::{Manifest, ManifestGroup};

use crate::io::{FieldMap, ReadDatasetError};
use crate::select::{self, MaterializeError, SELECTION_RULE};

/// What to draw.
#[derive(Debug, Clone)]
pub struct SubsetsConfig {
    /// The traces.
    pub input: PathBuf,
    /// Field mapping for the input.
    pub fields: FieldMap,
    /// Subset sizes, any order, no duplicates, none zero.
    pub sizes: Vec<u64>,
    /// Selection seed.
    pub seed: u64,
    /// Output folder.
    pub out: PathBuf,
    /// Where the input came from on the Hub, if it did (recorded in the manifest).
    pub hub: Vec<valley_types::HubSource>,
}

/// Drawing subsets failed.
#[derive(Debug, thiserror::Error)]
pub enum SubsetsError {
    /// The configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// Reading the input failed.
    #[error(transparent)]
    Read(#[from] ReadDatasetError),
    /// The input holds fewer rows than the largest size; nothing was written.
    #[error("{} holds {available} rows, fewer than the largest subset size {largest}", path.display())]
    TooFewRows {
        /// The input.
        path: PathBuf,
        /// Rows it holds.
        available: u64,
        /// Largest requested size.
        largest: u64,
    },
    /// Writing the outputs failed.
    #[error(transparent)]
    Write(#[from] MaterializeError),
}

/// What was written.
#[derive(Debug, Clone)]
pub struct SubsetsOutcome {
    /// The manifest, as written to `out/manifest.json`.
    pub manifest: Manifest,
    /// Where it was written.
    pub manifest_path: PathBuf,
}

/// Draws nested random subsets and writes `<size>.jsonl` per size and `manifest.json`.
pub fn run(config: &SubsetsConfig) -> Result<SubsetsOutcome, SubsetsError> {
    let mut sizes = config.sizes.clone();
    if sizes.is_empty() {
        return Err(SubsetsError::Config("no subset sizes given".into()));
    }
    if sizes.contains(&0) {
        return Err(SubsetsError::Config("subset sizes must be positive".into()));
    }
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    if sizes.windows(2).any(|w| w[0] == w[1]) {
        return Err(SubsetsError::Config("subset sizes must be distinct".into()));
    }
    let scan = select::scan(&config.input, &config.fields, config.seed, |_| ())?;
    let available = scan.entries.len() as u64;
    if available < sizes[0] {
        return Err(SubsetsError::TooFewRows {
            path: config.input.clone(),
            available,
            largest: sizes[0],
        });
    }
    let mut groups = BTreeMap::new();
    let mut outputs = Vec::new();
    for &size in &sizes {
        let chosen = &scan.entries[..size as usize];
        let name = format!("{size}.jsonl");
        groups.insert(
            size.to_string(),
            ManifestGroup {
                count: size,
                ids_sha256: select::ids_sha256(chosen.iter().map(|e| e.id.as_str())),
                path: name.clone(),
                available: None,
            },
        );
        outputs.push((config.out.join(&name), chosen.iter().map(|e| e.ordinal).collect()));
    }
    let manifest = Manifest {
        command: "subsets".into(),
        seed: config.seed,
        input_sha256: scan.input_sha256.clone(),
        input: config.input.display().to_string(),
        input_rows: available,
        selection: SELECTION_RULE.into(),
        groups,
        hub: config.hub.clone(),
        excluded: BTreeMap::new(),
        valley_version: env!("CARGO_PKG_VERSION").into(),
    };
    let manifest_path = config.out.join("manifest.json");
    select::materialize_with_manifest(
        &config.input,
        &config.fields,
        &outputs,
        &manifest,
        &manifest_path,
    )?;
    Ok(SubsetsOutcome { manifest, manifest_path })
}
