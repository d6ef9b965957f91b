//! File formats, told apart by extension.

use std::path::Path;

/// A record file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON Lines, uncompressed (`.jsonl`, `.json`, `.ndjson`).
    Jsonl,
    /// Gzip-compressed JSON Lines (`.jsonl.gz`).
    JsonlGz,
    /// Zstandard-compressed JSON Lines (`.jsonl.zst`).
    JsonlZst,
    /// Apache Parquet, as Hugging Face datasets writes it (`.parquet`).
    Parquet,
}

impl Format {
    /// The format a path's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".parquet") {
            Some(Self::Parquet)
        } else if name.ends_with(".gz") {
            Some(Self::JsonlGz)
        } else if name.ends_with(".zst") || name.ends_with(".zstd") {
            Some(Self::JsonlZst)
        } else if name.ends_with(".jsonl") || name.ends_with(".json") || name.ends_with(".ndjson") {
            Some(Self::Jsonl)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension() {
        for (name, f) in [
            ("a.jsonl", Some(Format::Jsonl)),
            ("a.JSONL.GZ", Some(Format::JsonlGz)),
            ("dir.x/a.jsonl.zst", Some(Format::JsonlZst)),
            ("train-00000-of-00001.parquet", Some(Format::Parquet)),
            ("a.csv", None),
        ] {
            assert_eq!(Format::from_path(Path::new(name)), f, "{name}");
        }
    }
}
