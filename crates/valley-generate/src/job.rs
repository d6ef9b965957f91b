//! A generation job: every (task, sample) not yet on file, sent with bounded concurrency, each
//! completion appended to the journal as soon as it arrives.
//!
//! Workers (async tasks, as many as the concurrency) pull (task, sample) pairs from one queue and
//! hand finished records to a single writer thread, which appends and syncs them in batches, so a
//! record is counted only once it is durable. A sample whose request fails for good is reported
//! and left off the file, so the next run retries it.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use valley_types::{ApiKind, Generation, SamplingParams, ThinkSpan};

use crate::client::{Client, PromptBody, RequestError, RetryPolicy};
use crate::journal::{JobIdentity, Journal, JournalError};

/// Settings of a generation job, with defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateConfig {
    /// Base URL of the OpenAI-compatible API, such as `http://127.0.0.1:8000/v1`.
    pub endpoint: String,
    /// Model name sent with each request.
    pub model: String,
    /// Bearer token, if the server wants one.
    pub api_key: Option<String>,
    /// Samples per task.
    pub n: u32,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus mass.
    pub top_p: f64,
    /// Completion-token budget.
    pub max_tokens: Option<u32>,
    /// Base seed; sample `i` is sent with `seed + i`.
    pub seed: Option<u64>,
    /// Server-specific fields added to every request body; none may be one valley sets itself.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// Retries and backoff.
    pub retry: RetryPolicy,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:8000/v1".into(),
            model: "default".into(),
            api_key: None,
            n: 1,
            temperature: 0.2,
            top_p: 0.95,
            max_tokens: None,
            seed: None,
            extra_body: serde_json::Map::new(),
            concurrency: 8,
            request_timeout: Duration::from_secs(3600),
            retry: RetryPolicy::default(),
        }
    }
}

impl GenerateConfig {
    /// The settings every record of this job shares.
    pub fn identity(&self) -> JobIdentity {
        JobIdentity {
            model: self.model.clone(),
            temperature: self.temperature,
            top_p: self.top_p,
            max_tokens: self.max_tokens,
            extra: self.extra_body.clone(),
        }
    }

    /// Builds the runtime object.
    pub fn init(self) -> Result<Generator, GenerateError> {
        if self.n == 0 || self.concurrency == 0 {
            return Err(GenerateError::Config("`n` and `concurrency` must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&self.top_p) || self.temperature < 0.0 {
            return Err(GenerateError::Config(
                "`top-p` must be in [0, 1] and `temperature` at least 0".into(),
            ));
        }
        if let Some(k) = self.extra_body.keys().find(|k| RESERVED_BODY_KEYS.contains(&k.as_str())) {
            return Err(GenerateError::Config(format!(
                "extra body field `{k}`: valley sets it itself (use its own option)"
            )));
        }
        let client =
            Client::new(&self.endpoint, &self.model, self.api_key.clone(), self.request_timeout)
                .map_err(GenerateError::Client)?;
        Ok(Generator { config: self, client })
    }
}

/// The request fields valley sets from its own options, which `extra_body` may not replace.
const RESERVED_BODY_KEYS: &[&str] =
    &["model", "messages", "prompt", "n", "stream", "temperature", "top_p", "max_tokens", "seed"];

/// One prompt to sample `n` times.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The key the records carry.
    pub question_id: String,
    /// What is sent.
    pub prompt: PromptBody,
}

/// Progress of a job, reported as it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// A record is durably on file.
    Written {
        /// Its completion-token count.
        completion_tokens: Option<u64>,
        /// Its request latency.
        latency: Duration,
    },
    /// A request failed and will be retried.
    Retry {
        /// The task.
        question_id: String,
        /// The sample.
        sample_index: u32,
        /// The attempt that failed.
        attempt: u32,
        /// Why.
        error: String,
    },
    /// A sample failed for good and was left off the file.
    Failed {
        /// The task.
        question_id: String,
        /// The sample.
        sample_index: u32,
        /// Why.
        error: String,
    },
}

/// A sample left off the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The task.
    pub question_id: String,
    /// The sample.
    pub sample_index: u32,
    /// Requests sent.
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

/// What a job did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// (task, sample) pairs the job covers.
    pub planned: u64,
    /// Pairs already on file when it started.
    pub already_done: u64,
    /// Records written by this run.
    pub written: u64,
    /// Samples that failed for good (not on file).
    pub failed: Vec<Failure>,
    /// Requests retried.
    pub retries: u64,
    /// Completion tokens of the records written.
    pub completion_tokens: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Why a job could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The settings are invalid.
    #[error("invalid generation settings: {0}")]
    Config(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] RequestError),
    /// Two tasks share a question id.
    #[error("question id `{0}` appears twice in the input")]
    DuplicateQuestion(String),
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The generations file failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// A configured job runner.
#[derive(Debug)]
pub struct Generator {
    config: GenerateConfig,
    client: Client,
}

type Work = (Arc<Task>, u32);

impl Generator {
    /// The settings.
    pub fn config(&self) -> &GenerateConfig {
        &self.config
    }

