//! The `--dry-run` cost estimate. Training costs about 6 x params x tokens FLOPs (forward and
//! backward, Kaplan et al. 2020), tokens = examples x tokens per example x epochs, the epochs
//! those `valley train` resolves from the step's config ([`TrainPlanner`]); sampling costs
//! about 2 x params x tokens (forward only), tokens = problems x samples x (prompt + completion).
//! GPU-hours = FLOPs / (peak FLOP/s x utilisation) / 3600, with the training MFU (`mfu`,
//! default 0.40) and a much lower one for decoding (`decode-mfu`, default 0.05), which is
//! memory-bound. All constants live in the spec's `[estimate]` table.
//!
//! The problems sampled are the benchmark window's: counted from its files by the caller (the
//! binary reads them as `generate` and `eval` do, through `valley-eval`) when they are there,
//! else the spec's `[estimate] problems`; the two are compared when both are known, so a spec's
//! estimate and the window it names cannot drift apart silently (issue 13).

use serde::Serialize;

use crate::error::StudyError;
use crate::plan::StepKind;
use crate::study::Study;

/// Resolves a train step's config as `valley train` does, so the estimate trains for the epochs
/// the run will (with `valley train`'s defaults for what the config leaves out). The binary
/// implements it over `valley-train`'s plan; the study itself depends on no stage crate.
pub trait TrainPlanner {
    /// The passes over the data that the train config of step `step` (`config`, TOML text as
    /// the step writes it) resolves to; the error says why the config is refused.
    fn epochs(&self, step: &str, config: &str) -> Result<u32, String>;
}

/// One step's estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepEstimate {
    /// Step id.
    pub id: String,
    /// Kind.
    pub kind: &'static str,
    /// Upstream step ids.
    pub deps: Vec<String>,
    /// Training tokens (all epochs).
    pub train_tokens: Option<f64>,
    /// Sampled tokens (prompt + completion).
    pub generate_tokens: Option<f64>,
    /// FLOPs.
    pub flops: Option<f64>,
    /// GPU-hours.
    pub gpu_hours: Option<f64>,
}

/// Where the estimate's problem count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemsSource {
    /// The window's rows, counted in its files.
    Counted,
    /// The spec's `[estimate] problems`.
    Estimate,
    /// The benchmark's `limit`.
    Limit,
    /// Nothing says: the sampling steps have no estimate.
    Unknown,
}

impl ProblemsSource {
    /// In words, for the dry run.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Counted => "counted in its files",
            Self::Estimate => "from [estimate] problems",
            Self::Limit => "from [benchmark] limit",
            Self::Unknown => "unknown",
        }
    }
}

/// The benchmark side of the estimate: the window's problems and the samples drawn from them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchmarkEstimate {
    /// LiveCodeBench release (`release_v5`), when the spec names one.
    pub release: Option<String>,
    /// The row filter (`contest_date in [2024-08-01, 2025-02-01]`, or `all problems`).
    pub window: String,
    /// Problems the estimate uses.
    pub problems: Option<u64>,
    /// Where that number comes from.
    pub problems_source: ProblemsSource,
    /// The window's problems counted in its files (after `limit`), when they could be read.
    pub counted: Option<u64>,
    /// Why they were not counted, when they were not.
    pub not_counted: Option<String>,
    /// The spec's `[estimate] problems`.
    pub declared: Option<u64>,
    /// Samples per problem (`[generate] n`).
    pub samples_per_problem: u32,
    /// Samples of one generate step.
    pub samples_per_run: Option<u64>,
    /// Generate steps.
    pub generate_steps: usize,
    /// Samples over every generate step.
    pub samples_total: Option<u64>,
    /// Set when the count and the spec's `[estimate] problems` disagree.
    pub mismatch: Option<String>,
}

/// The whole plan's estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Study name.
    pub study: String,
    /// The problems and samples of the benchmark.
    pub benchmark: BenchmarkEstimate,
    /// Steps per kind.
    pub counts: std::collections::BTreeMap<&'static str, usize>,
    /// Every step.
    pub steps: Vec<StepEstimate>,
    /// Sum of the known training tokens.
    pub train_tokens: f64,
    /// Sum of the known sampled tokens.
    pub generate_tokens: f64,
    /// Sum of the known GPU-hours.
    pub gpu_hours: f64,
    /// The constants used.
    pub model: serde_json::Value,
}

