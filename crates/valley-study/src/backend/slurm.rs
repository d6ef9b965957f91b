//! The Slurm backend: one `sbatch` job per step running `valley study exec JOB`, chained with
//! `--dependency=afterok:…` (and `--kill-on-invalid-dep=yes`), submitted with `--requeue` so a
//! node failure requeues it; a job that fails is resubmitted up to `retries` times, its
//! cancelled dependents with it. Jobs are polled with `squeue`; whether a finished job succeeded
//! is read from the step folder (its provenance manifest), which needs no accounting database.
//! A generate step with an engine starts the engine's servers inside its own job (`valley
//! generate --engine` sees the allocation and runs each replica as an `srun` step on its nodes).

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use super::shared::{Backend, OpenRun, Phase};
use crate::error::StudyError;
use crate::store::{StepRow, StepState};
use crate::study::{Event, RunOptions, Study};

fn slurm(cmd: &str, args: &[String]) -> Result<String, StudyError> {
    let out = Command::new(cmd).args(args).output().map_err(|e| {
        StudyError::Slurm(format!("cannot run `{cmd}`: {e} (is Slurm installed and on PATH?)"))
    })?;
    if !out.status.success() {
        return Err(StudyError::Slurm(format!(
            "`{cmd} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Job id -> state, for the jobs Slurm still knows as queued or running.
fn queue(ids: &[String]) -> Result<HashMap<String, String>, StudyError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let text =
        slurm("squeue", &["-h".into(), "-o".into(), "%i|%T".into(), "-j".into(), ids.join(",")])
            .or_else(|e| {
                // squeue refuses a list where every job has left the queue.
                if e.to_string().contains("Invalid job id") { Ok(String::new()) } else { Err(e) }
            })?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(id, st)| (id.trim().to_owned(), st.trim().to_owned()))
        .filter(|(_, st)| {
            !matches!(
                st.as_str(),
                "COMPLETED"
                    | "FAILED"
                    | "CANCELLED"
                    | "TIMEOUT"
                    | "NODE_FAIL"
                    | "OUT_OF_MEMORY"
                    | "BOOT_FAIL"
                    | "DEADLINE"
                    | "PREEMPTED"
            )
        })
        .collect())
}

/// Runs steps as Slurm batch jobs.
pub(super) struct Slurm {
    /// Jobs on file as running, submitted by a runner that died.
    known: Vec<String>,
    poll: Duration,
}

impl Slurm {
    pub(super) fn new(study: &Study) -> Self {
        let poll = Duration::from_secs_f64(study.spec.spec.slurm.poll_seconds.max(0.2));
        Self { known: Vec::new(), poll }
    }
}

impl Backend for Slurm {
    const NAME: &'static str = "slurm";
    type Active = String;

    /// A job submitted by a runner that died is followed rather than submitted twice.
    fn resume(&mut self, _i: usize, row: Option<StepRow>) -> Phase<String> {
        match row.filter(|r| r.state == StepState::Running).and_then(|r| r.job_id) {
            Some(job) => {
                self.known.push(job.clone());
                Phase::Active(job)
            }
            None => Phase::Pending,
        }
    }

    fn drive(
        &mut self,
        run: &mut OpenRun<'_>,
        phases: &mut [Phase<String>],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), StudyError> {
        let study = run.study;
        let plan = &study.plan;
        let live = queue(&self.known)?;
        for (i, s) in phases.iter_mut().enumerate() {
            if let Phase::Active(j) = s
                && !live.contains_key(j.as_str())
                && !study.is_done(i, &run.keys[i].key)
            {
                on_event(Event::Stale { step: plan.steps[i].id.clone() });
                *s = Phase::Pending;
            }
        }
        loop {
            // Submit every pending step whose upstream steps are done or queued.
            for i in 0..plan.steps.len() {
                if !matches!(phases[i], Phase::Pending) {
                    continue;
                }
                let deps = &plan.steps[i].deps;
                if deps.iter().any(|&d| matches!(phases[d], Phase::Pending | Phase::Failed)) {
                    continue;
                }
                let after: Vec<String> = deps
                    .iter()
                    .filter_map(|&d| {
                        if let Phase::Active(j) = &phases[d] { Some(j.clone()) } else { None }
                    })
                    .collect();
                let job_id = submit(study, i, &run.keys, run.options, &after)?;
                let attempt = run.next_attempt(i)?;
                run.started(i, attempt, None, Some(job_id.clone()))?;
                on_event(Event::Started {
                    step: plan.steps[i].id.clone(),
                    attempt,
                    job_id: Some(job_id.clone()),
                });
                phases[i] = Phase::Active(job_id);
            }
            let submitted: Vec<String> = phases
                .iter()
                .filter_map(|s| if let Phase::Active(j) = s { Some(j.clone()) } else { None })
                .collect();
            if submitted.is_empty() {
                return Ok(());
            }
            if run.options.cancelled() {
                return Err(StudyError::Interrupted);
            }
            std::thread::sleep(self.poll);
            let live = queue(&submitted)?;
            for i in 0..plan.steps.len() {
                let Phase::Active(j) = phases[i].clone() else { continue };
                if live.contains_key(&j) {
                    continue;
                }
                let step = &plan.steps[i];
                let row = run.finished_row(i, Some(j.clone()))?;
                if study.is_done(i, &run.keys[i].key) {
                    let seconds = crate::provenance::read(&plan.step_dir(i))
                        .map_or(0.0, |p| p.finished_at - p.started_at);
                    phases[i] = run.succeeded(i, row, seconds, on_event)?;
                    continue;
                }
                // Left the queue without its output: a failure, or cancelled because an
                // upstream job failed (then it is resubmitted with its upstream, without
                // spending a retry).
                let upstream_failed =
                    step.deps.iter().any(|&d| matches!(phases[d], Phase::Pending | Phase::Failed));
                if upstream_failed {
                    run.requeue(row)?;
                    phases[i] = Phase::Pending;
                    continue;
                }
                let error = format!(
                    "job {j} ended without its output; see {}",
                    study.log_path(i).display()
                );
                phases[i] = run.failed(i, row, error, on_event)?;
                // Queued dependents can never start now: cancel them (they return to pending).
                cancel_dependents(run, i, phases)?;
            }
        }
    }
}

fn cancel_dependents(
    run: &OpenRun<'_>,
    i: usize,
    phases: &mut [Phase<String>],
) -> Result<(), StudyError> {
    for d in run.study.plan.dependents(i) {
        if let Phase::Active(j) = phases[d].clone() {
            let _ = slurm("scancel", std::slice::from_ref(&j));
            if let Some(row) =
                run.store.get(&run.study.plan.steps[d].id)?.filter(|r| r.key == run.keys[d].key)
            {
                run.requeue(row)?;
            }
            phases[d] = Phase::Pending;
            cancel_dependents(run, d, phases)?;
        }
    }
    Ok(())
}

/// Writes the step's job file and batch script and submits it; returns the job id.
fn submit(
    study: &Study,
    i: usize,
    keys: &[crate::keys::StepKey],
    options: &RunOptions,
    after: &[String],
) -> Result<String, StudyError> {
    let job = study.write_job(i, keys, &options.valley)?;
    let step = &study.plan.steps[i];
    let s = &study.spec.spec.slurm;
    let log = study.log_path(i);
    if let Some(dir) = log.parent() {
        fs_err::create_dir_all(dir)
            .map_err(|e| StudyError::io("cannot create the log folder", e))?;
    }
    let script = format!(
        "#!/bin/sh\n# valley study step {id}\nexec {valley} study exec {job}\n",
        id = step.id,
        valley = shell_quote(&options.valley.to_string_lossy()),
        job = shell_quote(&job.to_string_lossy()),
    );
    let script_path = job.with_extension("sbatch");
    crate::exec::write_atomic(&script_path, script.as_bytes())?;
    let mut args: Vec<String> = vec![
        "--parsable".into(),
        "--requeue".into(),
        format!("--job-name=valley:{}:{}", study.spec.spec.study.name, step.id),
        format!("--output={}", log.display()),
        "--open-mode=append".into(),
        format!("--chdir={}", study.spec.dir.display()),
    ];
    if !after.is_empty() {
        args.push(format!("--dependency=afterok:{}", after.join(":")));
        args.push("--kill-on-invalid-dep=yes".into());
    }
    if let Some(p) = &s.partition {
        args.push(format!("--partition={p}"));
    }
    if let Some(t) = &s.time {
        args.push(format!("--time={t}"));
    }
    if let Some(c) = s.cpus_per_task {
        args.push(format!("--cpus-per-task={c}"));
    }
    let gpus = match step.kind {
        crate::plan::StepKind::Train => s.train_gpus,
        crate::plan::StepKind::Generate => s.generate_gpus,
        _ => 0,
    };
    if gpus > 0 {
        args.push(format!("--gres=gpu:{gpus}"));
    }
    // A generate step's engine replicas run as `srun` steps across the job's nodes.
    if step.kind == crate::plan::StepKind::Generate && s.generate_nodes > 1 {
        args.push(format!("--nodes={}", s.generate_nodes));
    }
    args.extend(s.extra_args.iter().cloned());
    args.push(script_path.to_string_lossy().into_owned());
    let out = slurm("sbatch", &args)?;
    let id = out.trim().split(';').next().unwrap_or("").trim().to_owned();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return Err(StudyError::Slurm(format!("sbatch answered `{}`, not a job id", out.trim())));
    }
    Ok(id)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
