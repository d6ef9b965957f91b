//! The manifest a curation command writes beside its outputs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a `data subsets` or `data split` run drew, so a user can verify it later: hashing the ids
/// of an output file (one per line, in file order, each followed by `\n`) gives `ids_sha256`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The command that wrote it (`subsets` or `split`).
    pub command: String,
    /// The selection seed.
    pub seed: u64,
    /// SHA-256 of the input file's bytes, as read from disk.
    pub input_sha256: String,
    /// The input path as given.
    pub input: String,
    /// Rows read from the input.
    pub input_rows: u64,
    /// How a row's selection key is computed, so the draw can be recomputed by hand.
    pub selection: String,
    /// One entry per output, keyed by size (`"1000"`) or group name (`"correct"`).
    pub groups: BTreeMap<String, ManifestGroup>,
    /// The input, when it was read from the Hugging Face Hub, with the commit it was read at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hub: Vec<crate::HubSource>,
    /// Labels seen and left out (split only), with their counts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub excluded: BTreeMap<String, u64>,
    /// valley's version.
    pub valley_version: String,
}

/// One output of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestGroup {
    /// Rows written.
    pub count: u64,
    /// SHA-256 over the ids in file order, each followed by `\n`.
    pub ids_sha256: String,
    /// The output file, relative to the manifest's folder.
    pub path: String,
    /// Rows available before drawing (split only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<u64>,
}
