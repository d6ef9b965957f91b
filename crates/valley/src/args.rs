//! Command-line arguments (clap derive). Raw arguments are validated into library configs in
//! `commands/`, before any work starts.

mod benchmark;
mod data;
mod import;
mod judge;
mod range;

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use self::range::{FloatRange, MAX_JOBS, MAX_RESAMPLES, MAX_TOKENS, count, jobs};

pub(crate) use benchmark::BenchmarkArgs;
pub(crate) use data::{
    DataCommand, DecontamArgs, DedupArgs, DedupKeyArg, InputArgs, LabelArgs, RenderArgs, SplitArgs,
    SplitBy, StatsArgs, SubsetsArgs, TokenizerArgs, VerifyArgs,
};
pub(crate) use import::{
    ImportCommand, ImportLcbArgs, ImportOcr2Args, ImportTacoArgs, Ocr2TracesArg, TacoSplitArg,
    TracesArgs,
};
pub(crate) use judge::{
    JudgeArgs, JudgeCommand, JudgeCommandArgs, JudgeEnvCheckArgs, JudgeEnvCommand,
    JudgeEnvCreateArgs, JudgeSettings,
};

/// Study how reasoning distillation scales for code: data, train, generate, judge, metrics,
/// report.
#[derive(Debug, Parser)]
#[command(name = "valley", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// More log output on stderr (-v info, -vv debug); `VALLEY_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Build, inspect and render distillation datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Judge candidate programs against their problems' tests in the sandbox; one verdict record
    /// per candidate. `valley judge env create|check` makes or checks the judge's Python
    /// environment.
    Judge(JudgeCommandArgs),
    /// Sample completions of each problem from an OpenAI-compatible server into a resumable
    /// JSONL file (LiveCodeBench's prompt format).
    Generate(Box<GenerateArgs>),
    /// Judge generations and write the paper's metrics: pass@1 with a bootstrap interval,
    /// pass@k, completion rate, think-tag rate, no-code rate, verdicts, cuts and a report.
    Eval(EvalArgs),
    /// Fine-tune a student as a training spec says (backend `native` or an existing engine:
    /// transformers/TRL, torchtune, axolotl, LLaMA-Factory); `--dry-run` prints the resolved
    /// plan and writes the engine configs; `train check` proves an engine sees valley's tokens.
    Train(TrainArgs),
    /// Run a whole study (data -> train -> generate -> eval per run, then report) from a spec,
    /// resumably; show its state; verify its provenance.
    #[command(subcommand)]
    Study(StudyCommand),
    /// From per-run results, the scaling tables (Markdown, CSV, LaTeX), the valley analysis per
    /// student (fit.json), the split comparisons with paired statistics, figures (SVG, PNG) and
    /// an HTML page, with a manifest.
    Report(ReportArgs),
    /// Serve a model (HF folder or GGUF; Qwen2 or Llama family) over an OpenAI-compatible API
    /// (/v1/models, /v1/chat/completions, /v1/completions) with valley's native generator.
    Serve(ServeArgs),
    /// Model files: export a GGUF model as an HF folder.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum StudyCommand {
    /// Run (or resume) every step that is not done; with --dry-run, print the steps and their
    /// GPU-hour and token estimates instead.
    Run(StudyRunArgs),
    /// Every step with its state (done, running, pending, failed), duration and outputs.
    Status(StudyStatusArgs),
    /// Recheck every step's outputs against its provenance manifest (exit 1 on a mismatch).
    Verify(StudyStatusArgs),
    /// Execute one step from its job file (what `run` starts for each step, and what a Slurm
    /// job runs).
    #[command(hide = true)]
    Exec(StudyExecArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StudyBackendArg {
    /// Child processes on this machine.
    Local,
    /// One sbatch job per step.
    Slurm,
}

#[derive(Debug, Args)]
pub(crate) struct StudyRunArgs {
    /// The study spec (TOML).
    #[arg(value_name = "SPEC")]
    pub(crate) spec: PathBuf,
    /// Print the steps with their token and GPU-hour estimates; run nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Where steps run [default: the spec's `[study] backend`].
    #[arg(long, value_enum)]
    pub(crate) backend: Option<StudyBackendArg>,
    /// Steps at once on the local backend [default: the spec's `[study] jobs`].
    #[arg(long, short = 'j', value_name = "N", value_parser = jobs())]
    pub(crate) jobs: Option<usize>,
    /// Extra attempts of a failed step [default: the spec's `[study] retries`].
    #[arg(long, value_name = "N", value_parser = count::<u32>(0..=100))]
    pub(crate) retries: Option<u32>,
    /// Print the summary (or the dry-run plan) as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StudyStatusArgs {
    /// The study spec (TOML).
    #[arg(value_name = "SPEC")]
    pub(crate) spec: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StudyExecArgs {
    /// The step's job file (written by `valley study run`).
    #[arg(value_name = "JOB")]
    pub(crate) job: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ApiArg {
    /// `chat` for a chat-turn prompt style, `completions` for a raw-text one (`CodeQwenInstruct`,
    /// `LLaMa3`, `DeepSeekR1`, …, which LiveCodeBench hands to the model as is).
    Auto,
    /// `POST …/chat/completions` with the chat turns; the server applies the chat template.
    Chat,
    /// `POST …/completions` with the prompt: a raw-text style's text, or a chat style's turns
    /// rendered here through --tokenizer's chat template.
    Completions,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Base URL of an OpenAI-compatible API someone else runs, e.g. `http://127.0.0.1:8000/v1`;
    /// give it several times for replicas of the same model. A bearer token is read from
    /// `VALLEY_API_KEY`, else `OPENAI_API_KEY`.
    #[arg(long, value_name = "URL", required_unless_present = "engine")]
    pub(crate) endpoint: Vec<String>,
    /// Start this engine's own OpenAI-compatible server(s) on --model and stop them when done:
    /// vllm (`vllm serve`), sglang (`python3 -m sglang.launch_server`), llama.cpp
    /// (`llama-server`, else llama-cpp-python's `python3 -m llama_cpp.server`) or valley
    /// (`valley serve`).
    #[arg(long, value_name = "ENGINE", conflicts_with = "endpoint")]
    pub(crate) engine: Option<String>,
    /// With --endpoint: the model name sent with each request. With --engine: the checkpoint
    /// to serve (a folder, a `.gguf` file, or a hub id for engines that fetch it).
    #[arg(long, value_name = "NAME|PATH")]
    pub(crate) model: String,
    /// With --engine: the name the server serves the model as, which requests and records carry
    /// [default: --model's last path component].
    #[arg(long, value_name = "NAME", requires = "engine")]
    pub(crate) served_model_name: Option<String>,
    /// With --engine: servers to start, each on its own group of --tensor-parallel GPUs.
    #[arg(long, default_value_t = 1, value_name = "R", requires = "engine", value_parser = count::<u32>(1..=MAX_JOBS))]
    pub(crate) replicas: u32,
    /// With --engine: GPUs per server (tensor parallelism).
    #[arg(long, default_value_t = 1, value_name = "T", requires = "engine", value_parser = count::<u32>(1..=MAX_JOBS))]
    pub(crate) tensor_parallel: u32,
    /// With --engine: the GPUs to use, in order, T per replica [default: CUDA_VISIBLE_DEVICES,
    /// else every GPU nvidia-smi lists].
    #[arg(long, value_name = "0,1,…", requires = "engine")]
    pub(crate) gpus: Option<String>,
    /// With --engine: the engine's executable [default: `vllm`, `python3`, `llama-server` or
    /// `python3`, or this valley, from PATH]; a `python*` interpreter runs the engine's module.
    #[arg(long, value_name = "BIN", requires = "engine")]
    pub(crate) engine_bin: Option<PathBuf>,
    /// With --engine: one more argument for the engine's server, verbatim (repeatable):
    /// `--engine-arg=--max-model-len --engine-arg=40960`.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true, requires = "engine")]
    pub(crate) engine_arg: Vec<String>,
    /// With --engine: the context window (prompt + completion tokens) the server is started with
    /// (vLLM --max-model-len, SGLang --context-length, llama.cpp --n_ctx / --ctx-size)
    /// [default: the engine's].
    #[arg(long, value_name = "TOKENS", requires = "engine", value_parser = count::<u32>(1..=MAX_TOKENS))]
    pub(crate) context_length: Option<u32>,
    /// With --engine: seconds a server may take to answer its health route.
    #[arg(long, default_value_t = 1800.0, value_name = "SECONDS", requires = "engine", value_parser = FloatRange::seconds(range::MAX_WAIT_SECONDS))]
    pub(crate) engine_timeout: f64,
    /// With --engine: restarts of a replica whose server dies, at most; then its work goes to
    /// the others.
    #[arg(long, default_value_t = 2, value_name = "N", requires = "engine", value_parser = count::<u32>(0..=1000))]
    pub(crate) engine_restarts: u32,
    /// With --engine: folder of the servers' logs (`replica-<i>.log`; default: beside --out,
    /// `<out stem>.engine/`).
    #[arg(long, value_name = "DIR", requires = "engine")]
    pub(crate) engine_logs: Option<PathBuf>,
    /// With --engine: start the servers here (local) or as Slurm job steps across the
    /// allocation's nodes (srun) [default: srun inside a Slurm job, else local].
    #[arg(long, value_enum, default_value = "auto", requires = "engine")]
    pub(crate) launcher: LauncherArg,
    /// Start nothing and send nothing: with --engine, print each server's command line and
    /// GPUs; otherwise print each problem's request (prompt style, endpoint kind, turns or
    /// text), one JSON object per line with --json.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Never send a second copy of a straggling request to another replica.
    #[arg(long)]
    pub(crate) no_hedge: bool,
    /// Problems (LiveCodeBench, TACO, assert-style rows) or questions (`id`, `question`).
    #[arg(long, value_name = "FILE")]
    pub(crate) problems: PathBuf,
    /// Generations file; records are appended, and a rerun finishes what is missing.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Samples per problem (LiveCodeBench's runner default: 10).
    #[arg(long, default_value_t = 10, value_name = "K", value_parser = count::<u32>(1..=1_000_000))]
    pub(crate) n: u32,
    /// Completion-token budget per sample [default: the server's].
    #[arg(long, value_name = "N", value_parser = count::<u32>(1..=MAX_TOKENS))]
    pub(crate) max_tokens: Option<u32>,
    /// Sampling temperature (LiveCodeBench's runner default: 0.2).
    #[arg(long, default_value_t = 0.2, value_name = "T", value_parser = FloatRange::closed(0.0, 10.0))]
    pub(crate) temperature: f64,
    /// Nucleus-sampling mass (LiveCodeBench's runner default: 0.95).
    #[arg(long, default_value_t = 0.95, value_name = "P", value_parser = FloatRange::left_open(0.0, 1.0))]
    pub(crate) top_p: f64,
    /// Requests in flight at most, per server (replica or endpoint).
    #[arg(long, default_value_t = 8, value_name = "C", value_parser = count::<usize>(1..=MAX_JOBS))]
    pub(crate) concurrency: usize,
    /// Base seed; sample i is requested with seed + i [default: none sent].
    #[arg(long, value_name = "S")]
    pub(crate) seed: Option<u64>,
    /// A JSON object of server-specific fields added to every request, recorded in each record's
    /// params and checked on resume: e.g. '{"repeat_penalty": 1.0}' for llama.cpp's server
    /// (llama-cpp-python penalises repeats by 1.1 by default, even at temperature 0), or
    /// '{"top_k": -1}' for vLLM. Fields valley sets from its own options are refused.
    #[arg(long, value_name = "JSON")]
    pub(crate) extra_body: Option<String>,
    /// Which endpoint to call.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) api: ApiArg,
    /// How a problem becomes the prompt, by LiveCodeBench's style names: auto (from --model by
    /// LiveCodeBench's model registry: Qwen2.5 instruct models CodeQwenInstruct, Llama-3
    /// instruct models LLaMa3, R1 distillates DeepSeekR1, base models GenericBase; OpenAIChat for
    /// a model it does not list), OpenAIChat, OpenAIReasonPreview, OpenAIReason,
    /// GenericOAIServer, LLaMa3, CodeQwenInstruct, QwQ, DeepSeekR1, DeepSeekCodeInstruct,
    /// GenericBase, or raw (the question text as the user turn, for teacher traces). Recorded in
    /// every record.
    #[arg(long, default_value = "auto", value_name = "STYLE")]
    pub(crate) prompt_style: String,
    /// System turn for --prompt-style raw.
    #[arg(long, value_name = "TEXT")]
    pub(crate) system: Option<String>,
    /// Tokenizer whose chat template renders prompts for --api completions.
    #[arg(long, value_name = "PATH")]
    pub(crate) tokenizer: Option<PathBuf>,
    /// Jinja chat template to use instead of the tokenizer's.
    #[arg(long, value_name = "FILE")]
    pub(crate) chat_template: Option<PathBuf>,
    /// Read a field from another input column: `--field question=input`. Repeatable.
    #[arg(long = "field", value_name = "FIELD=COLUMN")]
    pub(crate) fields: Vec<String>,
    /// Only the first N problems (after the filters below).
    #[arg(long, value_name = "N", value_parser = count::<usize>(1..=u64::MAX))]
    pub(crate) limit: Option<usize>,
    #[command(flatten)]
    pub(crate) benchmark: BenchmarkArgs,
    /// Teacher recipe (TOML, see examples/teachers.toml) for --teacher.
    #[arg(long, value_name = "FILE", requires = "teacher")]
    pub(crate) recipe: Option<PathBuf>,
    /// Sample as this teacher of --recipe: its temperature, top-p, token budget, samples per
    /// question, system turn and extra request fields, each question as the raw user turn.
    #[arg(
        long,
        value_name = "NAME",
        requires = "recipe",
        conflicts_with_all = ["n", "max_tokens", "temperature", "top_p", "extra_body", "prompt_style", "system"]
    )]
    pub(crate) teacher: Option<String>,
    /// Requests per sample at most, retries on 429, 5xx and transport errors included.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = count::<u32>(1..=1000))]
    pub(crate) max_attempts: u32,
    /// Longest wait between retries, in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS", value_parser = FloatRange::seconds(range::MAX_WAIT_SECONDS))]
    pub(crate) max_backoff: f64,
    /// Time limit of one request, in seconds.
    #[arg(long, default_value_t = 3600.0, value_name = "SECONDS", value_parser = FloatRange::seconds(range::MAX_WAIT_SECONDS))]
    pub(crate) request_timeout: f64,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Where `generate --engine` starts its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LauncherArg {
    /// srun inside a Slurm job (SLURM_JOB_ID set and srun on PATH), else local.
    Auto,
    /// Child processes on this machine.
    Local,
    /// Slurm job steps on the allocation's nodes.
    Srun,
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Problems with their tests: LiveCodeBench, TACO or assert-style rows.
    #[arg(long, value_name = "FILE")]
    pub(crate) problems: PathBuf,
    /// Generations (`question_id`, `sample_index`, `response`, …), as `valley generate` writes.
    #[arg(long, value_name = "FILE")]
    pub(crate) generations: PathBuf,
    /// Output folder: metrics.json, verdicts.jsonl, report.md.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) benchmark: BenchmarkArgs,
    /// Token budget for the completion rate: a response longer than this did not complete
    /// [default: the budget each generation was made with].
    #[arg(long, value_name = "N", value_parser = count::<u64>(1..=MAX_TOKENS))]
    pub(crate) max_tokens: Option<u64>,
    /// Tokenizer to count response tokens when the generations carry no count.
    #[arg(long, value_name = "PATH")]
    pub(crate) tokenizer: Option<PathBuf>,
    /// Which code is graded [default: the profile's, as `valley judge`: for lcb, LiveCodeBench's
    /// own rule (the lines between the last two lines holding a triple backtick, anywhere in the
    /// output; the whole output for generations made with the GenericBase style); for taco and
    /// strict, lenient]: lcb, lcb-codellama, lcb-base, after-think (only after `</think>`;
    /// unclosed reasoning submits nothing; no think block: the last fenced block), lenient or
    /// last-block, for every generation. pass@1 under after-think is reported beside it.
    #[arg(long, value_name = "MODE")]
    pub(crate) extract: Option<String>,
    /// Whose verdicts to reproduce: lcb, taco, taco-strict, strict.
    #[arg(long, default_value = "lcb", value_name = "PROFILE")]
    pub(crate) profile: String,
    /// Force the problem row format instead of detecting it per row.
    #[arg(long, value_name = "lcb|taco|assert")]
    pub(crate) problem_format: Option<String>,
    /// pass@k values to report (those above a problem's sample count are left out).
    #[arg(long, value_delimiter = ',', default_value = "1,5,10,25,50,100", value_name = "K,K,...", value_parser = count::<u64>(1..=1_000_000))]
    pub(crate) k: Vec<u64>,
    /// Bootstrap resamples for the pass@1 interval.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = count::<u32>(1..=MAX_RESAMPLES))]
    pub(crate) bootstrap_resamples: u32,
    /// Bootstrap seed (the interval is the same for the same seed on any machine).
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub(crate) bootstrap_seed: u64,
    /// Concurrent sandboxed interpreters [default: one per core; never more than the samples to
    /// run].
    #[arg(long, short = 'j', value_name = "N", value_parser = jobs())]
    pub(crate) jobs: Option<usize>,
    /// Python interpreter that runs the programs; it must import numpy (`valley judge env
    /// create DIR`) [default: $VALLEY_JUDGE_PYTHON, else python3].
    #[arg(long, value_name = "PYTHON")]
    pub(crate) python: Option<String>,
    /// Per-test time limit in seconds [default: the profile's].
    #[arg(long, value_name = "SECONDS", value_parser = FloatRange::seconds(range::MAX_TEST_SECONDS))]
    pub(crate) timeout: Option<f64>,
    /// Memory limit per grading process in MiB [default: the profile's].
    #[arg(long, value_name = "MIB", value_parser = count::<u64>(range::MEMORY_MB))]
    pub(crate) memory_mb: Option<u64>,
    /// Run even if the kernel denies part of the sandbox.
    #[arg(long)]
    pub(crate) allow_weak_sandbox: bool,
    /// Print the metrics as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `valley train`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct TrainArgs {
    #[command(subcommand)]
    pub(crate) command: Option<TrainCommand>,
    /// The training spec (TOML; `valley train --print-template` shows every key).
    #[arg(long, value_name = "F", required_unless_present = "print_template")]
    pub(crate) config: Option<PathBuf>,
    /// Print the resolved plan and write the engine configs; train nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Continue from the newest checkpoint in the run folder.
    #[arg(long)]
    pub(crate) resume: bool,
    /// Launch even when the memory pre-flight predicts the run will not fit a GPU.
    #[arg(long)]
    pub(crate) ignore_memory_check: bool,
    /// Print the commented spec template with every key and its default, and exit.
    #[arg(long)]
    pub(crate) print_template: bool,
    /// Print the plan (or the run's summary) as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Run results: one record per run (`run`, `model`, `data_size` and/or `split`, optional
    /// `base`, `pass_at_1`, `pass_at_1_ci95`, `completion_rate`, `think_tag_rate`,
    /// `n_problems`, `n_samples`, optional `per_problem` or `verdicts`), as `valley study` writes.
    #[arg(long, value_name = "FILE")]
    pub(crate) results: PathBuf,
    /// Output folder: fit.json, scaling.{md,csv,tex}, splits.*, comparisons.csv, figures,
    /// index.html, manifest.json.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Bootstrap resamples for the intervals drawn from per-problem outcomes.
    #[arg(long, default_value_t = 2_000, value_name = "N", value_parser = count::<u32>(1..=MAX_RESAMPLES))]
    pub(crate) bootstrap_resamples: u32,
    /// Bootstrap seed (the same seed gives the same intervals on any machine).
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub(crate) bootstrap_seed: u64,
    /// PNG size relative to the SVG (720x460).
    #[arg(long, default_value_t = 2.0, value_name = "X", value_parser = FloatRange::left_open(0.0, 8.0).map(|v| v as f32))]
    pub(crate) png_scale: f32,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelCommand {
    /// Write a GGUF model (Qwen2 or Llama family) as an HF folder: config.json, f32
    /// model.safetensors (dequantised, q/k rows un-permuted), tokenizer.json and
    /// tokenizer_config.json from its metadata, for engines that read only HF checkpoints.
    Export(ModelExportArgs),
    /// The next-token logits of a token sequence under a model (HF folder or GGUF), computed on
    /// the CPU by valley's native model: to check a checkpoint another engine wrote against
    /// that engine's own forward pass. Writes them as raw little-endian f32, one row of
    /// `vocab` values per position; prints positions, vocab and each position's argmax.
    Logits(ModelLogitsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ModelLogitsArgs {
    /// The model: an HF folder (config.json + safetensors) or a .gguf file.
    #[arg(long, value_name = "PATH")]
    pub(crate) model: PathBuf,
    /// The token ids, comma-separated.
    #[arg(long, value_name = "IDS", value_delimiter = ',', required = true)]
    pub(crate) ids: Vec<u32>,
    /// Where to write the logits (raw f32, little-endian, row-major).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Compute with the serving engine (`valley serve`'s): a GGUF's quantised blocks as stored,
    /// through the quantised kernels, activations quantised to 8 bits as llama.cpp does
    /// [default: the weights dequantised to f32, the training model's forward pass]. Both are
    /// the same f32 arithmetic for an HF folder.
    #[arg(long)]
    pub(crate) quantized: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ModelExportArgs {
    /// The GGUF file.
    #[arg(long, value_name = "FILE")]
    pub(crate) model: PathBuf,
    /// The HF folder to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The model: a Hugging Face folder (config.json + *.safetensors) or a `.gguf` file.
    #[arg(long, value_name = "PATH")]
    pub(crate) model: PathBuf,
    /// Tokenizer folder (tokenizer.json + tokenizer_config.json) [default: the model's own; a
    /// GGUF file's from its metadata].
    #[arg(long, value_name = "DIR")]
    pub(crate) tokenizer: Option<PathBuf>,
    /// A Jinja chat template overriding the tokenizer's.
    #[arg(long, value_name = "FILE")]
    pub(crate) chat_template: Option<PathBuf>,
    /// The model name `/v1/models` lists [default: the file or folder name].
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
    pub(crate) host: String,
    /// Port to listen on (0 picks a free one; the address is printed on stderr).
    #[arg(long, default_value_t = 8000, value_name = "PORT")]
    pub(crate) port: u16,
    /// Where the model runs: cpu, or cuda (a build with `--features cuda`).
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub(crate) device: String,
    /// Threads of the CPU engine [default: one per core].
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Sequences decoded together at most (continuous batching: concurrent requests, and the
    /// `n` choices of one, share each forward pass); more wait for a free slot.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub(crate) parallel: usize,
    /// Requantise the model's projections at load (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k,
    /// q6_k): an f32 checkpoint served with quantised weights, faster and slightly less exact
    /// [default: the file's own types].
    #[arg(long, value_name = "TYPE")]
    pub(crate) quantize: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TrainCommand {
    /// Run an engine's own preprocessing (its Python package, on the CPU) on the first traces of
    /// the spec's data and compare its input ids and loss masks with valley's, token for token;
    /// exit 1 on any mismatch.
    Check(TrainCheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TrainCheckArgs {
    /// The training spec (TOML).
    #[arg(long, value_name = "F")]
    pub(crate) config: PathBuf,
    /// The engine whose preprocessing to check: trl, torchtune, llama-factory or axolotl
    /// [default: the spec's backend].
    #[arg(long, value_name = "ENGINE")]
    pub(crate) engine: Option<String>,
    /// Traces to check (the first N rows of the data file).
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = count::<usize>(1..=u64::MAX))]
    pub(crate) sample: usize,
    /// The Python interpreter with the engine installed [default: the spec's `compute.python`].
    #[arg(long, value_name = "PY")]
    pub(crate) python: Option<String>,
    /// Folder for the check's files (valley's rows, the engine's rows, its config)
    /// [default: a temporary folder].
    #[arg(long, value_name = "DIR")]
    pub(crate) work: Option<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}
