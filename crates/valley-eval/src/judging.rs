//! Judging a set of records against their problems: candidates (`valley judge`), traces
//! (`valley data label`), and the summary both print.
//!
//! A record the judge could not judge (`JUDGE_ERROR`: the environment, the harness) is no
//! outcome of the program: a labelled trace gets no `correct`, the pass rate leaves it out, and a
//! run that judged nothing at all has no result to write ([`Judged::require_judged`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use valley_data::io::{FieldMap, decode_row};
use valley_judge::{Judge, Protection, Task};
use valley_types::{Candidate, ExtractMode, Problem, Trace, Verdict, VerdictRecord, extract_code};

use crate::error::{NothingJudgedError, OpenError, ReadInputError};

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

impl Judged {
    /// Records the judge could not judge (`JUDGE_ERROR`).
    pub fn not_judged(&self) -> usize {
        self.records.iter().filter(|r| r.verdict == Verdict::JudgeError).count()
    }

    /// An error when there were records and the judge could judge none of them: every verdict
    /// would be the judge's failure, and nothing of it is a result.
    pub fn require_judged(&self) -> Result<(), NothingJudgedError> {
        require_judged(&self.records)
    }
}

/// See [`Judged::require_judged`].
pub(crate) fn require_judged(records: &[VerdictRecord]) -> Result<(), NothingJudgedError> {
    match records.first() {
        Some(first) if records.iter().all(|r| r.verdict == Verdict::JudgeError) => {
            Err(NothingJudgedError {
                records: records.len(),
                candidate_id: first.candidate_id.clone(),
                reason: first
                    .first_failure
                    .as_ref()
                    .map_or_else(|| "no reason given".into(), |f| f.reason.clone()),
            })
        }
        _ => Ok(()),
    }
}

/// Judges every task; `progress` is called once per finished verdict.
pub fn judge_all(judge: &Judge, tasks: &[Task<'_>], progress: Progress<'_>) -> Judged {
    let start = Instant::now();
    let records = judge.run(tasks, progress);
    Judged { records, wall: start.elapsed() }
}

/// Reads candidates (`--field` maps their columns); each must name a problem of `problems`
/// (read from `problems_path`), else the error names its line. `candidate_id` is a key: a second
/// row with one is an error naming both lines.
pub fn read_candidates(
    path: &Path,
    fields: &FieldMap,
    problems: &HashMap<String, Problem>,
    problems_path: &Path,
) -> Result<Vec<Candidate>, ReadInputError> {
    let mut candidates = Vec::new();
    let mut first: HashMap<String, u64> = HashMap::new();
    for row in OpenError::open(path)? {
        let row = row?;
        let c: Candidate = decode_row(path, &row, fields)?;
        if let Some(first_line) = first.insert(c.candidate_id.clone(), row.line) {
            return Err(ReadInputError::Duplicate {
                path: path.to_path_buf(),
                line: row.line,
                field: fields.describe("candidate_id"),
                id: c.candidate_id,
                first_line,
            });
        }
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

/// The traces [`read_traces`] left out because their question has no problem.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Unmatched {
    /// How many.
    pub rows: u64,
    /// The first few, each naming file, line, field and id.
    pub examples: Vec<String>,
}

/// How many left-out traces [`Unmatched`] names.
const UNMATCHED_EXAMPLES: usize = 10;

/// Reads traces to label (`--field` maps their columns); each must name a problem of
/// `problems` (read from `problems_path`) in `question_id`, else the error names its line. With
/// `skip_unmatched`, a trace naming no problem is left out and counted instead (a TACO row its
/// import left out for having no tests, say); a trace with no `question_id` is always an error.
pub fn read_traces(
    path: &Path,
    fields: &FieldMap,
    problems: &HashMap<String, Problem>,
    problems_path: &Path,
    skip_unmatched: bool,
) -> Result<(Vec<Trace>, Unmatched), ReadInputError> {
    let mut traces = Vec::new();
    let mut unmatched = Unmatched::default();
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
            let e = ReadInputError::UnknownProblem {
                path: path.to_path_buf(),
                line: row.line,
                field: fields.describe("question_id"),
                id: qid.to_owned(),
                problems: problems_path.to_path_buf(),
            };
            if !skip_unmatched {
                return Err(e);
            }
            unmatched.rows += 1;
            if unmatched.examples.len() < UNMATCHED_EXAMPLES {
                unmatched.examples.push(e.to_string());
            }
            continue;
        }
        traces.push(trace);
    }
    Ok((traces, unmatched))
}

