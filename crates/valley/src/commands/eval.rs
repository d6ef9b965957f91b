//! `valley eval`: judge generations and write the paper's metrics (metrics.json), the verdicts
//! (verdicts.jsonl) and a readable report (report.md).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use valley_data::io::{FieldMap, RowReader, StagedFile, decode_row};
use valley_judge::Task;
use valley_metrics::{Bootstrap, EvalSummary, SampleOutcome, summarize};
use valley_types::{ExtractMode, Generation, Problem, extract_code};

use crate::args::{EvalArgs, JudgeSettings};
use crate::commands::benchmark::Benchmark;
use crate::commands::judge::{Loaded, Settings, judge_all, load_benchmark};
use crate::printer;

pub(crate) fn run(args: EvalArgs) -> anyhow::Result<u8> {
    let extract: ExtractMode =
        args.extract.parse().map_err(|e: String| anyhow::anyhow!("--extract: {e}"))?;
    if args.k.contains(&0) {
        bail!("--k: values must be at least 1");
    }
    let bootstrap = Bootstrap {
        resamples: args.bootstrap_resamples,
        seed: args.bootstrap_seed,
        ..Bootstrap::default()
    };
    let settings = Settings::parse(&JudgeSettings {
        problems: args.problems.clone(),
        problem_format: args.problem_format.clone(),
        profile: args.profile.clone(),
        jobs: args.jobs,
        python: args.python.clone(),
        timeout: args.timeout,
        memory_mb: args.memory_mb,
        float_tol: None,
        extract: Some(args.extract.clone()),
        allow_weak_sandbox: args.allow_weak_sandbox,
    })?;
    let benchmark = Benchmark::resolve(&args.problems, &args.benchmark)?;
    let Loaded { problems, excluded } = load_benchmark(&benchmark, settings.format)?;
    if problems.is_empty() {
        bail!(
            "no problem of {} is left after the selection ({})",
            args.problems.display(),
            benchmark.describe()["filter"].as_str().unwrap_or_default()
        );
    }
    let (generations, outside) = read_generations(
        &args.generations,
        &args.problems,
        &problems,
        &excluded,
        benchmark.is_release(),
    )?;
    let tokenizer = match &args.tokenizer {
        Some(t) => Some(
            valley_data::chat::ChatTokenizer::load(t, None)
                .with_context(|| format!("cannot load tokenizer {}", t.display()))?,
        ),
        None => None,
    };

    let codes: Vec<Option<String>> =
        generations.iter().map(|g| extract_code(&g.response, extract)).collect();
    let tasks: Vec<Task<'_>> = generations
        .iter()
        .zip(&codes)
        .map(|(g, code)| Task {
            candidate_id: g.candidate_id(),
            code: code.clone(),
            problem: &problems[&g.question_id],
        })
        .collect();
    let judge = settings.init(args.jobs)?;
    let (records, wall) = judge_all(&judge, &tasks)?;

    let mut lengths = Vec::with_capacity(generations.len());
    let mut completed = Vec::with_capacity(generations.len());
    for g in &generations {
        let tokens = match (g.completion_tokens, &tokenizer) {
            (Some(t), _) => Some(t),
            (None, Some(tok)) => Some(
                tok.encode(&g.response)
                    .with_context(|| {
                        format!("cannot tokenize the response of {}", g.candidate_id())
                    })?
                    .len() as u64,
            ),
            (None, None) => None,
        };
        let budget =
            args.max_tokens.or(g.params.as_ref().and_then(|p| p.max_tokens).map(u64::from));
        let by_count = match (tokens, budget) {
            (Some(t), Some(b)) => Some(t < b),
            _ => None,
        };
        let done = g.completed(args.max_tokens).or(by_count);
        lengths.push(tokens);
        completed.push(done);
    }
    let verdict_codes: Vec<&str> = records.iter().map(|r| r.verdict.code()).collect();
    let outcomes: Vec<SampleOutcome<'_>> = generations
        .iter()
        .enumerate()
        .map(|(i, g)| SampleOutcome {
            question_id: &g.question_id,
            response: &g.response,
            passed: records[i].correct(),
            has_code: codes[i].is_some(),
            completed: completed[i],
            verdict: verdict_codes[i],
        })
        .collect();
    let overall = summarize(&outcomes, &args.k, &bootstrap);
    let cut = |key: &dyn Fn(&Problem) -> Option<String>| -> BTreeMap<String, EvalSummary> {
        let mut groups: BTreeMap<String, Vec<SampleOutcome<'_>>> = BTreeMap::new();
        for o in &outcomes {
            let label = key(&problems[o.question_id]).unwrap_or_else(|| "unknown".into());
            groups.entry(label).or_default().push(*o);
        }
        groups.into_iter().map(|(k, v)| (k, summarize(&v, &args.k, &bootstrap))).collect()
    };
    let by_difficulty = cut(&|p| p.difficulty.clone());
    let by_platform = cut(&|p| p.platform.clone());
    let with_generations: HashSet<&str> =
        generations.iter().map(|g| g.question_id.as_str()).collect();
    let without = problems.len() - with_generations.len();
    if without > 0 {
        tracing::warn!(
            "{without} of {} problems have no generations and are left out of the metrics",
            problems.len()
        );
    }

    let length_source = if generations.iter().all(|g| g.completion_tokens.is_some()) {
        "server"
    } else if tokenizer.is_some() {
        "server, else tokenizer"
    } else {
        "server (responses without a count are left out)"
    };
    let mut metrics = serde_json::to_value(&overall)?;
    let m = metrics.as_object_mut().expect("a summary serializes to an object");
    m.insert("profile".into(), json!(judge.profile().name()));
    m.insert("extract_mode".into(), json!(extract.name()));
    m.insert("max_tokens".into(), json!(args.max_tokens));
    m.insert("bootstrap".into(), serde_json::to_value(&bootstrap)?);
    m.insert("problems_without_generations".into(), json!(without));
    m.insert("selection".into(), benchmark.describe());
    m.insert("samples_outside_selection".into(), json!(outside));
    m.insert("by_difficulty".into(), serde_json::to_value(&by_difficulty)?);
    m.insert("by_platform".into(), serde_json::to_value(&by_platform)?);
    m.insert(
        "response_tokens".into(),
        json!({
            "source": length_source,
            "all": percentiles(lengths.iter().flatten().copied()),
            "completed": percentiles(lengths.iter().zip(&completed).filter(|(_, c)| **c == Some(true)).filter_map(|(l, _)| *l)),
            "not_completed": percentiles(lengths.iter().zip(&completed).filter(|(_, c)| **c != Some(true)).filter_map(|(l, _)| *l)),
        }),
    );
    m.insert("judge_wall_s".into(), json!(wall.as_secs_f64()));
    m.insert("python".into(), json!(judge.python_version()));

    let report = report_md(&args, &metrics, &overall, &by_difficulty, &by_platform);
    fs_err::create_dir_all(&args.out)?;
    let mut verdicts = StagedFile::create(args.out.join("verdicts.jsonl"))?;
    for r in &records {
        verdicts.write_record(r)?;
    }
    let metrics_text = format!("{}\n", serde_json::to_string_pretty(&metrics)?);
    let metrics_tmp = stage(&args.out, "metrics.json", metrics_text.as_bytes())?;
    let report_tmp = stage(&args.out, "report.md", report.as_bytes())?;
    verdicts.commit()?;
    fs_err::rename(&metrics_tmp, args.out.join("metrics.json"))?;
    fs_err::rename(&report_tmp, args.out.join("report.md"))?;

    let human = format!(
        "{} samples of {} problems -> {}\n  pass@1 {} {}, completion {}, think-tag {}, no-code {}\n",
        overall.n_samples,
        overall.n_problems,
        args.out.display(),
        fmt_opt(overall.pass_at_1),
        overall.pass_at_1_ci95.map_or_else(String::new, |c| format!("[{:.4}, {:.4}]", c.lo, c.hi)),
        fmt_opt(overall.completion_rate),
        fmt_opt(overall.think_tag_rate),
        fmt_opt(overall.no_code_rate),
    );
    printer::summary(args.json, &metrics, &human)?;
    let judge_errors = overall.verdicts.get("JUDGE_ERROR").copied().unwrap_or(0);
    if judge_errors > 0 {
        bail!(
            "the judge failed on {judge_errors} sample(s); verdicts.jsonl holds JUDGE_ERROR and the reason"
        );
    }
    Ok(crate::exit::SUCCESS)
}

