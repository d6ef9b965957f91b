//! The judge: settings, a pool of sandboxed warm interpreters, and the mapping from what the
//! harness reports to verdict records.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use valley_sandbox::{Limits, Policy, Protections, Sandbox, SandboxConfig};
use valley_types::{FirstFailure, Problem, TestStyle, Verdict, VerdictRecord};

use crate::env::EnvReport;
use crate::protocol::{Request, Response, Runner, Status};
use crate::worker::Worker;
use crate::{Interpreter, JudgeError, Profile};

/// The judge's settings; [`JudgeConfig::init`] builds the [`Judge`].
#[derive(Debug, Clone)]
pub struct JudgeConfig {
    /// Whose verdicts to reproduce.
    pub profile: Profile,
    /// Concurrent workers (one sandboxed interpreter each); 0 means one per CPU core.
    pub jobs: usize,
    /// The Python interpreter (name on `PATH` or path).
    pub python: String,
    /// Per-test time limit in seconds; `None` takes the profile's.
    pub timeout: Option<f64>,
    /// Address-space limit per grading process in MiB; `None`: 1024 for `strict`, 8192 otherwise
    /// (LiveCodeBench and TACO have none).
    pub memory_mb: Option<u64>,
    /// Absolute-or-relative tolerance for numbers under `strict`.
    pub float_tol: Option<f64>,
    /// Run even when the kernel denies part of the isolation.
    pub allow_weak_sandbox: bool,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            profile: Profile::Lcb,
            jobs: 0,
            python: "python3".into(),
            timeout: None,
            memory_mb: None,
            float_tol: None,
            allow_weak_sandbox: false,
        }
    }
}

impl JudgeConfig {
    /// These settings for judging `tasks` programs: each worker is a sandboxed interpreter
    /// started up front, so there are never more workers than programs (and at least one).
    /// `jobs` 0 (one per core) is resolved here.
    #[must_use]
    pub fn for_tasks(mut self, tasks: usize) -> Self {
        let wanted = if self.jobs == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.jobs
        };
        self.jobs = wanted.min(tasks).max(1);
        self
    }

    /// Probes the interpreter and checks that it imports what the profile needs (the declared
    /// environment, [`crate::env`]), builds one sandbox per worker and starts their interpreters,
    /// and checks that those find the same modules inside the sandbox.
    pub fn init(self) -> Result<Judge, JudgeError> {
        let python = Interpreter::probe(&self.python)?;
        let environment = EnvReport::of(&self.python, &python);
        let required = self.profile.required_modules();
        for p in &environment.packages {
            let needed = required.contains(&p.module.as_str());
            match (&p.found, needed) {
                (None, true) => {
                    return Err(JudgeError::MissingModule {
                        python: self.python.clone(),
                        version: python.version.clone(),
                        module: p.module.clone(),
                        profile: self.profile.name().to_owned(),
                        reason: p.error.clone().unwrap_or_default(),
                    });
                }
                (None, false) => tracing::warn!(
                    "the judge's Python `{}` cannot import {} ({}): programs that import it fail",
                    self.python,
                    p.module,
                    p.error.as_deref().unwrap_or("")
                ),
                (Some(found), _) if p.pinned.as_ref().is_some_and(|pin| pin != found) => {
                    tracing::warn!(
                        "the judge's {} is {found}, the declared environment pins {} \
                         (`valley judge env create DIR` makes one that holds the pins)",
                        p.module,
                        p.pinned.as_deref().unwrap_or("")
                    );
                }
                _ => {}
            }
        }
        let jobs = if self.jobs == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.jobs
        };
        let memory = self.memory_mb.map(|m| m << 20);
        let sandbox_memory = memory.map_or(8u64 << 30, |m| m.max(1 << 30) + (512 << 20));
        // Distinct user ids per worker (and per judge process) so process limits and signals
        // never cross between concurrent sandboxes.
        let base = 200_000 + (std::process::id() % 100_000) * 64;
        let mut sandboxes = Vec::with_capacity(jobs);
        for i in 0..jobs {
            let config = SandboxConfig {
                limits: Limits { memory: Some(sandbox_memory), cpu: None, ..Limits::default() },
                policy: if self.allow_weak_sandbox { Policy::AllowWeak } else { Policy::Strict },
                uid: base + i as u32,
                gid: base + i as u32,
                binds: python.roots.clone(),
                hostname: "valley-judge".into(),
            };
            sandboxes.push(Sandbox::new(config).map_err(JudgeError::Sandbox)?);
        }
        let lazy_numpy = self.profile == Profile::Lcb;
        let started: Vec<Result<Worker, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = sandboxes
                .iter()
                .map(|sb| s.spawn(|| Worker::start(sb, &python, lazy_numpy, required)))
                .collect();
            handles.into_iter().map(|h| h.join().expect("worker start thread panicked")).collect()
        });
        let mut workers = Vec::with_capacity(jobs);
        for w in started {
            let w = w.map_err(JudgeError::Start)?;
            if let Some(module) =
                required.iter().find(|m| w.hello.modules.get(**m).is_none_or(Option::is_none))
            {
                return Err(JudgeError::HiddenModule {
                    python: self.python.clone(),
                    module: (*module).to_owned(),
                });
            }
            workers.push(Mutex::new(Some(w)));
        }
        let python_version = python.version.clone();
        if self.profile == Profile::Lcb
            && workers.iter().any(|w| {
                w.lock().expect("worker lock").as_ref().is_some_and(|w| !w.hello.lcb_template)
            })
        {
            tracing::warn!(
                "the lcb prelude template failed its check; every grading process runs the \
                 prelude itself (same verdicts, slower)"
            );
        }
        Ok(Judge {
            config: self,
            python,
            environment,
            python_version,
            memory,
            sandboxes,
            workers,
            runs: AtomicU64::new(0),
        })
    }
}

