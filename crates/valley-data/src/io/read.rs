//! Streaming row reader over JSON Lines (plain, gzip, zstd) and Parquet files.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::{ReadDatasetError, ReadDatasetErrorKind as Kind};
use super::fields::FieldMap;
use super::format::Format;

/// One input row: its 1-based line (or Parquet row) number and its JSON text.
#[derive(Debug, Clone)]
pub struct RawRow {
    /// 1-based line number in the (decompressed) file, or row number for Parquet.
    pub line: u64,
    /// The row as one JSON object, without the line terminator.
    pub json: Vec<u8>,
}

/// Which top-level fields a reader decodes (Parquet only; JSON Lines rows come whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns<'a> {
    /// Every field.
    All,
    /// Only these.
    Only(&'a [&'a str]),
    /// All but these.
    Except(&'a [&'a str]),
}

impl Columns<'_> {
    /// Whether the field `name` is read.
    pub fn wants(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(names) => names.contains(&name),
            Self::Except(names) => !names.contains(&name),
        }
    }
}

/// Streams the rows of a record file, and hashes the file's bytes on the way.
pub struct RowReader {
    path: PathBuf,
    source: Source,
    line: u64,
    hash: HashHandle,
    precomputed: Option<String>,
}

enum Source {
    Lines(Box<dyn BufRead + Send>),
    Parquet {
        batches: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
        pending: std::vec::IntoIter<Vec<u8>>,
    },
    Done,
}

type HashHandle = std::sync::Arc<std::sync::Mutex<Option<Sha256>>>;

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: HashHandle,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hash.lock().expect("hash lock poisoned").as_mut() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

impl RowReader {
    /// Opens a record file, choosing the format by extension.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadDatasetError> {
        Self::open_columns(path, Columns::All)
    }

    /// Opens a record file and reads only the named top-level fields where the format allows it
    /// (Parquet decodes only those columns; JSON Lines rows come whole, and a caller decoding them
    /// skips the rest). Rows keep their line numbers either way.
    pub fn open_columns(
        path: impl AsRef<Path>,
        columns: Columns<'_>,
    ) -> Result<Self, ReadDatasetError> {
        let path = path.as_ref().to_path_buf();
        let format = Format::from_path(&path)
            .ok_or_else(|| ReadDatasetError::file(&path, Kind::UnknownFormat))?;
        let file = File::open(&path).map_err(|e| ReadDatasetError::file(&path, Kind::Io(e)))?;
        let hash: HashHandle = std::sync::Arc::new(std::sync::Mutex::new(Some(Sha256::new())));
        let hashing = Hashing { inner: file, hash: hash.clone() };
        const BUF: usize = 1 << 20;
        let source = match format {
            Format::Jsonl => Source::Lines(Box::new(BufReader::with_capacity(BUF, hashing))),
            Format::JsonlGz => Source::Lines(Box::new(BufReader::with_capacity(
                BUF,
                flate2::read::MultiGzDecoder::new(BufReader::with_capacity(BUF, hashing)),
            ))),
            Format::JsonlZst => {
                let dec = zstd::Decoder::new(hashing)
                    .map_err(|e| ReadDatasetError::file(&path, Kind::Io(e)))?;
                Source::Lines(Box::new(BufReader::with_capacity(BUF, dec)))
            }
            Format::Parquet => {
                // Parquet is read by seeking, so the bytes are hashed in a separate pass.
                drop(hashing);
                let digest = sha256_file(&path)?;
                let file =
                    File::open(&path).map_err(|e| ReadDatasetError::file(&path, Kind::Io(e)))?;
                let batches =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                        .and_then(|b| {
                            let b = match columns {
                                Columns::Only(_) | Columns::Except(_) => {
                                    let roots: Vec<usize> = b
                                        .schema()
                                        .fields()
                                        .iter()
                                        .enumerate()
                                        .filter(|(_, f)| columns.wants(f.name()))
                                        .map(|(i, _)| i)
                                        .collect();
                                    let mask = parquet::arrow::ProjectionMask::roots(
                                        b.parquet_schema(),
                                        roots,
                                    );
                                    b.with_projection(mask)
                                }
                                Columns::All => b,
                            };
                            b.with_batch_size(256).build()
                        })
                        .map_err(|e| ReadDatasetError::file(&path, Kind::Parquet(Box::new(e))))?;
                return Ok(Self {
                    path,
                    source: Source::Parquet { batches, pending: Vec::new().into_iter() },
                    line: 0,
                    hash,
                    precomputed: Some(digest),
                });
            }
        };
        Ok(Self { path, source, line: 0, hash, precomputed: None })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SHA-256 of the file's bytes, once every row has been read.
    pub fn sha256(&self) -> Option<String> {
        if !matches!(self.source, Source::Done) {
            return None;
        }
        if let Some(digest) = &self.precomputed {
            return Some(digest.clone());
        }
        self.hash
            .lock()
            .expect("hash lock poisoned")
            .as_ref()
            .map(|h| hex::encode(h.clone().finalize()))
    }

    fn next_line(&mut self) -> Option<Result<RawRow, ReadDatasetError>> {
        let Source::Lines(reader) = &mut self.source else { unreachable!() };
        loop {
            let mut buf = Vec::new();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => {
                    self.finish_hash();
                    return None;
                }
                Ok(_) => {
                    self.line += 1;
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                    // Blank lines carry no row; everything else must be a JSON object.
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(Ok(RawRow { line: self.line, json: buf }));
                }
                Err(e) => {
                    self.source = Source::Done;
                    return Some(Err(ReadDatasetError::row(
                        &self.path,
                        self.line + 1,
                        Kind::Io(e),
                    )));
                }
            }
        }
    }

    fn finish_hash(&mut self) {
        if let Source::Lines(reader) = &mut self.source {
            // Drain whatever the decoder left unread (gzip trailers) so the hash covers the file.
            let _ = std::io::copy(reader, &mut std::io::sink());
        }
        self.source = Source::Done;
    }

    fn next_parquet(&mut self) -> Option<Result<RawRow, ReadDatasetError>> {
        loop {
            let Source::Parquet { batches, pending } = &mut self.source else { unreachable!() };
            if let Some(json) = pending.next() {
                self.line += 1;
                return Some(Ok(RawRow { line: self.line, json }));
            }
            match batches.next() {
                None => {
                    self.source = Source::Done;
                    return None;
                }
                Some(Err(e)) => {
                    self.source = Source::Done;
                    return Some(Err(ReadDatasetError::row(
                        &self.path,
                        self.line + 1,
                        Kind::Parquet(Box::new(e)),
                    )));
                }
                Some(Ok(batch)) => {
                    let mut out = Vec::new();
                    let mut w = arrow_json::LineDelimitedWriter::new(&mut out);
                    if let Err(e) = w.write(&batch).and_then(|()| w.finish()) {
                        self.source = Source::Done;
                        return Some(Err(ReadDatasetError::row(
                            &self.path,
                            self.line + 1,
                            Kind::Parquet(Box::new(e)),
                        )));
                    }
                    drop(w);
                    let rows: Vec<Vec<u8>> = out
                        .split(|&b| b == b'\n')
                        .filter(|l| !l.is_empty())
                        .map(<[u8]>::to_vec)
                        .collect();
                    *pending = rows.into_iter();
                }
            }
        }
    }
}

