//! `valley study status`: every step with its state (`done`, `running`, `pending`, `failed`),
//! its duration and its outputs, from the step folders and the state database.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::StudyError;
use crate::process;
use crate::store::StepState;
use crate::study::{Study, now};

/// One step's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepStatus {
    /// Step id.
    pub id: String,
    /// Step kind.
    pub kind: &'static str,
    /// The run it belongs to.
    pub run: Option<String>,
    /// Where it stands.
    pub state: StepState,
    /// Its current key (none while an input is missing).
    pub key: Option<String>,
    /// Steps it reads.
    pub deps: Vec<String>,
    /// Attempts under the current key.
    pub attempts: i64,
    /// Seconds it took (done) or has taken so far (running).
    pub duration_s: Option<f64>,
    /// Its final folder.
    pub dir: PathBuf,
    /// Files it wrote (done steps), relative to `dir`.
    pub outputs: Vec<String>,
    /// Its log.
    pub log: PathBuf,
    /// The Slurm job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole study's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyStatus {
    /// Study name.
    pub study: String,
    /// Output folder.
    pub out: PathBuf,
    /// Steps per state.
    pub counts: std::collections::BTreeMap<&'static str, usize>,
    /// Every step, in plan order.
    pub steps: Vec<StepStatus>,
    /// A missing input that keeps keys from being computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_input: Option<String>,
}

/// Reads a study's status; it starts and changes nothing but the input hash cache.
pub fn status(study: &Study) -> Result<StudyStatus, StudyError> {
    let plan = &study.plan;
    let (keys, missing) = if plan.out.exists() {
        let store = study.store()?;
        match study.keys(&store) {
            Ok(k) => (Some((k, store)), None),
            Err(e @ StudyError::MissingInput { .. }) => (None, Some(e.to_string())),
            Err(e) => return Err(e),
        }
    } else {
        (None, None)
    };
    let mut steps = Vec::new();
    let mut counts: std::collections::BTreeMap<&'static str, usize> =
        StepState::ALL.into_iter().map(|s| (s.as_str(), 0)).collect();
    for (i, step) in plan.steps.iter().enumerate() {
        let dir = plan.step_dir(i);
        let mut st = StepStatus {
            id: step.id.clone(),
            kind: step.kind.as_str(),
            run: step.run.clone(),
            state: StepState::Pending,
            key: None,
            deps: step.deps.iter().map(|&d| plan.steps[d].id.clone()).collect(),
            attempts: 0,
            duration_s: None,
            dir: dir.clone(),
            outputs: Vec::new(),
            log: study.log_path(i),
            job_id: None,
            error: None,
        };
        if let Some((keys, store)) = &keys {
            let key = &keys[i].key;
            st.key = Some(key.clone());
            let row = store.get(&step.id)?.filter(|r| &r.key == key);
            if let Some(r) = &row {
                st.attempts = r.attempts;
                st.job_id.clone_from(&r.job_id);
            }
            if let Some(p) = crate::provenance::read(&dir).filter(|p| &p.key == key) {
                st.state = StepState::Done;
                st.duration_s = Some(p.finished_at - p.started_at);
                st.outputs = p.outputs.into_iter().map(|o| o.path).collect();
            } else if let Some(r) = row {
                match r.state {
                    StepState::Running => {
                        let live = match (r.pid, r.pid_start) {
                            (Some(pid), Some(start)) => {
                                u32::try_from(pid).is_ok_and(|p| process::alive(p, start))
                            }
                            // A Slurm job: the runner follows it; trust the row.
                            _ => r.job_id.is_some(),
                        };
                        if live {
                            st.state = StepState::Running;
                            st.duration_s = r.started_at.map(|s| now() - s);
                        }
                    }
                    StepState::Failed => {
                        st.state = StepState::Failed;
                        st.error = r.error;
                        st.duration_s = match (r.started_at, r.finished_at) {
                            (Some(s), Some(f)) => Some(f - s),
                            _ => None,
                        };
                    }
                    StepState::Pending | StepState::Done => {}
                }
            }
        }
        *counts.entry(st.state.as_str()).or_insert(0) += 1;
        steps.push(st);
    }
    Ok(StudyStatus {
        study: study.spec.spec.study.name.clone(),
        out: plan.out.clone(),
        counts,
        steps,
        missing_input: missing,
    })
}