/// One candidate program on one problem.
#[derive(Debug, Clone)]
pub struct Task<'a> {
    /// The candidate's id, copied into its verdict record.
    pub candidate_id: String,
    /// The program; `None` (nothing extracted) gives `NO_CODE` without running anything.
    pub code: Option<String>,
    /// The problem and its tests.
    pub problem: &'a Problem,
}

/// A ready judge: one warm, sandboxed interpreter per worker.
pub struct Judge {
    config: JudgeConfig,
    python: Interpreter,
    environment: EnvReport,
    python_version: String,
    memory: Option<u64>,
    sandboxes: Vec<Sandbox>,
    workers: Vec<Mutex<Option<Worker>>>,
    /// Calls of [`Judge::run`] so far (part of the problem keys sent to the workers).
    runs: AtomicU64,
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Judge")
            .field("profile", &self.config.profile)
            .field("jobs", &self.workers.len())
            .field("python", &self.python_version)
            .finish_non_exhaustive()
    }
}

impl Judge {
    /// The profile in use.
    pub fn profile(&self) -> Profile {
        self.config.profile
    }

    /// Number of workers.
    pub fn jobs(&self) -> usize {
        self.workers.len()
    }

    /// Python version of the interpreter judging.
    pub fn python_version(&self) -> &str {
        &self.python_version
    }

    /// The interpreter judging and the declared packages it holds (checked at start).
    pub fn environment(&self) -> &EnvReport {
        &self.environment
    }

    /// The protections every graded program gets.
    pub fn protections(&self) -> &Protections {
        self.sandboxes[0].protections()
    }

    /// Whether the warm interpreters made themselves non-dumpable (graded programs, which run as
    /// the same user, then cannot ptrace them or read their memory).
    pub fn interpreters_undumpable(&self) -> bool {
        self.workers
            .iter()
            .all(|w| w.lock().expect("worker lock").as_ref().is_none_or(|w| w.hello.undumpable))
    }

    /// Whether numpy is importable by graded programs (TACO's header needs it).
    pub fn numpy(&self) -> Option<String> {
        let w = self.workers[0].lock().expect("worker lock");
        w.as_ref().and_then(|w| w.hello.numpy.clone())
    }

