//! Client-overhead benchmark: N chat requests through a full generation job (queue, retries,
//! journal with fsync) against a server, C at a time. See `bench/generate/run.sh`.
//!
//! Usage: `bench_client URL REQUESTS CONCURRENCY`; prints one JSON line.

use std::sync::Arc;
use std::time::Duration;

use valley_generate::{GenerateConfig, Journal, PromptBody, Task, question_messages};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, requests, concurrency] = args.as_slice() else {
        return Err("usage: bench_client URL REQUESTS CONCURRENCY".into());
    };
    let requests: usize = requests.parse()?;
    let concurrency: usize = concurrency.parse()?;
    let dir = std::env::temp_dir().join(format!("valley-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("generations.jsonl");
    let config = GenerateConfig {
        endpoints: vec![url.clone()],
        model: "fake".into(),
        n: 1,
        max_tokens: Some(512),
        concurrency,
        request_timeout: Duration::from_secs(60),
        ..GenerateConfig::default()
    };
    let (journal, _) = Journal::open(&path, Some(&config.identity()))?;
    let tasks = (0..requests)
        .map(|i| Task {
            question_id: format!("q{i}"),
            prompt: PromptBody::Chat(question_messages(
                &format!("### Question:\nProblem {i}: print {i}.\n\n"),
                Some(valley_generate::prompt::LCB_SYSTEM_MESSAGE),
            )),
            prompt_style: None,
        })
        .collect();
    let summary = config.init()?.run(tasks, journal, Arc::new(|_| {}))?;
    std::fs::remove_dir_all(&dir)?;
    if summary.written as usize != requests {
        return Err(format!("only {} of {requests} requests succeeded", summary.written).into());
    }
    let wall = summary.elapsed.as_secs_f64();
    #[expect(clippy::print_stdout, reason = "the benchmark's result line")]
    {
        println!(
            "{{\"client\": \"valley\", \"requests\": {requests}, \"concurrency\": {concurrency}, \"wall_s\": {wall}, \"requests_per_s\": {}}}",
            requests as f64 / wall
        );
    }
    Ok(())
}
