//! The opening and closing of a run, the same for every backend: open the state database,
//! compute every step's key, let the backend repair what a runner that died left behind, record
//! the steps whose outputs are already there; then, once the backend has driven the rest, list
//! the failed and blocked steps.

use std::time::Instant;

use crate::error::StudyError;
use crate::keys::StepKey;
use crate::store::{StepRow, StepState, Store};
use crate::study::{Event, RunOptions, RunSummary, Study, now};

/// Where a step stands during a run; `Active` holds the backend's handle (a child process, a
/// Slurm job id).
#[derive(Debug, Clone)]
pub(super) enum Phase<A> {
    /// Waiting for its upstream steps or for a free slot.
    Pending,
    /// Started (local) or submitted (Slurm).
    Active(A),
    /// Its outputs are there.
    Done,
    /// Failed, retries spent.
    Failed,
}

/// A backend: how steps that are not done are run.
pub(super) trait Backend {
    /// The name in the run summary.
    const NAME: &'static str;
    /// The handle of a running step.
    type Active;

    /// Before done steps are recorded: repair what a runner that died left behind.
    fn recover(
        &mut self,
        _run: &OpenRun<'_>,
        _on_event: &mut dyn FnMut(Event),
    ) -> Result<(), StudyError> {
        Ok(())
    }

    /// The phase of step `i`, which is not done; `row` is its row under its current key.
    fn resume(&mut self, _i: usize, _row: Option<StepRow>) -> Phase<Self::Active> {
        Phase::Pending
    }

    /// Runs steps until none is active and none can start; sets their phases.
    fn drive(
        &mut self,
        run: &mut OpenRun<'_>,
        phases: &mut [Phase<Self::Active>],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), StudyError>;
}

/// An opened run: the state database, every step's key and the summary so far.
pub(super) struct OpenRun<'a> {
    /// The study.
    pub(super) study: &'a Study,
    /// How it runs.
    pub(super) options: &'a RunOptions,
    /// The state database.
    pub(super) store: Store,
    /// Every step's key, in plan order.
    pub(super) keys: Vec<StepKey>,
    /// Attempts after the first.
    pub(super) retries: i64,
    /// What the run did so far.
    pub(super) summary: RunSummary,
}

/// Opens the run, lets `backend` drive it, and closes it.
pub(super) fn run<B: Backend>(
    mut backend: B,
    study: &Study,
    options: &RunOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<RunSummary, StudyError> {
    let t0 = Instant::now();
    let store = study.store()?;
    let keys = study.keys(&store)?;
    let plan = &study.plan;
    let mut run = OpenRun {
        study,
        options,
        store,
        keys,
        retries: i64::from(options.retries.unwrap_or(study.spec.spec.study.retries)),
        summary: RunSummary {
            steps: plan.steps.len(),
            backend: B::NAME.into(),
            ..RunSummary::default()
        },
    };
    backend.recover(&run, on_event)?;
    let mut phases = Vec::with_capacity(plan.steps.len());
    for (i, step) in plan.steps.iter().enumerate() {
        let key = &run.keys[i].key;
        let row = run.store.get(&step.id)?.filter(|r| &r.key == key);
        if study.is_done(i, key) {
            study.record_done(&run.store, i, key, row)?;
            run.summary.cached += 1;
            on_event(Event::Cached { step: step.id.clone() });
            phases.push(Phase::Done);
        } else {
            phases.push(backend.resume(i, row));
        }
    }
    backend.drive(&mut run, &mut phases, on_event)?;
    for (i, p) in phases.iter().enumerate() {
        match p {
            Phase::Failed => run.summary.failed.push(plan.steps[i].id.clone()),
            Phase::Pending => run.summary.blocked.push(plan.steps[i].id.clone()),
            _ => {}
        }
    }
    run.summary.wall_s = t0.elapsed().as_secs_f64();
    Ok(run.summary)
}

impl OpenRun<'_> {
    /// Step `i`'s next attempt under its current key, 1 for the first.
    pub(super) fn next_attempt(&self, i: usize) -> Result<i64, StudyError> {
        let prev = self.store.get(&self.study.plan.steps[i].id)?;
        Ok(prev.filter(|r| r.key == self.keys[i].key).map_or(0, |r| r.attempts) + 1)
    }

    /// Records that step `i` started its `attempt`: a process `pid` (with its start time), or a
    /// Slurm job.
    pub(super) fn started(
        &self,
        i: usize,
        attempt: i64,
        pid: Option<(i64, Option<i64>)>,
        job_id: Option<String>,
    ) -> Result<(), StudyError> {
        self.store.put(&StepRow {
            id: self.study.plan.steps[i].id.clone(),
            key: self.keys[i].key.clone(),
            state: StepState::Running,
            pid: pid.map(|p| p.0),
            pid_start: pid.and_then(|p| p.1),
            job_id,
            attempts: attempt,
            started_at: Some(now()),
            finished_at: None,
            error: None,
        })
    }

    /// Step `i`'s row, its process gone and its finish time set (a new row naming `job_id` when
    /// none is on file).
    pub(super) fn finished_row(
        &self,
        i: usize,
        job_id: Option<String>,
    ) -> Result<StepRow, StudyError> {
        let step = &self.study.plan.steps[i];
        let mut row = self.store.get(&step.id)?.unwrap_or_else(|| StepRow {
            id: step.id.clone(),
            key: self.keys[i].key.clone(),
            state: StepState::Pending,
            pid: None,
            pid_start: None,
            job_id,
            attempts: 1,
            started_at: None,
            finished_at: None,
            error: None,
        });
        row.pid = None;
        row.pid_start = None;
        row.finished_at = Some(now());
        Ok(row)
    }

    /// Records that step `i` finished with its outputs, `seconds` after it started.
    pub(super) fn succeeded<A>(
        &mut self,
        i: usize,
        mut row: StepRow,
        seconds: f64,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Phase<A>, StudyError> {
        row.state = StepState::Done;
        row.error = None;
        self.store.put(&row)?;
        self.summary.ran += 1;
        on_event(Event::Done { step: self.study.plan.steps[i].id.clone(), seconds });
        Ok(Phase::Done)
    }

    /// Records that step `i` failed (`error` says how); it runs again while retries are left.
    pub(super) fn failed<A>(
        &self,
        i: usize,
        mut row: StepRow,
        error: String,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Phase<A>, StudyError> {
        let retry = row.attempts <= self.retries;
        row.state = if retry { StepState::Pending } else { StepState::Failed };
        row.error = Some(error);
        self.store.put(&row)?;
        let log = self.study.log_path(i);
        on_event(Event::Failed { step: self.study.plan.steps[i].id.clone(), log, retry });
        Ok(if retry { Phase::Pending } else { Phase::Failed })
    }

    /// Returns a step's row to pending without spending an attempt (it was stopped, not failed).
    pub(super) fn requeue(&self, mut row: StepRow) -> Result<(), StudyError> {
        row.state = StepState::Pending;
        row.pid = None;
        row.pid_start = None;
        row.attempts = (row.attempts - 1).max(0);
        self.store.put(&row)
    }
}
