//! Evaluation: judging a model's generations against a benchmark and computing `metrics.json`
//! ([`EvalMetrics`]), then writing it with the verdicts and a readable report.
//!
//! The steps, each a function a library user can call alone: [`read_generations`] (against a
//! [`ProblemSet`]), [`evaluate`] (extract each response's code, judge it, count response lengths,
//! summarize overall, by difficulty and by platform), [`report_markdown`] and [`write_outputs`].
//!
//! The code graded is LiveCodeBench's by default (its rule for each generation's prompt style);
//! pass@1 with only the code after a closed `</think>` is reported beside it, so a reader sees
//! how much of a score rests on code written inside unfinished reasoning (issue 13).

mod generations;
mod lengths;
mod report;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use valley_data::chat::ChatTokenizer;
use valley_data::io::OutputSet;
use valley_judge::{Judge, Task};
use valley_metrics::{Counts, SampleOutcome, mean_pass_at_k, summarize};
use valley_types::{
    BenchmarkSelection, Bootstrap, EvalMetrics, EvalSummary, ExtractMode, Generation, Problem,
    Verdict, VerdictRecord, extract_code,
};

pub use generations::{Generations, read_generations};
pub use report::{format_rate, report_markdown};

use crate::error::{EvalError, WriteEvalError};
use crate::judging::{Progress, judge_all, require_judged};
use crate::problems::ProblemSet;

/// How generations are evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Which code of a response is graded.
    pub extract: ExtractMode,
    /// With one of LiveCodeBench's rules as `extract`: each generation that records its prompt
    /// style is graded under LiveCodeBench's rule for that style instead (a `GenericBase`
    /// generation on its whole output), as LiveCodeBench does. `false`: `extract` for every
    /// generation (`valley eval --extract` given).
    pub by_prompt_style: bool,
    /// pass@k values to report (those above a problem's sample count are left out).
    pub ks: Vec<u64>,
    /// How the pass@1 interval is drawn.
    pub bootstrap: Bootstrap,
    /// The completion budget in tokens (`None`: the budget each generation was made with).
    pub max_tokens: Option<u64>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            extract: ExtractMode::Lcb,
            by_prompt_style: true,
            ks: vec![1, 5, 10, 25, 50, 100],
            bootstrap: Bootstrap::default(),
            max_tokens: None,
        }
    }
}

/// The outcome of an evaluation: one verdict per generation, in order, and the metrics.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// One verdict per generation, in the generations' order.
    pub verdicts: Vec<VerdictRecord>,
    /// `metrics.json`.
    pub metrics: EvalMetrics,
}

/// Judges `generations` against `problems` (the benchmark's `selection`) and computes the
/// metrics; `tokenizer` counts the tokens of responses that carry no count. `progress` is
/// called once per finished verdict of a generation. pass@1 under after-think is computed
/// beside the configured rule: where after-think extracts other code than that rule, the code
/// is judged too (after the generations' own verdicts, without `progress`, and not in
/// [`Evaluation::verdicts`]). pass@k is over the samples the judge could judge (`n_not_judged`
/// counts the others); when it could judge none, the evaluation is an error
/// ([`EvalError::NothingJudged`]), not a pass@1 of 0.
///
/// # Panics
///
/// When a generation names a problem not in `problems` ([`read_generations`] refuses them).
pub fn evaluate(
    judge: &Judge,
    problems: &ProblemSet,
    selection: BenchmarkSelection,
    generations: &Generations,
    tokenizer: Option<&ChatTokenizer>,
    config: &EvalConfig,
    progress: Progress<'_>,
) -> Result<Evaluation, EvalError> {
    let gens = &generations.records;
    let by_id = &problems.problems;
    let modes: Vec<ExtractMode> = gens.iter().map(|g| mode_of(g, config)).collect();
    let codes: Vec<Option<String>> =
        gens.iter().zip(&modes).map(|(g, m)| extract_code(&g.response, *m)).collect();
    let tasks: Vec<Task<'_>> = gens
        .iter()
        .zip(&codes)
        .map(|(g, code)| Task {
            candidate_id: g.candidate_id(),
            code: code.clone(),
            problem: &by_id[&g.question_id],
        })
        .collect();
    let judged = judge_all(judge, &tasks, progress);
    require_judged(&judged.records)?;
    let records = judged.records;
    let after_think = after_think(judge, gens, by_id, &codes, &records);
    let judge_wall = judged.wall + after_think.wall;

    let lengths = lengths::measure(gens, tokenizer, config.max_tokens)?;
    let outcomes: Vec<SampleOutcome<'_>> = gens
        .iter()
        .enumerate()
        .map(|(i, g)| SampleOutcome {
            question_id: &g.question_id,
            response: &g.response,
            passed: records[i].correct(),
            has_code: codes[i].is_some(),
            completed: lengths.completed[i],
            verdict: records[i].verdict.code(),
        })
        .collect();
    let overall = summarize(&outcomes, &config.ks, &config.bootstrap);
    let cut = |key: &dyn Fn(&Problem) -> Option<String>| -> BTreeMap<String, EvalSummary> {
        let mut groups: BTreeMap<String, Vec<SampleOutcome<'_>>> = BTreeMap::new();
        for o in &outcomes {
            let label = key(&by_id[o.question_id]).unwrap_or_else(|| "unknown".into());
            groups.entry(label).or_default().push(*o);
        }
        groups.into_iter().map(|(k, v)| (k, summarize(&v, &config.ks, &config.bootstrap))).collect()
    };
    let by_difficulty = cut(&|p| p.difficulty.clone());
    let by_platform = cut(&|p| p.platform.clone());
    let with_generations: HashSet<&str> = gens.iter().map(|g| g.question_id.as_str()).collect();
    let without = by_id.len() - with_generations.len();
    if without > 0 {
        tracing::warn!(
            "{without} of {} problems have no generations and are left out of the metrics",
            by_id.len()
        );
    }
    let mut extract_modes: BTreeMap<String, u64> = BTreeMap::new();
    for m in &modes {
        *extract_modes.entry(m.name().to_owned()).or_default() += 1;
    }
    if extract_modes.keys().all(|m| m == config.extract.name()) {
        // every sample under the configured rule: nothing to add
        extract_modes.clear();
    }
    let metrics = EvalMetrics {
        overall,
        pass_at_1_after_think: after_think.pass_at_1,
        profile: judge.profile().name().into(),
        extract_mode: config.extract,
        extract_modes,
        max_tokens: config.max_tokens,
        bootstrap: config.bootstrap.clone(),
        problems_without_generations: without as u64,
        selection,
        samples_outside_selection: generations.outside_selection,
        by_difficulty,
        by_platform,
        response_tokens: lengths.stats(gens, tokenizer.is_some()),
        judge_wall_s: judge_wall.as_secs_f64(),
        python: judge.python_version().into(),
    };
    Ok(Evaluation { verdicts: records, metrics })
}

