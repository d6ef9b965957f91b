//! The crash-safe, append-only JSON Lines file a generation job writes.
//!
//! Constraints: a job may be killed at any instant (SIGKILL, power loss) and restarted, and must
//! end with every (question, sample) exactly once and no torn line. Solution:
//!
//! - each record is one line, written with one `write` of the whole line to a file opened in
//!   append mode, and the batch is made durable with `fsync` before it is counted as done;
//! - on open, a trailing piece without its newline (a write cut short) is cut off, and the keys of
//!   the complete lines are loaded, so a resumed job skips them; a duplicate key (impossible
//!   through this type, possible in a hand-merged file) is counted and the first one wins;
//! - an exclusive advisory lock on the file keeps two jobs from appending at once; the kernel
//!   drops it when the process dies, however it dies.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use valley_types::Generation;

/// Why the generations file could not be opened, read or appended to.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Opening, reading, truncating or locking failed.
    #[error("cannot open generations file {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the file's lock.
    #[error("generations file {} is being written by another process", path.display())]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// A complete line is not a generation record.
    #[error("{}:{line}: not a generation record", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The parse error (it names the field).
        #[source]
        source: serde_json::Error,
    },
    /// A record on file was made with other settings than this job's.
    #[error("{}:{line}: record made with another `{field}` ({found}) than this job ({expected})", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The field that differs.
        field: &'static str,
        /// Its value on file.
        found: String,
        /// This job's value.
        expected: String,
    },
    /// Appending or syncing failed.
    #[error("cannot append to generations file {}", path.display())]
    Append {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What was found in the file when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resumed {
    /// Complete records already on file (duplicates excluded).
    pub records: u64,
    /// Bytes of a torn trailing line that were cut off.
    pub torn_bytes: u64,
    /// Records whose key was already on file earlier (ignored).
    pub duplicates: u64,
}

/// The settings every record of one job shares; records on file must match them.
#[derive(Debug, Clone, PartialEq)]
pub struct JobIdentity {
    /// Model name sent with the requests.
    pub model: String,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus mass.
    pub top_p: f64,
    /// Token budget.
    pub max_tokens: Option<u32>,
    /// Server-specific request fields.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl JobIdentity {
    fn mismatch(&self, g: &Generation) -> Option<(&'static str, String, String)> {
        if g.model != self.model {
            return Some(("model", g.model.clone(), self.model.clone()));
        }
        let p = g.params.as_ref()?;
        if p.temperature != self.temperature {
            return Some(("temperature", p.temperature.to_string(), self.temperature.to_string()));
        }
        if p.top_p != self.top_p {
            return Some(("top_p", p.top_p.to_string(), self.top_p.to_string()));
        }
        if p.max_tokens != self.max_tokens {
            let show = |m: Option<u32>| m.map_or_else(|| "none".to_owned(), |m| m.to_string());
            return Some(("max_tokens", show(p.max_tokens), show(self.max_tokens)));
        }
        if p.extra != self.extra {
            let show = |m: &serde_json::Map<String, serde_json::Value>| {
                serde_json::Value::Object(m.clone()).to_string()
            };
            return Some(("extra_body", show(&p.extra), show(&self.extra)));
        }
        None
    }
}

/// An open generations file: the keys already done, and an append handle.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    done: HashSet<(String, u32)>,
}

impl Journal {
    /// Opens (creating it if needed) and locks `path`, cuts off a torn trailing line and loads the
    /// keys on file. With `identity`, a record made with other settings is an error.
    pub fn open(
        path: impl Into<PathBuf>,
        identity: Option<&JobIdentity>,
    ) -> Result<(Self, Resumed), JournalError> {
        let path = path.into();
        let open_err = |source| JournalError::Open { path: path.clone(), source };
        let created = !path.exists();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(open_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(JournalError::Locked { path }),
            Err(std::fs::TryLockError::Error(e)) => return Err(open_err(e)),
        }
        if created {
            sync_parent(&path).map_err(open_err)?;
        }
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).map_err(open_err)?;
        file.read_to_end(&mut bytes).map_err(open_err)?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut resumed =
            Resumed { torn_bytes: (bytes.len() - complete) as u64, ..Resumed::default() };
        if resumed.torn_bytes > 0 {
            file.set_len(complete as u64).map_err(open_err)?;
            file.sync_data().map_err(open_err)?;
        }
        let mut done = HashSet::new();
        for (i, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line_no = i as u64 + 1;
            let g: Generation = serde_json::from_slice(line).map_err(|source| {
                JournalError::BadLine { path: path.clone(), line: line_no, source }
            })?;
            if let Some((field, found, expected)) = identity.and_then(|id| id.mismatch(&g)) {
                return Err(JournalError::Mismatch { path, line: line_no, field, found, expected });
            }
            if done.insert((g.question_id, g.sample_index)) {
                resumed.records += 1;
            } else {
                resumed.duplicates += 1;
            }
        }
        Ok((Self { path, file, done }, resumed))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether (`question_id`, `sample_index`) is on file.
    pub fn contains(&self, question_id: &str, sample_index: u32) -> bool {
        self.done.contains(&(question_id.to_owned(), sample_index))
    }

