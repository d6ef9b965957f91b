//! `valley study verify`: rechecks every step folder against its provenance manifest and the
//! study as it stands — the key, each output's hash, each input's hash, the upstream keys and
//! the data manifest.

use serde::Serialize;

use crate::error::StudyError;
use crate::provenance::{self, GIT_REVISION};
use crate::study::Study;

/// One step's verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepCheck {
    /// Step id.
    pub id: String,
    /// `ok`, `mismatch` or `not-run`.
    pub result: &'static str,
    /// What does not match.
    pub problems: Vec<String>,
    /// The revision of valley that wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_revision: Option<String>,
}

/// The study's verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Steps whose outputs match.
    pub ok: usize,
    /// Steps whose outputs do not.
    pub mismatched: usize,
    /// Steps with no outputs yet.
    pub not_run: usize,
    /// This build's revision.
    pub git_revision: &'static str,
    /// Every step.
    pub steps: Vec<StepCheck>,
}

/// Verifies every step folder of the study.
pub fn verify(study: &Study) -> Result<VerifyReport, StudyError> {
    let store = study.store()?;
    let keys = study.keys(&store)?;
    let plan = &study.plan;
    let mut report = VerifyReport {
        ok: 0,
        mismatched: 0,
        not_run: 0,
        git_revision: GIT_REVISION,
        steps: Vec::new(),
    };
    for (i, step) in plan.steps.iter().enumerate() {
        let dir = plan.step_dir(i);
        let mut problems = Vec::new();
        let Some(m) = provenance::read(&dir) else {
            if dir.exists() {
                problems.push(format!(
                    "{}: missing or unreadable",
                    dir.join(provenance::MANIFEST).display()
                ));
                report.mismatched += 1;
                report.steps.push(StepCheck {
                    id: step.id.clone(),
                    result: "mismatch",
                    problems,
                    git_revision: None,
                });
            } else {
                report.not_run += 1;
                report.steps.push(StepCheck {
                    id: step.id.clone(),
                    result: "not-run",
                    problems,
                    git_revision: None,
                });
            }
            continue;
        };
        if m.key != keys[i].key {
            problems.push("key: the spec's settings or inputs changed since it ran (stale)".into());
        }
        match provenance::hash_outputs(&dir) {
            Ok(now) => {
                for o in &m.outputs {
                    match now.iter().find(|n| n.path == o.path) {
                        None => problems.push(format!("{}: missing", o.path)),
                        Some(n) if n.sha256 != o.sha256 => {
                            problems.push(format!("{}: content changed", o.path))
                        }
                        Some(_) => {}
                    }
                }
                for n in &now {
                    if !m.outputs.iter().any(|o| o.path == n.path) {
                        problems.push(format!("{}: not in the manifest", n.path));
                    }
                }
            }
            Err(e) => problems.push(format!("cannot hash the outputs: {e}")),
        }
        for rec in &m.inputs {
            match keys[i].inputs.iter().find(|(f, _, _)| f == &rec.field) {
                Some((_, _, h)) if h != &rec.sha256 => {
                    problems.push(format!("input `{}` ({}): content changed", rec.field, rec.path))
                }
                None => problems.push(format!("input `{}`: no longer in the spec", rec.field)),
                _ => {}
            }
        }
        for up in &m.upstream {
            match plan.index(&up.step) {
                Some(u) => {
                    let actual = provenance::read(&plan.step_dir(u)).map(|p| p.key);
                    if actual.as_deref() != Some(up.key.as_str()) {
                        problems.push(format!(
                            "upstream `{}`: its outputs are not the ones this step read",
                            up.step
                        ));
                    }
                }
                None => problems.push(format!("upstream `{}`: no longer in the study", up.step)),
            }
        }
        if let Some(want) = &m.data_manifest_sha256 {
            let src = step
                .deps
                .iter()
                .map(|&d| plan.step_dir(d))
                .chain(std::iter::once(dir.clone()))
                .map(|d| d.join("manifest.json"))
                .find(|p| p.exists());
            let got = src.and_then(|p| crate::hash::sha256_file(&p).ok());
            if got.as_deref() != Some(want.as_str()) {
                problems.push("data manifest: changed since the step ran".into());
            }
        }
        let result = if problems.is_empty() {
            report.ok += 1;
            "ok"
        } else {
            report.mismatched += 1;
            "mismatch"
        };
        report.steps.push(StepCheck {
            id: step.id.clone(),
            result,
            problems,
            git_revision: Some(m.git_revision),
        });
    }
    Ok(report)
}
