//! Atomic output: files are written under a temporary name in their final folder and renamed into
//! place only when every output of a command is complete. This is the one staging helper of the
//! workspace: every command's outputs, record files and whole files (metrics, reports, figures,
//! raw arrays) alike, go through [`OutputSet`] or [`StagedFile`]. Outputs get the permissions the
//! user's umask gives a new file (a temporary file alone would be private to its owner).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::WriteDatasetError;
use super::format::Format;

enum Sink {
    Plain(BufWriter<File>),
    Gz(flate2::write::GzEncoder<BufWriter<File>>),
    Zst(zstd::Encoder<'static, BufWriter<File>>),
}

/// One output file being written under a temporary name; dropped without [`StagedFile::commit`],
/// it leaves nothing behind.
pub struct StagedFile {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
    sink: Sink,
    rows: u64,
    hash: Option<sha2::Sha256>,
}

impl StagedFile {
    /// Starts writing `path` (compressed by its extension: `.gz`, `.zst`), creating its folder.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self, WriteDatasetError> {
        Self::open(path.into(), true)
    }

    /// Starts writing `path` as it is (no compression whatever its extension), creating its
    /// folder.
    pub fn create_raw(path: impl Into<PathBuf>) -> Result<Self, WriteDatasetError> {
        Self::open(path.into(), false)
    }

    fn open(path: PathBuf, compress: bool) -> Result<Self, WriteDatasetError> {
        let err = |source| WriteDatasetError { path: path.clone(), source };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs_err::create_dir_all(&dir).map_err(err)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            // what `File::create` asks for; the umask then applies, as to any new file
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(&dir)
            .map_err(err)?;
        let file = tmp.reopen().map_err(err)?;
        let buf = BufWriter::with_capacity(1 << 20, file);
        let sink = match Format::from_path(&path).filter(|_| compress) {
            Some(Format::JsonlGz) => {
                Sink::Gz(flate2::write::GzEncoder::new(buf, flate2::Compression::default()))
            }
            Some(Format::JsonlZst) => Sink::Zst(zstd::Encoder::new(buf, 3).map_err(err)?),
            _ => Sink::Plain(buf),
        };
        Ok(Self { path, tmp, sink, rows: 0, hash: None })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends raw bytes (a whole file's content, or part of it); no line is counted.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), WriteDatasetError> {
        let w: &mut dyn Write = match &mut self.sink {
            Sink::Plain(w) => w,
            Sink::Gz(w) => w,
            Sink::Zst(w) => w,
        };
        w.write_all(bytes).map_err(|source| WriteDatasetError { path: self.path.clone(), source })
    }

    /// Hashes every line written from now on (see [`StagedFile::content_sha256`]).
    pub fn hashing(mut self) -> Self {
        self.hash = Some(sha2::Digest::new());
        self
    }

    /// SHA-256 of the lines written (each with its `\n`): the file's bytes when it is not
    /// compressed. `None` unless [`StagedFile::hashing`] was called first.
    pub fn content_sha256(&self) -> Option<String> {
        self.hash.as_ref().map(|h| hex::encode(sha2::Digest::finalize(h.clone())))
    }

    /// Appends one line (the terminator is added).
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), WriteDatasetError> {
        let w: &mut dyn Write = match &mut self.sink {
            Sink::Plain(w) => w,
            Sink::Gz(w) => w,
            Sink::Zst(w) => w,
        };
        w.write_all(line)
            .and_then(|()| w.write_all(b"\n"))
            .map_err(|source| WriteDatasetError { path: self.path.clone(), source })?;
        if let Some(h) = &mut self.hash {
            sha2::Digest::update(h, line);
            sha2::Digest::update(h, b"\n");
        }
        self.rows += 1;
        Ok(())
    }