/// The rule a generation is graded under: LiveCodeBench's rule for its prompt style when the
/// configured rule is LiveCodeBench's and follows the style, else the configured rule.
fn mode_of(g: &Generation, config: &EvalConfig) -> ExtractMode {
    match g.prompt_style {
        Some(style) if config.by_prompt_style && config.extract.is_lcb() => {
            style.lcb_extract_mode()
        }
        _ => config.extract,
    }
}

/// pass@1 under after-think and the wall time its extra judging took.
struct AfterThink {
    pass_at_1: Option<f64>,
    wall: std::time::Duration,
}

/// pass@1 when only the code after a closed `</think>` is graded. A sample whose after-think
/// code is the code already judged keeps its verdict; one with other code has that code judged.
/// A sample the judge could not judge (`JUDGE_ERROR`) is left out, as in pass@1.
fn after_think(
    judge: &Judge,
    gens: &[Generation],
    by_id: &HashMap<String, Problem>,
    codes: &[Option<String>],
    records: &[VerdictRecord],
) -> AfterThink {
    let after: Vec<Option<String>> =
        gens.iter().map(|g| extract_code(&g.response, ExtractMode::AfterThink)).collect();
    let differ: Vec<usize> =
        (0..gens.len()).filter(|&i| after[i].is_some() && after[i] != codes[i]).collect();
    let tasks: Vec<Task<'_>> = differ
        .iter()
        .map(|&i| Task {
            candidate_id: format!("{}#after-think", gens[i].candidate_id()),
            code: after[i].clone(),
            problem: &by_id[&gens[i].question_id],
        })
        .collect();
    let judged = judge_all(judge, &tasks, &|_| {});
    // `None`: the judge could not judge the code (`JUDGE_ERROR`), left out as in pass@1
    let outcome = |r: &VerdictRecord| (r.verdict != Verdict::JudgeError).then(|| r.correct());
    let mut passed: Vec<Option<bool>> = (0..gens.len())
        .map(|i| match &after[i] {
            None => Some(false),
            Some(_) if after[i] == codes[i] => outcome(&records[i]),
            Some(_) => Some(false),
        })
        .collect();
    for (&i, r) in differ.iter().zip(&judged.records) {
        passed[i] = outcome(r);
    }
    let mut per: BTreeMap<&str, Counts> = BTreeMap::new();
    for (g, ok) in gens.iter().zip(&passed) {
        let Some(ok) = ok else { continue };
        let c = per.entry(g.question_id.as_str()).or_default();
        c.n += 1;
        c.c += u64::from(*ok);
    }
    AfterThink {
        pass_at_1: mean_pass_at_k(&per.into_values().collect::<Vec<_>>(), 1),
        wall: judged.wall,
    }
}

/// `metrics.json`'s text: the record, pretty-printed, with a final newline.
pub fn metrics_json(metrics: &EvalMetrics) -> String {
    let text = serde_json::to_string_pretty(metrics).expect("bug: metrics serialize to JSON");
    format!("{text}\n")
}

/// Writes `DIR/verdicts.jsonl`, `DIR/metrics.json` and `DIR/report.md`, each staged under a
/// temporary name and renamed once all three are complete ([`OutputSet`]).
pub fn write_outputs(
    dir: &Path,
    evaluation: &Evaluation,
    report: &str,
) -> Result<(), WriteEvalError> {
    let mut set = OutputSet::new();
    let verdicts = set.create(dir.join("verdicts.jsonl"))?;
    for r in &evaluation.verdicts {
        set.file(verdicts).write_record(r)?;
    }
    set.write(dir.join("metrics.json"), metrics_json(&evaluation.metrics).as_bytes())?;
    set.write(dir.join("report.md"), report.as_bytes())?;
    set.commit()?;
    Ok(())
}