    /// Appends `records` (one `write` per line) and makes them durable; records whose key is
    /// already on file are skipped. Returns how many were written.
    pub fn append(&mut self, records: &[Generation]) -> Result<usize, JournalError> {
        let mut written = 0;
        for g in records {
            let key = (g.question_id.clone(), g.sample_index);
            if self.done.contains(&key) {
                continue;
            }
            let mut line = serde_json::to_vec(g).expect("a generation record always serializes");
            line.push(b'\n');
            self.file
                .write_all(&line)
                .map_err(|source| JournalError::Append { path: self.path.clone(), source })?;
            self.done.insert(key);
            written += 1;
        }
        if written > 0 {
            self.file
                .sync_data()
                .map_err(|source| JournalError::Append { path: self.path.clone(), source })?;
        }
        Ok(written)
    }
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => std::fs::File::open(".")?.sync_all(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use valley_types::{ApiKind, SamplingParams};

    fn record(q: &str, i: u32) -> Generation {
        Generation {
            question_id: q.into(),
            sample_index: i,
            response: format!("answer {q} {i}\nwith a newline"),
            finish_reason: Some("stop".into()),
            prompt_tokens: Some(3),
            completion_tokens: Some(5),
            model: "m".into(),
            api: ApiKind::Chat,
            prompt_style: None,
            params: Some(SamplingParams {
                temperature: 0.2,
                top_p: 0.95,
                max_tokens: Some(64),
                seed: None,
                extra: serde_json::Map::new(),
            }),
            latency_ms: 1,
            attempts: 1,
            think: None,
        }
    }

    fn identity() -> JobIdentity {
        JobIdentity {
            model: "m".into(),
            temperature: 0.2,
            top_p: 0.95,
            max_tokens: Some(64),
            extra: serde_json::Map::new(),
        }
    }

    #[test]
    fn torn_tail_is_cut_and_keys_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.jsonl");
        {
            let (mut j, r) = Journal::open(&path, Some(&identity())).unwrap();
            assert_eq!(r, Resumed::default());
            assert_eq!(j.append(&[record("a", 0), record("a", 1)]).unwrap(), 2);
            // appending a key twice writes it once
            assert_eq!(j.append(&[record("a", 1)]).unwrap(), 0);
        }
        let full = std::fs::read(&path).unwrap();
        // simulate a kill in the middle of the next line
        let mut torn = full.clone();
        let next = serde_json::to_vec(&record("b", 0)).unwrap();
        torn.extend_from_slice(&next[..next.len() / 2]);
        std::fs::write(&path, &torn).unwrap();
        let (mut j, r) = Journal::open(&path, Some(&identity())).unwrap();
        assert_eq!(r, Resumed { records: 2, torn_bytes: (next.len() / 2) as u64, duplicates: 0 });
        assert_eq!(std::fs::read(&path).unwrap(), full);
        assert!(j.contains("a", 1) && !j.contains("b", 0));
        j.append(&[record("b", 0)]).unwrap();
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn a_complete_line_without_newline_is_also_redone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.jsonl");
        let mut bytes = serde_json::to_vec(&record("a", 0)).unwrap();
        bytes.push(b'\n');
        bytes.extend(serde_json::to_vec(&record("a", 1)).unwrap());
        std::fs::write(&path, &bytes).unwrap();
        let (j, r) = Journal::open(&path, None).unwrap();
        assert_eq!((r.records, j.contains("a", 1)), (1, false));
    }

    #[test]
    fn bad_lines_mismatches_duplicates_and_locks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.jsonl");
        let line = |g: &Generation| format!("{}\n", serde_json::to_string(g).unwrap());
        std::fs::write(&path, format!("{}{{\"oops\":1}}\n", line(&record("a", 0)))).unwrap();
        let err = Journal::open(&path, None).unwrap_err();
        assert!(matches!(err, JournalError::BadLine { line: 2, .. }), "{err}");
        assert!(err.to_string().ends_with("g.jsonl:2: not a generation record"));

        std::fs::write(&path, format!("{}{}", line(&record("a", 0)), line(&record("a", 0))))
            .unwrap();
        let (_, r) = Journal::open(&path, None).unwrap();
        assert_eq!((r.records, r.duplicates), (1, 1));

        let other = JobIdentity { temperature: 0.7, ..identity() };
        let err = Journal::open(&path, Some(&other)).unwrap_err();
        assert!(
            matches!(err, JournalError::Mismatch { field: "temperature", line: 1, .. }),
            "{err}"
        );

        let (_held, _) = Journal::open(&path, None).unwrap();
        assert!(matches!(Journal::open(&path, None), Err(JournalError::Locked { .. })));
    }
}
