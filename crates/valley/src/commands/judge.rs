//! `valley judge`: judge candidates against their problems' tests; shared judge plumbing for
//! `valley data label`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use valley_data::io::{FieldMap, RowReader, StagedFile, decode_row};
use valley_judge::{Judge, JudgeConfig, Profile, Task, parse_problem};
use valley_types::{Candidate, ExtractMode, Problem, ProblemFormat, Verdict, VerdictRecord};

use crate::args::{JudgeArgs, JudgeSettings};
use crate::commands::benchmark::Benchmark;
use crate::exit::{self, Hint};
use crate::printer;

pub(crate) fn run(args: JudgeArgs) -> anyhow::Result<u8> {
    let settings = Settings::parse(&args.judge)?;
    let problems = load_problems(&args.judge.problems, settings.format)?;
    let fields = FieldMap::parse(&args.fields).map_err(|e| anyhow::anyhow!("--field: {e}"))?;
    let path = &args.candidates;
    let mut candidates = Vec::new();
    for row in RowReader::open(path).with_context(|| format!("cannot read {}", path.display()))? {
        let row = row?;
        let c: Candidate = decode_row(path, &row, &fields)?;
        if !problems.contains_key(&c.question_id) {
            bail!(
                "{}:{}: field `question_id`: no problem `{}` in {}",
                path.display(),
                row.line,
                c.question_id,
                args.judge.problems.display()
            );
        }
        candidates.push(c);
    }
    let tasks: Vec<Task<'_>> = candidates
        .iter()
        .map(|c| Task {
            candidate_id: c.candidate_id.clone(),
            code: c.program(settings.extract),
            problem: &problems[&c.question_id],
        })
        .collect();
    let judge = settings.init(args.judge.jobs)?;
    let (records, wall) = judge_all(&judge, &tasks)?;
    let mut out = StagedFile::create(&args.out)?;
    for r in &records {
        out.write_record(r)?;
    }
    out.commit()?;
    let summary = Summary::new(&judge, &records, wall, &args.out);
    printer::summary(args.json, &summary.json(), &summary.human())?;
    summary.exit_code()
}

/// Validated judge settings.
pub(crate) struct Settings {
    config: JudgeConfig,
    pub(crate) format: Option<ProblemFormat>,
    pub(crate) extract: ExtractMode,
}

impl Settings {
    pub(crate) fn parse(a: &JudgeSettings) -> anyhow::Result<Self> {
        let profile: Profile =
            a.profile.parse().map_err(|e: String| anyhow::anyhow!("--profile: {e}"))?;
        let format = match &a.problem_format {
            Some(f) => {
                Some(f.parse().map_err(|e: String| anyhow::anyhow!("--problem-format: {e}"))?)
            }
            None => None,
        };
        let extract = match &a.extract {
            Some(m) => m.parse().map_err(|e: String| anyhow::anyhow!("--extract: {e}"))?,
            None => profile.extract_mode(),
        };
        if let Some(t) = a.timeout
            && !(t > 0.0 && t.is_finite())
        {
            bail!("--timeout: expected a positive number of seconds, got {t}");
        }
        let config = JudgeConfig {
            profile,
            jobs: 0,
            python: a.python.clone(),
            timeout: a.timeout,
            memory_mb: a.memory_mb,
            float_tol: a.float_tol,
            allow_weak_sandbox: a.allow_weak_sandbox,
        };
        Ok(Self { config, format, extract })
    }

    pub(crate) fn init(&self, jobs: Option<usize>) -> anyhow::Result<Judge> {
        let config = JudgeConfig { jobs: jobs.unwrap_or(0), ..self.config.clone() };
        let judge = config.init().map_err(|e| {
            let weak = matches!(&e, valley_judge::JudgeError::Sandbox(_));
            let err = anyhow::Error::new(e);
            if weak {
                err.context(Hint {
                    message: "cannot start the judge".into(),
                    hint: "run as root or where unprivileged user namespaces are allowed, or pass \
                           --allow-weak-sandbox to run with weaker isolation"
                        .into(),
                })
            } else {
                err.context("cannot start the judge")
            }
        })?;
        let p = judge.protections();
        if !p.missing.is_empty() {
            let missing: Vec<_> = p.missing.iter().map(|m| m.name()).collect();
            tracing::warn!("weak sandbox (--allow-weak-sandbox): missing {}", missing.join(", "));
        }
        Ok(judge)
    }
}

/// Reads every problem row, keyed by `question_id`; a bad row is an error naming file and line.
pub(crate) fn load_problems(
    path: &Path,
    format: Option<ProblemFormat>,
) -> anyhow::Result<HashMap<String, Problem>> {
    Ok(load_benchmark(&Benchmark::file(path), format)?.problems)
}

/// The problems of a benchmark, and the ids its filters left out.
pub(crate) struct Loaded {
    pub(crate) problems: HashMap<String, Problem>,
    pub(crate) excluded: HashSet<String>,
}

