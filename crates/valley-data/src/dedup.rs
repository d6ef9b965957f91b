//! Exact and near-duplicate removal (`valley data dedup`).
//!
//! Exact: rows whose normalised key text (see [`crate::text::normalise`]) is identical. Near:
//! MinHash signatures over word shingles, candidates found by LSH banding and confirmed by the
//! estimated Jaccard similarity. The first row of each cluster, in input order, is kept; every
//! removed row is reported with the row it duplicates.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use valley_types::Trace;

use crate::io::{FieldMap, OutputSet, ReadDatasetError, WriteDatasetError, read_records};
use crate::text::{normalise, word_ngrams};

/// Which text identifies a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupKey {
    /// The question alone (distillation sets often hold several responses per question: this
    /// keeps one).
    Question,
    /// The response alone.
    Response,
    /// Question and response together.
    Pair,
}

/// How to deduplicate.
#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// The traces.
    pub input: PathBuf,
    /// Field mapping for the input.
    pub fields: FieldMap,
    /// Kept rows.
    pub out: PathBuf,
    /// One record per removed row.
    pub report: Option<PathBuf>,
    /// Which text identifies a duplicate.
    pub key: DedupKey,
    /// Near-duplicate threshold on the estimated Jaccard similarity of word shingles; `None`
    /// turns near-duplicate detection off.
    pub near_threshold: Option<f64>,
    /// Words per shingle.
    pub shingle: usize,
}

impl DedupConfig {
    /// The defaults: dedup by question, near threshold 0.8 over word 5-grams.
    pub fn new(input: PathBuf, out: PathBuf) -> Self {
        Self {
            input,
            fields: FieldMap::default(),
            out,
            report: None,
            key: DedupKey::Question,
            near_threshold: Some(0.8),
            shingle: 5,
        }
    }
}

/// One removed row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Removed {
    /// The removed row's id.
    pub id: String,
    /// Its line in the input.
    pub line: u64,
    /// `exact` or `near`.
    pub reason: &'static str,
    /// The kept row it duplicates.
    pub duplicate_of: String,
    /// That row's line.
    pub duplicate_of_line: u64,
    /// Estimated Jaccard similarity (1.0 for exact duplicates).
    pub similarity: f64,
}

/// What deduplication did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DedupSummary {
    /// Rows read.
    pub rows: u64,
    /// Rows kept.
    pub kept: u64,
    /// Rows removed as exact duplicates.
    pub exact_duplicates: u64,
    /// Rows removed as near duplicates.
    pub near_duplicates: u64,
}

/// Deduplicating failed.
#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    /// Reading failed.
    #[error(transparent)]
    Read(#[from] ReadDatasetError),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] WriteDatasetError),
    /// The configuration is invalid.
    #[error("{0}")]
    Config(String),
}

const PERMS: usize = 128;
const BANDS: usize = 32;
const ROWS_PER_BAND: usize = PERMS / BANDS;

/// MinHash signatures with a fixed family of hash permutations.
pub struct MinHasher {
    a: [u64; PERMS],
    b: [u64; PERMS],
}

impl Default for MinHasher {
    fn default() -> Self {
        let mut rng = valley_metrics::SplitMix64(0x005e_ed0f_da7a);
        let mut next = || rng.next_u64();
        let mut a = [0; PERMS];
        let mut b = [0; PERMS];
        for i in 0..PERMS {
            a[i] = next() | 1;
            b[i] = next();
        }
        Self { a, b }
    }
}

impl MinHasher {
    /// The signature of a set of shingle hashes.
    pub fn signature(&self, shingles: &[u64]) -> [u32; PERMS] {
        let mut sig = [u32::MAX; PERMS];
        for &s in shingles {
            for ((slot, a), b) in sig.iter_mut().zip(&self.a).zip(&self.b) {
                let h = (a.wrapping_mul(s).wrapping_add(*b) >> 32) as u32;
                if h < *slot {
                    *slot = h;
                }
            }
        }
        sig
    }
}

/// The share of equal positions: an estimate of the Jaccard similarity.
pub fn estimated_jaccard(a: &[u32; PERMS], b: &[u32; PERMS]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / PERMS as f64
}

