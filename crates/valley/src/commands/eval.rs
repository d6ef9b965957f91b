//! `valley eval`: judge generations and write the paper's metrics (metrics.json), the verdicts
//! (verdicts.jsonl) and a readable report (report.md). The work is `valley_eval`'s; this reads
//! the flags and prints.

use anyhow::{Context, bail};
use valley_data::io::{ClaimOutputs, OutputKind};
use valley_eval::{
    EvalConfig, evaluate, format_rate, load_benchmark, read_generations, report_markdown,
    write_outputs,
};
use valley_metrics::Bootstrap;

use crate::args::{EvalArgs, JudgeSettings};
use crate::commands::benchmark;
use crate::commands::judge::{Settings, with_progress};
use crate::printer;

pub(crate) fn run(args: EvalArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--problems", &args.problems)
        .input("--generations", &args.generations)
        .input_opt("--tokenizer", args.tokenizer.as_deref())
        .output("--out", &args.out, OutputKind::Folder)
        .claim()?;
    let settings = Settings::parse(&JudgeSettings {
        problems: args.problems.clone(),
        problem_format: args.problem_format.clone(),
        profile: args.profile.clone(),
        jobs: args.jobs,
        python: args.python.clone(),
        timeout: args.timeout,
        memory_mb: args.memory_mb,
        float_tol: None,
        extract: args.extract.clone(),
        allow_weak_sandbox: args.allow_weak_sandbox,
    })?;
    // The profile's rule unless --extract names one; LiveCodeBench's follows each generation's
    // prompt style as LiveCodeBench does, an explicit --extract applies to every generation.
    let config = EvalConfig {
        extract: settings.extract,
        by_prompt_style: args.extract.is_none(),
        ks: args.k.clone(),
        bootstrap: Bootstrap {
            resamples: args.bootstrap_resamples,
            seed: args.bootstrap_seed,
            ..Bootstrap::default()
        },
        max_tokens: args.max_tokens,
    };
    let benchmark = benchmark::resolve(&args.problems, &args.benchmark)?;
    let problems = load_benchmark(&benchmark, settings.format, settings.profile())?;
    if problems.problems.is_empty() {
        bail!(
            "no problem of {} is left after the selection ({})",
            args.problems.display(),
            benchmark.describe().filter
        );
    }
    let generations =
        read_generations(&args.generations, &args.problems, &problems, benchmark.is_release())?;
    let tokenizer = match &args.tokenizer {
        Some(t) => Some(
            valley_data::chat::ChatTokenizer::load(t, None)
                .with_context(|| format!("cannot load tokenizer {}", t.display()))?,
        ),
        None => None,
    };
    let judge = settings.init(args.jobs, generations.records.len())?;
    let mut selection = benchmark.describe();
    selection.hub = crate::hub::sources();
    let evaluation = with_progress(generations.records.len(), |progress| {
        evaluate(&judge, &problems, selection, &generations, tokenizer.as_ref(), &config, progress)
    })?;
    let metrics = &evaluation.metrics;
    let report = report_markdown(metrics, &args.problems, &args.generations);
    write_outputs(&args.out, &evaluation, &report)?;

    let overall = &metrics.overall;
    let not_judged = match overall.n_not_judged {
        0 => String::new(),
        n => format!(" ({n} not judged: JUDGE_ERROR, left out of pass@k)"),
    };
    let mut human = format!(
        "{} samples{not_judged} of {} problems -> {}\n  pass@1 {} {} ({} extraction; after-think {}), completion {}, think-tag {}, no-code {}\n",
        overall.n_samples,
        overall.n_problems,
        args.out.display(),
        format_rate(overall.pass_at_1),
        overall.pass_at_1_ci95.map_or_else(String::new, |c| format!("[{:.4}, {:.4}]", c.lo, c.hi)),
        metrics.extract_mode.name(),
        format_rate(metrics.pass_at_1_after_think),
        format_rate(overall.completion_rate),
        format_rate(overall.think_tag_rate),
        format_rate(overall.no_code_rate),
    );
    if let Some(d) = &overall.failure_decomposition {
        human.push_str(&format!(
            "  samples: passed {:.4}, not finished {:.4}, no code {:.4}, failed {:.4}\n",
            d.passed, d.not_finished, d.no_code, d.failed
        ));
    }
    printer::summary(args.json, metrics, &human)?;
    if overall.n_not_judged > 0 {
        bail!(
            "the judge failed on {} sample(s); verdicts.jsonl holds JUDGE_ERROR and the reason, and pass@k leaves them out",
            overall.n_not_judged
        );
    }
    Ok(crate::exit::SUCCESS)
}
