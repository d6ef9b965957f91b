//! The selection engine shared by subsets and splits: an order-independent key per row, and a
//! second pass that writes the chosen rows in key order.
//!
//! Each row's key is `sha256("<seed>:<id>")` (its first 16 bytes, big-endian), ties broken by the
//! id. Sorting by key is a seeded random permutation that depends only on the ids, never on the
//! order rows are read in, so the same input and seed draw the same rows on any machine, and the
//! first N rows of the order form the subset of size N: smaller subsets are prefixes of larger
//! ones, nested by construction.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use valley_types::{Manifest, Trace};

use crate::io::{
    FieldMap, OutputSet, ReadDatasetError, ReadDatasetErrorKind, RowReader, WriteDatasetError,
    decode_row,
};

/// How the selection key is computed, as written into manifests.
pub const SELECTION_RULE: &str = "rows ordered by sha256(\"<seed>:<id>\") ascending \
    (first 16 bytes, big-endian; ties by id); a subset or group of size N is the first N rows of \
    that order, and its file lists them in that order";

/// A row's selection key.
pub fn selection_key(seed: u64, id: &str) -> u128 {
    let mut h = Sha256::new();
    h.update(seed.to_string().as_bytes());
    h.update(b":");
    h.update(id.as_bytes());
    let d = h.finalize();
    u128::from_be_bytes(d[..16].try_into().expect("sha256 has 32 bytes"))
}