    /// Judges every task, in parallel over the workers; records come back in task order.
    /// `progress` is called once per finished record, from any worker thread.
    ///
    /// Tasks are handed out by problem (see `schedule`), so a worker mostly grades runs of
    /// candidates on the same problem and its interpreter receives each problem's tests once.
    pub fn run(
        &self,
        tasks: &[Task<'_>],
        progress: &(dyn Fn(&VerdictRecord) + Sync),
    ) -> Vec<VerdictRecord> {
        // Problem keys are unique within this judge: the run's number, then the problem's.
        let run = self.runs.fetch_add(1, Ordering::Relaxed) << 32;
        let (chunks, problem_of) = schedule(tasks, self.workers.len());
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<VerdictRecord>>> =
            tasks.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for (i, worker) in self.workers.iter().enumerate() {
                let (next, slots, chunks, problem_of) = (&next, &slots, &chunks, &problem_of);
                s.spawn(move || {
                    let mut guard = worker.lock().expect("worker lock");
                    loop {
                        let c = next.fetch_add(1, Ordering::Relaxed);
                        let Some(chunk) = chunks.get(c) else { break };
                        for &k in chunk {
                            let key = run | problem_of[k] as u64;
                            let record = self.judge_one(i, &mut guard, &tasks[k], key);
                            progress(&record);
                            *slots[k].lock().expect("slot lock") = Some(record);
                        }
                    }
                });
            }
        });
        slots
            .into_iter()
            .map(|m| m.into_inner().expect("slot lock").expect("every task judged"))
            .collect()
    }

    fn judge_one(
        &self,
        index: usize,
        worker: &mut Option<Worker>,
        task: &Task<'_>,
        problem_key: u64,
    ) -> VerdictRecord {
        let problem = task.problem;
        let total = match problem.style {
            TestStyle::Assert { .. } => 1,
            _ => problem.tests.len(),
        };
        let mut record = VerdictRecord {
            candidate_id: task.candidate_id.clone(),
            question_id: problem.question_id.clone(),
            verdict: Verdict::NoCode,
            passed: 0,
            total,
            first_failure: Some(FirstFailure {
                test: None,
                reason: "no code found in the response".into(),
            }),
            cpu_ms: 0,
            wall_ms: 0,
            profile: self.config.profile.name().to_owned(),
            tests_run: 0,
            python: self.python_version.clone(),
        };
        let Some(code) = task.code.as_deref() else { return record };
        let req = self.request(code, problem, problem_key, total);
        let mut last_error = String::new();
        // A dead or hung interpreter is restarted and the record retried once.
        for _attempt in 0..2 {
            if worker.is_none() {
                match Worker::start(
                    &self.sandboxes[index],
                    &self.python,
                    self.config.profile == Profile::Lcb,
                    self.config.profile.required_modules(),
                ) {
                    Ok(w) => *worker = Some(w),
                    Err(e) => {
                        last_error = e;
                        continue;
                    }
                }
            }
            let w = worker.as_mut().expect("worker started above");
            match w.grade(req.clone()) {
                Ok(resp) => {
                    apply(&mut record, &resp, total);
                    return record;
                }
                Err(e) => {
                    tracing::warn!(candidate = %task.candidate_id, "judge worker {index} restarted: {e}");
                    *worker = None;
                    last_error = e;
                }
            }
        }
        record.verdict = Verdict::JudgeError;
        record.first_failure =
            Some(FirstFailure { test: None, reason: format!("judge error: {last_error}") });
        record
    }

    fn request<'a>(
        &self,
        code: &'a str,
        problem: &'a Problem,
        problem_key: u64,
        total: usize,
    ) -> Request<'a> {
        let profile = self.config.profile;
        let mut timeout = self.config.timeout.unwrap_or_else(|| profile.default_timeout());
        if profile == Profile::Lcb {
            timeout = timeout.ceil().max(1.0); // signal.alarm takes whole seconds
        }
        let (runner, fn_name, test, entry_point, prompt) = match &problem.style {
            TestStyle::Stdin => (profile.runner(), None, None, None, None),
            TestStyle::Call { fn_name } => {
                (profile.runner(), Some(fn_name.as_str()), None, None, None)
            }
            TestStyle::Assert { test, entry_point, prompt } => (
                Runner::AssertStyle,
                None,
                Some(test.as_str()),
                Some(entry_point.as_str()),
                Some(prompt.as_str()),
            ),
        };
        let memory = match (self.memory, profile) {
            (Some(m), _) => Some(m),
            (None, Profile::Strict) => Some(1 << 30),
            (None, _) => None,
        };
        Request {
            id: 0,
            profile: runner,
            code,
            fn_name,
            problem: problem_key,
            inputs: Some(problem.tests.iter().map(|t| &t.input).collect()),
            outputs: Some(problem.tests.iter().map(|t| &t.output).collect()),
            timeout,
            deadline: profile.record_deadline(timeout, total.max(1)),
            int_max_str_digits: profile.int_max_str_digits(),
            memory,
            float_tol: self.config.float_tol,
            strict: profile == Profile::TacoStrict,
            test,
            entry_point,
            prompt,
        }
    }
}

