//! The `--dry-run` cost estimate. Training costs about 6 x params x tokens FLOPs (forward and
//! backward, Kaplan et al. 2020), tokens = examples x tokens per example x epochs, the epochs
//! those `valley train` resolves from the step's config ([`TrainPlanner`]); sampling costs
//! about 2 x params x tokens (forward only), tokens = problems x samples x (prompt + completion).
//! GPU-hours = FLOPs / (peak FLOP/s x utilisation) / 3600, with the training MFU (`mfu`,
//! default 0.40) and a much lower one for decoding (`decode-mfu`, default 0.05), which is
//! memory-bound. All constants live in the spec's `[estimate]` table.

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

/// The whole plan's estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Study name.
    pub study: String,
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

fn problems(study: &Study) -> Option<f64> {
    let s = &study.spec.spec;
    if let Some(p) = s.estimate.problems {
        return Some(p as f64);
    }
    let counted = {
        let path = study.spec.resolve(&s.benchmark.problems);
        let plain = path.extension().is_some_and(|e| e == "jsonl");
        if plain {
            std::fs::read_to_string(&path)
                .ok()
                .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        } else {
            None
        }
    };
    match (counted, s.benchmark.limit) {
        (Some(c), Some(l)) => Some(c.min(l) as f64),
        (Some(c), None) => Some(c as f64),
        (None, Some(l)) => Some(l as f64),
        (None, None) => None,
    }
}

/// Estimates every step of the study; a train config `planner` refuses is an error naming its
/// step.
pub fn estimate(study: &Study, planner: &dyn TrainPlanner) -> Result<Estimate, StudyError> {
    let s = &study.spec.spec;
    let e = &s.estimate;
    let completion = e
        .completion_tokens
        .unwrap_or_else(|| s.generate.max_tokens.map_or(1024.0, |m| f64::from(m) / 2.0));
    let problems = problems(study);
    let mut out = Estimate {
        study: s.study.name.clone(),
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
