//! Executing one step (`valley study exec JOB`): the same code runs under the local backend
//! (a child process per step) and inside a Slurm job. The step writes into its partial folder;
//! on success its provenance manifest is written and the folder is renamed to its final name, so
//! a step killed at any moment leaves either nothing or a complete, verifiable output.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use valley_types::{EvalMetrics, RUN_RESULT_VERSION, RunResult};

use crate::error::StudyError;
use crate::plan::{Action, OUT, ResultSource, StepKind, TRAIN_OUTPUT};
use crate::provenance::{
    self, GIT_REVISION, Hardware, InputRecord, MANIFEST, Provenance, UpstreamRecord, VALLEY_VERSION,
};

/// Job file layout version.
pub(crate) const JOB_VERSION: u32 = 1;

/// Everything a step needs to run, written by the scheduler to `<out>/.valley/jobs/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// Layout version.
    pub version: u32,
    /// Step id.
    pub step: String,
    /// Step kind.
    pub kind: StepKind,
    /// The step key.
    pub key: String,
    /// What to run.
    pub action: Action,
    /// The final folder.
    pub final_dir: PathBuf,
    /// The partial folder.
    pub partial_dir: PathBuf,
    /// Keep a partial folder of the same key (resumable generation).
    pub resumable: bool,
    /// The valley binary that runs the commands.
    pub valley: PathBuf,
    /// Working folder of the commands (the spec's folder).
    pub workdir: PathBuf,
    /// The spec file.
    pub spec: String,
    /// SHA-256 of the spec text.
    pub spec_sha256: String,
    /// External inputs with their hashes.
    pub inputs: Vec<InputRecord>,
    /// Upstream steps with their keys, kinds and final folders.
    pub upstream: Vec<UpstreamJob>,
    /// The settings in the key.
    pub settings: Value,
}

/// An upstream step as a job sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamJob {
    /// Step id.
    pub step: String,
    /// Its key.
    pub key: String,
    /// Its kind.
    pub kind: StepKind,
    /// Its final folder.
    pub dir: PathBuf,
}

impl Job {
    /// Reads a job file.
    pub fn load(path: &Path) -> Result<Self, StudyError> {
        let text = fs_err::read_to_string(path)
            .map_err(|e| StudyError::io("cannot read the job file", e))?;
        let job: Job = serde_json::from_str(&text)
            .map_err(|e| StudyError::Job { path: path.to_path_buf(), message: e.to_string() })?;
        if job.version != JOB_VERSION {
            return Err(StudyError::Job {
                path: path.to_path_buf(),
                message: format!("job layout {} is not this build's {JOB_VERSION}", job.version),
            });
        }
        Ok(job)
    }

    /// Writes the job file atomically.
    pub fn save(&self, path: &Path) -> Result<(), StudyError> {
        let text = serde_json::to_string_pretty(self).expect("bug: a job serializes");
        write_atomic(path, text.as_bytes())
    }