    /// Samples every (task, sample) pair not yet in `journal`, appending each record as it
    /// arrives; `on_event` hears of progress from several threads.
    pub fn run(
        &self,
        tasks: Vec<Task>,
        journal: Journal,
        on_event: Arc<dyn Fn(Event) + Send + Sync>,
    ) -> Result<Summary, GenerateError> {
        let start = Instant::now();
        let mut seen = HashSet::new();
        let mut queue: VecDeque<Work> = VecDeque::new();
        let mut summary = Summary::default();
        for task in tasks {
            if !seen.insert(task.question_id.clone()) {
                return Err(GenerateError::DuplicateQuestion(task.question_id));
            }
            let task = Arc::new(task);
            for i in 0..self.config.n {
                summary.planned += 1;
                if journal.contains(&task.question_id, i) {
                    summary.already_done += 1;
                } else {
                    queue.push_back((task.clone(), i));
                }
            }
        }
        if queue.is_empty() {
            summary.elapsed = start.elapsed();
            return Ok(summary);
        }
        let workers = self.config.concurrency.min(queue.len());
        let queue = Arc::new(Mutex::new(queue));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel::<Generation>();
        let writer = {
            let on_event = on_event.clone();
            let stop = stop.clone();
            std::thread::spawn(move || write_loop(journal, &rx, &*on_event, &stop))
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(GenerateError::Runtime)?;
        let outcomes: Vec<WorkerOutcome> = runtime.block_on(async {
            let mut handles = Vec::with_capacity(workers);
            for w in 0..workers {
                let worker = Worker {
                    client: self.client.clone(),
                    config: self.config.clone(),
                    queue: queue.clone(),
                    tx: tx.clone(),
                    on_event: on_event.clone(),
                    stop: stop.clone(),
                    rng: seed_for(w),
                };
                handles.push(tokio::spawn(worker.run()));
            }
            let mut outcomes = Vec::with_capacity(workers);
            for h in handles {
                outcomes.push(
                    h.await.expect("a generation worker panicked; this is a bug, please report it"),
                );
            }
            outcomes
        });
        drop(tx);
        let written =
            writer.join().expect("the journal writer panicked; this is a bug, please report it")?;
        for o in outcomes {
            summary.failed.extend(o.failed);
            summary.retries += o.retries;
        }
        summary.written = written.records;
        summary.completion_tokens = written.completion_tokens;
        summary.elapsed = start.elapsed();
        Ok(summary)
    }
}

#[derive(Default)]
struct Written {
    records: u64,
    completion_tokens: u64,
}

fn write_loop(
    mut journal: Journal,
    rx: &std::sync::mpsc::Receiver<Generation>,
    on_event: &(dyn Fn(Event) + Send + Sync),
    stop: &AtomicBool,
) -> Result<Written, JournalError> {
    let mut written = Written::default();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        if let Err(e) = journal.append(&batch) {
            stop.store(true, Ordering::SeqCst);
            return Err(e);
        }
        for g in &batch {
            written.records += 1;
            written.completion_tokens += g.completion_tokens.unwrap_or(0);
            on_event(Event::Written {
                completion_tokens: g.completion_tokens,
                latency: Duration::from_millis(g.latency_ms),
            });
        }
    }
    Ok(written)
}

struct Worker {
    client: Client,
    config: GenerateConfig,
    queue: Arc<Mutex<VecDeque<Work>>>,
    tx: std::sync::mpsc::Sender<Generation>,
    on_event: Arc<dyn Fn(Event) + Send + Sync>,
    stop: Arc<AtomicBool>,
    rng: u64,
}

#[derive(Default)]
struct WorkerOutcome {
    failed: Vec<Failure>,
    retries: u64,
}

impl Worker {
    async fn run(mut self) -> WorkerOutcome {
        let mut outcome = WorkerOutcome::default();
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return outcome;
            }
            let next = self.queue.lock().expect("queue lock poisoned").pop_front();
            let Some((task, sample_index)) = next else { return outcome };
            let params = SamplingParams {
                temperature: self.config.temperature,
                top_p: self.config.top_p,
                max_tokens: self.config.max_tokens,
                seed: self.config.seed.map(|s| s.wrapping_add(u64::from(sample_index))),
                extra: self.config.extra_body.clone(),
            };
            let mut rng = self.rng;
            let on_event = self.on_event.clone();
            let mut retries = 0;
            let result = self
                .client
                .send(
                    &task.prompt,
                    &params,
                    &self.config.retry,
                    || unit_float(&mut rng),
                    |attempt, e| {
                        retries += 1;
                        on_event(Event::Retry {
                            question_id: task.question_id.clone(),
                            sample_index,
                            attempt,
                            error: e.to_string(),
                        });
                    },
                )
                .await;
            self.rng = rng;
            outcome.retries += retries;
            match result {
                Ok(c) => {
                    let think = Some(ThinkSpan::of(&c.text));
                    let g = Generation {
                        question_id: task.question_id.clone(),
                        sample_index,
                        response: c.text,
                        finish_reason: c.finish_reason,
                        prompt_tokens: c.prompt_tokens,
                        completion_tokens: c.completion_tokens,
                        model: self.config.model.clone(),
                        api: match task.prompt {
                            PromptBody::Chat(_) => ApiKind::Chat,
                            PromptBody::Text(_) => ApiKind::Completions,
                        },
                        params: Some(params),
                        latency_ms: c.latency.as_millis() as u64,
                        attempts: c.attempts,
                        think,
                    };
                    if self.tx.send(g).is_err() {
                        return outcome;
                    }
                }
                Err((e, attempts)) => {
                    let error = error_chain(&e);
                    (self.on_event)(Event::Failed {
                        question_id: task.question_id.clone(),
                        sample_index,
                        error: error.clone(),
                    });
                    outcome.failed.push(Failure {
                        question_id: task.question_id.clone(),
                        sample_index,
                        attempts,
                        error,
                    });
                }
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

fn seed_for(worker: usize) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) ^ ((worker as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// A value in [0, 1) from a xorshift step; only used to spread retries apart.
fn unit_float(state: &mut u64) -> f64 {
    let mut x = *state | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}