/// Reads the generations; the first record of a (question, sample) key wins. A record for a
/// problem the selection left out (or, with a release, in none of its files) is skipped and
/// counted; one for a problem in no problems file is an error naming its line.
fn read_generations(
    path: &Path,
    problems_path: &Path,
    problems: &HashMap<String, Problem>,
    excluded: &HashSet<String>,
    release: bool,
) -> anyhow::Result<(Vec<Generation>, u64)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut duplicates = 0;
    let mut outside = 0;
    let fields = FieldMap::default();
    for row in RowReader::open(path).with_context(|| format!("cannot read {}", path.display()))? {
        let row = row?;
        let g: Generation = decode_row(path, &row, &fields)?;
        if excluded.contains(&g.question_id) || (release && !problems.contains_key(&g.question_id))
        {
            outside += 1;
            continue;
        }
        if !problems.contains_key(&g.question_id) {
            bail!(
                "{}:{}: field `question_id`: no problem `{}` in {}",
                path.display(),
                row.line,
                g.question_id,
                problems_path.display()
            );
        }
        if seen.insert((g.question_id.clone(), g.sample_index)) {
            out.push(g);
        } else {
            duplicates += 1;
        }
    }
    if duplicates > 0 {
        tracing::warn!(
            "{}: {duplicates} duplicate records ignored (the first of each key is kept)",
            path.display()
        );
    }
    Ok((out, outside))
}