/// Deduplicates the input into `out`, streaming; returns the summary.
pub fn run(config: &DedupConfig) -> Result<DedupSummary, DedupError> {
    if let Some(t) = config.near_threshold
        && !(0.0..=1.0).contains(&t)
    {
        return Err(DedupError::Config(format!("near threshold {t} is not within [0, 1]")));
    }
    if config.shingle == 0 {
        return Err(DedupError::Config("shingle size must be positive".into()));
    }
    let hasher = MinHasher::default();
    // the kept rows and the report land together
    let mut set = OutputSet::new();
    let out = set.create(&config.out)?;
    let report = config.report.as_ref().map(|r| set.create(r)).transpose()?;
    let mut exact: HashMap<[u8; 32], usize> = HashMap::new();
    let mut kept: Vec<(String, u64)> = Vec::new();
    let mut sigs: Vec<[u32; PERMS]> = Vec::new();
    let mut buckets: HashMap<(u8, u64), Vec<u32>> = HashMap::new();
    let mut summary = DedupSummary::default();
    for row in read_records::<Trace>(&config.input, &config.fields)? {
        let (line, trace) = row?;
        summary.rows += 1;
        let text = match config.key {
            DedupKey::Question => normalise(&trace.question),
            DedupKey::Response => normalise(&trace.response),
            DedupKey::Pair => {
                format!("{} {}", normalise(&trace.question), normalise(&trace.response))
            }
        };
        let digest: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::digest(text.as_bytes()).into()
        };
        let mut removed = None;
        if let Some(&k) = exact.get(&digest) {
            summary.exact_duplicates += 1;
            removed = Some(("exact", k, 1.0));
        }
        let mut sig = None;
        if removed.is_none()
            && let Some(threshold) = config.near_threshold
        {
            let s = hasher.signature(&word_ngrams(&text, config.shingle));
            let mut best: Option<(usize, f64)> = None;
            for band in 0..BANDS {
                let key = (band as u8, band_hash(&s, band));
                for &k in buckets.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                    let j = estimated_jaccard(&s, &sigs[k as usize]);
                    if j >= threshold
                        && best.is_none_or(|(bk, bj)| j > bj || (j == bj && (k as usize) < bk))
                    {
                        best = Some((k as usize, j));
                    }
                }
            }
            if let Some((k, j)) = best {
                summary.near_duplicates += 1;
                removed = Some(("near", k, j));
            } else {
                sig = Some(s);
            }
        }
        match removed {
            Some((reason, k, similarity)) => {
                if let Some(r) = report {
                    set.file(r).write_record(&Removed {
                        id: trace.id,
                        line,
                        reason,
                        duplicate_of: kept[k].0.clone(),
                        duplicate_of_line: kept[k].1,
                        similarity,
                    })?;
                }
            }
            None => {
                let k = kept.len();
                exact.insert(digest, k);
                if let Some(s) = sig {
                    for band in 0..BANDS {
                        buckets
                            .entry((band as u8, band_hash(&s, band)))
                            .or_default()
                            .push(k as u32);
                    }
                    sigs.push(s);
                } else {
                    sigs.push([u32::MAX; PERMS]);
                }
                set.file(out).write_record(&trace)?;
                kept.push((trace.id, line));
                summary.kept += 1;
            }
        }
    }
    set.commit()?;
    Ok(summary)
}

fn band_hash(sig: &[u32; PERMS], band: usize) -> u64 {
    let mut bytes = [0u8; ROWS_PER_BAND * 4];
    for (i, v) in sig[band * ROWS_PER_BAND..(band + 1) * ROWS_PER_BAND].iter().enumerate() {
        bytes[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    crate::text::fnv1a(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_texts_have_high_estimated_jaccard() {
        let h = MinHasher::default();
        let base: String = (0..200).map(|i| format!("w{i} ")).collect();
        let edited = base.replace("w100 ", "changed ");
        let other: String = (0..200).map(|i| format!("v{i} ")).collect();
        let sig = |t: &str| h.signature(&word_ngrams(&normalise(t), 5));
        assert!(estimated_jaccard(&sig(&base), &sig(&edited)) > 0.8);
        assert!(estimated_jaccard(&sig(&base), &sig(&other)) < 0.1);
        assert_eq!(estimated_jaccard(&sig(&base), &sig(&base)), 1.0);
    }
}
