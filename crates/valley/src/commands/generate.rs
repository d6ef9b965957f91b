//! `valley generate`: sample completions of each problem from OpenAI-compatible servers (given,
//! or started here with `--engine`) into a resumable JSONL file.

mod engine;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use valley_data::io::{ClaimOutputs, FieldMap, OutputKind, RowReader};
use valley_generate::{
    Event, GenerateConfig, Journal, Monitor, Pool, PromptBody, PromptStyle, ReplicaState,
    RetryPolicy, Summary, Task, lcb_prompt, question_messages,
};
use valley_types::PromptShape;

use crate::args::{ApiArg, GenerateArgs};
use crate::commands::benchmark;
use crate::exit::Hint;
use crate::printer;

/// Environment variables holding the bearer token, in order of preference.
pub(crate) const API_KEY_VARS: [&str; 2] = ["VALLEY_API_KEY", "OPENAI_API_KEY"];

/// How long the server may take to answer the first probe.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How problems become requests.
enum Prompting {
    Lcb(PromptStyle),
    Raw(Option<String>),
}

impl Prompting {
    fn style(&self) -> PromptStyle {
        match self {
            Self::Lcb(s) => *s,
            Self::Raw(_) => PromptStyle::Raw,
        }
    }
}

/// The prompt style: `auto` picks it from the model's name as LiveCodeBench's registry does
/// (`OpenAIChat` for a model it does not list).
fn prompting(args: &GenerateArgs) -> anyhow::Result<Prompting> {
    let style = match args.prompt_style.as_str() {
        "auto" => match PromptStyle::for_model(&args.model) {
            Some(s) => {
                tracing::info!("prompt style {s}: LiveCodeBench's style for `{}`", args.model);
                s
            }
            None => {
                tracing::info!(
                    "prompt style OpenAIChat: `{}` is not in LiveCodeBench's model registry (set --prompt-style to choose)",
                    args.model
                );
                PromptStyle::OpenAIChat
            }
        },
        s => s.parse().map_err(|e: String| anyhow::anyhow!("--prompt-style: {e}"))?,
    };
    match style {
        PromptStyle::Raw => Ok(Prompting::Raw(args.system.clone())),
        s if args.system.is_some() => {
            bail!("--system: only used with --prompt-style raw (style {s} has its own system turn)")
        }
        s => Ok(Prompting::Lcb(s)),
    }
}

