//! A loaded study: its spec and plan, and what the backends use — the lock, the keys, the job
//! files, the log paths and the events they report. The backends themselves are in `backend`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::StudyError;
use crate::exec::{JOB_VERSION, Job, UpstreamJob};
use crate::keys::StepKey;
use crate::plan::{Plan, expand, partial_dir};
use crate::provenance::InputRecord;
use crate::spec::{BackendKind, LoadedSpec};
use crate::store::{StepRow, StepState, Store};

/// A spec and the steps it expands into.
#[derive(Debug, Clone)]
pub struct Study {
    /// The spec.
    pub spec: LoadedSpec,
    /// Its steps.
    pub plan: Plan,
}

/// How `run` runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The valley binary each step runs (`std::env::current_exe()` from the CLI).
    pub valley: PathBuf,
    /// Overrides `[study] backend`.
    pub backend: Option<BackendKind>,
    /// Overrides `[study] jobs`.
    pub jobs: Option<usize>,
    /// Overrides `[study] retries`.
    pub retries: Option<u32>,
    /// Set (by a signal handler) to stop: the local backend kills its running steps and
    /// returns [`StudyError::Interrupted`]; the Slurm backend leaves its jobs queued (a later
    /// run follows them).
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl RunOptions {
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// What a backend reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The step's output is already there under its key.
    Cached {
        /// Step id.
        step: String,
    },
    /// A step was started (local) or submitted (Slurm).
    Started {
        /// Step id.
        step: String,
        /// 1 for the first attempt.
        attempt: i64,
        /// The Slurm job id.
        job_id: Option<String>,
    },
    /// A step finished.
    Done {
        /// Step id.
        step: String,
        /// Seconds it took.
        seconds: f64,
    },
    /// A step failed.
    Failed {
        /// Step id.
        step: String,
        /// Its log.
        log: PathBuf,
        /// Whether it will be tried again.
        retry: bool,
    },
    /// A `running` state left by a process that is gone (or an orphan, which was killed) was
    /// reset so the step runs again.
    Stale {
        /// Step id.
        step: String,
    },
}

/// What `run` did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// Steps in the plan.
    pub steps: usize,
    /// Steps whose outputs were already there.
    pub cached: usize,
    /// Steps run now.
    pub ran: usize,
    /// Steps that failed (after their retries).
    pub failed: Vec<String>,
    /// Steps not run because a step before them failed.
    pub blocked: Vec<String>,
    /// Wall time in seconds.
    pub wall_s: f64,
    /// The backend.
    pub backend: String,
}

/// The exclusive hold of one `valley study run` on a study's output folder; released when
/// dropped or when the process dies.
#[derive(Debug)]
pub struct StudyLock {
    _file: std::fs::File,
}

impl Study {
    /// Loads a spec and expands it.
    pub fn load(path: &Path) -> Result<Self, StudyError> {
        let spec = LoadedSpec::load(path)?;
        let plan = expand(&spec)?;
        Ok(Self { spec, plan })
    }

    /// The state folder.
    pub fn state_dir(&self) -> PathBuf {
        self.plan.out.join(".valley")
    }

    /// The log of step `i`.
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.state_dir().join("logs").join(format!("{}.log", flat(&self.plan.steps[i].id)))
    }

    /// The job file of step `i`.
    pub fn job_path(&self, i: usize) -> PathBuf {
        self.state_dir().join("jobs").join(format!("{}.json", flat(&self.plan.steps[i].id)))
    }

    /// Takes the study's lock, or fails when another process holds it.
    pub fn lock(&self) -> Result<StudyLock, StudyError> {
        let dir = self.state_dir();
        fs_err::create_dir_all(&dir)
            .map_err(|e| StudyError::io("cannot create the state folder", e))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(|e| {
                StudyError::io(format!("cannot open {}", dir.join("lock").display()), e)
            })?;
        match file.try_lock() {
            Ok(()) => Ok(StudyLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(StudyError::Locked { out: self.plan.out.clone() })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(StudyError::io("cannot lock the study", e)),
        }
    }

    /// Opens the state database.
    pub fn store(&self) -> Result<Store, StudyError> {
        Store::open(&self.plan.out)
    }

    /// Every step's key; a missing input is an error naming its spec field.
    pub fn keys(&self, store: &Store) -> Result<Vec<StepKey>, StudyError> {
        crate::keys::compute(&self.plan, store, &self.spec.path)
    }

    /// Whether step `i`'s final folder holds outputs of `key`.
    pub fn is_done(&self, i: usize, key: &str) -> bool {
        crate::provenance::read(&self.plan.step_dir(i)).is_some_and(|p| p.key == key)
    }

    /// Records in the store that step `i` is done under `key` (its folder holds the provenance),
    /// unless `previous`, its row on file, already says so. Both backends call this for steps
    /// they find done before running anything.
    pub(crate) fn record_done(
        &self,
        store: &Store,
        i: usize,
        key: &str,
        previous: Option<StepRow>,
    ) -> Result<(), StudyError> {
        if previous.as_ref().is_some_and(|r| r.state == StepState::Done && r.key == key) {
            return Ok(());
        }
        let p = crate::provenance::read(&self.plan.step_dir(i));
        store.put(&StepRow {
            id: self.plan.steps[i].id.clone(),
            key: key.to_owned(),
            state: StepState::Done,
            pid: None,
            pid_start: None,
            job_id: previous.as_ref().filter(|r| r.key == key).and_then(|r| r.job_id.clone()),
            attempts: previous.map_or(0, |r| r.attempts),
            started_at: p.as_ref().map(|p| p.started_at),
            finished_at: p.as_ref().map(|p| p.finished_at),
            error: None,
        })?;
        Ok(())
    }

    /// The job of step `i`, written to its job file; returns the file's path.
    pub fn write_job(
        &self,
        i: usize,
        keys: &[StepKey],
        valley: &Path,
    ) -> Result<PathBuf, StudyError> {
        let step = &self.plan.steps[i];
        let job = Job {
            version: JOB_VERSION,
            step: step.id.clone(),
            kind: step.kind,
            key: keys[i].key.clone(),
            action: step.action.clone(),
            final_dir: self.plan.step_dir(i),
            partial_dir: partial_dir(&self.plan.out, &step.id),
            resumable: step.resumable,
            valley: valley.to_path_buf(),
            workdir: self.spec.dir.clone(),
            spec: self.spec.path.to_string_lossy().into_owned(),
            spec_sha256: self.spec.sha256.clone(),
            inputs: keys[i]
                .inputs
                .iter()
                .map(|(field, path, sha256)| InputRecord {
                    field: field.clone(),
                    path: path.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
            upstream: step
                .deps
                .iter()
                .map(|&d| UpstreamJob {
                    step: self.plan.steps[d].id.clone(),
                    key: keys[d].key.clone(),
                    kind: self.plan.steps[d].kind,
                    dir: self.plan.step_dir(d),
                })
                .collect(),
            settings: step.settings.clone(),
        };
        let path = self.job_path(i);
        job.save(&path)?;
        Ok(path)
    }
}

/// A step id as one file name (`train/qwen/scaling-1000` -> `train__qwen__scaling-1000`).
fn flat(id: &str) -> String {
    id.replace('/', "__")
}

/// Seconds since the epoch.
pub(crate) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
