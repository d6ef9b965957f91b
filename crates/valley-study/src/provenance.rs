//! The provenance manifest every step folder carries (`provenance.json`): which valley built it
//! (version and git revision), from which spec, under which key, from which inputs and upstream
//! steps (with their hashes), with which settings and seeds, on which hardware, and the hash of
//! every file it wrote. `valley study verify` rechecks them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::{list_files, sha256_file};

/// The manifest's file name inside a step folder.
pub const MANIFEST: &str = "provenance.json";

/// valley's git revision at build time (`unknown` outside a checkout).
pub const GIT_REVISION: &str = env!("VALLEY_GIT_REV");

/// valley's version.
pub(crate) const VALLEY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The provenance of one step's outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Manifest layout version.
    pub version: u32,
    /// Step id.
    pub step: String,
    /// Step kind.
    pub kind: String,
    /// The step key the outputs belong to.
    pub key: String,
    /// valley's version.
    pub valley_version: String,
    /// valley's git revision.
    pub git_revision: String,
    /// The spec file and the SHA-256 of its text when the step ran.
    pub spec: String,
    /// SHA-256 of the spec text.
    pub spec_sha256: String,
    /// External inputs: spec field, path, SHA-256.
    pub inputs: Vec<InputRecord>,
    /// Upstream steps: id and key.
    pub upstream: Vec<UpstreamRecord>,
    /// SHA-256 of the data manifest (`manifest.json` of `data subsets` / `data split`) the step
    /// trained on or cut, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_manifest_sha256: Option<String>,
    /// SHA-256 of the tokenizer (folder hash) and chat template used, when the step used them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tokenizer: BTreeMap<String, String>,
    /// The settings in the step's key.
    pub settings: Value,
    /// Seeds among them, by name.
    pub seeds: BTreeMap<String, Value>,
    /// Versions of the engines the step ran (valley, Python for the judge, the train backend).
    pub engines: BTreeMap<String, String>,
    /// The machine.
    pub hardware: Hardware,
    /// Unix seconds.
    pub started_at: f64,
    /// Unix seconds.
    pub finished_at: f64,
    /// Outputs relative to the step folder, with their SHA-256 and size.
    pub outputs: Vec<OutputRecord>,
}

/// One external input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRecord {
    /// The spec field.
    pub field: String,
    /// The path.
    pub path: String,
    /// Content SHA-256 (a folder: over its files' relative paths and hashes).
    pub sha256: String,
}

/// One upstream step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamRecord {
    /// Step id.
    pub step: String,
    /// Its key.
    pub key: String,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputRecord {
    /// Path relative to the step folder.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Bytes.
    pub bytes: u64,
}

/// The machine a step ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// Host name.
    pub host: String,
    /// CPU model.
    pub cpu: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// GPUs (`nvidia-smi` names), empty without.
    pub gpus: Vec<String>,
    /// Kernel release.
    pub os: String,
}

impl Hardware {
    /// Describes this machine (Linux `/proc`; fields it cannot read are `unknown` or 0).
    pub fn detect() -> Self {
        let read = |p: &str| fs_err::read_to_string(p).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".into(), |(_, v)| v.trim().to_owned());
        let memory_mib = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024);
        let gpus = std::process::Command::new("nvidia-smi")
            .args(["--query-gpu=name,memory.total", "--format=csv,noheader"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            host: read("/proc/sys/kernel/hostname").trim().to_owned(),
            cpu,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            memory_mib,
            gpus,
            os: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        }
    }
}

/// Hashes every file under `dir` except the manifest itself.
pub(crate) fn hash_outputs(dir: &Path) -> std::io::Result<Vec<OutputRecord>> {
    let mut out = Vec::new();
    for rel in list_files(dir)? {
        if rel == MANIFEST {
            continue;
        }
        let p = dir.join(&rel);
        let bytes = fs_err::metadata(&p)?.len();
        out.push(OutputRecord { sha256: sha256_file(&p)?, path: rel, bytes });
    }
    Ok(out)
}

/// Reads a step folder's manifest; `None` when it is missing or unreadable.
pub(crate) fn read(dir: &Path) -> Option<Provenance> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The seeds among a step's settings: every key named `seed` or ending in `_seed`, by path.
pub(crate) fn seeds(settings: &Value) -> BTreeMap<String, Value> {
    fn walk(v: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
        if let Value::Object(m) = v {
            for (k, child) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                if (k == "seed" || k.ends_with("_seed") || k.ends_with("-seed")) && !child.is_null()
                {
                    out.insert(p.clone(), child.clone());
                }
                walk(child, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(settings, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_found_at_any_depth() {
        let s = serde_json::json!({"seed": 1, "train": {"train": {"seed": 42}}, "bootstrap_seed": 0, "x": {"seed": null}});
        let got = seeds(&s);
        assert_eq!(got.len(), 3);
        assert_eq!(got["train.train.seed"], 42);
        assert_eq!(got["bootstrap_seed"], 0);
    }

    #[test]
    fn outputs_are_hashed_without_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.txt"), "bb").unwrap();
        std::fs::write(dir.path().join(MANIFEST), "{}").unwrap();
        let got = hash_outputs(dir.path()).unwrap();
        let names: Vec<&str> = got.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(names, ["a.txt", "sub/b.txt"]);
        assert_eq!(got[1].bytes, 2);
        assert_eq!(got[0].sha256, crate::hash::sha256_hex(b"a"));
    }
}