/// Writes `bytes` to a hidden temporary file in `dir`, to be renamed over `name` once every
/// output is ready.
fn stage(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<std::path::PathBuf> {
    let tmp = dir.join(format!(".{name}.tmp"));
    fs_err::write(&tmp, bytes)?;
    Ok(tmp)
}

fn percentiles(values: impl Iterator<Item = u64>) -> Value {
    let mut v: Vec<u64> = values.collect();
    if v.is_empty() {
        return json!({"count": 0});
    }
    v.sort_unstable();
    // nearest rank
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    json!({
        "count": v.len(),
        "p10": at(0.10), "p25": at(0.25), "p50": at(0.50), "p75": at(0.75),
        "p90": at(0.90), "p99": at(0.99), "max": v[v.len() - 1],
        "mean": v.iter().sum::<u64>() as f64 / v.len() as f64,
    })
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |x| format!("{x:.4}"))
}

fn extract_policy_text(mode: &str) -> &'static str {
    match mode {
        "after-think" => {
            "only code after `</think>` is graded; a response that opens `<think>` and never closes it has no gradable code; a response with no think block is graded on its last fenced block"
        }
        "lenient" => {
            "after-think, then the last complete block anywhere, then an unclosed final block"
        }
        "last-block" => "the last complete fenced block anywhere, reasoning included",
        "lcb" => {
            "LiveCodeBench's rule: the lines between the last two lines containing a triple backtick"
        }
        _ => "",
    }
}

