//! A whole job against the fake server: faults are retried, each (task, sample) lands once, a
//! second run has nothing left to do, and requests that cannot succeed are left off the file.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use valley_generate::{
    Event, GenerateConfig, Journal, PromptBody, PromptStyle, RetryPolicy, Task, lcb_messages,
};
use valley_test::{FakeConfig, FakeOpenAi, fake_response};
use valley_types::Generation;

fn tasks(count: usize) -> Vec<Task> {
    (0..count)
        .map(|i| Task {
            question_id: format!("q{i}"),
            prompt: if i % 2 == 0 {
                PromptBody::Chat(lcb_messages(
                    &format!("Problem {i}"),
                    None,
                    PromptStyle::OpenaiChat,
                ))
            } else {
                PromptBody::Text(format!("<|user|>Problem {i}<|assistant|>"))
            },
        })
        .collect()
}

fn config(base: String) -> GenerateConfig {
    GenerateConfig {
        endpoint: base,
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
    config.endpoint = format!("{}/wrong", server.base_url());
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
