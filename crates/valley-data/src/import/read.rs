//! Row reading for imports: shards in order, only the columns an import needs, rows decoded on
//! demand so that skipped fields are never copied.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::ImportError;
use crate::io::{Columns, ReadDatasetError, ReadDatasetErrorKind, RowReader};

/// A split's shards in the order their rows are numbered: sorted by path, which is shard order
/// for Hugging Face's `train-00000-of-00009.parquet` names.
pub(crate) fn sorted_shards(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = files.to_vec();
    files.sort();
    files.dedup();
    files
}

/// One row of an input file, undecoded.
pub(crate) struct Row {
    pub(crate) path: PathBuf,
    pub(crate) line: u64,
    json: Vec<u8>,
}

impl Row {
    /// The row as a JSON object.
    pub(crate) fn object(&self) -> Result<Map<String, Value>, ImportError> {
        match serde_json::from_slice(&self.json) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(self.error(ReadDatasetErrorKind::NotAnObject)),
            Err(e) => Err(self.error(ReadDatasetErrorKind::Json(e))),
        }
    }

    /// The row decoded into `T`, which names only the fields it reads (the others are skipped
    /// without being copied).
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T, ImportError> {
        serde_json::from_slice(&self.json).map_err(|e| {
            if e.is_data() {
                // a field of the wrong shape: `T` uses `Value` for every field it checks itself,
                // so this is a row that is not an object
                self.error(ReadDatasetErrorKind::NotAnObject)
            } else {
                self.error(ReadDatasetErrorKind::Json(e))
            }
        })
    }

    fn error(&self, kind: ReadDatasetErrorKind) -> ImportError {
        ImportError::Read(ReadDatasetError { path: self.path.clone(), line: Some(self.line), kind })
    }
}

/// A streaming reader of one file's rows.
pub(crate) struct Rows {
    path: PathBuf,
    reader: RowReader,
}

impl Rows {
    /// Opens `path`, decoding only `columns` where the format allows it.
    pub(crate) fn open(path: &Path, columns: Columns<'_>) -> Result<Self, ImportError> {
        Ok(Self { path: path.to_path_buf(), reader: RowReader::open_columns(path, columns)? })
    }

    /// The next row, or `None` at the end.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row>, ImportError> {
        match self.reader.next() {
            None => Ok(None),
            Some(Err(e)) => Err(e.into()),
            Some(Ok(raw)) => {
                Ok(Some(Row { path: self.path.clone(), line: raw.line, json: raw.json }))
            }
        }
    }

    /// SHA-256 of the file's bytes, once every row has been read.
    pub(crate) fn sha256(&self) -> String {
        self.reader.sha256().unwrap_or_default()
    }
}

/// A field that should hold text: a string, or a number kept as its decimal text (OCR2's
/// `index` is a string in the published Parquet and a number in some copies).
pub(crate) fn text_field(v: &Option<Value>) -> Result<Option<String>, &'static str> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err("expected a string"),
    }
}
