//! Judging a set of records against their problems: candidates (`valley judge`), traces
//! (`valley data label`), and the summary both print.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use valley_data::io::{FieldMap, decode_row};
use valley_judge::{Judge, Protection, Task};
use valley_types::{Candidate, ExtractMode, Problem, Trace, Verdict, VerdictRecord, extract_code};

use crate::error::{OpenError, ReadInputError};

/// Called once per finished verdict, from any worker thread (a progress bar).
pub type Progress<'a> = &'a (dyn Fn(&VerdictRecord) + Sync);

/// The verdicts of a set of tasks, in task order, and the wall time judging them took.
#[derive(Debug, Clone)]
pub struct Judged {
    /// One verdict per task, in task order.
    pub records: Vec<VerdictRecord>,
    /// Wall time of judging.
    pub wall: Duration,
}

/// Judges every task; `progress` is called once per finished verdict.
pub fn judge_all(judge: &Judge, tasks: &[Task<'_>], progress: Progress<'_>) -> Judged {
    let start = Instant::now();
    let records = judge.run(tasks, progress);
    Judged { records, wall: start.elapsed() }
}

/// Reads candidates (`--field` maps their columns); each must name a problem of `problems`
/// (read from `problems_path`), else the error names its line.
pub fn read_candidates(
    path: &Path,
    fields: &FieldMap,
    problems: &HashMap<String, Problem>,
    problems_path: &Path,
) -> Result<Vec<Candidate>, ReadInputError> {
    let mut candidates = Vec::new();
    for row in OpenError::open(path)? {
        let row = row?;
        let c: Candidate = decode_row(path, &row, fields)?;
        if !problems.contains_key(&c.question_id) {
            return Err(ReadInputError::UnknownProblem {
                path: path.to_path_buf(),
                line: row.line,
                field: "question_id".into(),
                id: c.question_id,
                problems: problems_path.to_path_buf(),
            });
        }
        candidates.push(c);
    }
    Ok(candidates)
}

/// Judges each candidate's program (its `code`, or the code `extract` finds in its response).
pub fn judge_candidates(
    judge: &Judge,
    problems: &HashMap<String, Problem>,
    candidates: &[Candidate],
    extract: ExtractMode,
    progress: Progress<'_>,
) -> Judged {
    let tasks: Vec<Task<'_>> = candidates
        .iter()
        .map(|c| Task {
            candidate_id: c.candidate_id.clone(),
            code: c.program(extract),
            problem: &problems[&c.question_id],
        })
        .collect();
    judge_all(judge, &tasks, progress)
}

/// Reads traces to label (`--field` maps their columns); each must name a problem of
/// `problems` (read from `problems_path`) in `question_id`, else the error names its line.
pub fn read_traces(
    path: &Path,
    fields: &FieldMap,
    problems: &HashMap<String, Problem>,
    problems_path: &Path,
) -> Result<Vec<Trace>, ReadInputError> {
    let mut traces = Vec::new();
    for row in OpenError::open(path)? {
        let row = row?;
        let trace: Trace = decode_row(path, &row, fields)?;
        let Some(qid) = trace.question_id.as_deref() else {
            return Err(ReadInputError::NoProblemId {
                path: path.to_path_buf(),
                line: row.line,
                field: fields.describe("question_id"),
            });
        };
        if !problems.contains_key(qid) {
            return Err(ReadInputError::UnknownProblem {
                path: path.to_path_buf(),
                line: row.line,
                field: fields.describe("question_id"),
                id: qid.to_owned(),
                problems: problems_path.to_path_buf(),
            });
        }
        traces.push(trace);
    }
    Ok(traces)
}

/// Judges the code `extract` finds in each trace's response and returns the traces with
/// `correct`, `verdict` and `verdict_detail` added, and the verdicts.
///
/// # Panics
///
/// When a trace has no `question_id` or names a problem not in `problems` ([`read_traces`]
/// refuses both).
pub fn label_traces(
    judge: &Judge,
    problems: &HashMap<String, Problem>,
    traces: Vec<Trace>,
    extract: ExtractMode,
    progress: Progress<'_>,
) -> (Vec<Trace>, Judged) {
    let tasks: Vec<Task<'_>> = traces
        .iter()
        .map(|t| Task {
            candidate_id: t.id.clone(),
            code: extract_code(&t.response, extract),
            problem: &problems[t.question_id.as_deref().expect("bug: read_traces checks the id")],
        })
        .collect();
    let judged = judge_all(judge, &tasks, progress);
    drop(tasks);
    let labelled = traces
        .into_iter()
        .zip(&judged.records)
        .map(|(mut trace, r)| {
            trace.correct = Some(r.correct());
            trace.extra.insert("verdict".into(), json!(r.verdict));
            trace.extra.insert(
                "verdict_detail".into(),
                json!({
                    "profile": r.profile,
                    "passed": r.passed,
                    "total": r.total,
                    "first_failure": r.first_failure,
                    "python": r.python,
                }),
            );
            trace
        })
        .collect();
    (labelled, judged)
}

/// What a judging run did: the summary `valley judge` and `valley data label` print.
#[derive(Debug, Clone, Serialize)]
pub struct JudgeSummary {
    /// No verdict is `JUDGE_ERROR`.
    pub ok: bool,
    /// Where the records went.
    pub out: PathBuf,
    /// The profile.
    pub profile: String,
    /// The Python version that ran the programs.
    pub python: String,
    /// Workers.
    pub jobs: usize,
    /// Records judged.
    pub candidates: usize,
    /// Records per verdict code, every verdict listed in [`Verdict::ALL`]'s order.
    pub counts: serde_json::Map<String, serde_json::Value>,
    /// Records accepted.
    pub accepted: usize,
    /// Share accepted (0 when nothing was judged).
    pub pass_rate: f64,
    /// Wall time of judging, in seconds.
    pub wall_s: f64,
    /// Tests run.
    pub tests_run: usize,
    /// Tests the problems define, over every record.
    pub tests_defined: usize,
    /// Tests run per second of wall time.
    pub tests_per_second: f64,
    /// Records judged per second of wall time.
    pub candidates_per_second: f64,
    /// The judge's Python environment: the interpreter and the packages each profile needs.
    pub environment: valley_judge::env::EnvReport,
    /// The isolation the programs ran under.
    pub sandbox: SandboxSummary,
}

/// The isolation graded programs ran under.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxSummary {
    /// Protections applied.
    pub applied: Vec<Protection>,
    /// Protections the kernel denied (only with weak isolation allowed).
    pub missing: Vec<Protection>,
    /// How the unprivileged user was obtained.
    pub user_mode: &'static str,
    /// Whether the warm interpreters made themselves non-dumpable.
    pub interpreters_undumpable: bool,
}