/// Reads every file of the benchmark and keeps the rows its filters accept.
pub(crate) fn load_benchmark(
    bench: &Benchmark,
    format: Option<ProblemFormat>,
) -> anyhow::Result<Loaded> {
    let mut problems = HashMap::new();
    let mut excluded = HashSet::new();
    for path in bench.files() {
        let rows =
            RowReader::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        for row in rows {
            let row = row?;
            let value: serde_json::Value = serde_json::from_slice(&row.json)
                .with_context(|| format!("{}:{}: invalid JSON", path.display(), row.line))?;
            let problem = parse_problem(&value, format).with_context(|| {
                format!("{}:{}: cannot read the problem", path.display(), row.line)
            })?;
            let keep = match &value {
                serde_json::Value::Object(map) => bench.keep(map, path, row.line)?,
                _ => true,
            };
            if keep {
                problems.insert(problem.question_id.clone(), problem);
            } else {
                excluded.insert(problem.question_id);
            }
        }
    }
    Ok(Loaded { problems, excluded })
}

/// Judges with a progress bar on stderr; returns the records and the wall time.
pub(crate) fn judge_all(
    judge: &Judge,
    tasks: &[Task<'_>],
) -> anyhow::Result<(Vec<VerdictRecord>, Duration)> {
    let bar = indicatif::ProgressBar::new(tasks.len() as u64);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "judging {bar:30} {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .expect("static progress template"),
    );
    let start = Instant::now();
    let records = judge.run(tasks, &|r| {
        bar.inc(1);
        if r.verdict == Verdict::JudgeError {
            bar.set_message("(judge errors)");
        }
    });
    bar.finish_and_clear();
    Ok((records, start.elapsed()))
}

/// The summary printed after judging.
pub(crate) struct Summary {
    value: serde_json::Value,
    human: String,
    judge_errors: usize,
}

impl Summary {
    pub(crate) fn new(
        judge: &Judge,
        records: &[VerdictRecord],
        wall: Duration,
        out: &Path,
    ) -> Self {
        let mut counts = serde_json::Map::new();
        for v in Verdict::ALL {
            counts
                .insert(v.code().into(), json!(records.iter().filter(|r| r.verdict == v).count()));
        }
        let n = records.len();
        let accepted = records.iter().filter(|r| r.correct()).count();
        let tests_run: usize = records.iter().map(|r| r.tests_run).sum();
        let tests_defined: usize = records.iter().map(|r| r.total).sum();
        let secs = wall.as_secs_f64().max(1e-9);
        let pass_rate = if n == 0 { 0.0 } else { accepted as f64 / n as f64 };
        let judge_errors = records.iter().filter(|r| r.verdict == Verdict::JudgeError).count();
        let protections = judge.protections();
        let value = json!({
            "ok": judge_errors == 0,
            "out": out,
            "profile": judge.profile().name(),
            "python": judge.python_version(),
            "jobs": judge.jobs(),
            "candidates": n,
            "counts": counts,
            "accepted": accepted,
            "pass_rate": pass_rate,
            "wall_s": wall.as_secs_f64(),
            "tests_run": tests_run,
            "tests_defined": tests_defined,
            "tests_per_second": tests_run as f64 / secs,
            "candidates_per_second": n as f64 / secs,
            "sandbox": {
                "applied": protections.applied,
                "missing": protections.missing,
                "user_mode": protections.user_mode,
                "interpreters_undumpable": judge.interpreters_undumpable(),
            },
        });
        let mut human = format!(
            "judged {n} candidates with profile {} (python {}, {} workers) in {:.2} s -> {}\n",
            judge.profile(),
            judge.python_version(),
            judge.jobs(),
            wall.as_secs_f64(),
            out.display()
        );
        human.push_str(&format!(
            "  pass rate {:.4} ({accepted}/{n}); {tests_run} tests run of {tests_defined} defined, {:.1} tests/s\n ",
            pass_rate,
            tests_run as f64 / secs
        ));
        for v in Verdict::ALL {
            let c = records.iter().filter(|r| r.verdict == v).count();
            if c > 0 {
                human.push_str(&format!(" {}={c}", v.code()));
            }
        }
        human.push('\n');
        if !protections.missing.is_empty() {
            let missing: Vec<_> = protections.missing.iter().map(|m| m.name()).collect();
            human.push_str(&format!("  WEAK SANDBOX: missing {}\n", missing.join(", ")));
        }
        Self { value, human, judge_errors }
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        self.value.clone()
    }

    pub(crate) fn human(&self) -> String {
        self.human.clone()
    }

    /// Exit 2 when the judge itself failed on some candidate (their records say why).
    pub(crate) fn exit_code(&self) -> anyhow::Result<u8> {
        if self.judge_errors > 0 {
            bail!(
                "the judge failed on {} candidate(s); their records hold JUDGE_ERROR and the reason",
                self.judge_errors
            );
        }
        Ok(exit::SUCCESS)
    }
}