fn sha256_file(path: &Path) -> Result<String, ReadDatasetError> {
    let mut f = File::open(path).map_err(|e| ReadDatasetError::file(path, Kind::Io(e)))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| ReadDatasetError::file(path, Kind::Io(e)))?;
    Ok(hex::encode(h.finalize()))
}

impl Iterator for RowReader {
    type Item = Result<RawRow, ReadDatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.source {
            Source::Lines(_) => self.next_line(),
            Source::Parquet { .. } => self.next_parquet(),
            Source::Done => None,
        }
    }
}

/// Decodes one row into a record: parses it, applies the field mapping, and deserializes it,
/// naming the field at fault (and its input column when mapped) on error.
pub fn decode_row<T: DeserializeOwned>(
    path: &Path,
    row: &RawRow,
    fields: &FieldMap,
) -> Result<T, ReadDatasetError> {
    let value: serde_json::Value = serde_json::from_slice(&row.json)
        .map_err(|e| ReadDatasetError::row(path, row.line, Kind::Json(e)))?;
    let serde_json::Value::Object(mut map) = value else {
        return Err(ReadDatasetError::row(path, row.line, Kind::NotAnObject));
    };
    if let Some((field, column)) = fields.absent_column(&map) {
        let kind = Kind::Field {
            field: field.to_owned(),
            column: Some(column.to_owned()),
            message: "missing (the column named by --field is not in the row)".into(),
        };
        return Err(ReadDatasetError::row(path, row.line, kind));
    }
    fields.apply(&mut map);
    serde_path_to_error::deserialize(serde_json::Value::Object(map)).map_err(|e| {
        let message = e.inner().to_string();
        let nested = e.path().to_string();
        let missing = message.starts_with("missing field `");
        let field = match message.strip_prefix("missing field `") {
            // serde reports a missing field at its parent's path
            Some(rest) => {
                let name = rest.split('`').next().unwrap_or_default();
                if nested == "." { name.to_owned() } else { format!("{nested}.{name}") }
            }
            None => nested,
        };
        let top = field.split(['.', '[']).next().unwrap_or_default();
        let column = fields.mapped_column(top).map(str::to_owned);
        // keep what a record's own check adds after "missing field `x`"
        let message = match message.strip_prefix("missing field `").and_then(|r| r.split_once('`'))
        {
            Some((_, tail)) if missing => format!("missing{tail}"),
            _ => message,
        };
        ReadDatasetError::row(path, row.line, Kind::Field { field, column, message })
    })
}

/// Streams the records of a file, decoded and field-mapped, with their line numbers.
pub fn read_records<T: DeserializeOwned>(
    path: &Path,
    fields: &FieldMap,
) -> Result<impl Iterator<Item = Result<(u64, T), ReadDatasetError>>, ReadDatasetError> {
    let reader = RowReader::open(path)?;
    let path = path.to_path_buf();
    let fields = fields.clone();
    Ok(reader.map(move |row| {
        let row = row?;
        decode_row(&path, &row, &fields).map(|t| (row.line, t))
    }))
}