fn report_md(
    args: &EvalArgs,
    metrics: &Value,
    overall: &EvalSummary,
    by_difficulty: &BTreeMap<String, EvalSummary>,
    by_platform: &BTreeMap<String, EvalSummary>,
) -> String {
    let mut r = String::new();
    let mode = metrics["extract_mode"].as_str().unwrap_or_default();
    let _ = writeln!(r, "# Evaluation report\n");
    let _ = writeln!(r, "- problems: `{}`", args.problems.display());
    let selection = &metrics["selection"];
    if let Some(release) = selection["release"].as_str() {
        let _ = writeln!(r, "- LiveCodeBench release: `{release}`");
    }
    let _ = writeln!(
        r,
        "- selection: {} ({} samples of other problems left out)",
        selection["filter"].as_str().unwrap_or_default(),
        metrics["samples_outside_selection"].as_u64().unwrap_or(0)
    );
    let _ = writeln!(r, "- generations: `{}`", args.generations.display());
    let _ = writeln!(
        r,
        "- judge profile: `{}` (python {})",
        metrics["profile"].as_str().unwrap_or_default(),
        metrics["python"].as_str().unwrap_or_default()
    );
    let _ = writeln!(r, "- extraction policy: `{mode}`: {}", extract_policy_text(mode));
    let _ = writeln!(
        r,
        "- completion budget: {}",
        args.max_tokens
            .map_or_else(|| "each generation's own `max_tokens`".into(), |m| format!("{m} tokens"))
    );
    let _ = writeln!(
        r,
        "- pass@1 interval: percentile bootstrap over problems, {} resamples, seed {}",
        args.bootstrap_resamples, args.bootstrap_seed
    );
    let without = metrics["problems_without_generations"].as_u64().unwrap_or(0);
    if without > 0 {
        let _ = writeln!(r, "- **{without} problems have no generations** and are left out");
    }
    let _ = writeln!(r, "\n## Metrics\n\n| metric | value |\n| --- | --- |");
    let _ = writeln!(r, "| problems | {} |", overall.n_problems);
    let _ = writeln!(
        r,
        "| samples | {} (at least {} per problem) |",
        overall.n_samples, overall.min_samples_per_problem
    );
    let ci =
        overall.pass_at_1_ci95.map_or_else(String::new, |c| format!(" [{:.4}, {:.4}]", c.lo, c.hi));
    let _ = writeln!(r, "| pass@1 (95% CI) | {}{ci} |", fmt_opt(overall.pass_at_1));
    for (k, v) in &overall.pass_at_k {
        if k != "pass@1" {
            let _ = writeln!(r, "| {k} | {v:.4} |");
        }
    }
    let _ = writeln!(
        r,
        "| completion rate | {} ({} unknown) |",
        fmt_opt(overall.completion_rate),
        overall.completion_unknown
    );
    let _ = writeln!(r, "| think-tag rate | {} |", fmt_opt(overall.think_tag_rate));
    let _ = writeln!(r, "| closed-think rate | {} |", fmt_opt(overall.closed_think_rate));
    let _ = writeln!(r, "| no-code rate | {} |", fmt_opt(overall.no_code_rate));
    let _ = writeln!(r, "\n## Verdicts\n\n| verdict | samples |\n| --- | --- |");
    for (v, c) in &overall.verdicts {
        let _ = writeln!(r, "| {v} | {c} |");
    }
    for (title, groups) in [("difficulty", by_difficulty), ("platform", by_platform)] {
        let _ = writeln!(
            r,
            "\n## By {title}\n\n| {title} | problems | samples | pass@1 | 95% CI | completion | think-tag | no-code |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
        );
        for (label, s) in groups {
            let ci = s
                .pass_at_1_ci95
                .map_or_else(|| "n/a".into(), |c| format!("[{:.4}, {:.4}]", c.lo, c.hi));
            let _ = writeln!(
                r,
                "| {label} | {} | {} | {} | {ci} | {} | {} | {} |",
                s.n_problems,
                s.n_samples,
                fmt_opt(s.pass_at_1),
                fmt_opt(s.completion_rate),
                fmt_opt(s.think_tag_rate),
                fmt_opt(s.no_code_rate)
            );
        }
    }
    let lengths = &metrics["response_tokens"];
    let _ = writeln!(
        r,
        "\n## Response length (tokens; source: {})\n\n| responses | count | p10 | p25 | p50 | p75 | p90 | p99 | max |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        lengths["source"].as_str().unwrap_or_default()
    );
    for key in ["all", "completed", "not_completed"] {
        let p = &lengths[key];
        let cell = |f: &str| p.get(f).map_or_else(|| "-".into(), ToString::to_string);
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            key.replace('_', " "),
            cell("count"),
            cell("p10"),
            cell("p25"),
            cell("p50"),
            cell("p75"),
            cell("p90"),
            cell("p99"),
            cell("max")
        );
    }
    r
}
