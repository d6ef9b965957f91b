//! Evaluation: judging a model's generations against a benchmark and computing `metrics.json`
//! ([`EvalMetrics`]), then writing it with the verdicts and a readable report.
//!
//! The steps, each a function a library user can call alone: [`read_generations`] (against a
//! [`ProblemSet`]), [`evaluate`] (extract each response's code, judge it, count response lengths,
//! summarize overall, by difficulty and by platform), [`report_markdown`] and [`write_outputs`].

mod generations;
mod lengths;
mod report;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use valley_data::chat::ChatTokenizer;
use valley_data::io::StagedFile;
use valley_judge::{Judge, Task};
use valley_metrics::{SampleOutcome, summarize};
use valley_types::{
    BenchmarkSelection, Bootstrap, EvalMetrics, EvalSummary, ExtractMode, Problem, VerdictRecord,
    extract_code,
};

pub use generations::{Generations, read_generations};
pub use report::{format_rate, report_markdown};

use crate::error::{EvalError, WriteEvalError};
use crate::judging::{Progress, judge_all};
use crate::problems::ProblemSet;

/// How generations are evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Which code of a response is graded.
    pub extract: ExtractMode,
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
            extract: ExtractMode::AfterThink,
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
/// called once per finished verdict.
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
    let codes: Vec<Option<String>> =
        gens.iter().map(|g| extract_code(&g.response, config.extract)).collect();
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
    let records = judged.records;

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
    let metrics = EvalMetrics {
        overall,
        pass_at_1_after_think: None,
        profile: judge.profile().name().into(),
        extract_mode: config.extract,
        max_tokens: config.max_tokens,
        bootstrap: config.bootstrap.clone(),
        problems_without_generations: without as u64,
        selection,
        samples_outside_selection: generations.outside_selection,
        by_difficulty,
        by_platform,
        response_tokens: lengths.stats(gens, tokenizer.is_some()),
        judge_wall_s: judged.wall.as_secs_f64(),
        python: judge.python_version().into(),
    };
    Ok(Evaluation { verdicts: records, metrics })
}

/// `metrics.json`'s text: the record, pretty-printed, with a final newline.
pub fn metrics_json(metrics: &EvalMetrics) -> String {
    let text = serde_json::to_string_pretty(metrics).expect("bug: metrics serialize to JSON");
    format!("{text}\n")
}

/// Writes `DIR/verdicts.jsonl`, `DIR/metrics.json` and `DIR/report.md`, each staged under a
/// temporary name and renamed once all three are complete.
pub fn write_outputs(
    dir: &Path,
    evaluation: &Evaluation,
    report: &str,
) -> Result<(), WriteEvalError> {
    fs_err::create_dir_all(dir)?;
    let mut verdicts = StagedFile::create(dir.join("verdicts.jsonl"))?;
    for r in &evaluation.verdicts {
        verdicts.write_record(r)?;
    }
    let metrics_tmp = stage(dir, "metrics.json", metrics_json(&evaluation.metrics).as_bytes())?;
    let report_tmp = stage(dir, "report.md", report.as_bytes())?;
    verdicts.commit()?;
    fs_err::rename(&metrics_tmp, dir.join("metrics.json"))?;
    fs_err::rename(&report_tmp, dir.join("report.md"))?;
    Ok(())
}

/// Writes `bytes` to a hidden temporary file in `dir`, to be renamed over `name` once every
/// output is ready.
fn stage(dir: &Path, name: &str, bytes: &[u8]) -> Result<std::path::PathBuf, std::io::Error> {
    let tmp = dir.join(format!(".{name}.tmp"));
    fs_err::write(&tmp, bytes)?;
    Ok(tmp)
}
