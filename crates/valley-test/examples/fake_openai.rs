//! A standalone fake OpenAI-compatible server on 127.0.0.1, for benchmarks and manual tests.
//!
//! Usage: `cargo run --release -p valley-test --example fake_openai -- PORT [MAX_REQUESTS]
//! [MAX_SECONDS] [LATENCY_MS]`. It answers instantly (or after LATENCY_MS) and exits after
//! MAX_REQUESTS requests (default 100000) or MAX_SECONDS seconds (default 600).

use std::time::Duration;

use valley_test::{FakeConfig, FakeOpenAi};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let latency = Duration::from_millis(arg(3, 0));
    let config = FakeConfig {
        port: u16::try_from(arg(0, 0)).unwrap_or(0),
        max_requests: arg(1, 100_000),
        max_lifetime: Duration::from_secs(arg(2, 600)),
        min_latency: latency,
        max_latency: latency,
        ..FakeConfig::default()
    };
    let server = FakeOpenAi::start(config)?;
    #[expect(clippy::print_stdout, reason = "tells the caller where the server listens")]
    {
        println!("{}", server.base_url());
    }
    server.wait();
    Ok(())
}
