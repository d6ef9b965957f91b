//! The study's state database (SQLite, `<out>/.valley/state.sqlite`): each step's last known
//! state, its process or Slurm job, attempts and timings; and the cache of input file hashes by
//! path, size and mtime, so an unchanged rerun does not re-read gigabytes of traces.
//!
//! The database is a cache of what the step folders say: a step is done when its final folder
//! holds a provenance manifest with the step's current key, whatever the database says.

use std::path::{Path, PathBuf};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::StudyError;
use crate::hash::{FileStamp, list_files, sha256_file, sha256_hex};

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    /// Not run yet under its key, or to be run again.
    Pending,
    /// Its process (local) or Slurm job is running.
    Running,
    /// Its final folder holds outputs of its key.
    Done,
    /// It failed, and its retries are spent.
    Failed,
}

impl StepState {
    /// Every state, in the order `valley study status` counts them.
    pub const ALL: [StepState; 4] = [Self::Done, Self::Running, Self::Pending, Self::Failed];

    /// The state as the database and `valley study status` write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for StepState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl ToSql for StepState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for StepState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown step state `{text}`").into()))
    }
}

/// A step's row.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// Step id.
    pub id: String,
    /// The key it ran (or runs) under.
    pub key: String,
    /// Where it stands.
    pub state: StepState,
    /// The executing process (local backend).
    pub pid: Option<i64>,
    /// That process's start time (clock ticks since boot), to tell a reused pid apart.
    pub pid_start: Option<i64>,
    /// The Slurm job id.
    pub job_id: Option<String>,
    /// Attempts so far under this key.
    pub attempts: i64,
    /// Unix seconds.
    pub started_at: Option<f64>,
    /// Unix seconds.
    pub finished_at: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// An open state database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS steps (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER,
    pid_start INTEGER,
    job_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    finished_at REAL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
";

impl Store {
    /// Opens (creating) the database of the study whose output folder is `out`.
    pub fn open(out: &Path) -> Result<Self, StudyError> {
        let dir = out.join(".valley");
        fs_err::create_dir_all(&dir)
            .map_err(|e| StudyError::io("cannot create the state folder", e))?;
        let path = dir.join("state.sqlite");
        let db = |source| StudyError::Db { path: path.clone(), source };
        let conn = Connection::open(&path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Self { conn, path })
    }

    fn err(&self, source: rusqlite::Error) -> StudyError {
        StudyError::Db { path: self.path.clone(), source }
    }

    /// A step's row.
    pub fn get(&self, id: &str) -> Result<Option<StepRow>, StudyError> {
        self.conn
            .query_row(
                "SELECT id, key, state, pid, pid_start, job_id, attempts, started_at, finished_at, error
                 FROM steps WHERE id = ?1",
                params![id],
                |r| {
                    Ok(StepRow {
                        id: r.get(0)?,
                        key: r.get(1)?,
                        state: r.get(2)?,
                        pid: r.get(3)?,
                        pid_start: r.get(4)?,
                        job_id: r.get(5)?,
                        attempts: r.get(6)?,
                        started_at: r.get(7)?,
                        finished_at: r.get(8)?,
                        error: r.get(9)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Writes a step's row.
    pub fn put(&self, row: &StepRow) -> Result<(), StudyError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO steps
                 (id, key, state, pid, pid_start, job_id, attempts, started_at, finished_at, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    row.id,
                    row.key,
                    row.state,
                    row.pid,
                    row.pid_start,
                    row.job_id,
                    row.attempts,
                    row.started_at,
                    row.finished_at,
                    row.error
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Every row whose state is [`StepState::Running`].
    pub fn running(&self) -> Result<Vec<StepRow>, StudyError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM steps WHERE state = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let ids: Vec<String> = stmt
            .query_map([StepState::Running], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        let mut rows = Vec::new();
        for id in ids {
            rows.extend(self.get(&id)?);
        }
        Ok(rows)
    }

    /// The SHA-256 of a file, or of a folder (over its files' relative paths and hashes),
    /// from the cache when the file's size and mtime are unchanged.
    pub fn content_hash(&self, path: &Path) -> Result<String, StudyError> {
        let meta = fs_err::metadata(path).map_err(|e| StudyError::io("cannot hash an input", e))?;
        if !meta.is_dir() {
            return self.file_hash(path);
        }
        let files =
            list_files(path).map_err(|e| StudyError::io("cannot list an input folder", e))?;
        let mut listing = String::new();
        for f in files {
            let h = self.file_hash(&path.join(&f))?;
            listing.push_str(&format!("{f}\0{h}\n"));
        }
        Ok(sha256_hex(listing.as_bytes()))
    }

    fn file_hash(&self, path: &Path) -> Result<String, StudyError> {
        let stamp = FileStamp::of(path).map_err(|e| StudyError::io("cannot hash an input", e))?;
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let key = key.to_string_lossy().into_owned();
        let size = i64::try_from(stamp.size).unwrap_or(i64::MAX);
        let cached: Option<String> = self
            .conn
            .query_row(
                "SELECT sha256 FROM files WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3",
                params![key, size, stamp.mtime_ns],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if let Some(h) = cached {
            return Ok(h);
        }
        let h = sha256_file(path).map_err(|e| StudyError::io("cannot hash an input", e))?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, sha256) VALUES (?1, ?2, ?3, ?4)",
                params![key, size, stamp.mtime_ns, h],
            )
            .map_err(|e| self.err(e))?;
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, state: StepState) -> StepRow {
        StepRow {
            id: id.into(),
            key: "k".into(),
            state,
            pid: None,
            pid_start: None,
            job_id: None,
            attempts: 1,
            started_at: None,
            finished_at: None,
            error: None,
        }
    }

    #[test]
    fn states_round_trip_and_running_rows_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (i, s) in StepState::ALL.into_iter().enumerate() {
            store.put(&row(&format!("s{i}"), s)).unwrap();
            assert_eq!(store.get(&format!("s{i}")).unwrap().unwrap().state, s);
        }
        let running: Vec<_> = store.running().unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(running, ["s1"]);
        // The database holds the words `valley study status` shows.
        let text: String = store
            .conn
            .query_row("SELECT state FROM steps WHERE id = 's3'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(text, "failed");
    }

    #[test]
    fn an_unknown_state_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.put(&row("a", StepState::Done)).unwrap();
        store.conn.execute("UPDATE steps SET state = 'weird' WHERE id = 'a'", []).unwrap();
        let e = store.get("a").unwrap_err();
        let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains("unknown step state `weird`"), "{e}: {cause}");
    }
}
