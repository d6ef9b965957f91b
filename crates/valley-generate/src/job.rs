//! A generation job: every (task, sample) not yet on file, sent with bounded concurrency over
//! one or more replicas of the model, each completion appended to the journal as soon as it
//! arrives.
//!
//! Workers (async tasks, `concurrency` per replica) pull (task, sample) pairs from one queue,
//! send each to the up replica with the least outstanding requests ([`Pool`]) and hand finished
//! records to a single writer thread, which appends and syncs them in batches, so a record is
//! counted only once it is durable. A sample whose request fails for good is reported and left
//! off the file, so the next run retries it.
//!
//! Replicas fail and straggle. A request that fails because its replica's server died (the pool's
//! probe says so) is sent again to another replica without spending one of its attempts; while
//! every replica is down (restarting) workers wait. Once the queue is empty, idle workers send a
//! second copy of a request that has been out for much longer than usual (twice the median
//! latency so far, and at least 250 ms) to another replica, and whichever answers first is the record: the other is
//! cancelled. So a run is never held hostage by one slow replica, and each sample is written
//! exactly once.

mod settings;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use valley_types::{ApiKind, Generation, SamplingParams, ThinkSpan};

use crate::client::{Client, Completion, RequestError};
use crate::journal::{Journal, JournalError};
use crate::pool::{Pick, Pool};
use crate::prompt::PromptBody;

pub use settings::{Event, Failure, GenerateConfig, GenerateError, Summary, Task};
use settings::{RESERVED_BODY_KEYS, check_endpoint_url};

impl GenerateConfig {
    /// Builds the runtime object; every setting is checked here, before any request is sent or
    /// any file is opened.
    pub fn init(self) -> Result<Generator, GenerateError> {
        if self.n == 0 || self.concurrency == 0 {
            return Err(GenerateError::Config("`n` and `concurrency` must be at least 1".into()));
        }
        // NaN fails both comparisons, so it is refused too
        let top_p_ok = self.top_p > 0.0 && self.top_p <= 1.0;
        let temperature_ok = self.temperature >= 0.0 && self.temperature.is_finite();
        if !(top_p_ok && temperature_ok) {
            return Err(GenerateError::Config(
                "`top-p` must be in (0, 1] and `temperature` a finite number at least 0".into(),
            ));
        }
        if self.request_timeout.is_zero() || self.retry.max_attempts == 0 {
            return Err(GenerateError::Config(
                "the request timeout must be positive and `max-attempts` at least 1".into(),
            ));
        }
        for endpoint in &self.endpoints {
            check_endpoint_url(endpoint)?;
        }
        if let Some(k) = self.extra_body.keys().find(|k| RESERVED_BODY_KEYS.contains(&k.as_str())) {
            return Err(GenerateError::Config(format!(
                "extra body field `{k}`: valley sets it itself (use its own option)"
            )));
        }
        let Some(first) = self.endpoints.first() else {
            return Err(GenerateError::Config("no endpoint to send requests to".into()));
        };
        let client = Client::new(first, &self.model, self.api_key.clone(), self.request_timeout)
            .map_err(GenerateError::Client)?;
        Ok(Generator { config: self, client, flights: Arc::default() })
    }
}

/// A configured job runner.
#[derive(Debug)]
pub struct Generator {
    config: GenerateConfig,
    client: Client,
    flights: Arc<Flights>,
}

/// A request out on a replica, as [`Monitor::slowest`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outstanding {
    /// The task.
    pub question_id: String,
    /// The sample.
    pub sample_index: u32,
    /// The replica it is on (the latest, when hedged).
    pub replica: usize,
    /// Time since it was first sent.
    pub elapsed: Duration,
}

/// A live view of a running job, for progress displays.
#[derive(Debug, Clone)]
pub struct Monitor {
    flights: Arc<Flights>,
}

impl Monitor {
    /// The request out the longest, if any.
    pub fn slowest(&self) -> Option<Outstanding> {
        let map = self.flights.map.lock().expect("flights lock poisoned");
        map.values().min_by_key(|f| f.started).map(|f| Outstanding {
            question_id: f.task.question_id.clone(),
            sample_index: f.sample_index,
            replica: f.replica.load(Ordering::SeqCst),
            elapsed: f.started.elapsed(),
        })
    }

    /// Requests out now.
    pub fn in_flight(&self) -> usize {
        self.flights.map.lock().expect("flights lock poisoned").len()
    }
}

type Work = (Arc<Task>, u32);
type Key = (String, u32);