/// Groups the tasks by problem (in order of first appearance) and cuts the groups into chunks
/// of at most `max(1, tasks / (4 × workers))` tasks, so one big problem is still shared by
/// every worker. Returns the chunks of task indices and each task's problem number.
fn schedule(tasks: &[Task<'_>], workers: usize) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut index: HashMap<*const Problem, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut problem_of = Vec::with_capacity(tasks.len());
    for (k, t) in tasks.iter().enumerate() {
        let p = *index.entry(std::ptr::from_ref(t.problem)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[p].push(k);
        problem_of.push(p);
    }
    let most = (tasks.len() / (4 * workers.max(1))).max(1);
    let chunks = groups
        .into_iter()
        .flat_map(|g| g.chunks(most).map(<[usize]>::to_vec).collect::<Vec<_>>())
        .collect();
    (chunks, problem_of)
}

/// Fills `record` from the harness's response.
fn apply(record: &mut VerdictRecord, resp: &Response, total: usize) {
    record.cpu_ms = resp.cpu_ms.round() as u64;
    record.wall_ms = resp.wall_ms.round() as u64;
    let harness =
        |reason: String| Some(FirstFailure { test: None, reason: format!("harness: {reason}") });
    match (resp.status, &resp.result) {
        (Status::Done, Some(result)) if result.judge_error.is_some() => {
            record.verdict = Verdict::JudgeError;
            record.first_failure = Some(FirstFailure {
                test: None,
                reason: format!("judge error: {}", result.judge_error.as_deref().unwrap_or("")),
            });
        }
        (Status::Done, Some(result)) => {
            record.passed = result.results.iter().filter(|r| *r == "AC").count();
            record.tests_run = if result.setup { 0 } else { result.results.len() };
            let first_bad = result.results.iter().find(|r| *r != "AC");
            record.verdict = match first_bad {
                None => Verdict::Accepted,
                Some(code) => Verdict::from_code(code).unwrap_or(Verdict::JudgeError),
            };
            record.first_failure = match (&result.failure, first_bad) {
                (_, None) => None,
                (Some(f), Some(_)) => Some(FirstFailure { test: f.test, reason: f.reason.clone() }),
                (None, Some(code)) => Some(FirstFailure { test: None, reason: code.clone() }),
            };
            if record.verdict == Verdict::Accepted && total == 0 {
                record.first_failure = None;
            }
        }
        (Status::Deadline, _) => {
            record.verdict = Verdict::TimeLimit;
            record.first_failure = harness(format!(
                "record deadline exceeded after {:.1} s; the grading process was killed",
                resp.wall_ms / 1000.0
            ));
        }
        (Status::Died, _) | (Status::Done, None) => {
            const SIGXCPU: i32 = 24;
            record.verdict = if resp.signal == Some(SIGXCPU) {
                Verdict::TimeLimit
            } else {
                Verdict::RuntimeError
            };
            record.first_failure = harness(match (resp.signal, resp.exit_code) {
                (Some(s), _) => {
                    format!("the grading process died from signal {s} without a result")
                }
                (None, c) => {
                    format!("the grading process exited ({}) without a result", c.unwrap_or(-1))
                }
            });
        }
        (Status::Error, _) => {
            record.verdict = Verdict::JudgeError;
            record.first_failure = Some(FirstFailure {
                test: None,
                reason: format!("judge error: {}", resp.error.as_deref().unwrap_or("unknown")),
            });
        }
    }
}

/// The verdict class LiveCodeBench's grader gives for the same outcome, as
/// `tools/lcb-baseline/run_baseline.py` names them: `AC`, `WA`, `TLE`, `RE` (runtime errors and
/// "Error during testing": compile errors, missing code) and `HARNESS` (the grading process
/// died or hit the record deadline: lcb's TestRunnerError).
pub fn lcb_reference_class(record: &VerdictRecord) -> &'static str {
    let harness = record.first_failure.as_ref().is_some_and(|f| f.reason.starts_with("harness:"));
    match record.verdict {
        _ if harness => "HARNESS",
        Verdict::Accepted => "AC",
        Verdict::WrongAnswer => "WA",
        Verdict::TimeLimit => "TLE",
        Verdict::RuntimeError
        | Verdict::CompileError
        | Verdict::NoCode
        | Verdict::MemoryLimit
        | Verdict::OutputLimit => "RE",
        Verdict::JudgeError => "JUDGE_ERROR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_workers_than_programs() {
        let config = |jobs| JudgeConfig { jobs, ..JudgeConfig::default() };
        assert_eq!(config(1000).for_tasks(2).jobs, 2);
        assert_eq!(config(3).for_tasks(10).jobs, 3);
        assert_eq!(config(8).for_tasks(0).jobs, 1, "at least one");
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(config(0).for_tasks(usize::MAX).jobs, cores);
        assert_eq!(config(0).for_tasks(1).jobs, 1);
    }
}