/// `--recipe R --teacher T`: the teacher's sampling settings, each question as the raw user
/// turn.
fn apply_teacher(args: &mut GenerateArgs) -> anyhow::Result<()> {
    let (Some(path), Some(name)) = (&args.recipe, &args.teacher) else { return Ok(()) };
    let recipe = valley_generate::TeacherRecipe::load(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let t = recipe.teacher(path, name)?;
    args.n = t.n;
    args.temperature = t.temperature;
    args.top_p = t.top_p;
    args.max_tokens = t.max_tokens;
    args.system = t.system.clone();
    args.prompt_style = "raw".into();
    if !t.extra_body.is_empty() {
        args.extra_body = Some(Value::Object(t.extra_body.clone()).to_string());
    }
    Ok(())
}

pub(crate) fn run(mut args: GenerateArgs) -> anyhow::Result<u8> {
    apply_teacher(&mut args)?;
    let plan = match &args.engine {
        Some(e) => Some(engine::Plan::from_args(&args, e)?),
        None => None,
    };
    if args.dry_run
        && let Some(plan) = &plan
    {
        let (value, human) = plan.describe();
        printer::summary(args.json, &value, &human)?;
        return Ok(crate::exit::SUCCESS);
    }
    if plan.is_none() && args.endpoint.iter().any(|e| e.trim().is_empty()) {
        bail!("--endpoint: expected a URL such as http://127.0.0.1:8000/v1");
    }
    let prompting = prompting(&args)?;
    let api = match (args.api, prompting.style().shape()) {
        (ApiArg::Auto, PromptShape::Chat) | (ApiArg::Chat, PromptShape::Chat) => ApiArg::Chat,
        (ApiArg::Auto | ApiArg::Completions, PromptShape::Text) => ApiArg::Completions,
        (ApiArg::Completions, PromptShape::Chat) => ApiArg::Completions,
        (ApiArg::Chat, PromptShape::Text) => bail!(
            "--api chat: prompt style {} is raw text (LiveCodeBench sends it to the model as is); use --api completions or another --prompt-style",
            prompting.style()
        ),
    };
    let _claim = ClaimOutputs::new()
        .input("--problems", &args.problems)
        .input_opt("--tokenizer", args.tokenizer.as_deref())
        .input_opt("--chat-template", args.chat_template.as_deref())
        .output("--out", &args.out, OutputKind::File)
        .output_opt("--engine-logs", args.engine_logs.as_deref(), OutputKind::Folder)
        .claim()?;
    let renderer = match (api, prompting.style().shape(), &args.tokenizer) {
        (ApiArg::Completions, PromptShape::Chat, Some(t)) => Some(
            valley_data::chat::ChatTokenizer::load(t, args.chat_template.as_deref())
                .with_context(|| format!("cannot load tokenizer {}", t.display()))?,
        ),
        (ApiArg::Completions, PromptShape::Chat, None) => {
            bail!("--api completions needs --tokenizer, whose chat template renders the prompts")
        }
        _ => None,
    };
    let fields = FieldMap::parse(&args.fields).map_err(|e| anyhow::anyhow!("--field: {e}"))?;
    let mut tasks = Vec::new();
    let benchmark = benchmark::resolve(&args.problems, &args.benchmark)?;
    for (at, id, body) in read_prompts(&benchmark, &fields, &prompting, args.limit)? {
        let prompt = match (&renderer, body) {
            (Some(r), PromptBody::Chat(messages)) => {
                let turns: Vec<valley_data::chat::Message> = messages
                    .iter()
                    .map(|m| valley_data::chat::Message::new(m.role.clone(), m.content.clone()))
                    .collect();
                PromptBody::Text(
                    r.render_text(&turns, true)
                        .with_context(|| format!("{at}: cannot render the prompt"))?,
                )
            }
            (_, body) => body,
        };
        tasks.push(Task { question_id: id, prompt, prompt_style: Some(prompting.style()) });
    }
    if args.dry_run {
        return print_requests(&tasks, args.json);
    }
    let api_key = API_KEY_VARS.iter().find_map(|v| std::env::var(v).ok().filter(|k| !k.is_empty()));
    let config = GenerateConfig {
        // With --engine, the servers' addresses are known once they are up.
        endpoints: if plan.is_some() {
            vec!["http://127.0.0.1:0/v1".into()]
        } else {
            args.endpoint.clone()
        },
        model: plan.as_ref().map_or_else(|| args.model.clone(), |p| p.served_name().to_owned()),
        api_key,
        n: args.n,
        temperature: args.temperature,
        top_p: args.top_p,
        max_tokens: args.max_tokens,
        seed: args.seed,
        extra_body: match &args.extra_body {
            None => serde_json::Map::new(),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(other) => bail!("--extra-body: expected a JSON object, got {other}"),
                Err(e) => bail!("--extra-body: not JSON: {e}"),
            },
        },
        concurrency: args.concurrency,
        request_timeout: Duration::from_secs_f64(args.request_timeout),
        retry: RetryPolicy {
            max_attempts: args.max_attempts,
            max_backoff: Duration::from_secs_f64(args.max_backoff),
            ..RetryPolicy::default()
        },
        hedge: !args.no_hedge,
    };
    // Every setting is checked, and the server must answer, before the output file is created.
    let identity = config.identity();
    let generator = config.init().context("invalid generation settings")?;
    if plan.is_none() {
        generator.check_endpoints(CONNECT_TIMEOUT)?;
    }
    let (journal, resumed) = Journal::open(&args.out, Some(&identity)).map_err(|e| {
        let hint = match &e {
            valley_generate::JournalError::Mismatch { .. } => {
                Some("write to a new --out file, or rerun with the settings the file was made with")
            }
            _ => None,
        };
        let err = anyhow::Error::new(e);
        match hint {
            Some(h) => err.context(Hint {
                message: "cannot resume the generation job".into(),
                hint: h.into(),
            }),
            None => err,
        }
    })?;
    if resumed.torn_bytes > 0 {
        tracing::warn!(
            "{}: cut off a torn last line ({} bytes) left by an interrupted run",
            args.out.display(),
            resumed.torn_bytes
        );
    }
    if resumed.duplicates > 0 {
        tracing::warn!(
            "{}: {} duplicate records on file are ignored",
            args.out.display(),
            resumed.duplicates
        );
    }
    let total = tasks.len() as u64 * u64::from(args.n);
    let missing: usize = tasks
        .iter()
        .map(|t| (0..args.n).filter(|&i| !journal.contains(&t.question_id, i)).count())
        .sum();
    // Everything is checked: only now are servers started, and only if there is work.
    let (pool, running) = match plan {
        Some(plan) if missing > 0 => {
            let r = engine::Running::start(plan, engine::stop_on_signal())?;
            (r.pool.clone(), Some(r))
        }
        Some(_) => (Arc::new(Pool::new(Vec::new())), None),
        None => (Arc::new(Pool::new(args.endpoint.clone())), None),
    };
    let progress = Progress::new(total, generator.monitor(), pool.clone());
    let result = {
        let progress = progress.clone();
        generator.run_on(&pool, tasks, journal, Arc::new(move |e| progress.event(&e)))
    };
    progress.finish();
    let interrupted = running.as_ref().is_some_and(|r| r.stop.load(Ordering::SeqCst));
    let logs = running.as_ref().map(|r| r.fleet.config().log_dir.clone());
    if let Some(r) = running {
        r.shut_down();
    }
    let summary =
        result.with_context(|| format!("generation into {} stopped", args.out.display()))?;
    if interrupted {
        bail!(
            "interrupted by a signal: the servers are stopped; {} of {} samples are on file in {} \
             (run the same command again to finish)",
            summary.already_done + summary.written,
            summary.planned,
            args.out.display()
        );
    }
    let report = Report {
        summary: &summary,
        out: &args.out,
        resumed_records: resumed.records,
        engine_logs: logs.as_deref(),
    };
    printer::summary(args.json, &report.json(), &report.human())?;
    if !summary.failed.is_empty() {
        let first = &summary.failed[0];
        if pool.states().iter().all(|s| *s == ReplicaState::Gone) {
            return Err(anyhow::Error::new(Hint {
                message: format!(
                    "every server died and was given up on; {} of {} samples are not on file",
                    summary.failed.len(),
                    summary.planned
                ),
                hint: format!(
                    "see the servers' logs{}, then run the same command again: it sends only \
                     the missing samples",
                    logs.as_ref().map_or_else(String::new, |l| format!(" in {}", l.display()))
                ),
            }));
        }
        return Err(anyhow::Error::new(Hint {
            message: format!(
                "{} of {} samples failed after their retries (first: {}/{}: {})",
                summary.failed.len(),
                summary.planned,
                first.question_id,
                first.sample_index,
                first.error
            ),
            hint: "run the same command again: it sends only the missing samples".into(),
        }));
    }
    Ok(crate::exit::SUCCESS)
}