/// Samples out on replicas, for hedging and for the progress display.
#[derive(Debug, Default)]
struct Flights {
    map: Mutex<HashMap<Key, Arc<Flight>>>,
    /// Latencies of completed samples, for the straggler threshold.
    latencies: Mutex<Vec<Duration>>,
}

#[derive(Debug)]
struct Flight {
    task: Arc<Task>,
    sample_index: u32,
    params: SamplingParams,
    started: Instant,
    replica: AtomicUsize,
    /// Set by the runner whose answer becomes the record.
    claimed: AtomicBool,
    hedged: AtomicBool,
    /// Runners still working on it (the first, and a hedge).
    runners: AtomicUsize,
    /// Wakes the other runner once one has the answer.
    done: tokio::sync::Notify,
}

impl Flight {
    fn key(&self) -> Key {
        (self.task.question_id.clone(), self.sample_index)
    }
}

/// What a runner ended with.
enum Outcome {
    Answer(Completion, u32),
    Failed(RequestError, u32),
    /// Every replica is gone.
    NoReplica,
    /// The other runner answered first.
    Cancelled,
}

impl Generator {
    /// The settings.
    pub fn config(&self) -> &GenerateConfig {
        &self.config
    }

    /// Checks that every endpoint's server answers (see [`Client::probe`]) within `timeout`, so
    /// an endpoint that refuses connections fails at once, naming it, instead of after every
    /// sample's retries. A server that answers with an error status passes: requests will tell.
    pub fn check_endpoints(&self, timeout: Duration) -> Result<(), GenerateError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(GenerateError::Runtime)?;
        for endpoint in &self.config.endpoints {
            runtime.block_on(self.client.probe(endpoint, timeout)).map_err(|source| {
                GenerateError::Unreachable { endpoint: endpoint.clone(), source }
            })?;
        }
        Ok(())
    }

    /// A live view of the job, for progress displays.
    pub fn monitor(&self) -> Monitor {
        Monitor { flights: self.flights.clone() }
    }

    /// Samples every (task, sample) pair not yet in `journal` from the configured endpoints,
    /// appending each record as it arrives; `on_event` hears of progress from several threads.
    pub fn run(
        &self,
        tasks: Vec<Task>,
        journal: Journal,
        on_event: Arc<dyn Fn(Event) + Send + Sync>,
    ) -> Result<Summary, GenerateError> {
        let pool = Arc::new(Pool::new(self.config.endpoints.clone()));
        self.run_on(&pool, tasks, journal, on_event)
    }

    /// As [`Generator::run`], over the replicas of `pool` (whose states someone else may change
    /// while the job runs: servers restarted, given up on).
    pub fn run_on(
        &self,
        pool: &Arc<Pool>,
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
        if queue.is_empty() || pool.is_empty() {
            summary.elapsed = start.elapsed();
            return Ok(summary);
        }
        let workers = (self.config.concurrency * pool.len()).min(queue.len().max(pool.len()));
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
        let counters = Arc::new(Counters::default());
        let failed: Arc<Mutex<Vec<Failure>>> = Arc::default();
        runtime.block_on(async {
            let mut handles = Vec::with_capacity(workers);
            for w in 0..workers {
                let worker = Worker {
                    client: self.client.clone(),
                    config: self.config.clone(),
                    pool: pool.clone(),
                    queue: queue.clone(),
                    flights: self.flights.clone(),
                    tx: tx.clone(),
                    on_event: on_event.clone(),
                    stop: stop.clone(),
                    counters: counters.clone(),
                    failed: failed.clone(),
                    rng: seed_for(w),
                };
                handles.push(tokio::spawn(worker.run()));
            }
            for h in handles {
                h.await.expect("a generation worker panicked; this is a bug, please report it");
            }
        });
        drop(tx);
        let written =
            writer.join().expect("the journal writer panicked; this is a bug, please report it")?;
        summary.failed = std::mem::take(&mut *failed.lock().expect("lock poisoned"));
        summary.retries = counters.retries.load(Ordering::SeqCst);
        summary.hedged = counters.hedged.load(Ordering::SeqCst);
        summary.hedge_wins = counters.hedge_wins.load(Ordering::SeqCst);
        summary.replica_losses = counters.replica_losses.load(Ordering::SeqCst);
        summary.per_replica = pool.completed();
        summary.written = written.records;
        summary.completion_tokens = written.completion_tokens;
        summary.elapsed = start.elapsed();
        Ok(summary)
    }
}

