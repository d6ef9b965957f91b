//! The study spec: a TOML file naming the students, the datasets, the grid of runs, the benchmark
//! and the settings of each stage. Relative paths are resolved against the spec's folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::SpecError;

/// A whole study, as written in the spec file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StudySpec {
    /// Students with no training: the untrained model is generated and evaluated as a run of its
    /// own (`<student>/base`).
    #[serde(default)]
    pub baselines: Vec<String>,
    /// Name, output folder, backend.
    pub study: StudySettings,
    /// Slurm settings, for `backend = "slurm"`.
    #[serde(default)]
    pub slurm: SlurmSettings,
    /// The problems every run is evaluated on.
    pub benchmark: BenchmarkSpec,
    /// The models that are fine-tuned, by short name.
    pub students: BTreeMap<String, StudentSpec>,
    /// Training data, by short name; each yields parts (`scaling/1000`, `correctness/correct`).
    #[serde(default)]
    pub datasets: BTreeMap<String, DatasetSpec>,
    /// Grids of runs: every student x every data part x every starting point.
    #[serde(default)]
    pub runs: Vec<RunGrid>,
    /// Training settings copied into every run's train config (`valley train --config`).
    #[serde(default)]
    pub train: toml::Table,
    /// Sampling settings.
    #[serde(default)]
    pub generate: GenerateSpec,
    /// Judging settings.
    #[serde(default)]
    pub eval: EvalSpec,
    /// The final report over every run.
    #[serde(default)]
    pub report: ReportSpec,
    /// Constants of the `--dry-run` cost estimate.
    #[serde(default)]
    pub estimate: EstimateSpec,
}

/// `[study]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StudySettings {
    /// The study's name (reports, Slurm job names).
    pub name: String,
    /// Output folder [default: `<spec stem>-out` beside the spec].
    #[serde(default)]
    pub out: Option<PathBuf>,
    /// Where steps run.
    #[serde(default)]
    pub backend: BackendKind,
    /// Steps running at once on the local backend.
    #[serde(default = "one")]
    pub jobs: usize,
    /// Extra attempts of a failed step (local) or job (Slurm requeue).
    #[serde(default)]
    pub retries: u32,
}

/// Where steps run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// Child processes of `valley study run`, `jobs` at a time.
    #[default]
    Local,
    /// One `sbatch` job per step, chained with `--dependency=afterok`.
    Slurm,
}

/// `[slurm]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SlurmSettings {
    /// `--partition`.
    #[serde(default)]
    pub partition: Option<String>,
    /// `--time` of every job (`HH:MM:SS`).
    #[serde(default)]
    pub time: Option<String>,
    /// `--gres=gpu:N` for train steps.
    #[serde(default)]
    pub train_gpus: u32,
    /// `--gres=gpu:N` for generate steps (per node).
    #[serde(default)]
    pub generate_gpus: u32,
    /// `--nodes=N` for generate steps: their engine replicas spread over the nodes.
    #[serde(default = "one_u32")]
    pub generate_nodes: u32,
    /// `--cpus-per-task` of every job.
    #[serde(default)]
    pub cpus_per_task: Option<u32>,
    /// More `sbatch` options, verbatim.
    #[serde(default)]
    pub extra_args: Vec<String>,
    /// Seconds between `squeue`/`sacct` polls.
    #[serde(default = "default_poll")]
    pub poll_seconds: f64,
}

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

/// `[students.<name>]`: one model to fine-tune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StudentSpec {
    /// The name reports show [default: the table key].
    #[serde(default)]
    pub display: Option<String>,
    /// A local checkpoint folder (hashed into every key that depends on it).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A hub id (`Qwen/Qwen2.5-7B-Instruct`), passed to engines that fetch it themselves.
    #[serde(default)]
    pub hub: Option<String>,
    /// Instead of weights: a randomly initialised model of this shape (`[model.init]` of the
    /// train spec: `family`, `hidden-size`, …), for tests and smoke runs.
    #[serde(default)]
    pub init: Option<toml::Table>,
    /// Parameters, for the cost estimate.
    #[serde(default)]
    pub params: Option<f64>,
    /// Tokenizer folder [default: `path`].
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    /// Jinja chat template replacing the tokenizer's.
    #[serde(default)]
    pub chat_template: Option<PathBuf>,
    /// Training settings of this student, over `[train]`.
    #[serde(default)]
    pub train: toml::Table,
    /// More flags for the engine serving this student's runs, after `[generate] engine-args`
    /// (a context extension one model family needs, say).
    #[serde(default)]
    pub engine_args: Vec<String>,
}

