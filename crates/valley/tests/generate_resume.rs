//! Issue 4: `valley generate` killed with SIGKILL five times during a run against a slow, flaky
//! server (latency, 500s, 429s); the sixth run ends with each expected record exactly once and no
//! torn line. Server-specific request fields (`--extra-body`) reach the server, are recorded and
//! pin the job.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use valley_generate::{PromptStyle, lcb_messages};
use valley_test::{FakeConfig, FakeOpenAi, fake_response};
use valley_types::Generation;

const PROBLEMS: usize = 16;
const SAMPLES: u32 = 4;
const SEED: u64 = 1000;

fn write_problems(path: &Path) -> BTreeMap<String, (String, Option<String>)> {
    let mut problems = BTreeMap::new();
    let mut text = String::new();
    for i in 0..PROBLEMS {
        let id = format!("p{i:02}");
        let content = format!("Read n and print n + {i}.");
        let starter = (i % 3 == 0)
            .then(|| format!("class Solution:\n    def f{i}(self, n: int) -> int:\n        "));
        let row = serde_json::json!({
            "question_id": id,
            "question_content": content,
            "platform": "atcoder",
            "starter_code": starter.clone().unwrap_or_default(),
            "difficulty": "easy",
        });
        text.push_str(&format!("{row}\n"));
        problems.insert(id, (content, starter));
    }
    std::fs::write(path, text).unwrap();
    problems
}

fn generate(base: &str, problems: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_valley"));
    cmd.args(["generate", "--endpoint", base, "--model", "fake", "--problems"])
        .arg(problems)
        .arg("--out")
        .arg(out)
        .args(["--n", &SAMPLES.to_string(), "--concurrency", "4", "--max-tokens", "512"])
        .args(["--seed", &SEED.to_string(), "--max-attempts", "50", "--max-backoff", "0.05"])
        .arg("--json")
        .env_remove("VALLEY_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn complete_lines(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

#[test]
fn sigkill_five_times_then_finish_exactly_once() {
    let server = FakeOpenAi::start(FakeConfig {
        min_latency: Duration::from_millis(100),
        max_latency: Duration::from_millis(300),
        error_percent: 15,
        rate_limit_percent: 15,
        max_requests: 5_000,
        max_lifetime: Duration::from_secs(120),
        seed: 7,
        port: 0,
        ..FakeConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let problems_path = dir.path().join("problems.jsonl");
    let out = dir.path().join("generations.jsonl");
    let problems = write_problems(&problems_path);
    let started = Instant::now();

    let mut after_kill = Vec::new();
    for k in 0..5u64 {
        let mut child = generate(&server.base_url(), &problems_path, &out).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(350 + 90 * k));
        // Child::kill sends SIGKILL on Unix.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(status.code().is_none(), "run {k} ended before it was killed: {status:?}");
        after_kill.push(complete_lines(&out));
    }
    assert!(after_kill.windows(2).all(|w| w[0] <= w[1]), "records were lost: {after_kill:?}");
    let expected = PROBLEMS * SAMPLES as usize;
    assert!(
        *after_kill.last().unwrap() < expected,
        "the kills came too late to interrupt anything: {after_kill:?}"
    );

    let output = generate(&server.base_url(), &problems_path, &out).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "sixth run failed: {stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["planned"], expected);
    assert_eq!(summary["failed"], 0);
    assert_eq!(
        summary["already_done"].as_u64().unwrap() + summary["written"].as_u64().unwrap(),
        expected as u64
    );

    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.last(), Some(&b'\n'), "torn last line");
    let text = String::from_utf8(bytes).unwrap();
    let mut seen = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let g: Generation =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let (content, starter) = &problems[&g.question_id];
        let prompt = lcb_messages(content, starter.as_deref(), PromptStyle::OpenAIChat).unwrap();
        let seed = SEED + u64::from(g.sample_index);
        assert_eq!(g.response, fake_response(&prompt[1].content, Some(seed)), "line {}", i + 1);
        assert!(g.sample_index < SAMPLES);
        *seen.entry((g.question_id.clone(), g.sample_index)).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), expected, "missing records");
    assert!(seen.values().all(|&c| c == 1), "duplicated records: {seen:?}");
    let (e500, e429) = server.faults();
    assert!(e500 > 0 && e429 > 0, "the server injected no faults");
    assert!(started.elapsed() < Duration::from_secs(90));
}

#[test]
fn extra_body_reaches_the_server_and_pins_the_job() {
    let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let problems = dir.path().join("problems.jsonl");
    write_problems(&problems);
    let out = dir.path().join("gen.jsonl");
    let run = |extra: &str| {
        generate(&server.base_url(), &problems, &out)
            .args(["--extra-body", extra])
            .output()
            .unwrap()
    };
    let o = run(r#"{"repeat_penalty": 1.0, "top_k": 1}"#);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let body = server.last_body().unwrap();
    assert_eq!((body["repeat_penalty"].as_f64(), body["top_k"].as_i64()), (Some(1.0), Some(1)));
    assert_eq!(body["model"], "fake");
    let text = std::fs::read_to_string(&out).unwrap();
    let records: Vec<Generation> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), PROBLEMS * SAMPLES as usize);
    for r in &records {
        let extra = &r.params.as_ref().unwrap().extra;
        assert_eq!(extra.get("repeat_penalty").and_then(|v| v.as_f64()), Some(1.0));
    }
    // resuming the file with other fields would mix two settings in one job
    let o = run(r#"{"repeat_penalty": 1.1, "top_k": 1}"#);
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("extra_body"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text, "a refused run changed the file");
    // a field valley sets itself, and a body that is not an object, are refused
    let fresh = dir.path().join("fresh.jsonl");
    for (extra, want) in [(r#"{"temperature": 0}"#, "`temperature`"), ("[1]", "JSON object")] {
        let o = generate(&server.base_url(), &problems, &fresh)
            .args(["--extra-body", extra])
            .output()
            .unwrap();
        assert_ne!(o.status.code(), Some(0));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{extra}: {err}");
    }
}