/// What `--dry-run` prints: one line per problem with what would be sent.
fn print_requests(tasks: &[Task], json: bool) -> anyhow::Result<u8> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for t in tasks {
        let line = match &t.prompt {
            PromptBody::Chat(m) => {
                json!({"question_id": t.question_id, "prompt_style": t.prompt_style, "api": "chat", "messages": m})
            }
            PromptBody::Text(p) => {
                json!({"question_id": t.question_id, "prompt_style": t.prompt_style, "api": "completions", "prompt": p})
            }
        };
        if json {
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "{}", serde_json::to_string_pretty(&line)?)?;
        }
    }
    Ok(crate::exit::SUCCESS)
}

type Prompt = (String, String, PromptBody);

/// Reads (line, question id, prompt) for each row the benchmark keeps; the id comes from
/// `question_id`, `task_id`, `problem_id` or `id`, as the judge reads it.
fn read_prompts(
    benchmark: &valley_eval::Benchmark,
    fields: &FieldMap,
    prompting: &Prompting,
    limit: Option<usize>,
) -> anyhow::Result<Vec<Prompt>> {
    let mut out: Vec<Prompt> = Vec::new();
    for path in benchmark.files() {
        read_prompts_of(path, benchmark, fields, prompting, limit, &mut out)?;
    }
    // an id is a key: two rows with one id would share one set of samples (issue 14)
    let mut first: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (at, id, _) in &out {
        if let Some(before) = first.insert(id, at) {
            bail!("{at}: field `question_id`: duplicate id `{id}` (first on {before})");
        }
    }
    Ok(out)
}

