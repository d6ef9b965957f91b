//! `valley judge`: judge candidates against their problems' tests; the judge's flags, start and
//! progress bar shared with `valley data label` and `valley eval`.

use anyhow::bail;
use valley_data::io::{ClaimOutputs, FieldMap, OutputKind, StagedFile};
use valley_eval::{JudgeSummary, judge_candidates, load_problems, read_candidates};
use valley_judge::{Judge, JudgeConfig, JudgeError, Profile};
use valley_types::{ExtractMode, ProblemFormat, Verdict, VerdictRecord};

use crate::args::{JudgeArgs, JudgeSettings};
use crate::commands::judge_env::{ENV_HINT, judge_python};
use crate::exit::{self, Hint};
use crate::printer;

pub(crate) fn run(args: JudgeArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--problems", &args.judge.problems)
        .input("--candidates", &args.candidates)
        .output("--out", &args.out, OutputKind::File)
        .claim()?;
    let settings = Settings::parse(&args.judge)?;
    let problems = load_problems(&args.judge.problems, settings.format, settings.profile())?;
    let fields = FieldMap::parse(&args.fields).map_err(|e| anyhow::anyhow!("--field: {e}"))?;
    let candidates = read_candidates(&args.candidates, &fields, &problems, &args.judge.problems)?;
    let judge = settings.init(args.judge.jobs, candidates.len())?;
    let judged = with_progress(candidates.len(), |progress| {
        judge_candidates(&judge, &problems, &candidates, settings.extract, progress)
    });
    judged.require_judged()?;
    let mut out = StagedFile::create(&args.out)?;
    for r in &judged.records {
        out.write_record(r)?;
    }
    out.commit()?;
    let summary = JudgeSummary::new(&judge, &judged, &args.out);
    printer::summary(args.json, &summary, &human(&summary))?;
    exit_code(&summary)
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
        let config = JudgeConfig {
            profile,
            jobs: 0,
            python: judge_python(a.python.as_deref()),
            timeout: a.timeout,
            memory_mb: a.memory_mb,
            float_tol: a.float_tol,
            allow_weak_sandbox: a.allow_weak_sandbox,
        };
        Ok(Self { config, format, extract })
    }

    /// The profile whose grader judges.
    pub(crate) fn profile(&self) -> Profile {
        self.config.profile
    }

    /// Starts the judge for `tasks` programs (never more workers than those).
    pub(crate) fn init(&self, jobs: Option<usize>, tasks: usize) -> anyhow::Result<Judge> {
        let config =
            JudgeConfig { jobs: jobs.unwrap_or(0), ..self.config.clone() }.for_tasks(tasks);
        let judge = config.init().map_err(|e| {
            let hint = match &e {
                JudgeError::Sandbox(_) => Some(
                    "run as root or where unprivileged user namespaces are allowed, or pass \
                     --allow-weak-sandbox to run with weaker isolation",
                ),
                JudgeError::Interpreter { .. }
                | JudgeError::MissingModule { .. }
                | JudgeError::HiddenModule { .. } => Some(ENV_HINT),
                JudgeError::Start(_) => None,
            };
            let err = anyhow::Error::new(e);
            match hint {
                Some(hint) => err
                    .context(Hint { message: "cannot start the judge".into(), hint: hint.into() }),
                None => err.context("cannot start the judge"),
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

/// Runs `f` with a progress bar on stderr (hidden when stderr is not a terminal) that advances
/// once per verdict.
pub(crate) fn with_progress<T>(
    tasks: usize,
    f: impl FnOnce(&(dyn Fn(&VerdictRecord) + Sync)) -> T,
) -> T {
    let bar = indicatif::ProgressBar::new(tasks as u64);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "judging {bar:30} {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .expect("static progress template"),
    );
    let out = f(&|r: &VerdictRecord| {
        bar.inc(1);
        if r.verdict == Verdict::JudgeError {
            bar.set_message("(judge errors)");
        }
    });
    bar.finish_and_clear();
    out
}

/// The summary's readable lines.
pub(crate) fn human(s: &JudgeSummary) -> String {
    let mut human = format!(
        "judged {} candidates with profile {} (python {}, {} workers) in {:.2} s -> {}\n",
        s.candidates,
        s.profile,
        s.python,
        s.jobs,
        s.wall_s,
        s.out.display()
    );
    human.push_str(&format!(
        "  pass rate {:.4} ({}/{}); {} tests run of {} defined, {:.1} tests/s\n ",
        s.pass_rate,
        s.accepted,
        s.candidates - s.not_judged,
        s.tests_run,
        s.tests_defined,
        s.tests_per_second
    ));
    for (code, count) in &s.counts {
        if count.as_u64().is_some_and(|c| c > 0) {
            human.push_str(&format!(" {code}={count}"));
        }
    }
    human.push('\n');
    if !s.sandbox.missing.is_empty() {
        let missing: Vec<_> = s.sandbox.missing.iter().map(|m| m.name()).collect();
        human.push_str(&format!("  WEAK SANDBOX: missing {}\n", missing.join(", ")));
    }
    human
}

/// Exit 2 when the judge itself failed on some candidate (their records say why).
pub(crate) fn exit_code(s: &JudgeSummary) -> anyhow::Result<u8> {
    let judge_errors = s.judge_errors();
    if judge_errors > 0 {
        bail!(
            "the judge failed on {judge_errors} candidate(s); their records hold JUDGE_ERROR and the reason, and the pass rate leaves them out"
        );
    }
    Ok(exit::SUCCESS)
}