    /// Appends one record as a compact JSON line.
    pub fn write_record<T: Serialize>(&mut self, record: &T) -> Result<(), WriteDatasetError> {
        let line = serde_json::to_vec(record).map_err(|e| WriteDatasetError {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        self.write_line(&line)
    }

    /// Finishes compression, syncs, and renames the file into place.
    pub fn commit(self) -> Result<PathBuf, WriteDatasetError> {
        let path = self.path;
        let err = |source| WriteDatasetError { path: path.clone(), source };
        let buf = match self.sink {
            Sink::Plain(w) => w,
            Sink::Gz(w) => w.finish().map_err(err)?,
            Sink::Zst(w) => w.finish().map_err(err)?,
        };
        let file = buf.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_all().map_err(err)?;
        self.tmp.persist(&path).map_err(|e| err(e.error))?;
        Ok(path)
    }
}

/// Several outputs of one command, committed together: either all land, or none does.
#[derive(Default)]
pub struct OutputSet {
    files: Vec<StagedFile>,
}

impl OutputSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages a new output and returns its index.
    pub fn create(&mut self, path: impl Into<PathBuf>) -> Result<usize, WriteDatasetError> {
        self.files.push(StagedFile::create(path)?);
        Ok(self.files.len() - 1)
    }

    /// Stages a whole file (`bytes` as they are, whatever the extension).
    pub fn write(
        &mut self,
        path: impl Into<PathBuf>,
        bytes: &[u8],
    ) -> Result<(), WriteDatasetError> {
        let mut file = StagedFile::create_raw(path.into())?;
        file.write_bytes(bytes)?;
        self.files.push(file);
        Ok(())
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Adds an output staged elsewhere (one made with [`StagedFile::hashing`]) and returns its
    /// index.
    pub fn add(&mut self, file: StagedFile) -> usize {
        self.files.push(file);
        self.files.len() - 1
    }

    /// The staged output at `index`.
    pub fn file(&mut self, index: usize) -> &mut StagedFile {
        &mut self.files[index]
    }

    /// Commits every output, in the order they were created.
    pub fn commit(self) -> Result<Vec<PathBuf>, WriteDatasetError> {
        self.files.into_iter().map(StagedFile::commit).collect()
    }

    /// Stages `manifest` as pretty JSON at `path`, the record of what the set holds, and commits
    /// it with every output, last (a manifest never lands without its files).
    pub fn commit_with_manifest<T: Serialize>(
        mut self,
        path: &Path,
        manifest: &T,
    ) -> Result<Vec<PathBuf>, WriteDatasetError> {
        let mut text =
            serde_json::to_vec_pretty(manifest).expect("bug: a manifest always serialises");
        text.push(b'\n');
        self.write(path, &text)?;
        self.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_lands_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        {
            let mut f = StagedFile::create(&path).unwrap();
            f.write_line(b"{}").unwrap();
        }
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temp file left behind");
        let mut f = StagedFile::create(&path).unwrap();
        f.write_record(&serde_json::json!({"a": 1})).unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n");
    }

    #[test]
    fn outputs_get_the_umask_permissions_and_whole_files_land_together() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut set = OutputSet::new();
        set.write(dir.path().join("metrics.json"), b"{}\n").unwrap();
        let i = set.create(dir.path().join("v.jsonl")).unwrap();
        set.file(i).write_line(b"{}").unwrap();
        set.write(dir.path().join("fig.png.gz"), b"raw").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3, "staged only");
        assert!(!dir.path().join("metrics.json").exists());
        set.commit().unwrap();
        assert_eq!(std::fs::read(dir.path().join("fig.png.gz")).unwrap(), b"raw");
        // what a plain `File::create` gets under this process's umask
        let probe = dir.path().join("probe");
        std::fs::File::create(&probe).unwrap();
        let want = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        for name in ["metrics.json", "v.jsonl", "fig.png.gz"] {
            let got =
                std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(got, want, "{name}");
        }
        // dropped before commit: nothing lands, nothing is left
        let mut set = OutputSet::new();
        set.write(dir.path().join("late.json"), b"{}").unwrap();
        drop(set);
        assert!(!dir.path().join("late.json").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn compressed_outputs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.jsonl.gz", "a.jsonl.zst"] {
            let path = dir.path().join(name);
            let mut f = StagedFile::create(&path).unwrap();
            f.write_line(b"{\"id\":\"x\"}").unwrap();
            f.commit().unwrap();
            let rows: Vec<_> = crate::io::RowReader::open(&path).unwrap().collect();
            assert_eq!(rows.len(), 1, "{name}");
            assert_eq!(rows[0].as_ref().unwrap().json, b"{\"id\":\"x\"}");
        }
    }
}