impl JudgeSummary {
    /// The summary of `judged`, written to `out`.
    pub fn new(judge: &Judge, judged: &Judged, out: &Path) -> Self {
        let records = &judged.records;
        let count = |v: Verdict| records.iter().filter(|r| r.verdict == v).count();
        let counts = Verdict::ALL.into_iter().map(|v| (v.code().into(), json!(count(v)))).collect();
        let n = records.len();
        let accepted = records.iter().filter(|r| r.correct()).count();
        let tests_run: usize = records.iter().map(|r| r.tests_run).sum();
        let tests_defined: usize = records.iter().map(|r| r.total).sum();
        let wall_s = judged.wall.as_secs_f64();
        let secs = wall_s.max(1e-9);
        let protections = judge.protections();
        Self {
            ok: count(Verdict::JudgeError) == 0,
            out: out.to_path_buf(),
            profile: judge.profile().name().into(),
            python: judge.python_version().into(),
            environment: judge.environment().clone(),
            jobs: judge.jobs(),
            candidates: n,
            counts,
            accepted,
            pass_rate: if n == 0 { 0.0 } else { accepted as f64 / n as f64 },
            wall_s,
            tests_run,
            tests_defined,
            tests_per_second: tests_run as f64 / secs,
            candidates_per_second: n as f64 / secs,
            sandbox: SandboxSummary {
                applied: protections.applied.clone(),
                missing: protections.missing.clone(),
                user_mode: protections.user_mode,
                interpreters_undumpable: judge.interpreters_undumpable(),
            },
        }
    }

    /// Records whose verdict is `JUDGE_ERROR` (the judge's own fault).
    pub fn judge_errors(&self) -> u64 {
        self.counts.get(Verdict::JudgeError.code()).and_then(serde_json::Value::as_u64).unwrap_or(0)
    }
}
