//! The local backend: each step is a child process (`valley study exec JOB`) in a process group
//! of its own, at most `jobs` at a time, in plan order as their upstream steps finish.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::StudyError;
use crate::process;
use crate::store::StepRow;
use crate::study::{Event, RunOptions, RunSummary, Study, now};

/// How long a stopped step gets to stop what it started (engine servers) before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(20);

enum State {
    Pending,
    Running(Child, Instant),
    Done,
    Failed,
}

/// Runs the study's steps that are not done on this machine.
pub(crate) fn run(
    study: &Study,
    options: &RunOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<RunSummary, StudyError> {
    let t0 = Instant::now();
    let store = study.store()?;
    let keys = study.keys(&store)?;
    let plan = &study.plan;
    let jobs = options.jobs.unwrap_or(study.spec.spec.study.jobs).max(1);
    let retries = i64::from(options.retries.unwrap_or(study.spec.spec.study.retries));
    let mut summary =
        RunSummary { steps: plan.steps.len(), backend: "local".into(), ..RunSummary::default() };

    // We hold the lock, so a `running` row belongs to a runner that died: its step process may
    // still be alive (an orphan writing to a partial folder); kill its group and run it again.
    for row in store.running()? {
        if let (Some(pid), Some(start)) = (row.pid, row.pid_start)
            && let Ok(pid) = u32::try_from(pid)
            && process::alive(pid, start)
        {
            process::stop_group(pid, STOP_GRACE);
        }
        store.put(&StepRow {
            state: "pending".into(),
            pid: None,
            pid_start: None,
            ..row.clone()
        })?;
        on_event(Event::Stale { step: row.id });
    }

    let mut states: Vec<State> = Vec::with_capacity(plan.steps.len());
    for (i, step) in plan.steps.iter().enumerate() {
        if study.is_done(i, &keys[i].key) {
            study.record_done(&store, i, &keys[i].key, store.get(&step.id)?)?;
            summary.cached += 1;
            on_event(Event::Cached { step: step.id.clone() });
            states.push(State::Done);
        } else {
            states.push(State::Pending);
        }
    }

    loop {
        let mut running = states.iter().filter(|s| matches!(s, State::Running(..))).count();
        for i in 0..plan.steps.len() {
            if running >= jobs {
                break;
            }
            if !matches!(states[i], State::Pending)
                || !plan.steps[i].deps.iter().all(|&d| matches!(states[d], State::Done))
            {
                continue;
            }
            let step = &plan.steps[i];
            let prev = store.get(&step.id)?.filter(|r| r.key == keys[i].key);
            let attempt = prev.map_or(0, |r| r.attempts) + 1;
            let job = study.write_job(i, &keys, &options.valley)?;
            let log_path = study.log_path(i);
            let log = open_log(&log_path, &step.id, attempt)?;
            let err_log =
                log.try_clone().map_err(|e| StudyError::io("cannot open a step log", e))?;
            let child = Command::new(&options.valley)
                .args(["study", "exec"])
                .arg(&job)
                .current_dir(&study.spec.dir)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err_log)
                .process_group(0)
                .spawn()
                .map_err(|e| {
                    StudyError::io(format!("cannot start {}", options.valley.display()), e)
                })?;
            let pid = child.id();
            store.put(&StepRow {
                id: step.id.clone(),
                key: keys[i].key.clone(),
                state: "running".into(),
                pid: Some(i64::from(pid)),
                pid_start: process::start_time(pid),
                job_id: None,
                attempts: attempt,
                started_at: Some(now()),
                finished_at: None,
                error: None,
            })?;
            on_event(Event::Started { step: step.id.clone(), attempt, job_id: None });
            states[i] = State::Running(child, Instant::now());
            running += 1;
        }
        if running == 0 {
            break;
        }
        if options.cancelled() {
            for (i, st) in states.iter_mut().enumerate() {
                if let State::Running(child, _) = st {
                    process::stop_group(child.id(), STOP_GRACE);
                    let _ = child.wait();
                    if let Some(row) = store.get(&plan.steps[i].id)? {
                        store.put(&StepRow {
                            state: "pending".into(),
                            pid: None,
                            pid_start: None,
                            attempts: (row.attempts - 1).max(0),
                            ..row
                        })?;
                    }
                }
            }
            return Err(StudyError::Interrupted);
        }
        std::thread::sleep(Duration::from_millis(50));
        for i in 0..plan.steps.len() {
            let State::Running(child, started) = &mut states[i] else { continue };
            let Some(status) =
                child.try_wait().map_err(|e| StudyError::io("cannot wait for a step", e))?
            else {
                continue;
            };
            let seconds = started.elapsed().as_secs_f64();
            let step = &plan.steps[i];
            let mut row = store.get(&step.id)?.unwrap_or_else(|| StepRow {
                id: step.id.clone(),
                key: keys[i].key.clone(),
                state: String::new(),
                pid: None,
                pid_start: None,
                job_id: None,
                attempts: 1,
                started_at: None,
                finished_at: None,
                error: None,
            });
            row.pid = None;
            row.pid_start = None;
            row.finished_at = Some(now());
            if status.success() && study.is_done(i, &keys[i].key) {
                row.state = "done".into();
                row.error = None;
                store.put(&row)?;
                summary.ran += 1;
                on_event(Event::Done { step: step.id.clone(), seconds });
                states[i] = State::Done;
            } else {
                let retry = row.attempts <= retries;
                row.state = if retry { "pending" } else { "failed" }.into();
                row.error =
                    Some(format!("exited with {status}; see {}", study.log_path(i).display()));
                store.put(&row)?;
                on_event(Event::Failed { step: step.id.clone(), log: study.log_path(i), retry });
                states[i] = if retry { State::Pending } else { State::Failed };
            }
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

fn open_log(path: &std::path::Path, step: &str, attempt: i64) -> Result<std::fs::File, StudyError> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir)
            .map_err(|e| StudyError::io("cannot create the log folder", e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| StudyError::io(format!("cannot open {}", path.display()), e))?;
    let _ = writeln!(f, "== {step}: attempt {attempt} at unix time {:.0}", now());
    Ok(f)
}
