//! The Slurm backend: one `sbatch` job per step running `valley study exec JOB`, chained with
//! `--dependency=afterok:…` (and `--kill-on-invalid-dep=yes`), submitted with `--requeue` so a
//! node failure requeues it; a job that fails is resubmitted up to `retries` times, its
//! cancelled dependents with it. Jobs are polled with `squeue`; whether a finished job succeeded
//! is read from the step folder (its provenance manifest), which needs no accounting database.
//! A generate step with an engine starts the engine's servers inside its own job (`valley
//! generate --engine` sees the allocation and runs each replica as an `srun` step on its nodes).

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::StudyError;
use crate::store::StepRow;
use crate::study::{Event, RunOptions, RunSummary, Study, now};

#[derive(Clone)]
enum State {
    Pending,
    Submitted(String),
    Done,
    Failed,
}

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

/// Runs the study's steps that are not done as Slurm jobs, and waits for them.
pub(crate) fn run(
    study: &Study,
    options: &RunOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<RunSummary, StudyError> {
    let t0 = Instant::now();
    let store = study.store()?;
    let keys = study.keys(&store)?;
    let plan = &study.plan;
    let settings = &study.spec.spec.slurm;
    let retries = i64::from(options.retries.unwrap_or(study.spec.spec.study.retries));
    let mut summary =
        RunSummary { steps: plan.steps.len(), backend: "slurm".into(), ..RunSummary::default() };

    let mut states: Vec<State> = Vec::new();
    let mut known: Vec<String> = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let row = store.get(&step.id)?.filter(|r| r.key == keys[i].key);
        if study.is_done(i, &keys[i].key) {
            study.record_done(&store, i, &keys[i].key, row)?;
            summary.cached += 1;
            on_event(Event::Cached { step: step.id.clone() });
            states.push(State::Done);
        } else if let Some(job) = row.filter(|r| r.state == "running").and_then(|r| r.job_id) {
            // Submitted by a runner that died: keep following the job rather than submit twice.
            known.push(job.clone());
            states.push(State::Submitted(job));
        } else {
            states.push(State::Pending);
        }
    }
    let live = queue(&known)?;
    for (i, s) in states.iter_mut().enumerate() {
        if let State::Submitted(j) = s
            && !live.contains_key(j.as_str())
            && !study.is_done(i, &keys[i].key)
        {
            on_event(Event::Stale { step: plan.steps[i].id.clone() });
            *s = State::Pending;
        }
    }

    let poll = Duration::from_secs_f64(settings.poll_seconds.max(0.2));
    loop {
        // Submit every pending step whose upstream steps are done or queued.
        for i in 0..plan.steps.len() {
            if !matches!(states[i], State::Pending) {
                continue;
            }
            let deps = &plan.steps[i].deps;
            if deps.iter().any(|&d| matches!(states[d], State::Pending | State::Failed)) {
                continue;
            }
            let after: Vec<String> = deps
                .iter()
                .filter_map(|&d| {
                    if let State::Submitted(j) = &states[d] { Some(j.clone()) } else { None }
                })
                .collect();
            let job_id = submit(study, i, &keys, options, &after)?;
            let step = &plan.steps[i];
            let prev = store.get(&step.id)?.filter(|r| r.key == keys[i].key);
            let attempt = prev.map_or(0, |r| r.attempts) + 1;
            store.put(&StepRow {
                id: step.id.clone(),
                key: keys[i].key.clone(),
                state: "running".into(),
                pid: None,
                pid_start: None,
                job_id: Some(job_id.clone()),
                attempts: attempt,
                started_at: Some(now()),
                finished_at: None,
                error: None,
            })?;
            on_event(Event::Started {
                step: step.id.clone(),
                attempt,
                job_id: Some(job_id.clone()),
            });
            states[i] = State::Submitted(job_id);
        }
        let submitted: Vec<String> = states
            .iter()
            .filter_map(|s| if let State::Submitted(j) = s { Some(j.clone()) } else { None })
            .collect();
        if submitted.is_empty() {
            break;
        }
        if options.cancelled() {
            return Err(StudyError::Interrupted);
        }
        std::thread::sleep(poll);
        let live = queue(&submitted)?;
        for i in 0..plan.steps.len() {
            let State::Submitted(j) = states[i].clone() else { continue };
            if live.contains_key(&j) {
                continue;
            }
            let step = &plan.steps[i];
            let mut row = store.get(&step.id)?.unwrap_or_else(|| StepRow {
                id: step.id.clone(),
                key: keys[i].key.clone(),
                state: String::new(),
                pid: None,
                pid_start: None,
                job_id: Some(j.clone()),
                attempts: 1,
                started_at: None,
                finished_at: None,
                error: None,
            });
            row.finished_at = Some(now());
            if study.is_done(i, &keys[i].key) {
                row.state = "done".into();
                store.put(&row)?;
                summary.ran += 1;
                let seconds = crate::provenance::read(&plan.step_dir(i))
                    .map_or(0.0, |p| p.finished_at - p.started_at);
                on_event(Event::Done { step: step.id.clone(), seconds });
                states[i] = State::Done;
                continue;
            }
            // Left the queue without its output: a failure, or cancelled because an upstream
            // job failed (then it is resubmitted with its upstream, without spending a retry).
            let upstream_failed =
                step.deps.iter().any(|&d| matches!(states[d], State::Pending | State::Failed));
            if upstream_failed {
                row.state = "pending".into();
                row.attempts = (row.attempts - 1).max(0);
                store.put(&row)?;
                states[i] = State::Pending;
                continue;
            }
            let retry = row.attempts <= retries;
            row.state = if retry { "pending" } else { "failed" }.into();
            row.error = Some(format!(
                "job {j} ended without its output; see {}",
                study.log_path(i).display()
            ));
            store.put(&row)?;
            on_event(Event::Failed { step: step.id.clone(), log: study.log_path(i), retry });
            states[i] = if retry { State::Pending } else { State::Failed };
            // Queued dependents can never start now: cancel them (they return to pending).
            cancel_dependents(study, i, &mut states, &store, &keys)?;
        }
    }
    for (i, s) in states.iter().enumerate() {
        match s {
            State::Failed => summary.failed.push(plan.steps[i].id.clone()),
            State::Pending => summary.blocked.push(plan.steps[i].id.clone()),
            _ => {}
        }
    }
    summary.wall_s = t0.elapsed().as_secs_f64();
    Ok(summary)
}

fn cancel_dependents(
    study: &Study,
    i: usize,
    states: &mut [State],
    store: &crate::store::Store,
    keys: &[crate::keys::StepKey],
) -> Result<(), StudyError> {
    for d in study.plan.dependents(i) {
        if let State::Submitted(j) = states[d].clone() {
            let _ = slurm("scancel", std::slice::from_ref(&j));
            if let Some(mut row) =
                store.get(&study.plan.steps[d].id)?.filter(|r| r.key == keys[d].key)
            {
                row.state = "pending".into();
                row.attempts = (row.attempts - 1).max(0);
                store.put(&row)?;
            }
            states[d] = State::Pending;
            cancel_dependents(study, d, states, store, keys)?;
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