/// `[datasets.<name>]`: traces, optionally labelled by judging, then cut into parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DatasetSpec {
    /// The traces (`id`, `question`, `response`, …).
    pub traces: PathBuf,
    /// Field mapping passed as `--field F=C`.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Nested random subsets of these sizes (parts `1000`, `10000`, …).
    #[serde(default)]
    pub sizes: Vec<u64>,
    /// Balanced groups by `correctness` (parts `correct`, `incorrect`) or `difficulty` (`easy`,
    /// `hard`).
    #[serde(default)]
    pub split: Option<SplitBy>,
    /// Rows in each split group.
    #[serde(default)]
    pub per_group: Option<u64>,
    /// Selection seed.
    #[serde(default)]
    pub seed: u64,
    /// Judge the traces first (`valley data label`), adding the `correct` field.
    #[serde(default)]
    pub label: Option<LabelSpec>,
}

/// What a split groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitBy {
    /// `correct` / `incorrect`.
    Correctness,
    /// `easy` / `hard`.
    Difficulty,
}

impl SplitBy {
    /// The flag value of `valley data split --by`.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitBy::Correctness => "correctness",
            SplitBy::Difficulty => "difficulty",
        }
    }

    /// The parts a split writes.
    pub fn parts(self) -> [&'static str; 2] {
        match self {
            SplitBy::Correctness => ["correct", "incorrect"],
            SplitBy::Difficulty => ["easy", "hard"],
        }
    }
}

/// `label = { problems = …, profile = … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LabelSpec {
    /// Problems with the tests the traces' code is judged against.
    pub problems: PathBuf,
    /// Judge profile.
    #[serde(default = "taco")]
    pub profile: String,
    /// Force the problem row format.
    #[serde(default)]
    pub problem_format: Option<String>,
}

/// `[[runs]]`: a grid of training runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunGrid {
    /// Student names.
    pub students: Vec<String>,
    /// Data parts, `<dataset>/<part>`.
    pub data: Vec<String>,
    /// Starting points: `base` (the student itself) or an earlier run's id
    /// (`qwen/scaling-30000`), whose final checkpoint training continues from.
    #[serde(default = "from_base")]
    pub from: Vec<String>,
    /// Training settings of these runs, over the student's and `[train]`.
    #[serde(default)]
    pub train: toml::Table,
}

/// `[generate]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GenerateSpec {
    /// Samples per problem.
    #[serde(default = "one_u32")]
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
    /// Prompt style (`openai-chat`, `user-only`, …).
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
    /// Epochs, when `[train]` does not say (`epochs`).
    #[serde(default = "one_f64")]
    pub epochs: f64,
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
    /// Problems, when the benchmark file is not there to count.
    #[serde(default)]
    pub problems: Option<u64>,
}

impl Default for EstimateSpec {
    fn default() -> Self {
        toml::from_str("").expect("bug: the [estimate] defaults must parse")
    }
}

/// The engines `[generate] engine` names (those of `valley generate --engine`).
pub(crate) const ENGINES: [&str; 4] = ["vllm", "sglang", "llama.cpp", "valley"];

fn one() -> usize {
    1
}
fn one_u32() -> u32 {
    1
}
fn one_f64() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn taco() -> String {
    "taco".into()
}
fn lcb() -> String {
    "lcb".into()
}
fn from_base() -> Vec<String> {
    vec!["base".into()]
}
fn default_poll() -> f64 {
    2.0
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

/// A spec read from disk: the parsed file, its folder, its text's hash.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The file.
    pub path: PathBuf,
    /// Its folder, which relative paths are resolved against.
    pub dir: PathBuf,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The parsed spec.
    pub spec: StudySpec,
    /// The study's output folder.
    pub out: PathBuf,
}

