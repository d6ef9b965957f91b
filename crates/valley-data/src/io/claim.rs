//! Claiming a command's outputs before it runs (issue 14): an output that is, or overlaps, one of
//! the command's inputs or another of its outputs is refused before anything is read or written,
//! and each output is locked against a second run for as long as the [`Claim`] is held.
//!
//! Paths are compared after resolving symbolic links (through the deepest part of the path that
//! exists), and existing files also by device and inode, so `./a.jsonl`, a symlink to it and a
//! hard link to it are all the same file.
//!
//! Locks are advisory `flock`s: an output file's lock is a hidden `.NAME.lock` beside it (the
//! output itself is replaced by a rename, so it cannot carry the lock), removed when the claim
//! is dropped; an output folder is locked itself. A lock dies with its process, so a killed run
//! never blocks the next one.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// What kind of output a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// A file, replaced as a whole (or appended to) by the run.
    File,
    /// A folder the run writes files into; created if missing.
    Folder,
    /// A folder that must not exist yet; the run creates it whole.
    NewFolder,
}

/// How an output collides with another path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Both name the same file or folder.
    Same,
    /// The other path lies inside the output folder.
    Contains,
    /// The output lies inside the other path, a folder.
    Inside,
}

/// Claiming the outputs failed: nothing was read or written.
#[derive(Debug, thiserror::Error)]
pub enum ClaimOutputError {
    /// An output is, holds, or lies inside an input (or another output).
    #[error(
        "{output} `{}` {} {other} `{}`; refusing to run (it would overwrite what it reads), write the output elsewhere",
        output_path.display(),
        match how {
            Overlap::Same => "is the same path as",
            Overlap::Contains => "is a folder that holds",
            Overlap::Inside => "lies inside the folder",
        },
        other_path.display()
    )]
    Overlap {
        /// The output's name (a flag such as `--out`).
        output: String,
        /// The output's path, as given.
        output_path: PathBuf,
        /// The other path's name (`--input`, or another output's flag).
        other: String,
        /// The other path, as given.
        other_path: PathBuf,
        /// How they collide.
        how: Overlap,
    },
    /// An output exists as the wrong kind of thing.
    #[error("{output} `{}`: {message}", path.display())]
    Kind {
        /// The output's name.
        output: String,
        /// Its path.
        path: PathBuf,
        /// What is wrong.
        message: &'static str,
    },
    /// Another run holds the output's lock.
    #[error(
        "{output} `{}`: another run is writing it (it holds the lock on `{}`); wait for it to finish or write elsewhere",
        path.display(),
        lock.display()
    )]
    Locked {
        /// The output's name.
        output: String,
        /// Its path.
        path: PathBuf,
        /// The locked file or folder.
        lock: PathBuf,
    },
    /// The lock could not be taken.
    #[error("{output} `{}`: cannot lock it", path.display())]
    Io {
        /// The output's name.
        output: String,
        /// Its path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The inputs and outputs of one run, to be checked and locked by [`ClaimOutputs::claim`].
#[derive(Debug, Default)]
pub struct ClaimOutputs<'a> {
    inputs: Vec<(&'a str, &'a Path)>,
    outputs: Vec<(&'a str, &'a Path, OutputKind)>,
}

impl<'a> ClaimOutputs<'a> {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// An input file or folder the run reads, named for messages (`--input`).
    pub fn input(mut self, name: &'a str, path: &'a Path) -> Self {
        self.inputs.push((name, path));
        self
    }

    /// An optional input.
    pub fn input_opt(self, name: &'a str, path: Option<&'a Path>) -> Self {
        match path {
            Some(p) => self.input(name, p),
            None => self,
        }
    }

    /// An output, named for messages (`--out`).
    pub fn output(mut self, name: &'a str, path: &'a Path, kind: OutputKind) -> Self {
        self.outputs.push((name, path, kind));
        self
    }

    /// An optional output.
    pub fn output_opt(self, name: &'a str, path: Option<&'a Path>, kind: OutputKind) -> Self {
        match path {
            Some(p) => self.output(name, p, kind),
            None => self,
        }
    }

