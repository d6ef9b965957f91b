//! `valley study run|status|verify SPEC`: a whole study from its spec, resumably, and the hidden
//! `valley study exec JOB` that runs one of its steps.

use std::fmt::Write as _;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use valley_study::{BackendKind, Event, RunOptions, Study};

use crate::args::{StudyBackendArg, StudyExecArgs, StudyRunArgs, StudyStatusArgs};
use crate::exit::{CheckFailed, Hint};
use crate::printer;

fn load(spec: &std::path::Path) -> anyhow::Result<Study> {
    Study::load(spec).context("cannot load the study")
}

fn fmt_secs(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{}h{:02}m", (s / 3600.0) as u64, ((s % 3600.0) / 60.0) as u64)
    }
}

fn fmt_num(x: f64) -> String {
    match x {
        x if x >= 1e12 => format!("{:.2}T", x / 1e12),
        x if x >= 1e9 => format!("{:.2}B", x / 1e9),
        x if x >= 1e6 => format!("{:.2}M", x / 1e6),
        x if x >= 1e3 => format!("{:.1}K", x / 1e3),
        x => format!("{x:.0}"),
    }
}

#[expect(clippy::print_stderr, reason = "progress lines go to stderr")]
fn progress(quiet: bool) -> impl FnMut(Event) {
    move |e| {
        if quiet {
            return;
        }
        match e {
            Event::Cached { step } => eprintln!("  cached  {step}"),
            Event::Started { step, attempt, job_id } => {
                let job = job_id.map_or_else(String::new, |j| format!(" (slurm job {j})"));
                let again =
                    if attempt > 1 { format!(" (attempt {attempt})") } else { String::new() };
                eprintln!("  start   {step}{again}{job}");
            }
            Event::Done { step, seconds } => eprintln!("  done    {step} ({})", fmt_secs(seconds)),
            Event::Failed { step, log, retry } => {
                let then = if retry { ", retrying" } else { "" };
                eprintln!("  FAILED  {step}{then}: see {}", log.display());
            }
            Event::Stale { step } => {
                eprintln!("  stale   {step}: its runner died; running it again")
            }
        }
    }
}

/// A flag raised by SIGINT, SIGTERM or SIGHUP, so the runner stops its steps (each runs in a
/// process group of its own, which a terminal's Ctrl-C does not reach) before exiting.
fn cancel_on_signal() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    if let Err(e) = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst)) {
        tracing::warn!("cannot catch Ctrl-C ({e}); an interrupted study leaves its steps running");
    }
    flag
}

pub(crate) fn run(args: StudyRunArgs) -> anyhow::Result<u8> {
    let study = load(&args.spec)?;
    if args.dry_run {
        return dry_run(&study, args.json);
    }
    let valley = std::env::current_exe().context("cannot find the valley binary itself")?;
    let options = RunOptions {
        valley,
        backend: args.backend.map(|b| match b {
            StudyBackendArg::Local => BackendKind::Local,
            StudyBackendArg::Slurm => BackendKind::Slurm,
        }),
        jobs: args.jobs,
        retries: args.retries,
        cancel: Some(cancel_on_signal()),
    };
    if args.jobs == Some(0) {
        bail!("--jobs: expected at least 1");
    }
    crate::commands::judge_env::check_study(&study)?;
    if let Some(w) = study.spec.spec.generate.unseeded() {
        tracing::warn!("{w}");
    }
    let summary = study.run(&options, &mut progress(false)).context("cannot run the study")?;
    let human = format!(
        "{}: {} steps, {} already done, {} run now, {} failed, {} blocked, {} ({} backend)\n  outputs in {}\n",
        study.spec.spec.study.name,
        summary.steps,
        summary.cached,
        summary.ran,
        summary.failed.len(),
        summary.blocked.len(),
        fmt_secs(summary.wall_s),
        summary.backend,
        study.plan.out.display(),
    );
    printer::summary(args.json, &summary, &human)?;
    if let Some(first) = summary.failed.first() {
        let i = study.plan.index(first).expect("a failed step is in the plan");
        let log = study.log_path(i);
        return Err(anyhow::Error::new(Hint {
            message: format!(
                "{} step(s) failed ({}); {} step(s) after them did not run",
                summary.failed.len(),
                summary.failed.join(", "),
                summary.blocked.len()
            ),
            hint: format!(
                "the log of {first} is {}; fix the cause and rerun `valley study run {}` to resume",
                log.display(),
                args.spec.display()
            ),
        }));
    }
    Ok(crate::exit::SUCCESS)
}

/// The epochs of a study's train step, as `valley train` resolves its config.
struct TrainPlans;

impl valley_study::TrainPlanner for TrainPlans {
    fn epochs(&self, step: &str, config: &str) -> Result<u32, String> {
        let path = std::path::Path::new(step).join("train.toml");
        let spec = valley_train::TrainSpec::parse(&path, config).map_err(|e| e.to_string())?;
        // `valley train`'s plan trains for the spec's epochs, defaults applied
        Ok(spec.train.epochs)
    }
}

