//! The settings of each stage: the benchmark, sampling (`[generate]`), judging (`[eval]`), the
//! report, and the constants of the `--dry-run` estimate.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[benchmark]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BenchmarkSpec {
    /// Problems with their tests (LiveCodeBench, TACO or assert-style rows).
    pub problems: PathBuf,
    /// Force the problem row format (`lcb`, `taco`, `assert`).
    #[serde(default)]
    pub problem_format: Option<String>,
    /// Only the first N problems.
    #[serde(default)]
    pub limit: Option<usize>,
    /// LiveCodeBench release (`release_v5`, `v1_v3`, …); `problems` is then LiveCodeBench's
    /// folder of `test*.jsonl` files.
    #[serde(default)]
    pub release: Option<String>,
    /// Problems with a contest date on or after this day (`YYYY-MM-DD`).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Problems with a contest date at or before this day.
    #[serde(default)]
    pub end_date: Option<String>,
    /// Only these platforms.
    #[serde(default)]
    pub platform: Vec<String>,
    /// Only these difficulties.
    #[serde(default)]
    pub difficulty: Vec<String>,
}

impl BenchmarkSpec {
    /// The LiveCodeBench release the spec names (one that does not parse is left out here; the
    /// spec check refuses it).
    pub fn lcb_release(&self) -> Option<valley_types::LcbRelease> {
        self.release.as_deref().and_then(|r| r.parse().ok())
    }

    /// The row filter the spec names (dates that do not parse are left out here; the spec check
    /// refuses them).
    pub fn selection(&self) -> valley_types::ProblemSelection {
        let day = |d: &Option<String>| d.as_deref().and_then(|d| d.parse().ok());
        valley_types::ProblemSelection {
            start_date: day(&self.start_date),
            end_date: day(&self.end_date),
            platforms: self.platform.clone(),
            difficulties: self.difficulty.clone(),
        }
    }

    /// The selection flags `valley generate` and `valley eval` share.
    pub fn select_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (flag, v) in [
            ("--release", &self.release),
            ("--start-date", &self.start_date),
            ("--end-date", &self.end_date),
        ] {
            if let Some(v) = v {
                args.extend([flag.to_owned(), v.clone()]);
            }
        }
        if !self.platform.is_empty() {
            args.extend(["--platform".to_owned(), self.platform.join(",")]);
        }
        if !self.difficulty.is_empty() {
            args.extend(["--difficulty".to_owned(), self.difficulty.join(",")]);
        }
        args
    }
}

/// `[generate]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GenerateSpec {
    /// Samples per problem (LiveCodeBench's runner default: 10).
    #[serde(default = "ten")]
    pub n: u32,
    /// Completion-token budget per sample.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// Nucleus mass.
    #[serde(default = "default_top_p")]
    pub top_p: f64,
    /// Requests in flight.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Base sampling seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// `chat` or `completions`.
    #[serde(default)]
    pub api: Option<String>,
    /// Prompt style, by LiveCodeBench's names (`CodeQwenInstruct`, `LLaMa3`, `OpenAIChat`, …)
    /// [default: `auto`, LiveCodeBench's registry style for each student's model; a run trained
    /// from a student is prompted as that student].
    #[serde(default)]
    pub prompt_style: Option<String>,
    /// Server-specific request fields (`valley generate --extra-body`), e.g.
    /// `extra-body = { repeat_penalty = 1.0 }` for llama.cpp's server.
    #[serde(default)]
    pub extra_body: toml::Table,
    /// Start this engine's own servers on each run's checkpoint for its generation and stop
    /// them after (`valley generate --engine`): `vllm`, `sglang`, `llama.cpp` or `valley`.
    #[serde(default)]
    pub engine: Option<String>,
    /// More flags for the engine's server, verbatim (`valley generate --engine-arg`).
    #[serde(default)]
    pub engine_args: Vec<String>,
    /// The engine's executable [default: its usual one on PATH].
    #[serde(default)]
    pub engine_bin: Option<PathBuf>,
    /// Servers per generate step, each on `tensor-parallel` GPUs (under Slurm, spread over the
    /// step job's nodes).
    #[serde(default = "one_u32")]
    pub replicas: u32,
    /// GPUs per server.
    #[serde(default = "one_u32")]
    pub tensor_parallel: u32,
    /// The servers' context window (prompt + completion tokens) [default: the engine's].
    #[serde(default)]
    pub context_length: Option<u32>,
    /// Start `valley serve` over each run's model: the same as `engine = "valley"`.
    #[serde(default)]
    pub serve: bool,
    /// Extra `valley serve` arguments (with `serve = true`).
    #[serde(default)]
    pub serve_args: Vec<String>,
    /// Seconds a server may take to answer its health route.
    #[serde(default = "default_serve_wait")]
    pub serve_wait_seconds: f64,
    /// Otherwise: an OpenAI-compatible server that serves every run under its run id.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The model name sent to `endpoint` for every run [default: the run id].
    #[serde(default)]
    pub model_name: Option<String>,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        toml::from_str("").expect("bug: the [generate] defaults must parse")
    }
}