/// Judges the code `extract` finds in each trace's response and returns the traces with
/// `correct`, `verdict` and `verdict_detail` added ([`label_trace`]), and the verdicts.
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
    let labelled =
        traces.into_iter().zip(&judged.records).map(|(trace, r)| label_trace(trace, r)).collect();
    (labelled, judged)
}

/// `trace` with its verdict: `correct`, `verdict` and `verdict_detail`. A trace the judge could
/// not judge (`JUDGE_ERROR`) gets no `correct` (it is neither): `data split --by correctness`
/// leaves it out instead of counting it as the model's failure.
pub fn label_trace(mut trace: Trace, r: &VerdictRecord) -> Trace {
    trace.correct = (r.verdict != Verdict::JudgeError).then(|| r.correct());
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
    /// Of those, the records the judge could not judge (`JUDGE_ERROR`), left out of the pass
    /// rate.
    pub not_judged: usize,
    /// Records per verdict code, every verdict listed in [`Verdict::ALL`]'s order.
    pub counts: serde_json::Map<String, serde_json::Value>,
    /// Records accepted.
    pub accepted: usize,
    /// Share accepted of the records judged (0 when nothing was judged).
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
        let not_judged = judged.not_judged();
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
            not_judged,
            counts,
            accepted,
            pass_rate: if n == not_judged {
                0.0
            } else {
                accepted as f64 / (n - not_judged) as f64
            },
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

#[cfg(test)]
mod tests {
    use valley_types::FirstFailure;

    use super::*;

    fn record(verdict: Verdict) -> VerdictRecord {
        VerdictRecord {
            candidate_id: "c".into(),
            question_id: "q".into(),
            verdict,
            passed: 0,
            total: 1,
            first_failure: Some(FirstFailure { test: None, reason: "judge error: boom".into() }),
            cpu_ms: 0,
            wall_ms: 0,
            profile: "lcb".into(),
            tests_run: 0,
            python: "3.12".into(),
        }
    }

    #[test]
    fn a_trace_the_judge_could_not_judge_is_neither_correct_nor_incorrect() {
        let trace: Trace = serde_json::from_value(json!({
            "id": "t", "question": "q", "response": "r", "question_id": "q"
        }))
        .unwrap();
        let broken = label_trace(trace.clone(), &record(Verdict::JudgeError));
        assert_eq!(broken.correct, None);
        assert_eq!(broken.extra["verdict"], json!("JUDGE_ERROR"));
        assert_eq!(label_trace(trace.clone(), &record(Verdict::WrongAnswer)).correct, Some(false));
        let mut ac = record(Verdict::Accepted);
        ac.passed = 1;
        ac.first_failure = None;
        assert_eq!(label_trace(trace, &ac).correct, Some(true));
    }

    #[test]
    fn a_run_that_judged_nothing_is_no_result() {
        let all_broken = [record(Verdict::JudgeError), record(Verdict::JudgeError)];
        let e = require_judged(&all_broken).unwrap_err().to_string();
        assert!(e.contains("none of the 2") && e.contains("judge error: boom"), "{e}");
        require_judged(&[record(Verdict::JudgeError), record(Verdict::WrongAnswer)]).unwrap();
        require_judged(&[]).unwrap();
    }
}