    /// Whether the final folder already holds this key's outputs.
    pub fn is_done(&self) -> bool {
        provenance::read(&self.final_dir).is_some_and(|p| p.key == self.key)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StudyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir).map_err(|e| StudyError::io("cannot create a folder", e))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    let io = |e| StudyError::io(format!("cannot write {}", path.display()), e);
    {
        let mut f = fs_err::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    fs_err::rename(&tmp, path).map_err(io)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn failed(job: &Job, message: impl Into<String>) -> StudyError {
    StudyError::StepFailed { step: job.step.clone(), message: message.into() }
}

/// Runs a job to completion: nothing to do when its final folder already holds its key.
pub fn execute(job: &Job) -> Result<(), StudyError> {
    if job.is_done() {
        return Ok(());
    }
    let partial = &job.partial_dir;
    let key_file = partial.join(".key");
    let reuse =
        job.resumable && fs_err::read_to_string(&key_file).is_ok_and(|k| k.trim() == job.key);
    if partial.exists() && !reuse {
        fs_err::remove_dir_all(partial)
            .map_err(|e| StudyError::io("cannot clear a partial folder", e))?;
    }
    fs_err::create_dir_all(partial)
        .map_err(|e| StudyError::io("cannot create the partial folder", e))?;
    write_atomic(&key_file, job.key.as_bytes())?;
    let started_at = now();
    let out = partial.to_string_lossy().into_owned();
    // An upstream train step's output folder stands for its final checkpoint, which its run
    // record names (under the partial folder it was trained in).
    let checkpoints: Vec<(String, String)> = job
        .upstream
        .iter()
        .filter(|u| u.kind == StepKind::Train)
        .map(|u| {
            let dir = u.dir.join(TRAIN_OUTPUT);
            let partial = crate::plan::partial_dir_of(&u.dir);
            (dir.to_string_lossy().into_owned(), final_checkpoint(&dir, &partial, &u.dir))
        })
        .collect();
    let subst = |args: &[String]| -> Vec<String> {
        args.iter()
            .map(|a| {
                let a = a.replace(OUT, &out);
                checkpoints.iter().find(|(d, _)| *d == a).map_or(a, |(_, c)| c.clone())
            })
            .collect()
    };
    let mut engines =
        BTreeMap::from([("valley".to_owned(), format!("{VALLEY_VERSION} ({GIT_REVISION})"))]);
    match &job.action {
        Action::Valley { args } => run_valley(job, &subst(args))?,
        Action::Train { config } => {
            let mut config = config.clone();
            if let Some(toml::Value::Table(model)) = config.get_mut("model")
                && let Some(toml::Value::String(p)) = model.get_mut("path")
                && let Some((_, c)) = checkpoints.iter().find(|(d, _)| d == p)
            {
                *p = c.clone();
            }
            let text = toml::to_string(&config)
                .map_err(|e| failed(job, format!("cannot write the train config: {e}")))?;
            let path = partial.join("train.toml");
            write_atomic(&path, text.replace(OUT, &out).as_bytes())?;
            run_valley(
                job,
                &["train".into(), "--config".into(), path.to_string_lossy().into_owned()],
            )?;
            if let Some(b) =
                config.get("compute").and_then(|c| c.get("backend")).and_then(|b| b.as_str())
            {
                engines.insert("train_backend".into(), b.to_owned());
            }
        }
        Action::Results { runs } => write_results(job, runs)?,
    }
    if matches!(job.kind, StepKind::Label | StepKind::Eval)
        && let Some(v) = python_version()
    {
        engines.insert("python".into(), v);
    }
    fs_err::remove_file(&key_file).map_err(|e| StudyError::io("cannot remove the key file", e))?;
    let data_manifest_sha256 = data_manifest(job);
    let mut tokenizer = BTreeMap::new();
    for i in &job.inputs {
        if i.field.ends_with(".tokenizer") {
            tokenizer.insert("tokenizer_sha256".into(), i.sha256.clone());
        } else if i.field.ends_with(".chat-template") {
            tokenizer.insert("chat_template_sha256".into(), i.sha256.clone());
        } else if i.field.ends_with(".path") && job.kind == StepKind::Train {
            let t = Path::new(&i.path).join("tokenizer.json");
            if let Ok(h) = crate::hash::sha256_file(&t) {
                tokenizer.entry("tokenizer_sha256".into()).or_insert(h);
            }
        }
    }
    let outputs = provenance::hash_outputs(partial)
        .map_err(|e| StudyError::io("cannot hash the outputs", e))?;
    let manifest = Provenance {
        version: 1,
        step: job.step.clone(),
        kind: job.kind.as_str().into(),
        key: job.key.clone(),
        valley_version: VALLEY_VERSION.into(),
        git_revision: GIT_REVISION.into(),
        spec: job.spec.clone(),
        spec_sha256: job.spec_sha256.clone(),
        inputs: job.inputs.clone(),
        upstream: job
            .upstream
            .iter()
            .map(|u| UpstreamRecord { step: u.step.clone(), key: u.key.clone() })
            .collect(),
        data_manifest_sha256,
        tokenizer,
        settings: job.settings.clone(),
        seeds: provenance::seeds(&job.settings),
        engines,
        hardware: Hardware::detect(),
        started_at,
        finished_at: now(),
        outputs,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("bug: a manifest serializes");
    write_atomic(&partial.join(MANIFEST), text.as_bytes())?;
    publish(partial, &job.final_dir)
}

/// The final checkpoint of a finished train step whose output folder is `dir`: the
/// `final_checkpoint` its run record (`run.json`, as `valley train` writes it) names, moved from
/// the partial folder it was trained in to the final one; `dir` itself when there is no record.
fn final_checkpoint(dir: &Path, partial: &Path, final_dir: &Path) -> String {
    let named = fs_err::read_to_string(dir.join("run.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| {
            v.pointer("/outcome/final_checkpoint").and_then(Value::as_str).map(PathBuf::from)
        });
    let path = match named {
        Some(p) => match p.strip_prefix(partial) {
            Ok(rest) => final_dir.join(rest),
            Err(_) if p.is_relative() => dir.join(p),
            Err(_) => p,
        },
        None => dir.to_path_buf(),
    };
    path.to_string_lossy().into_owned()
}

/// Replaces the final folder by the partial one.
fn publish(partial: &Path, final_dir: &Path) -> Result<(), StudyError> {
    let io = |e| StudyError::io(format!("cannot publish {}", final_dir.display()), e);
    if final_dir.exists() {
        let old = final_dir.with_file_name(format!(
            ".{}.old-{}",
            final_dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            std::process::id()
        ));
        fs_err::rename(final_dir, &old).map_err(io)?;
        fs_err::remove_dir_all(&old).map_err(io)?;
    }
    fs_err::rename(partial, final_dir).map_err(io)
}

/// The SHA-256 of the data manifest the step wrote or read.
fn data_manifest(job: &Job) -> Option<String> {
    let dir = match job.kind {
        StepKind::Subsets | StepKind::Split => job.partial_dir.clone(),
        _ => job
            .upstream
            .iter()
            .find(|u| matches!(u.kind, StepKind::Subsets | StepKind::Split))?
            .dir
            .clone(),
    };
    crate::hash::sha256_file(&dir.join("manifest.json")).ok()
}

/// The version of the judge's interpreter, which the step's `valley eval` or `valley data label`
/// took as `valley` does: `$VALLEY_JUDGE_PYTHON`, else `python3`.
fn python_version() -> Option<String> {
    let python = std::env::var("VALLEY_JUDGE_PYTHON")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "python3".into());
    let o = Command::new(python).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(if o.stdout.is_empty() { &o.stderr } else { &o.stdout })
        .trim()
        .to_owned();
    (!text.is_empty()).then_some(text)
}

fn valley_command(job: &Job, args: &[String]) -> Command {
    let mut c = Command::new(&job.valley);
    c.args(args).current_dir(&job.workdir).stdin(Stdio::null());
    c
}

fn run_valley(job: &Job, args: &[String]) -> Result<(), StudyError> {
    let status = valley_command(job, args)
        .status()
        .map_err(|e| failed(job, format!("cannot start {}: {e}", job.valley.display())))?;
    if status.success() {
        Ok(())
    } else {
        Err(failed(
            job,
            format!("`valley {}` exited with {status}", args.first().map_or("", String::as_str)),
        ))
    }
}

/// One run-result record per evaluated run (the shape `valley report --results` reads).
fn write_results(job: &Job, runs: &[ResultSource]) -> Result<(), StudyError> {
    let mut text = String::new();
    for r in runs {
        let path = r.eval_dir.join("metrics.json");
        let m: EvalMetrics = fs_err::read_to_string(&path)
            .map_err(|e| StudyError::io("cannot read an eval's metrics", e))
            .and_then(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| failed(job, format!("{}: {e}", path.display())))
            })?;
        let after_think = m.pass_at_1_after_think;
        let m = m.overall;
        let Some(pass_at_1) = m.pass_at_1 else {
            return Err(failed(
                job,
                format!("{}: field `pass_at_1`: missing (no sample was judged)", path.display()),
            ));
        };
        let key = provenance::read(&r.eval_dir).map(|p| p.key).unwrap_or_default();
        let record = RunResult {
            version: RUN_RESULT_VERSION,
            run: r.run.id.clone(),
            model: r.run.model.clone(),
            label: None,
            base: r.run.base.clone(),
            data_size: Some(r.run.data_size),
            split: r.run.split.clone(),
            pass_at_1,
            pass_at_1_ci95: m.pass_at_1_ci95.map(<[f64; 2]>::from),
            completion_rate: m.completion_rate,
            think_tag_rate: m.think_tag_rate,
            no_code_rate: m.no_code_rate,
            pass_at_1_after_think: after_think,
            failure_decomposition: m.failure_decomposition,
            n_problems: m.n_problems,
            n_samples: m.n_samples,
            per_problem: None,
            verdicts: Some(format!("../{}/verdicts.jsonl", r.eval_step)),
            provenance: [
                ("student".to_owned(), json!(r.run.student)),
                ("data".to_owned(), json!(r.run.data)),
                ("eval_key".to_owned(), json!(key)),
                ("study".to_owned(), json!(job.spec)),
            ]
            .into_iter()
            .collect(),
        };
        record.validate().map_err(|(field, why)| {
            failed(job, format!("{}: run `{}`: field `{field}`: {why}", path.display(), r.run.id))
        })?;
        text.push_str(&serde_json::to_string(&record).expect("bug: a run result serializes"));
        text.push('\n');
    }
    write_atomic(&job.partial_dir.join("results.jsonl"), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_checkpoint_moves_with_its_renamed_step_folder() {
        let dir = tempfile::tempdir().unwrap();
        let final_dir = dir.path().join("train/s/scaling-10");
        let partial = crate::plan::partial_dir_of(&final_dir);
        let run = final_dir.join(TRAIN_OUTPUT);
        // No run record: the output folder itself is the model.
        assert_eq!(final_checkpoint(&run, &partial, &final_dir), run.to_string_lossy());
        fs_err::create_dir_all(&run).unwrap();
        let trained_in = partial.join(TRAIN_OUTPUT).join("checkpoints/final");
        let record = json!({"outcome": {"final_checkpoint": trained_in}});
        fs_err::write(run.join("run.json"), record.to_string()).unwrap();
        let want = final_dir.join(TRAIN_OUTPUT).join("checkpoints/final");
        assert_eq!(final_checkpoint(&run, &partial, &final_dir), want.to_string_lossy());
        // A relative path is relative to the run folder.
        let record = json!({"outcome": {"final_checkpoint": "final"}});
        fs_err::write(run.join("run.json"), record.to_string()).unwrap();
        assert_eq!(
            final_checkpoint(&run, &partial, &final_dir),
            run.join("final").to_string_lossy()
        );
    }
}
