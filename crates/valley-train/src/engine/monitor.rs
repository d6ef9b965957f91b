//! Following an engine: start it (or submit it to Slurm), copy its output to the run's log,
//! turn its step lines into [`Progress`] (valley's launcher prints `VALLEY_EVENT` lines;
//! torchtune prints `Step N | loss:… lr:…`; HF Trainer based engines print
//! `{'loss': …, 'learning_rate': …, 'epoch': …}`), and build the outcome: the loss curve and the
//! final checkpoint.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::files::EngineFiles;
use super::protocol::{Event, parse_event};
use crate::error::TrainError;
use crate::plan::Plan;
use crate::spec::{Launcher, TrainSpec};
use crate::trainer::{LossPoint, Progress, TrainContext, TrainOutcome};

/// What the log has shown so far.
#[derive(Debug, Default)]
pub struct LogState {
    /// Loss per step.
    pub curve: Vec<LossPoint>,
    /// The final checkpoint the engine announced.
    pub checkpoint: Option<PathBuf>,
    /// Steps the engine counted (HF-style logs count lines).
    pub steps: u64,
    /// Whether the engine said it finished.
    pub done: bool,
    started: Option<Instant>,
}

impl LogState {
    /// Reads one line of engine output; returns the progress it reports, if any.
    pub fn line(&mut self, line: &str, plan: &Plan) -> Option<Progress> {
        let started = *self.started.get_or_insert_with(Instant::now);
        if let Some(event) = parse_event(line) {
            return match event.ok()? {
                Event::Step {
                    step,
                    total_steps,
                    epoch,
                    loss,
                    lr,
                    tokens_per_second,
                    eta_seconds,
                } => {
                    self.steps = step;
                    self.curve.push(LossPoint { step, loss });
                    Some(Progress {
                        step,
                        total_steps,
                        epoch,
                        loss,
                        learning_rate: lr,
                        tokens_per_second,
                        eta_seconds,
                    })
                }
                Event::Done { steps, checkpoint } => {
                    self.steps = steps;
                    self.checkpoint = Some(checkpoint);
                    self.done = true;
                    None
                }
                Event::Checkpoint { .. } | Event::Resumed { .. } | Event::Note { .. } => None,
            };
        }
        let (loss, lr, epoch) = torchtune_step(line).or_else(|| hf_log(line))?;
        self.steps += 1;
        let step = self.steps;
        self.curve.push(LossPoint { step, loss });
        let elapsed = started.elapsed().as_secs_f64();
        Some(Progress {
            step,
            total_steps: plan.optimizer_steps,
            epoch: epoch.unwrap_or(step as f64 / plan.steps_per_epoch.max(1) as f64),
            loss,
            learning_rate: lr,
            tokens_per_second: None,
            eta_seconds: Some(
                elapsed / step as f64 * plan.optimizer_steps.saturating_sub(step) as f64,
            ),
        })
    }
}

fn number_after(line: &str, key: &str) -> Option<f64> {
    let rest = &line[line.find(key)? + key.len()..];
    let end =
        rest.find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c))).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// torchtune's StdoutLogger: `Step 12 | loss:1.234 lr:2e-05 tokens_per_second_per_gpu:…`.
fn torchtune_step(line: &str) -> Option<(f64, f64, Option<f64>)> {
    if !line.contains("Step ") || !line.contains("loss:") {
        return None;
    }
    Some((number_after(line, "loss:")?, number_after(line, "lr:").unwrap_or(0.0), None))
}

/// HF Trainer's log dict: `{'loss': 1.23, 'grad_norm': …, 'learning_rate': 2e-05, 'epoch': 0.5}`.
fn hf_log(line: &str) -> Option<(f64, f64, Option<f64>)> {
    let loss = number_after(line, "'loss': ").or_else(|| number_after(line, "\"loss\": "))?;
    let lr = number_after(line, "'learning_rate': ").unwrap_or(0.0);
    Some((loss, lr, number_after(line, "'epoch': ")))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io { path: path.to_path_buf(), source }
}