/// The benchmark side; `counted` is the window's problems counted in its files, or why they
/// could not be.
fn benchmark(study: &Study, counted: Result<u64, String>) -> BenchmarkEstimate {
    let s = &study.spec.spec;
    let b = &s.benchmark;
    let (counted, not_counted) = match counted {
        Ok(c) => (Some(b.limit.map_or(c, |l| c.min(l as u64))), None),
        Err(why) => (None, Some(why)),
    };
    let declared = s.estimate.problems;
    let (problems, problems_source) = match (counted, declared, b.limit) {
        (Some(c), _, _) => (Some(c), ProblemsSource::Counted),
        (None, Some(d), _) => (Some(d), ProblemsSource::Estimate),
        (None, None, Some(l)) => (Some(l as u64), ProblemsSource::Limit),
        (None, None, None) => (None, ProblemsSource::Unknown),
    };
    let mismatch = match (counted, declared) {
        (Some(c), Some(d)) if c != d => Some(format!(
            "the benchmark window holds {c} problems but [estimate] problems says {d}; the estimate uses {c}"
        )),
        _ => None,
    };
    let generate_steps = study.plan.steps.iter().filter(|st| st.kind == StepKind::Generate).count();
    let n = s.generate.n;
    let samples_per_run = problems.map(|p| p * u64::from(n));
    BenchmarkEstimate {
        release: b.lcb_release().map(|r| r.tag()),
        window: b.selection().describe(),
        problems,
        problems_source,
        counted,
        not_counted,
        declared,
        samples_per_problem: n,
        samples_per_run,
        generate_steps,
        samples_total: samples_per_run.map(|r| r * generate_steps as u64),
        mismatch,
    }
}

/// Estimates every step of the study; a train config `planner` refuses is an error naming its
/// step. `counted` is the number of problems in the benchmark window, counted from its files
/// by the caller, or why they could not be counted (the files are not there).
pub fn estimate(
    study: &Study,
    planner: &dyn TrainPlanner,
    counted: Result<u64, String>,
) -> Result<Estimate, StudyError> {
    let s = &study.spec.spec;
    let e = &s.estimate;
    let completion = e
        .completion_tokens
        .unwrap_or_else(|| s.generate.max_tokens.map_or(1024.0, |m| f64::from(m) / 2.0));
    let benchmark = benchmark(study, counted);
    let problems = benchmark.problems.map(|p| p as f64);
    let mut out = Estimate {
        study: s.study.name.clone(),
        benchmark,
        counts: crate::plan::count_by_kind(&study.plan),
        steps: Vec::new(),
        train_tokens: 0.0,
        generate_tokens: 0.0,
        gpu_hours: 0.0,
        model: serde_json::json!({
            "train_flops": "6 * params * tokens",
            "generate_flops": "2 * params * tokens",
            "gpu_flops": e.gpu_flops,
            "mfu": e.mfu,
            "decode_mfu": e.decode_mfu,
            "tokens_per_example": e.tokens_per_example,
            "prompt_tokens": e.prompt_tokens,
            "completion_tokens": completion,
            "problems": problems,
        }),
    };
    for step in &study.plan.steps {
        let mut st = StepEstimate {
            id: step.id.clone(),
            kind: step.kind.as_str(),
            deps: step.deps.iter().map(|&d| study.plan.steps[d].id.clone()).collect(),
            train_tokens: None,
            generate_tokens: None,
            flops: None,
            gpu_hours: None,
        };
        match (step.kind, &step.action) {
            (StepKind::Train, crate::plan::Action::Train { config }) => {
                let refused = |message: String| StudyError::Plan {
                    spec: study.spec.path.clone(),
                    message: format!("step `{}`: {message}", step.id),
                };
                let text = toml::to_string(config).map_err(|e| refused(e.to_string()))?;
                let epochs = planner.epochs(&step.id, &text).map_err(refused)?;
                let tokens =
                    step.train_rows.unwrap_or(0) as f64 * e.tokens_per_example * f64::from(epochs);
                st.train_tokens = Some(tokens);
                out.train_tokens += tokens;
                if let Some(p) = step.params {
                    let flops = 6.0 * p * tokens;
                    st.flops = Some(flops);
                    st.gpu_hours = Some(flops / (e.gpu_flops * e.mfu) / 3600.0);
                }
            }
            (StepKind::Generate, _) => {
                if let Some(n) = problems {
                    let tokens = n * f64::from(s.generate.n) * (e.prompt_tokens + completion);
                    st.generate_tokens = Some(tokens);
                    out.generate_tokens += tokens;
                    if let Some(p) = step.params {
                        let flops = 2.0 * p * tokens;
                        st.flops = Some(flops);
                        st.gpu_hours = Some(flops / (e.gpu_flops * e.decode_mfu) / 3600.0);
                    }
                }
            }
            _ => {}
        }
        out.gpu_hours += st.gpu_hours.unwrap_or(0.0);
        out.steps.push(st);
    }
    Ok(out)
}