    /// Refuses any output that is, holds or lies inside an input or another output, or that
    /// exists as the wrong kind; then locks every output (creating a missing output folder).
    pub fn claim(self) -> Result<Claim, ClaimOutputError> {
        let inputs: Vec<Resolved<'_>> =
            self.inputs.iter().map(|&(name, path)| Resolved::new(name, path)).collect();
        let outputs: Vec<(Resolved<'_>, OutputKind)> = self
            .outputs
            .iter()
            .map(|&(name, path, kind)| (Resolved::new(name, path), kind))
            .collect();
        for (i, (out, kind)) in outputs.iter().enumerate() {
            let kind_error = |message| ClaimOutputError::Kind {
                output: out.name.to_owned(),
                path: out.given.to_path_buf(),
                message,
            };
            match (kind, out.meta.as_ref()) {
                (OutputKind::File, Some(m)) if m.is_dir() => {
                    return Err(kind_error("is a folder; expected a file name"));
                }
                (OutputKind::Folder, Some(m)) if !m.is_dir() => {
                    return Err(kind_error("is a file; expected a folder"));
                }
                (OutputKind::NewFolder, Some(_)) => {
                    return Err(kind_error("already exists; give a new folder"));
                }
                _ => {}
            }
            let others = inputs.iter().chain(outputs[..i].iter().map(|(o, _)| o));
            for other in others {
                if let Some(how) = out.overlap(*kind, other) {
                    return Err(ClaimOutputError::Overlap {
                        output: out.name.to_owned(),
                        output_path: out.given.to_path_buf(),
                        other: other.name.to_owned(),
                        other_path: other.given.to_path_buf(),
                        how,
                    });
                }
            }
        }
        let mut locks = Vec::with_capacity(outputs.len());
        for (out, kind) in &outputs {
            locks.push(Lock::take(out, *kind)?);
        }
        Ok(Claim { locks })
    }
}

/// Held outputs: each stays locked until the claim is dropped. A folder the claim created is
/// removed again if the run left it empty.
#[derive(Debug)]
pub struct Claim {
    locks: Vec<Lock>,
}

impl Claim {
    /// The locks held, one per output (file or folder that carries the lock).
    pub fn lock_paths(&self) -> Vec<&Path> {
        self.locks.iter().map(|l| l.path.as_path()).collect()
    }
}

/// A path as given and as resolved.
struct Resolved<'a> {
    name: &'a str,
    given: &'a Path,
    real: PathBuf,
    meta: Option<std::fs::Metadata>,
}

impl<'a> Resolved<'a> {
    fn new(name: &'a str, given: &'a Path) -> Self {
        Self { name, given, real: resolve(given), meta: std::fs::metadata(given).ok() }
    }

    fn is_dir(&self) -> bool {
        self.meta.as_ref().is_some_and(std::fs::Metadata::is_dir)
    }