/// Launches `files` and follows the engine to its end.
pub fn run(
    spec: &TrainSpec,
    plan: &Plan,
    files: &EngineFiles,
    ctx: &mut TrainContext<'_>,
) -> Result<TrainOutcome, TrainError> {
    let start = Instant::now();
    if let Some(dir) = files.log.parent() {
        fs_err::create_dir_all(dir).map_err(io(dir))?;
    }
    if let Some(prep) = &files.prepare {
        let status = Command::new(&prep.program)
            .args(&prep.args)
            .current_dir(&ctx.out_dir)
            .status()
            .map_err(|source| TrainError::Spawn { program: prep.program.clone(), source })?;
        if !status.success() {
            return Err(TrainError::EngineFailed {
                engine: format!("{} data conversion", spec.compute.backend.as_str()),
                status: status.to_string(),
                log: files.log.clone(),
            });
        }
    }
    let mut state = LogState::default();
    let status = if spec.compute.launcher == Launcher::Slurm {
        run_slurm(plan, files, ctx, &mut state)?
    } else {
        run_local(plan, files, ctx, &mut state)?
    };
    if let Err(status) = status {
        return Err(TrainError::EngineFailed {
            engine: spec.compute.backend.as_str().to_owned(),
            status,
            log: files.log.clone(),
        });
    }
    let checkpoint = state.checkpoint.clone().unwrap_or_else(|| ctx.out_dir.join("final"));
    if !checkpoint.exists() {
        return Err(TrainError::EngineFailed {
            engine: spec.compute.backend.as_str().to_owned(),
            status: format!(
                "it ended without writing its final checkpoint {}",
                checkpoint.display()
            ),
            log: files.log.clone(),
        });
    }
    Ok(TrainOutcome::from_curve(
        spec.compute.backend.as_str(),
        state.steps,
        state.curve,
        checkpoint,
        start.elapsed().as_secs_f64(),
    ))
}

fn run_local(
    plan: &Plan,
    files: &EngineFiles,
    ctx: &mut TrainContext<'_>,
    state: &mut LogState,
) -> Result<Result<(), String>, TrainError> {
    let cmd = &files.command;
    let mut log = fs_err::File::create(&files.log).map_err(io(&files.log))?;
    let mut child = Command::new(&cmd.program)
        .args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&ctx.out_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| TrainError::Spawn { program: cmd.program.clone(), source })?;
    // stderr (warnings, tracebacks) goes to the log from its own thread
    let stderr = child.stderr.take();
    let err_log = files.log.with_extension("stderr.log");
    let err_thread = std::thread::spawn(move || -> std::io::Result<()> {
        let mut out = std::fs::File::create(&err_log)?;
        if let Some(mut e) = stderr {
            std::io::copy(&mut e, &mut out)?;
        }
        Ok(())
    });
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(io(&files.log))?;
            writeln!(log, "{line}").map_err(io(&files.log))?;
            if let Some(p) = state.line(&line, plan) {
                (ctx.progress)(&p);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|source| TrainError::Spawn { program: cmd.program.clone(), source })?;
    let _ = err_thread.join();
    Ok(if status.success() {
        Ok(())
    } else {
        Err(format!("{status}; stderr in {}", files.log.with_extension("stderr.log").display()))
    })
}