impl LoadedSpec {
    /// Reads and checks a spec file.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = fs_err::read_to_string(path).map_err(|source| SpecError::Read { source })?;
        Self::parse(path, &text)
    }

    /// Parses spec text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SpecError> {
        let spec: StudySpec = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            SpecError::Parse {
                file: path.to_path_buf(),
                line,
                message: e.message().trim().to_owned(),
            }
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let stem = path.file_stem().map_or("study".into(), |s| s.to_string_lossy().into_owned());
        let out = normalize(&match &spec.study.out {
            Some(o) => dir.join(o),
            None => dir.join(format!("{stem}-out")),
        });
        let loaded = Self {
            path: path.to_path_buf(),
            dir,
            sha256: crate::hash::sha256_hex(text.as_bytes()),
            spec,
            out,
        };
        loaded.check(text)?;
        Ok(loaded)
    }

    /// A path from the spec, resolved against its folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        self.dir.join(p)
    }

    fn invalid(&self, text: &str, key: &str, message: String) -> SpecError {
        SpecError::Invalid {
            file: self.path.clone(),
            line: find_key_line(text, key),
            field: key.to_owned(),
            message,
        }
    }

    /// Cross-references the spec holds (names that must exist, exactly one of two fields, …).
    fn check(&self, text: &str) -> Result<(), SpecError> {
        let s = &self.spec;
        if s.study.jobs == 0 {
            return Err(self.invalid(text, "jobs", "expected at least 1".into()));
        }
        if s.students.is_empty() {
            return Err(self.invalid(
                text,
                "students",
                "a study needs at least one student".into(),
            ));
        }
        for (name, st) in &s.students {
            check_name(name).map_err(|m| self.invalid(text, name, m))?;
            let given = usize::from(st.path.is_some())
                + usize::from(st.hub.is_some())
                + usize::from(st.init.is_some());
            if given != 1 {
                return Err(self.invalid(
                    text,
                    name,
                    format!("student `{name}`: give exactly one of `path`, `hub` and `init`"),
                ));
            }
            if st.init.is_some() && st.tokenizer.is_none() {
                return Err(self.invalid(
                    text,
                    name,
                    format!("student `{name}`: a randomly initialised student needs a `tokenizer`"),
                ));
            }
        }
        for (name, d) in &s.datasets {
            check_name(name).map_err(|m| self.invalid(text, name, m))?;
            match (d.sizes.is_empty(), d.split) {
                (false, None) => {
                    if d.sizes.contains(&0) {
                        return Err(self.invalid(text, "sizes", "sizes must be positive".into()));
                    }
                    if d.per_group.is_some() {
                        return Err(self.invalid(
                            text,
                            "per-group",
                            format!("dataset `{name}`: `per-group` goes with `split`"),
                        ));
                    }
                }
                (true, Some(_)) => {
                    if d.per_group.unwrap_or(0) == 0 {
                        return Err(self.invalid(
                            text,
                            name,
                            format!("dataset `{name}`: `split` needs a positive `per-group`"),
                        ));
                    }
                }
                _ => {
                    return Err(self.invalid(
                        text,
                        name,
                        format!("dataset `{name}`: give exactly one of `sizes` and `split`"),
                    ));
                }
            }
        }
        for b in &s.baselines {
            match s.students.get(b) {
                None => {
                    return Err(self.invalid(text, "baselines", format!("no student named `{b}`")));
                }
                Some(st) if st.init.is_some() => {
                    return Err(self.invalid(
                        text,
                        "baselines",
                        format!("student `{b}` has no weights to evaluate untrained (`init`)"),
                    ));
                }
                Some(_) => {}
            }
        }
        for grid in &s.runs {
            for st in &grid.students {
                if !s.students.contains_key(st) {
                    return Err(self.invalid(text, "students", format!("no student named `{st}`")));
                }
            }
            for part in &grid.data {
                if self.part(part).is_none() {
                    return Err(self.invalid(
                        text,
                        "data",
                        format!("`{part}` is no dataset part (`<dataset>/<size or group>`)"),
                    ));
                }
            }
            if grid.from.is_empty() {
                return Err(self.invalid(text, "from", "give at least one starting point".into()));
            }
        }
        let g = &s.generate;
        let ways = usize::from(g.endpoint.is_some())
            + usize::from(g.serve)
            + usize::from(g.engine.is_some());
        if ways == 0 {
            return Err(self.invalid(
                text,
                "generate",
                "say how runs are sampled: `engine = \"vllm\"` (or sglang, llama.cpp, valley), \
                 `serve = true` or `endpoint = \"http://…/v1\"`"
                    .into(),
            ));
        }
        if ways > 1 {
            let key = if g.engine.is_some() { "engine" } else { "serve" };
            return Err(self.invalid(
                text,
                key,
                "give one of `engine`, `serve = true` and `endpoint`".into(),
            ));
        }
        if let Some(e) = &g.engine
            && !ENGINES.contains(&e.as_str())
        {
            return Err(self.invalid(
                text,
                "engine",
                format!("unknown engine `{e}` (expected {})", ENGINES.join(", ")),
            ));
        }
        if g.engine.is_none() && !g.serve {
            for (key, set) in [
                ("engine-args", !g.engine_args.is_empty()),
                ("replicas", g.replicas != 1),
                ("tensor-parallel", g.tensor_parallel != 1),
                ("context-length", g.context_length.is_some()),
            ] {
                if set {
                    return Err(self.invalid(text, key, "goes with `engine`".into()));
                }
            }
        }
        if g.replicas == 0 || g.tensor_parallel == 0 {
            let key = if g.replicas == 0 { "replicas" } else { "tensor-parallel" };
            return Err(self.invalid(text, key, "expected at least 1".into()));
        }
        if s.generate.n == 0 {
            return Err(self.invalid(text, "n", "expected at least 1".into()));
        }
        Ok(())
    }

    /// The dataset and part a `<dataset>/<part>` reference names, if it exists.
    pub fn part(&self, reference: &str) -> Option<(&str, &DatasetSpec, String)> {
        let (name, part) = reference.split_once('/')?;
        let (key, d) = self.spec.datasets.get_key_value(name)?;
        let ok = match d.split {
            Some(by) => by.parts().contains(&part),
            None => part.parse::<u64>().is_ok_and(|n| d.sizes.contains(&n)),
        };
        ok.then(|| (key.as_str(), d, part.to_owned()))
    }
}