impl GenerateSpec {
    /// Why this sampling will not repeat from one run of the study to the next, when it will
    /// not: a temperature above 0 without a seed, so each server draws its own (valley's own
    /// server seeds an unseeded request by its order of arrival, which concurrent sampling does
    /// not keep; vLLM and SGLang seed it at random).
    pub fn unseeded(&self) -> Option<String> {
        (self.temperature > 0.0 && self.seed.is_none()).then(|| {
            format!(
                "[generate] samples at temperature {} without a seed: a rerun of the study \
                 draws other samples (and another pass@1); set `seed` in [generate] to request \
                 sample i of every problem with seed + i",
                self.temperature
            )
        })
    }
}

/// The engines `[generate] engine` names (those of `valley generate --engine`).
pub(crate) const ENGINES: [&str; 4] = ["vllm", "sglang", "llama.cpp", "valley"];

/// `[eval]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EvalSpec {
    /// Judge profile.
    #[serde(default = "lcb")]
    pub profile: String,
    /// Code extraction mode.
    #[serde(default)]
    pub extract: Option<String>,
    /// Per-test time limit in seconds.
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Memory limit per grading process in MiB.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Grading workers.
    #[serde(default)]
    pub jobs: Option<usize>,
    /// pass@k values.
    #[serde(default)]
    pub k: Vec<u64>,
    /// Bootstrap seed of the pass@1 interval.
    #[serde(default)]
    pub bootstrap_seed: u64,
    /// Run with a partial sandbox where the kernel denies part of it.
    #[serde(default)]
    pub allow_weak_sandbox: bool,
}

impl Default for EvalSpec {
    fn default() -> Self {
        toml::from_str("").expect("bug: the [eval] defaults must parse")
    }
}

/// `[report]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportSpec {
    /// Run `valley report` over the results.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Extra `valley report` arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

impl Default for ReportSpec {
    fn default() -> Self {
        Self { enabled: true, args: Vec::new() }
    }
}

/// `[estimate]`: the constants of the `--dry-run` cost model (see DESIGN.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EstimateSpec {
    /// Mean tokens of one rendered training example.
    #[serde(default = "default_tokens_per_example")]
    pub tokens_per_example: f64,
    /// Mean prompt tokens of one benchmark problem.
    #[serde(default = "default_prompt_tokens")]
    pub prompt_tokens: f64,
    /// Mean completion tokens of one sample [default: half of `max-tokens`, else 1024].
    #[serde(default)]
    pub completion_tokens: Option<f64>,
    /// Peak dense bf16 FLOP/s of one GPU (H100 SXM: 989e12).
    #[serde(default = "default_gpu_flops")]
    pub gpu_flops: f64,
    /// Model FLOPs utilisation of training.
    #[serde(default = "default_mfu")]
    pub mfu: f64,
    /// Model FLOPs utilisation of sampling (decoding is memory-bound).
    #[serde(default = "default_decode_mfu")]
    pub decode_mfu: f64,
    /// The benchmark window's problems, for when its files are not there to count (`--dry-run`
    /// counts them when they are, and warns when the two disagree).
    #[serde(default)]
    pub problems: Option<u64>,
}

impl Default for EstimateSpec {
    fn default() -> Self {
        toml::from_str("").expect("bug: the [estimate] defaults must parse")
    }
}

pub(super) fn one_u32() -> u32 {
    1
}

fn ten() -> u32 {
    10
}

fn yes() -> bool {
    true
}

fn lcb() -> String {
    "lcb".into()
}

fn default_temperature() -> f64 {
    0.2
}

fn default_top_p() -> f64 {
    0.95
}

fn default_concurrency() -> usize {
    8
}

fn default_serve_wait() -> f64 {
    600.0
}

fn default_tokens_per_example() -> f64 {
    8000.0
}

fn default_prompt_tokens() -> f64 {
    600.0
}

fn default_gpu_flops() -> f64 {
    989e12
}

fn default_mfu() -> f64 {
    0.4
}

fn default_decode_mfu() -> f64 {
    0.05
}

#[cfg(test)]
mod tests {
    use super::GenerateSpec;

    #[test]
    fn sampling_above_temperature_0_without_a_seed_is_named() {
        let spec = |toml: &str| toml::from_str::<GenerateSpec>(toml).unwrap();
        let warning = spec("temperature = 0.2").unseeded().unwrap();
        assert!(warning.contains("temperature 0.2 without a seed"), "{warning}");
        assert_eq!(spec("temperature = 0.2\nseed = 2025").unseeded(), None);
        assert_eq!(spec("temperature = 0.0").unseeded(), None);
        // LiveCodeBench's default temperature is above 0
        assert!(spec("").unseeded().is_some());
    }
}