fn run_slurm(
    plan: &Plan,
    files: &EngineFiles,
    ctx: &mut TrainContext<'_>,
    state: &mut LogState,
) -> Result<Result<(), String>, TrainError> {
    let cmd = &files.command;
    let out = Command::new(&cmd.program)
        .args(&cmd.args)
        .current_dir(&ctx.out_dir)
        .output()
        .map_err(|source| TrainError::Spawn { program: cmd.program.clone(), source })?;
    if !out.status.success() {
        return Ok(Err(format!(
            "sbatch {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let job = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    tracing::info!("submitted Slurm job {job}; following {}", files.log.display());
    let mut offset = 0u64;
    let mut pending = String::new();
    loop {
        let job_state = slurm_job_state(&job);
        follow(&files.log, &mut offset, &mut pending, |line| {
            if let Some(p) = state.line(line, plan) {
                (ctx.progress)(&p);
            }
        })?;
        match job_state.as_deref() {
            Some("PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING" | "SUSPENDED") => {
                std::thread::sleep(Duration::from_millis(500));
            }
            Some("COMPLETED") => return Ok(Ok(())),
            // the controller forgot the job (MinJobAge): judge by the log
            None if state.done => return Ok(Ok(())),
            None => return Ok(Err(format!("Slurm job {job} left the queue without finishing"))),
            Some(other) => return Ok(Err(format!("Slurm job {job} ended {other}"))),
        }
    }
}

/// The job's `JobState` from `scontrol`, `None` when the controller no longer knows it.
fn slurm_job_state(job: &str) -> Option<String> {
    let out = Command::new("scontrol").args(["show", "job", "-o", job]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().find_map(|kv| kv.strip_prefix("JobState=")).map(str::to_owned)
}

/// Reads the lines appended to `path` since `offset`.
fn follow(
    path: &Path,
    offset: &mut u64,
    pending: &mut String,
    mut each: impl FnMut(&str),
) -> Result<(), TrainError> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Ok(()); // not created yet
    };
    f.seek(SeekFrom::Start(*offset)).map_err(io(path))?;
    let mut buf = String::new();
    let n = f.read_to_string(&mut buf).map_err(io(path))?;
    *offset += n as u64;
    pending.push_str(&buf);
    while let Some(i) = pending.find('\n') {
        let line: String = pending.drain(..=i).collect();
        each(line.trim_end());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{CountSource, DataSummary};

    fn plan() -> Plan {
        let spec = TrainSpec::parse(
            Path::new("s.toml"),
            "[model]\nname = \"m\"\npath = \"m\"\n[data]\ntrain = \"d\"\n[output]\ndir = \"o\"",
        )
        .unwrap();
        let data = DataSummary {
            source: CountSource::Declared,
            rows_in: 1000,
            rows: 1000,
            dropped: 0,
            truncated: 0,
            tokens: None,
            trained_tokens: None,
            max_tokens: None,
        };
        Plan::resolve(&spec, &data)
    }

    #[test]
    fn reads_every_engines_step_lines() {
        let plan = plan();
        let mut s = LogState::default();
        let p =
            s.line("Step 1 | loss:2.5 lr:2e-05 tokens_per_second_per_gpu:100.0", &plan).unwrap();
        assert_eq!((p.step, p.loss, p.learning_rate), (1, 2.5, 2e-5));
        let p = s
            .line("{'loss': 2.25, 'grad_norm': 3.1, 'learning_rate': 4e-05, 'epoch': 0.25}", &plan)
            .unwrap();
        assert_eq!((p.step, p.loss, p.epoch), (2, 2.25, 0.25));
        assert!(s.line("Loading checkpoint shards: 100%", &plan).is_none());
        let done = r#"VALLEY_EVENT {"event": "done", "steps": 40, "checkpoint": "/r/final", "seconds": 1.0}"#;
        assert!(s.line(done, &plan).is_none());
        assert!(s.done);
        assert_eq!(s.steps, 40);
        assert_eq!(s.curve.iter().map(|p| p.loss).collect::<Vec<_>>(), vec![2.5, 2.25]);
    }

    #[test]
    fn follow_returns_whole_lines_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        fs_err::write(&path, "a\nb").unwrap();
        let (mut off, mut pending, mut seen) = (0, String::new(), Vec::new());
        follow(&path, &mut off, &mut pending, |l| seen.push(l.to_owned())).unwrap();
        assert_eq!(seen, ["a"]);
        fs_err::write(&path, "a\nbc\n").unwrap();
        follow(&path, &mut off, &mut pending, |l| seen.push(l.to_owned())).unwrap();
        assert_eq!(seen, ["a", "bc"]);
    }
}