#[derive(Debug, Default)]
struct Counters {
    retries: AtomicU64,
    hedged: AtomicU64,
    hedge_wins: AtomicU64,
    replica_losses: AtomicU64,
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
    pool: Arc<Pool>,
    queue: Arc<Mutex<VecDeque<Work>>>,
    flights: Arc<Flights>,
    tx: std::sync::mpsc::Sender<Generation>,
    on_event: Arc<dyn Fn(Event) + Send + Sync>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    failed: Arc<Mutex<Vec<Failure>>>,
    rng: u64,
}

/// How often idle workers look for stragglers once the queue is empty.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// How often a worker looks again while every replica is down.
const DOWN_POLL: Duration = Duration::from_millis(200);
/// A request is a straggler only once out this long at least: below it, a second copy would
/// cost more than it could save.
const MIN_STRAGGLE: Duration = Duration::from_millis(250);
/// Resends to another replica after a server died, per runner, at most (a bound in case a probe
/// keeps saying so).
const MAX_LOST: u32 = 64;

impl Worker {
    async fn run(mut self) {
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let next = self.queue.lock().expect("queue lock poisoned").pop_front();
            if let Some((task, sample_index)) = next {
                let flight = self.take_off(task, sample_index);
                self.fly(&flight, None).await;
                continue;
            }
            if self.flights.map.lock().expect("flights lock poisoned").is_empty() {
                return;
            }
            match self.straggler() {
                Some((flight, avoid)) => self.fly(&flight, Some(avoid)).await,
                None => tokio::time::sleep(IDLE_POLL).await,
            }
        }
    }

    fn take_off(&self, task: Arc<Task>, sample_index: u32) -> Arc<Flight> {
        let params = SamplingParams {
            temperature: self.config.temperature,
            top_p: self.config.top_p,
            max_tokens: self.config.max_tokens,
            seed: self.config.seed.map(|s| s.wrapping_add(u64::from(sample_index))),
            extra: self.config.extra_body.clone(),
        };
        let flight = Arc::new(Flight {
            task,
            sample_index,
            params,
            started: Instant::now(),
            replica: AtomicUsize::new(0),
            claimed: AtomicBool::new(false),
            hedged: AtomicBool::new(false),
            runners: AtomicUsize::new(1),
            done: tokio::sync::Notify::new(),
        });
        self.flights
            .map
            .lock()
            .expect("flights lock poisoned")
            .insert(flight.key(), flight.clone());
        flight
    }

    /// A request out for more than twice the median latency so far (and 250 ms), not hedged yet, on a
    /// replica other than the one a new request would go to; it is marked hedged and counted as
    /// having a second runner.
    fn straggler(&self) -> Option<(Arc<Flight>, usize)> {
        if !self.config.hedge || self.pool.len() < 2 {
            return None;
        }
        let threshold = {
            let mut l = self.flights.latencies.lock().expect("latencies lock poisoned");
            if l.is_empty() {
                return None;
            }
            let mid = l.len() / 2;
            (*l.select_nth_unstable(mid).1 * 2).max(MIN_STRAGGLE)
        };
        let map = self.flights.map.lock().expect("flights lock poisoned");
        let flight = map
            .values()
            .filter(|f| {
                !f.hedged.load(Ordering::SeqCst)
                    && !f.claimed.load(Ordering::SeqCst)
                    && f.started.elapsed() > threshold
            })
            .min_by_key(|f| f.started)?
            .clone();
        let on = flight.replica.load(Ordering::SeqCst);
        match self.pool.pick(Some(on)) {
            Pick::Replica(i, _, _) if i != on => {}
            _ => return None,
        }
        flight.hedged.store(true, Ordering::SeqCst);
        flight.runners.fetch_add(1, Ordering::SeqCst);
        self.counters.hedged.fetch_add(1, Ordering::SeqCst);
        Some((flight, on))
    }

    /// Runs one runner of `flight` to its end: the first (`avoid` none) or a hedge (avoiding the
    /// replica the first is on).
    async fn fly(&mut self, flight: &Arc<Flight>, avoid: Option<usize>) {
        let hedge = avoid.is_some();
        let outcome = self.attempts(flight, avoid).await;
        match outcome {
            Outcome::Answer(c, attempts) => {
                if flight.claimed.swap(true, Ordering::SeqCst) {
                    return;
                }
                if hedge {
                    self.counters.hedge_wins.fetch_add(1, Ordering::SeqCst);
                }
                flight.done.notify_waiters();
                self.land(flight);
                self.flights.latencies.lock().expect("latencies lock poisoned").push(c.latency);
                let g = Generation {
                    question_id: flight.task.question_id.clone(),
                    sample_index: flight.sample_index,
                    response: c.text.clone(),
                    finish_reason: c.finish_reason.clone(),
                    prompt_tokens: c.prompt_tokens,
                    completion_tokens: c.completion_tokens,
                    model: self.config.model.clone(),
                    api: match flight.task.prompt {
                        PromptBody::Chat(_) => ApiKind::Chat,
                        PromptBody::Text(_) => ApiKind::Completions,
                    },
                    prompt_style: flight.task.prompt_style,
                    params: Some(flight.params.clone()),
                    latency_ms: c.latency.as_millis() as u64,
                    attempts,
                    think: Some(ThinkSpan::of(&c.text)),
                };
                if self.tx.send(g).is_err() {
                    self.stop.store(true, Ordering::SeqCst);
                }
            }
            Outcome::Cancelled => {}
            Outcome::Failed(..) | Outcome::NoReplica => {
                // The last runner standing reports the failure (a hedge may still answer).
                let last = {
                    let mut map = self.flights.map.lock().expect("flights lock poisoned");
                    let last = flight.runners.fetch_sub(1, Ordering::SeqCst) == 1
                        && !flight.claimed.load(Ordering::SeqCst);
                    if last {
                        map.remove(&flight.key());
                    }
                    last
                };
                if !last {
                    return;
                }
                let (error, attempts) = match outcome {
                    Outcome::Failed(e, attempts) => (error_chain(&e), attempts),
                    _ => ("every replica of the model is gone".to_owned(), 0),
                };
                (self.on_event)(Event::Failed {
                    question_id: flight.task.question_id.clone(),
                    sample_index: flight.sample_index,
                    error: error.clone(),
                });
                self.failed.lock().expect("lock poisoned").push(Failure {
                    question_id: flight.task.question_id.clone(),
                    sample_index: flight.sample_index,
                    attempts,
                    error,
                });
            }
        }
    }

    fn land(&self, flight: &Flight) {
        self.flights.map.lock().expect("flights lock poisoned").remove(&flight.key());
    }

    /// Sends `flight`'s request until it is answered, fails for good, or the other runner
    /// answers first.
    async fn attempts(&mut self, flight: &Arc<Flight>, mut avoid: Option<usize>) -> Outcome {
        let mut attempt = 1;
        let mut lost = 0;
        loop {
            if flight.claimed.load(Ordering::SeqCst) {
                return Outcome::Cancelled;
            }
            let (i, url, epoch) = match self.pool.pick(avoid) {
                Pick::Replica(i, url, epoch) => (i, url, epoch),
                Pick::Wait => {
                    tokio::select! {
                        () = tokio::time::sleep(DOWN_POLL) => continue,
                        () = flight.done.notified() => return Outcome::Cancelled,
                    }
                }
                Pick::Gone => return Outcome::NoReplica,
            };
            flight.replica.store(i, Ordering::SeqCst);
            self.pool.begin(i);
            let result = tokio::select! {
                r = self.client.send_once_to(&url, &flight.task.prompt, &flight.params) => Some(r),
                () = flight.done.notified() => None,
            };
            self.pool.end(i, matches!(result, Some(Ok(_))));
            let Some(result) = result else { return Outcome::Cancelled };
            match result {
                Ok((mut c, _)) => {
                    c.attempts = attempt;
                    return Outcome::Answer(c, attempt);
                }
                Err((e, retry_after)) => {
                    if e.is_transport() && lost < MAX_LOST && self.pool.has_probe() {
                        let pool = self.pool.clone();
                        let died = tokio::task::spawn_blocking(move || pool.died(i, epoch))
                            .await
                            .unwrap_or(false);
                        if died {
                            // Not the request's fault: resend elsewhere, attempts unspent.
                            lost += 1;
                            self.counters.replica_losses.fetch_add(1, Ordering::SeqCst);
                            avoid = Some(i);
                            continue;
                        }
                    }
                    if !e.is_retryable() || attempt >= self.config.retry.max_attempts {
                        return Outcome::Failed(e, attempt);
                    }
                    self.counters.retries.fetch_add(1, Ordering::SeqCst);
                    (self.on_event)(Event::Retry {
                        question_id: flight.task.question_id.clone(),
                        sample_index: flight.sample_index,
                        attempt,
                        error: e.to_string(),
                    });
                    let wait = self.config.retry.backoff(attempt, unit_float(&mut self.rng));
                    let wait = retry_after
                        .map_or(wait, |r| r.min(self.config.retry.max_backoff).max(wait));
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = flight.done.notified() => return Outcome::Cancelled,
                    }
                    attempt += 1;
                    if self.pool.len() > 1 {
                        avoid = Some(i);
                    }
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