/// `a/b/../c` -> `a/c`, without touching the file system (symlinks are not resolved).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}`: names use letters, digits, `-`, `_` and `.` only"))
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The first line that sets `key` or opens a table named by it (best effort, for messages).
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            let bare = t.trim_start_matches('[').trim_start_matches('"');
            (t.starts_with(key) && t[key.len()..].trim_start().starts_with('='))
                || (t.starts_with('[')
                    && (bare.ends_with(&format!("{key}]")) || bare.contains(&format!(".{key}"))))
                || (t.starts_with(&format!("\"{key}\"")) || t.starts_with(&format!("{key}.")))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[study]
name = "t"
[benchmark]
problems = "p.jsonl"
[students.s]
path = "model"
[generate]
endpoint = "http://127.0.0.1:1/v1"
"#;

    fn check(extra: &str, expect: Result<(), &str>) {
        let text = format!("{MINIMAL}{extra}");
        let got = LoadedSpec::parse(Path::new("/x/study.toml"), &text)
            .map(|_| ())
            .map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(want)) => assert!(e.contains(want), "{e} does not contain {want}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn minimal_spec_loads_with_defaults() {
        let s = LoadedSpec::parse(Path::new("/x/study.toml"), MINIMAL).unwrap();
        assert_eq!(s.out, PathBuf::from("/x/study-out"));
        assert_eq!(s.spec.generate.n, 1);
        assert_eq!(s.spec.eval.profile, "lcb");
        assert!(s.spec.report.enabled);
        assert_eq!(s.resolve(Path::new("p.jsonl")), PathBuf::from("/x/p.jsonl"));
    }

    #[test]
    fn bad_specs_name_the_line_and_field() {
        check("", Ok(()));
        check("[datasets.d]\ntraces = \"t\"\nsizes = [1]\nbogus = 1\n", Err("study.toml:13"));
        check("[datasets.d]\ntraces = \"t\"\n", Err("exactly one of `sizes` and `split`"));
        check(
            "[datasets.d]\ntraces = \"t\"\nsplit = \"correctness\"\n",
            Err("positive `per-group`"),
        );
        check("[[runs]]\nstudents = [\"x\"]\ndata = []\n", Err("no student named `x`"));
        check("[[runs]]\nstudents = [\"s\"]\ndata = [\"d/1\"]\n", Err("`d/1` is no dataset part"));
        check("baselines = 1\n", Err("study.toml"));
    }
}