fn read_prompts_of(
    path: &Path,
    benchmark: &valley_eval::Benchmark,
    fields: &FieldMap,
    prompting: &Prompting,
    limit: Option<usize>,
    out: &mut Vec<Prompt>,
) -> anyhow::Result<()> {
    for row in RowReader::open(path).with_context(|| format!("cannot read {}", path.display()))? {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        let row = row?;
        let at = |what: &str| format!("{}:{}: {what}", path.display(), row.line);
        let value: Value = serde_json::from_slice(&row.json).with_context(|| at("invalid JSON"))?;
        let Value::Object(mut map) = value else { bail!(at("not a JSON object")) };
        if let Some((field, column)) = fields.absent_column(&map) {
            bail!(at(&format!("field `{field}` (column `{column}`): missing")));
        }
        fields.apply(&mut map);
        if !benchmark.keep(&map, path, row.line)? {
            continue;
        }
        let id = ["question_id", "task_id", "problem_id", "id"]
            .iter()
            .find_map(|k| match map.get(*k) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| {
                anyhow::anyhow!(at(
                    "field `question_id`: missing (also looked for task_id, problem_id, id)"
                ))
            })?;
        let text_field =
            ["question_content", "question", "prompt"].into_iter().find(|k| map.contains_key(*k));
        let Some(text_field) = text_field else {
            bail!(at("field `question_content`: missing (also looked for question, prompt)"));
        };
        let Some(text) = map[text_field].as_str() else {
            bail!(at(&format!("field `{text_field}`: expected a string")));
        };
        let starter = match map.get("starter_code") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => bail!(at("field `starter_code`: expected a string")),
        };
        let prompt = match prompting {
            Prompting::Lcb(style) => lcb_prompt(text, starter, *style),
            Prompting::Raw(system) => PromptBody::Chat(question_messages(text, system.as_deref())),
        };
        out.push((format!("{}:{}", path.display(), row.line), id, prompt));
    }
    Ok(())
}

/// The progress bar: records on file, their rate, tokens per second, the slowest request out,
/// replicas up, retries and failures; refreshed every second on a terminal, and told as a line
/// every 30 seconds otherwise (a study step's or a Slurm job's log).
#[derive(Clone)]
struct Progress {
    bar: indicatif::ProgressBar,
    tokens: Arc<AtomicU64>,
    retries: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    start: std::time::Instant,
    monitor: Monitor,
    pool: Arc<Pool>,
    done: Arc<AtomicBool>,
}

