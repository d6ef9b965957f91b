//! A whole job against the fake server: faults are retried, each (task, sample) lands once, a
//! second run has nothing left to do, and requests that cannot succeed are left off the file.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use valley_generate::{
    Event, GenerateConfig, Journal, PromptBody, PromptStyle, RetryPolicy, Task, lcb_prompt,
};
use valley_test::{FakeConfig, FakeOpenAi, fake_response};
use valley_types::Generation;

fn tasks(count: usize) -> Vec<Task> {
    (0..count)
        .map(|i| Task {
            question_id: format!("q{i}"),
            prompt: if i % 2 == 0 {
                lcb_prompt(&format!("Problem {i}"), None, PromptStyle::OpenAIChat)
            } else {
                PromptBody::Text(format!("<|user|>Problem {i}<|assistant|>"))
            },
            prompt_style: (i % 2 == 0).then_some(PromptStyle::OpenAIChat),
        })
        .collect()
}

fn config(base: String) -> GenerateConfig {
    GenerateConfig {
        endpoints: vec![base],
        model: "fake".into(),
        n: 3,
        seed: Some(100),
        concurrency: 4,
        max_tokens: Some(1000),
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_attempts: 30,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
        },
        ..GenerateConfig::default()
    }
}

#[test]
fn faults_are_retried_and_every_sample_lands_once() {
    let server = FakeOpenAi::start(FakeConfig {
        error_percent: 20,
        rate_limit_percent: 20,
        max_latency: Duration::from_millis(5),
        ..FakeConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.jsonl");
    let config = config(server.base_url());
    let (journal, _) = Journal::open(&path, Some(&config.identity())).unwrap();
    let retries = Arc::new(AtomicU64::new(0));
    let seen = retries.clone();
    let on_event = Arc::new(move |e: Event| {
        if matches!(e, Event::Retry { .. }) {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    let generator = config.clone().init().unwrap();
    let summary = generator.run(tasks(10), journal, on_event).unwrap();
    assert_eq!((summary.planned, summary.written, summary.failed.len()), (30, 30, 0));
    let (e500, e429) = server.faults();
    assert_eq!(summary.retries, e500 + e429);
    assert_eq!(retries.load(Ordering::SeqCst), summary.retries);
    assert!(summary.retries > 0);

    let text = std::fs::read_to_string(&path).unwrap();
    let mut keys: Vec<(String, u32)> = Vec::new();
    for line in text.lines() {
        let g: Generation = serde_json::from_str(line).unwrap();
        let i: usize = g.question_id[1..].parse().unwrap();
        let prompt = match &tasks(10)[i].prompt {
            PromptBody::Chat(m) => m.last().unwrap().content.clone(),
            PromptBody::Text(t) => t.clone(),
        };
        assert_eq!(g.response, fake_response(&prompt, Some(100 + u64::from(g.sample_index))));
        assert_eq!(g.params.as_ref().unwrap().seed, Some(100 + u64::from(g.sample_index)));
        assert!(g.think.unwrap().close.is_some());
        keys.push((g.question_id, g.sample_index));
    }
    keys.sort();
    let mut expected: Vec<(String, u32)> =
        (0..10).flat_map(|i| (0..3).map(move |s| (format!("q{i}"), s))).collect();
    expected.sort();
    assert_eq!(keys, expected);

    // A second run finds everything done and sends nothing.
    let before = server.requests();
    let (journal, resumed) = Journal::open(&path, Some(&config.identity())).unwrap();
    assert_eq!(resumed.records, 30);
    let summary = generator.run(tasks(10), journal, Arc::new(|_| {})).unwrap();
    assert_eq!((summary.already_done, summary.written), (30, 0));
    assert_eq!(server.requests(), before);
}

#[test]
fn unreachable_or_refusing_servers_leave_samples_off_the_file() {
    // Nothing listens on this port once the server is dropped.
    let base = {
        let s = FakeOpenAi::start(FakeConfig::default()).unwrap();
        s.base_url()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.jsonl");
    let mut config = config(base);
    config.retry.max_attempts = 2;
    config.n = 1;
    let (journal, _) = Journal::open(&path, None).unwrap();
    let summary = config.clone().init().unwrap().run(tasks(2), journal, Arc::new(|_| {})).unwrap();
    assert_eq!((summary.written, summary.failed.len()), (0, 2));
    assert!(summary.failed.iter().all(|f| f.attempts == 2), "{:?}", summary.failed);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");

    // A 404 (wrong path) is final at once.
    let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
    let mut config = config.clone();
    config.endpoints = vec![format!("{}/wrong", server.base_url())];
    let (journal, _) = Journal::open(&path, None).unwrap();
    let summary = config.init().unwrap().run(tasks(1), journal, Arc::new(|_| {})).unwrap();
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].attempts, 1);
    assert!(summary.failed[0].error.contains("HTTP 404"), "{}", summary.failed[0].error);
}

#[test]
fn duplicate_question_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(dir.path().join("g.jsonl"), None).unwrap();
    let mut t = tasks(2);
    t[1].question_id = "q0".into();
    let err =
        config("http://127.0.0.1:9/v1".into()).init().unwrap().run(t, journal, Arc::new(|_| {}));
    assert!(matches!(err, Err(valley_generate::GenerateError::DuplicateQuestion(q)) if q == "q0"));
}

fn keys_once(path: &std::path::Path, want: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut keys: Vec<(String, u32)> = text
        .lines()
        .map(|l| {
            let g: Generation = serde_json::from_str(l).unwrap();
            (g.question_id, g.sample_index)
        })
        .collect();
    keys.sort();
    let n = keys.len();
    keys.dedup();
    assert_eq!((n, keys.len()), (want, want));
}

/// A replica answering in 1.5 s next to one answering at once: once the queue is empty, the slow
/// replica's requests are sent again to the fast one, which answers first; each sample is still
/// on file once.
#[test]
fn stragglers_on_a_slow_replica_are_hedged_on_another() {
    let slow = FakeOpenAi::start(FakeConfig {
        min_latency: Duration::from_millis(1500),
        max_latency: Duration::from_millis(1500),
        ..FakeConfig::default()
    })
    .unwrap();
    let fast = FakeOpenAi::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.jsonl");
    let hedged = GenerateConfig {
        endpoints: vec![slow.base_url(), fast.base_url()],
        concurrency: 2,
        n: 2,
        ..config(String::new())
    };
    let (journal, _) = Journal::open(&path, Some(&hedged.identity())).unwrap();
    let summary = hedged.init().unwrap().run(tasks(10), journal, Arc::new(|_| {})).unwrap();
    assert_eq!(summary.written, 20);
    assert!(summary.hedge_wins >= 1, "{summary:?}");
    assert_eq!(summary.per_replica.len(), 2);
    keys_once(&path, 20);

    // without hedging, the slow replica's answers are waited for
    let path = dir.path().join("g2.jsonl");
    let plain = GenerateConfig {
        endpoints: vec![slow.base_url(), fast.base_url()],
        concurrency: 2,
        n: 2,
        hedge: false,
        ..config(String::new())
    };
    let (journal, _) = Journal::open(&path, Some(&plain.identity())).unwrap();
    let summary = plain.init().unwrap().run(tasks(10), journal, Arc::new(|_| {})).unwrap();
    assert_eq!((summary.written, summary.hedged), (20, 0));
    assert!(summary.per_replica[0] >= 1, "{summary:?}");
    keys_once(&path, 20);
}

/// A replica whose server dies mid-run (the pool's probe says so): its requests go to the
/// other one without spending an attempt (one attempt per sample is all there is here).
#[test]
fn a_dead_replicas_work_goes_to_the_others() {
    let doomed = FakeOpenAi::start(FakeConfig {
        min_latency: Duration::from_millis(20),
        max_latency: Duration::from_millis(20),
        ..FakeConfig::default()
    })
    .unwrap();
    let alive = FakeOpenAi::start(FakeConfig {
        min_latency: Duration::from_millis(20),
        max_latency: Duration::from_millis(20),
        ..FakeConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.jsonl");
    let mut cfg = config(String::new());
    cfg.retry.max_attempts = 1;
    cfg.concurrency = 2;
    cfg.endpoints = vec![doomed.base_url(), alive.base_url()];
    let dead = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe_dead = dead.clone();
    let pool = Arc::new(
        valley_generate::Pool::new(cfg.endpoints.clone())
            .with_probe(Box::new(move |i| i == 0 && probe_dead.load(Ordering::SeqCst))),
    );
    let (journal, _) = Journal::open(&path, Some(&cfg.identity())).unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let killer = {
        let written = written.clone();
        std::thread::spawn(move || {
            while written.load(Ordering::SeqCst) < 6 {
                std::thread::sleep(Duration::from_millis(5));
            }
            dead.store(true, Ordering::SeqCst);
            drop(doomed);
        })
    };
    let on_event = {
        let written = written.clone();
        Arc::new(move |e: Event| {
            if matches!(e, Event::Written { .. }) {
                written.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let summary = cfg.init().unwrap().run_on(&pool, tasks(20), journal, on_event).unwrap();
    killer.join().unwrap();
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.written, 60);
    assert!(summary.replica_losses >= 1, "{summary:?}");
    assert_eq!(pool.states()[0], valley_generate::ReplicaState::Down);
    keys_once(&path, 60);
}

#[test]
fn a_bad_endpoint_is_refused_before_any_sample_is_sent() {
    // issue 14: a typo in the URL is a settings error, found by `init`
    for bad in
        ["127.0.0.1:8000/v1", "ftp://127.0.0.1/v1", "http://:8000/v1", "http://h/v1?x=1", "nope"]
    {
        let err = config(bad.into()).init().unwrap_err();
        assert!(
            matches!(&err, valley_generate::GenerateError::Endpoint { endpoint, .. } if endpoint == bad),
            "{bad}: {err}"
        );
    }
    // a closed port fails the probe at once, naming the endpoint
    let base = {
        let s = FakeOpenAi::start(FakeConfig::default()).unwrap();
        s.base_url()
    };
    let generator = config(base.clone()).init().unwrap();
    let err = generator.check_endpoints(Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains(&base), "{err}");
    // a live server passes, even on a path where it answers 404
    let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
    config(server.base_url()).init().unwrap().check_endpoints(Duration::from_secs(5)).unwrap();
    let wrong = format!("{}/wrong", server.base_url());
    config(wrong).init().unwrap().check_endpoints(Duration::from_secs(5)).unwrap();
    // with several endpoints, the one that does not answer is named
    let two = GenerateConfig {
        endpoints: vec![server.base_url(), base.clone()],
        ..config(String::new())
    };
    let err = two.init().unwrap().check_endpoints(Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains(&base), "{err}");
    // a server that accepts the connection but is too busy to answer (llama.cpp's while it
    // decodes) is there: the probe passes and the requests will wait for it
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_base = format!("http://{}/v1", busy.local_addr().unwrap());
    let held = std::thread::spawn(move || busy.accept().map(|(conn, _)| conn));
    config(busy_base).init().unwrap().check_endpoints(Duration::from_millis(500)).unwrap();
    drop(held.join().unwrap());
}
