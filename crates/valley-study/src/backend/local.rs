//! The local backend: each step is a child process (`valley study exec JOB`) in a process group
//! of its own, at most `jobs` at a time, in plan order as their upstream steps finish.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::shared::{Backend, OpenRun, Phase};
use crate::error::StudyError;
use crate::process;
use crate::store::{StepRow, StepState};
use crate::study::{Event, RunOptions, Study, now};

/// How long a stopped step gets to stop what it started (engine servers) before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// Runs steps as child processes on this machine.
pub(super) struct Local {
    jobs: usize,
}

impl Local {
    pub(super) fn new(study: &Study, options: &RunOptions) -> Self {
        Self { jobs: options.jobs.unwrap_or(study.spec.spec.study.jobs).max(1) }
    }
}

impl Backend for Local {
    const NAME: &'static str = "local";
    type Active = (Child, Instant);

    /// We hold the lock, so a `running` row belongs to a runner that died: its step process may
    /// still be alive (an orphan writing to a partial folder); kill its group and run it again.
    fn recover(
        &mut self,
        run: &OpenRun<'_>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), StudyError> {
        for row in run.store.running()? {
            if let (Some(pid), Some(start)) = (row.pid, row.pid_start)
                && let Ok(pid) = u32::try_from(pid)
                && process::alive(pid, start)
            {
                process::stop_group(pid, STOP_GRACE);
            }
            run.store.put(&StepRow {
                state: StepState::Pending,
                pid: None,
                pid_start: None,
                ..row.clone()
            })?;
            on_event(Event::Stale { step: row.id });
        }
        Ok(())
    }

    fn drive(
        &mut self,
        run: &mut OpenRun<'_>,
        phases: &mut [Phase<Self::Active>],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), StudyError> {
        let (study, options) = (run.study, run.options);
        let plan = &study.plan;
        loop {
            let mut running = phases.iter().filter(|s| matches!(s, Phase::Active(..))).count();
            for i in 0..plan.steps.len() {
                if running >= self.jobs {
                    break;
                }
                if !matches!(phases[i], Phase::Pending)
                    || !plan.steps[i].deps.iter().all(|&d| matches!(phases[d], Phase::Done))
                {
                    continue;
                }
                let step = &plan.steps[i];
                let attempt = run.next_attempt(i)?;
                let job = study.write_job(i, &run.keys, &options.valley)?;
                let log = open_log(&study.log_path(i), &step.id, attempt)?;
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
                run.started(i, attempt, Some((i64::from(pid), process::start_time(pid))), None)?;
                on_event(Event::Started { step: step.id.clone(), attempt, job_id: None });
                phases[i] = Phase::Active((child, Instant::now()));
                running += 1;
            }
            if running == 0 {
                return Ok(());
            }
            if options.cancelled() {
                for (i, phase) in phases.iter_mut().enumerate() {
                    if let Phase::Active((child, _)) = phase {
                        process::stop_group(child.id(), STOP_GRACE);
                        let _ = child.wait();
                        if let Some(row) = run.store.get(&plan.steps[i].id)? {
                            run.requeue(row)?;
                        }
                    }
                }
                return Err(StudyError::Interrupted);
            }
            std::thread::sleep(Duration::from_millis(50));
            for (i, phase) in phases.iter_mut().enumerate() {
                let Phase::Active((child, started)) = phase else { continue };
                let Some(status) =
                    child.try_wait().map_err(|e| StudyError::io("cannot wait for a step", e))?
                else {
                    continue;
                };
                let seconds = started.elapsed().as_secs_f64();
                let row = run.finished_row(i, None)?;
                *phase = if status.success() && study.is_done(i, &run.keys[i].key) {
                    run.succeeded(i, row, seconds, on_event)?
                } else {
                    let error =
                        format!("exited with {status}; see {}", study.log_path(i).display());
                    run.failed(i, row, error, on_event)?
                };
            }
        }
    }
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