/// SHA-256 over ids, each followed by `\n`, in the order given.
pub fn ids_sha256<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for id in ids {
        h.update(id.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// One scanned row.
#[derive(Debug, Clone)]
pub struct Entry<G> {
    /// Selection key.
    pub key: u128,
    /// Row id.
    pub id: String,
    /// 1-based line in the input.
    pub line: u64,
    /// 0-based position in read order.
    pub ordinal: u64,
    /// What the caller derived from the row (a group, or nothing).
    pub group: G,
}

/// The result of the first pass over an input.
#[derive(Debug)]
pub struct Scan<G> {
    /// Every row, sorted by selection key.
    pub entries: Vec<Entry<G>>,
    /// SHA-256 of the input file.
    pub input_sha256: String,
}

/// Reads every row, validates it as a [`Trace`], rejects duplicate ids, and returns the rows
/// sorted by selection key with what `classify` says of each.
pub fn scan<G>(
    path: &Path,
    fields: &FieldMap,
    seed: u64,
    mut classify: impl FnMut(&Trace) -> G,
) -> Result<Scan<G>, ReadDatasetError> {
    let mut reader = RowReader::open(path)?;
    let mut entries = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (ordinal, row) in reader.by_ref().enumerate() {
        let row = row?;
        let trace: Trace = decode_row(path, &row, fields)?;
        if let Some(&first_line) = seen.get(&trace.id) {
            return Err(ReadDatasetError {
                path: path.to_path_buf(),
                line: Some(row.line),
                kind: ReadDatasetErrorKind::DuplicateId { id: trace.id, first_line },
            });
        }
        seen.insert(trace.id.clone(), row.line);
        let group = classify(&trace);
        entries.push(Entry {
            key: selection_key(seed, &trace.id),
            id: trace.id,
            line: row.line,
            ordinal: ordinal as u64,
            group,
        });
    }
    let input_sha256 = reader.sha256().expect("reader is exhausted");
    entries.sort_unstable_by(|a, b| a.key.cmp(&b.key).then_with(|| a.id.cmp(&b.id)));
    Ok(Scan { entries, input_sha256 })
}

/// Writing the chosen rows failed.
#[derive(Debug, thiserror::Error)]
pub enum MaterializeError {
    /// Re-reading the input failed.
    #[error(transparent)]
    Read(#[from] ReadDatasetError),
    /// Writing an output failed.
    #[error(transparent)]
    Write(#[from] WriteDatasetError),
    /// The input changed between the two passes.
    #[error("{} changed while it was being read (sha256 {first} then {second})", path.display())]
    InputChanged {
        /// The input.
        path: PathBuf,
        /// Hash seen by the first pass.
        first: String,
        /// Hash seen by the second pass.
        second: String,
    },
    /// The spill file could not be used.
    #[error("cannot use the temporary spill file")]
    Spill(#[source] std::io::Error),
}

/// Writes each output (a path and the ordinals of its rows, in output order), re-reading the
/// input once. Rows are normalised to the [`Trace`] record (mapped field names, string ids,
/// other fields kept in order). Chosen rows are spilled to a temporary file on the way, so memory
/// does not grow with row size. `extra` files (a manifest) are written verbatim. All outputs land
/// together, or none does.
pub fn materialize(
    path: &Path,
    fields: &FieldMap,
    expected_sha256: &str,
    outputs: &[(PathBuf, Vec<u64>)],
    extra: &[(PathBuf, Vec<u8>)],
) -> Result<Vec<PathBuf>, MaterializeError> {
    let mut wanted: HashMap<u64, (u64, u32)> = HashMap::new();
    for (_, ordinals) in outputs {
        for &o in ordinals {
            wanted.insert(o, (0, 0));
        }
    }
    let spill = tempfile::tempfile().map_err(MaterializeError::Spill)?;
    let mut spill_w = std::io::BufWriter::with_capacity(1 << 20, &spill);
    let mut offset = 0u64;
    let mut reader = RowReader::open(path)?;
    for (ordinal, row) in reader.by_ref().enumerate() {
        let row = row?;
        let Some(slot) = wanted.get_mut(&(ordinal as u64)) else { continue };
        let trace: Trace = decode_row(path, &row, fields)?;
        let bytes = serde_json::to_vec(&trace).map_err(|e| MaterializeError::Spill(e.into()))?;
        spill_w.write_all(&bytes).map_err(MaterializeError::Spill)?;
        *slot = (offset, u32::try_from(bytes.len()).expect("row under 4 GiB"));
        offset += bytes.len() as u64;
    }
    spill_w.flush().map_err(MaterializeError::Spill)?;
    drop(spill_w);
    let second = reader.sha256().expect("reader is exhausted");
    if second != expected_sha256 {
        return Err(MaterializeError::InputChanged {
            path: path.to_path_buf(),
            first: expected_sha256.to_owned(),
            second,
        });
    }
    let mut set = OutputSet::new();
    let mut buf = Vec::new();
    for (out, ordinals) in outputs {
        let idx = set.create(out)?;
        for o in ordinals {
            let (off, len) = wanted[o];
            buf.resize(len as usize, 0);
            spill.read_exact_at(&mut buf, off).map_err(MaterializeError::Spill)?;
            set.file(idx).write_line(&buf)?;
        }
    }
    for (out, bytes) in extra {
        let idx = set.create(out)?;
        set.file(idx).write_line(bytes)?;
    }
    Ok(set.commit()?)
}

/// Writes the outputs and, with them, `manifest` (pretty JSON) at `manifest_path`: all land
/// together or none does.
pub fn materialize_with_manifest(
    path: &Path,
    fields: &FieldMap,
    outputs: &[(PathBuf, Vec<u64>)],
    manifest: &Manifest,
    manifest_path: &Path,
) -> Result<(), MaterializeError> {
    let bytes = serde_json::to_vec_pretty(manifest).expect("manifest serializes");
    // The files an earlier run recorded in this folder: the ones this run does not write again
    // go once the new set has landed, so the folder never holds one run's files beside another
    // run's manifest (the command holds the folder's lock meanwhile).
    let previous = previous_outputs(manifest_path);
    materialize(
        path,
        fields,
        &manifest.input_sha256,
        outputs,
        &[(manifest_path.to_path_buf(), bytes)],
    )?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    for name in previous {
        let stale = dir.join(&name);
        if !outputs.iter().any(|(p, _)| p.file_name() == stale.file_name()) {
            // best effort: a file that is already gone is what we want
            let _ = std::fs::remove_file(&stale);
        }
    }
    Ok(())
}

/// The plain file names of the groups an existing manifest at `manifest_path` lists (none when
/// there is no readable manifest).
fn previous_outputs(manifest_path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(manifest_path) else { return Vec::new() };
    let Ok(old) = serde_json::from_str::<Manifest>(&text) else { return Vec::new() };
    old.groups
        .into_values()
        .map(|g| g.path)
        .filter(|p| Path::new(p).file_name().is_some_and(|f| f == p.as_str()))
        .collect()
}

/// Recomputes a manifest's id hashes from the files beside it; returns the groups that differ.
pub fn verify_manifest(manifest_path: &Path) -> Result<Vec<String>, ReadDatasetError> {
    let text = fs_err::read_to_string(manifest_path).map_err(|e| ReadDatasetError {
        path: manifest_path.to_path_buf(),
        line: None,
        kind: ReadDatasetErrorKind::Io(e),
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| ReadDatasetError {
        path: manifest_path.to_path_buf(),
        line: Some(e.line() as u64),
        kind: ReadDatasetErrorKind::Json(e),
    })?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let mut bad = Vec::new();
    for (name, group) in &manifest.groups {
        let mut ids = Vec::new();
        for row in crate::io::read_records::<valley_types::Trace>(
            &dir.join(&group.path),
            &FieldMap::default(),
        )? {
            ids.push(row?.1.id);
        }
        let ok = ids.len() as u64 == group.count
            && ids_sha256(ids.iter().map(String::as_str)) == group.ids_sha256;
        if !ok {
            bad.push(name.clone());
        }
    }
    Ok(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_documented_sha256_prefix() {
        // sha256("42:a") = 6f0c1d0b…; recomputable with `hashlib.sha256(b"42:a")`.
        let d = Sha256::digest(b"42:a");
        let want = u128::from_be_bytes(d[..16].try_into().unwrap());
        assert_eq!(selection_key(42, "a"), want);
        assert_ne!(selection_key(42, "a"), selection_key(43, "a"));
    }

    #[test]
    fn ids_hash_matches_manual_concatenation() {
        assert_eq!(ids_sha256(["a", "b"]), hex::encode(Sha256::digest(b"a\nb\n")));
    }
}