/// The benchmark window's problems, counted in its files as `generate` and `eval` read them; the
/// reason when they are not there. A row that cannot be read is an error.
fn count_window(study: &Study) -> anyhow::Result<Result<u64, String>> {
    let b = &study.spec.spec.benchmark;
    let problems = study.spec.resolve(&b.problems);
    if !problems.exists() {
        return Ok(Err(format!("{} is not there to count", problems.display())));
    }
    let bench = match valley_eval::Benchmark::resolve(&problems, b.lcb_release(), b.selection()) {
        Ok(bench) => bench,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let count = valley_eval::count_benchmark(&bench).with_context(|| {
        format!("cannot count the problems of [benchmark] in {}", study.spec.path.display())
    })?;
    Ok(Ok(count))
}

fn dry_run(study: &Study, json: bool) -> anyhow::Result<u8> {
    let counted = count_window(study)?;
    let est =
        valley_study::estimate(study, &TrainPlans, counted).context("cannot estimate the study")?;
    let mut human = String::new();
    let _ = writeln!(
        human,
        "{}: {} steps ({}) -> {}",
        est.study,
        est.steps.len(),
        est.counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "),
        study.plan.out.display()
    );
    let _ = writeln!(
        human,
        "{:<58} {:>10} {:>10} {:>9}  after",
        "step", "train tok", "gen tok", "GPU-h"
    );
    for s in &est.steps {
        let _ = writeln!(
            human,
            "{:<58} {:>10} {:>10} {:>9}  {}",
            s.id,
            s.train_tokens.map_or_else(|| "-".into(), fmt_num),
            s.generate_tokens.map_or_else(|| "-".into(), fmt_num),
            s.gpu_hours.map_or_else(|| "-".into(), |h| format!("{h:.1}")),
            s.deps.join(", ")
        );
    }
    let _ = writeln!(
        human,
        "total: {} training tokens, {} sampled tokens, {:.1} GPU-hours\nmodel: 6*params*tokens FLOPs to train at MFU {}, 2*params*tokens to sample at MFU {}, {:.0} TFLOP/s per GPU ([estimate] in the spec)",
        fmt_num(est.train_tokens),
        fmt_num(est.generate_tokens),
        est.gpu_hours,
        study.spec.spec.estimate.mfu,
        study.spec.spec.estimate.decode_mfu,
        study.spec.spec.estimate.gpu_flops / 1e12,
    );
    let b = &est.benchmark;
    let source = match &b.not_counted {
        Some(why) => format!("{}: {why}", b.problems_source.describe()),
        None => b.problems_source.describe().to_owned(),
    };
    let unknown = || "?".to_owned();
    let _ = writeln!(
        human,
        "benchmark: {}{}: {} problems ({source}) x {} samples = {} samples per run, {} over {} generate steps",
        b.release.as_ref().map_or_else(String::new, |r| format!("LiveCodeBench {r}, ")),
        b.window,
        b.problems.map_or_else(unknown, |p| p.to_string()),
        b.samples_per_problem,
        b.samples_per_run.map_or_else(unknown, |p| p.to_string()),
        b.samples_total.map_or_else(unknown, |p| p.to_string()),
        b.generate_steps,
    );
    for m in b.mismatch.iter().cloned().chain(study.spec.spec.generate.unseeded()) {
        if json {
            // the human lines are not printed
            tracing::warn!("{m}");
        }
        let _ = writeln!(human, "warning: {m}");
    }
    printer::summary(json, &est, &human)?;
    Ok(crate::exit::SUCCESS)
}

pub(crate) fn status(args: StudyStatusArgs) -> anyhow::Result<u8> {
    let study = load(&args.spec)?;
    let st = valley_study::status(&study).context("cannot read the study's state")?;
    let mut human = String::new();
    let _ = writeln!(
        human,
        "{}: {} -> {}",
        st.study,
        st.counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "),
        st.out.display()
    );
    for s in &st.steps {
        let _ = writeln!(
            human,
            "  {:<8} {:>8}  {}",
            s.state,
            s.duration_s.map_or_else(String::new, fmt_secs),
            s.id
        );
    }
    if let Some(m) = &st.missing_input {
        let _ = writeln!(human, "note: {m}");
    }
    printer::summary(args.json, &st, &human)?;
    Ok(crate::exit::SUCCESS)
}

pub(crate) fn verify(args: StudyStatusArgs) -> anyhow::Result<u8> {
    let study = load(&args.spec)?;
    let report = valley_study::verify(&study).context("cannot verify the study")?;
    let mut human = format!(
        "{} ok, {} mismatched, {} not run (this valley: {})\n",
        report.ok, report.mismatched, report.not_run, report.git_revision
    );
    for s in report.steps.iter().filter(|s| s.result == "mismatch") {
        for p in &s.problems {
            let _ = writeln!(human, "  {}: {p}", s.id);
        }
    }
    printer::summary(args.json, &report, &human)?;
    if report.mismatched > 0 {
        let first = report.steps.iter().find(|s| s.result == "mismatch").expect("counted above");
        return Err(anyhow::Error::new(CheckFailed(format!(
            "{} step(s) do not match their provenance manifests; first: {}: {}",
            report.mismatched,
            first.id,
            first.problems.join("; ")
        ))));
    }
    Ok(crate::exit::SUCCESS)
}

pub(crate) fn exec(args: StudyExecArgs) -> anyhow::Result<u8> {
    let job = valley_study::Job::load(&args.job).context("cannot run the step")?;
    valley_study::execute(&job).context("cannot run the step")?;
    Ok(crate::exit::SUCCESS)
}