impl Progress {
    fn new(total: u64, monitor: Monitor, pool: Arc<Pool>) -> Self {
        let bar = indicatif::ProgressBar::new(total);
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        if !terminal {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "generating {bar:30} {pos}/{len} {per_sec} eta {eta} {msg}",
            )
            .expect("static progress template"),
        );
        let p = Self {
            bar,
            tokens: Arc::default(),
            retries: Arc::default(),
            failed: Arc::default(),
            start: std::time::Instant::now(),
            monitor,
            pool,
            done: Arc::default(),
        };
        let ticker = p.clone();
        std::thread::spawn(move || {
            let mut last_line = std::time::Instant::now();
            while !ticker.done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(500));
                ticker.refresh();
                if !terminal && last_line.elapsed() >= Duration::from_secs(30) {
                    last_line = std::time::Instant::now();
                    ticker.line();
                }
            }
        });
        p
    }

    fn event(&self, e: &Event) {
        match e {
            Event::Written { completion_tokens, .. } => {
                self.tokens.fetch_add(completion_tokens.unwrap_or(0), Ordering::Relaxed);
                self.bar.inc(1);
            }
            Event::Retry { question_id, sample_index, attempt, error } => {
                self.retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    "retrying {question_id}/{sample_index} after attempt {attempt}: {error}"
                );
            }
            Event::Failed { question_id, sample_index, error } => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("{question_id}/{sample_index} failed: {error}");
            }
        }
        self.refresh();
    }

    fn message(&self) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let mut m = format!("{:.0} tok/s", self.tokens.load(Ordering::Relaxed) as f64 / secs);
        if let Some(s) = self.monitor.slowest() {
            m.push_str(&format!(
                ", slowest {}/{} {:.0}s",
                s.question_id,
                s.sample_index,
                s.elapsed.as_secs_f64()
            ));
            if self.pool.len() > 1 {
                m.push_str(&format!(" on replica {}", s.replica));
            }
        }
        if self.pool.len() > 1 {
            let up = self.pool.states().iter().filter(|s| **s == ReplicaState::Up).count();
            m.push_str(&format!(", {up}/{} replicas up", self.pool.len()));
        }
        m.push_str(&format!(
            ", {} retries, {} failed",
            self.retries.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed)
        ));
        m
    }

    fn refresh(&self) {
        self.bar.set_message(self.message());
    }

    #[expect(clippy::print_stderr, reason = "progress goes to stderr")]
    fn line(&self) {
        eprintln!(
            "generating: {}/{} samples, {}",
            self.bar.position(),
            self.bar.length().unwrap_or(0),
            self.message()
        );
    }

    fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
        self.bar.finish_and_clear();
    }
}

struct Report<'a> {
    summary: &'a Summary,
    out: &'a Path,
    resumed_records: u64,
    engine_logs: Option<&'a Path>,
}

impl Report<'_> {
    fn json(&self) -> Value {
        let s = self.summary;
        let secs = s.elapsed.as_secs_f64();
        json!({
            "out": self.out,
            "planned": s.planned,
            "already_done": s.already_done,
            "records_on_file_at_start": self.resumed_records,
            "written": s.written,
            "failed": s.failed.len(),
            "retries": s.retries,
            "completion_tokens": s.completion_tokens,
            "wall_s": secs,
            "records_per_s": if secs > 0.0 { s.written as f64 / secs } else { 0.0 },
            "tokens_per_s": if secs > 0.0 { s.completion_tokens as f64 / secs } else { 0.0 },
            "replicas": s.per_replica.len(),
            "per_replica": s.per_replica,
            "hedged": s.hedged,
            "hedge_wins": s.hedge_wins,
            "replica_losses": s.replica_losses,
            "engine_logs": self.engine_logs,
        })
    }

    fn human(&self) -> String {
        let s = self.summary;
        let secs = s.elapsed.as_secs_f64();
        let mut text = format!(
            "{} of {} samples on file in {} ({} written now, {} already there)\n",
            s.already_done + s.written,
            s.planned,
            self.out.display(),
            s.written,
            s.already_done
        );
        if s.written > 0 {
            text.push_str(&format!(
                "{:.1}s, {:.2} samples/s, {:.0} completion tokens/s, {} retries\n",
                secs,
                s.written as f64 / secs.max(1e-9),
                s.completion_tokens as f64 / secs.max(1e-9),
                s.retries
            ));
        }
        if !s.failed.is_empty() {
            text.push_str(&format!("{} samples failed and are not on file\n", s.failed.len()));
        }
        text
    }
}