    fn same(&self, other: &Self) -> bool {
        if self.real == other.real {
            return true;
        }
        match (&self.meta, &other.meta) {
            (Some(a), Some(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }

    /// How this output (of `kind`) collides with `other`, if it does.
    fn overlap(&self, kind: OutputKind, other: &Self) -> Option<Overlap> {
        if self.same(other) {
            return Some(Overlap::Same);
        }
        if kind != OutputKind::File && other.real.starts_with(&self.real) {
            return Some(Overlap::Contains);
        }
        if other.is_dir() && self.real.starts_with(&other.real) {
            return Some(Overlap::Inside);
        }
        None
    }
}

/// `path` made absolute, with symbolic links resolved through its deepest existing ancestor and
/// `.`/`..` applied to the rest.
fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    };
    let mut rest: Vec<Component<'_>> = Vec::new();
    let mut base = absolute.as_path();
    let real_base = loop {
        if let Ok(real) = base.canonicalize() {
            break real;
        }
        match (base.parent(), base.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                base = parent;
            }
            _ => break base.to_path_buf(),
        }
    };
    let mut out = real_base;
    for c in rest.into_iter().rev() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// One held lock.
#[derive(Debug)]
struct Lock {
    /// The locked file (an output file's `.NAME.lock`) or folder.
    path: PathBuf,
    _file: File,
    /// A lock file to delete on release.
    remove_file: bool,
    /// A folder this claim created, removed on release if still empty.
    created_dir: Option<PathBuf>,
}

impl Lock {
    fn take(out: &Resolved<'_>, kind: OutputKind) -> Result<Self, ClaimOutputError> {
        let io = |source| ClaimOutputError::Io {
            output: out.name.to_owned(),
            path: out.given.to_path_buf(),
            source,
        };
        let locked = |lock: &Path| ClaimOutputError::Locked {
            output: out.name.to_owned(),
            path: out.given.to_path_buf(),
            lock: lock.to_path_buf(),
        };
        // A folder is locked itself; a file by a `.NAME.lock` beside it.
        let (path, created_dir) = if kind == OutputKind::Folder {
            let created = !out.real.exists();
            std::fs::create_dir_all(&out.real).map_err(io)?;
            (out.real.clone(), created.then(|| out.real.clone()))
        } else {
            let dir = out.real.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
            let name = out.real.file_name().map(|n| n.to_string_lossy().into_owned());
            std::fs::create_dir_all(&dir).map_err(io)?;
            (dir.join(format!(".{}.lock", name.unwrap_or_default())), None)
        };
        let open = |p: &Path| {
            if kind == OutputKind::Folder {
                std::fs::create_dir_all(p)?;
                File::open(p)
            } else {
                OpenOptions::new().read(true).write(true).create(true).truncate(false).open(p)
            }
        };
        // A run that ends deletes its lock file (or the empty folder it made); one that opened
        // the old one just before may then lock a deleted inode, so a lock counts only while the
        // path still names what was locked.
        loop {
            let file = open(&path).map_err(io)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Err(locked(&path)),
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
            let held = file.metadata().map_err(io)?;
            let current = std::fs::metadata(&path).ok();
            if current.is_some_and(|m| m.dev() == held.dev() && m.ino() == held.ino()) {
                let remove_file = kind != OutputKind::Folder;
                return Ok(Self { path, _file: file, remove_file, created_dir });
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Deleted while still held, so no other run can lock the old file and think it holds
        // the output.
        if self.remove_file {
            let _ = std::fs::remove_file(&self.path);
        }
        if let Some(dir) = &self.created_dir {
            // fails (and keeps the folder) unless it is empty
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(inputs: &[&Path], outputs: &[(&Path, OutputKind)]) -> Result<Claim, ClaimOutputError> {
        let mut c = ClaimOutputs::new();
        for i in inputs {
            c = c.input("--input", i);
        }
        for (o, k) in outputs {
            c = c.output("--out", o, *k);
        }
        c.claim()
    }

    fn how(r: Result<Claim, ClaimOutputError>) -> Option<Overlap> {
        match r {
            Err(ClaimOutputError::Overlap { how, .. }) => Some(how),
            Ok(_) => None,
            Err(e) => panic!("unexpected: {e}"),
        }
    }

    #[test]
    fn an_output_that_is_or_overlaps_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let input = d.join("in.jsonl");
        std::fs::write(&input, "{}\n").unwrap();
        let file = OutputKind::File;
        let folder = OutputKind::Folder;
        assert_eq!(how(claim(&[&input], &[(&input, file)])), Some(Overlap::Same));
        // the same file through `..`, a symbolic link and a hard link
        let dotted = d.join("sub/../in.jsonl");
        assert_eq!(how(claim(&[&input], &[(&dotted, file)])), Some(Overlap::Same));
        std::os::unix::fs::symlink(&input, d.join("link.jsonl")).unwrap();
        assert_eq!(how(claim(&[&d.join("link.jsonl")], &[(&input, file)])), Some(Overlap::Same));
        std::fs::hard_link(&input, d.join("hard.jsonl")).unwrap();
        assert_eq!(how(claim(&[&input], &[(&d.join("hard.jsonl"), file)])), Some(Overlap::Same));
        // a folder output holding the input; an output inside an input folder
        assert_eq!(how(claim(&[&input], &[(d, folder)])), Some(Overlap::Contains));
        assert_eq!(how(claim(&[d], &[(&d.join("new/out.jsonl"), file)])), Some(Overlap::Inside));
        // two outputs on one path
        let out = d.join("out.jsonl");
        assert_eq!(how(claim(&[], &[(&out, file), (&out, file)])), Some(Overlap::Same));
        // disjoint paths are fine, and the lock file goes away with the claim
        let c = claim(&[&input], &[(&out, file)]).unwrap();
        assert!(d.join(".out.jsonl.lock").exists());
        drop(c);
        assert!(!d.join(".out.jsonl.lock").exists());
    }

    #[test]
    fn outputs_of_the_wrong_kind_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "").unwrap();
        let kind =
            |r: Result<Claim, ClaimOutputError>| matches!(r, Err(ClaimOutputError::Kind { .. }));
        assert!(kind(claim(&[], &[(dir.path(), OutputKind::File)])));
        assert!(kind(claim(&[], &[(&f, OutputKind::Folder)])));
        assert!(kind(claim(&[], &[(dir.path(), OutputKind::NewFolder)])));
    }

    #[test]
    fn a_second_claim_on_a_held_output_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        for (path, kind) in [
            (dir.path().join("out.jsonl"), OutputKind::File),
            (dir.path().join("folder"), OutputKind::Folder),
            (dir.path().join("new"), OutputKind::NewFolder),
        ] {
            let first = claim(&[], &[(&path, kind)]).unwrap();
            let second = claim(&[], &[(&path, kind)]);
            assert!(matches!(second, Err(ClaimOutputError::Locked { .. })), "{kind:?}: {second:?}");
            drop(first);
            let third = claim(&[], &[(&path, kind)]).unwrap();
            drop(third);
        }
        // a folder the claim created is removed when nothing was written into it
        assert!(!dir.path().join("folder").exists());
    }
}
