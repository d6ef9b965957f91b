//! A fake OpenAI-compatible server: `POST /v1/chat/completions`, `POST /v1/completions`,
//! `GET /v1/models`, HTTP/1.1 with keep-alive, one thread per connection, loopback only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the fake server behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeConfig {
    /// Shortest answer delay.
    pub min_latency: Duration,
    /// Longest answer delay (the delay is drawn between the two).
    pub max_latency: Duration,
    /// Percentage of requests answered `500 Internal Server Error`.
    pub error_percent: u32,
    /// Percentage of requests answered `429 Too Many Requests` (with `Retry-After: 0`).
    pub rate_limit_percent: u32,
    /// Requests served at most; later ones get `503` and the server stops accepting.
    pub max_requests: u64,
    /// Lifetime; the server stops accepting after it.
    pub max_lifetime: Duration,
    /// Seed of the fault and latency draws.
    pub seed: u64,
    /// Port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// Canned answers (needle, response): a prompt containing a needle gets the first such
    /// response instead of [`fake_response`]'s, so a fake teacher can solve some problems.
    pub answers: Vec<(String, String)>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            min_latency: Duration::ZERO,
            max_latency: Duration::ZERO,
            error_percent: 0,
            rate_limit_percent: 0,
            max_requests: 100_000,
            max_lifetime: Duration::from_secs(300),
            seed: 0,
            port: 0,
            answers: Vec::new(),
        }
    }
}

/// A running fake server; dropping it stops it.
#[derive(Debug)]
pub struct FakeOpenAi {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    completions: AtomicU64,
    errors: AtomicU64,
    rate_limited: AtomicU64,
    last_body: std::sync::Mutex<Option<serde_json::Value>>,
}

/// The text the fake server answers for a prompt (the last message's content, or the completions
/// prompt) and an optional request seed: a reasoning block, then a Python block printing a
/// digest of both, so a test can tell which prompt an answer belongs to.
pub fn fake_response(prompt: &str, seed: Option<u64>) -> String {
    let digest = fnv1a(prompt.as_bytes()) ^ seed.map_or(0, mix);
    format!(
        "<think>\nThe prompt has {} bytes.\n</think>\nHere is the program:\n```python\nprint({digest})\n```\n",
        prompt.len()
    )
}

impl FakeOpenAi {
    /// Starts the server on 127.0.0.1.
    pub fn start(config: FakeConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", config.port))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let accept = {
            let stop = stop.clone();
            let counters = counters.clone();
            std::thread::spawn(move || accept_loop(&listener, &config, &stop, &counters))
        };
        Ok(Self { addr, stop, counters, accept: Some(accept) })
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.counters.requests.load(Ordering::SeqCst)
    }

    /// Successful completions answered so far.
    pub fn completions(&self) -> u64 {
        self.counters.completions.load(Ordering::SeqCst)
    }

    /// The JSON body of the last well-formed request.
    pub fn last_body(&self) -> Option<serde_json::Value> {
        self.counters.last_body.lock().expect("lock poisoned").clone()
    }

    /// 500s and 429s injected so far.
    pub fn faults(&self) -> (u64, u64) {
        (
            self.counters.errors.load(Ordering::SeqCst),
            self.counters.rate_limited.load(Ordering::SeqCst),
        )
    }

    /// Blocks until the server stops on its own (request bound or lifetime).
    pub fn wait(mut self) {
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    config: &FakeConfig,
    stop: &Arc<AtomicBool>,
    counters: &Arc<Counters>,
) {
    let deadline = Instant::now() + config.max_lifetime;
    // A watchdog ends the server at its deadline: it sets `stop` and wakes the blocking accept
    // with a connection of its own (new connections are accepted at once, not polled).
    let addr = listener.local_addr().expect("a bound listener has an address");
    let watchdog = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
        })
    };
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let config = config.clone();
                let stop = stop.clone();
                let counters = counters.clone();
                conns.push(std::thread::spawn(move || {
                    serve(stream, &config, &stop, &counters, deadline);
                }));
                conns.retain(|h| !h.is_finished());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    stop.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    for h in conns {
        let _ = h.join();
    }
}

fn serve(
    stream: TcpStream,
    config: &FakeConfig,
    stop: &AtomicBool,
    counters: &Counters,
    deadline: Instant,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader, stop, deadline) {
        let n = counters.requests.fetch_add(1, Ordering::SeqCst);
        let (status, extra, body) = answer(&request, n, config, counters);
        let reason = match status {
            200 => "OK",
            404 => "Not Found",
            400 => "Bad Request",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n",
            body.len()
        );
        if n + 1 >= config.max_requests {
            stop.store(true, Ordering::SeqCst);
        }
        if writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(body.as_bytes()))
            .is_err()
        {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    stop: &AtomicBool,
    deadline: Instant,
) -> Option<Request> {
    let mut head = Vec::new();
    // Read header lines until the blank line; read timeouts (used to notice `stop`) keep the
    // partial line, which the next read completes.
    let mut line = Vec::new();
    loop {
        if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
            return None;
        }
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return None,
            Ok(_) if !line.ends_with(b"\n") => {}
            Ok(_) => {
                if line == b"\r\n" || line == b"\n" {
                    line.clear();
                    if head.is_empty() {
                        continue;
                    }
                    break;
                }
                head.push(String::from_utf8_lossy(&line).trim_end().to_owned());
                line.clear();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
    let mut parts = head.first()?.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let length = head
        .iter()
        .skip(1)
        .filter_map(|h| h.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(64 << 20)];
    let mut filled = 0;
    while filled < body.len() {
        match reader.read(&mut body[filled..]) {
            Ok(0) => return None,
            Ok(k) => filled += k,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    Some(Request { method, path, body })
}

fn answer(
    request: &Request,
    n: u64,
    config: &FakeConfig,
    counters: &Counters,
) -> (u16, String, String) {
    if n >= config.max_requests {
        return (503, String::new(), r#"{"error":{"message":"request bound reached"}}"#.into());
    }
    let draw = mix(config.seed ^ mix(n));
    let span = config.max_latency.saturating_sub(config.min_latency).as_micros() as u64;
    let delay = config.min_latency
        + Duration::from_micros(if span == 0 { 0 } else { (draw >> 20) % (span + 1) });
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v1/models") => {
            return (
                200,
                String::new(),
                r#"{"object":"list","data":[{"id":"fake","object":"model"}]}"#.into(),
            );
        }
        ("POST", "/v1/chat/completions" | "/v1/completions") => {}
        _ => return (404, String::new(), r#"{"error":{"message":"not found"}}"#.into()),
    }
    let roll = (draw % 100) as u32;
    if roll < config.error_percent {
        counters.errors.fetch_add(1, Ordering::SeqCst);
        return (500, String::new(), r#"{"error":{"message":"injected failure"}}"#.into());
    }
    if roll < config.error_percent + config.rate_limit_percent {
        counters.rate_limited.fetch_add(1, Ordering::SeqCst);
        return (429, "retry-after: 0\r\n".into(), r#"{"error":{"message":"slow down"}}"#.into());
    }
    let Ok(req) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
        return (400, String::new(), r#"{"error":{"message":"body is not JSON"}}"#.into());
    };
    *counters.last_body.lock().expect("lock poisoned") = Some(req.clone());
    let chat = request.path.ends_with("chat/completions");
    let prompt = if chat {
        req["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str())
    } else {
        req["prompt"].as_str()
    };
    let Some(prompt) = prompt else {
        return (400, String::new(), r#"{"error":{"message":"no prompt"}}"#.into());
    };
    let text = match config.answers.iter().find(|(needle, _)| prompt.contains(needle.as_str())) {
        Some((_, answer)) => answer.clone(),
        None => fake_response(prompt, req["seed"].as_u64()),
    };
    let tokens = text.split_whitespace().count() as u64;
    let (finish, tokens) = match req["max_tokens"].as_u64() {
        Some(m) if m < tokens => ("length", m),
        _ => ("stop", tokens),
    };
    let choice = if chat {
        serde_json::json!({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish})
    } else {
        serde_json::json!({"index": 0, "text": text, "finish_reason": finish})
    };
    let body = serde_json::json!({
        "id": format!("fake-{n}"),
        "object": if chat { "chat.completion" } else { "text_completion" },
        "model": req["model"],
        "choices": [choice],
        "usage": {"prompt_tokens": prompt.split_whitespace().count(), "completion_tokens": tokens},
    });
    counters.completions.fetch_add(1, Ordering::SeqCst);
    (200, String::new(), body.to_string())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(base: &str, path: &str, body: &str) -> (u16, String) {
        let addr = base.trim_start_matches("http://").trim_end_matches("/v1");
        let mut s = TcpStream::connect(addr).unwrap();
        let req = format!(
            "POST /v1/{path} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut reader = BufReader::new(s);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let code = status.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut len = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        (code, String::from_utf8(body).unwrap())
    }

    #[test]
    fn answers_chat_and_completions_from_the_prompt() {
        let server = FakeOpenAi::start(FakeConfig::default()).unwrap();
        let (code, body) = post(
            &server.base_url(),
            "chat/completions",
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":3}"#,
        );
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], fake_response("hi", Some(3)));
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        let (code, body) = post(
            &server.base_url(),
            "completions",
            r#"{"model":"m","prompt":"hi","max_tokens":2}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((code, v["choices"][0]["finish_reason"].as_str()), (200, Some("length")));
        assert_eq!(v["usage"]["completion_tokens"], 2);
        assert_ne!(fake_response("hi", Some(3)), fake_response("hi", Some(4)));
        assert_eq!(post(&server.base_url(), "nope", "{}").0, 404);
    }

    #[test]
    fn injects_faults_and_stops_at_its_bound() {
        let config = FakeConfig {
            error_percent: 30,
            rate_limit_percent: 30,
            max_requests: 40,
            ..FakeConfig::default()
        };
        let server = FakeOpenAi::start(config).unwrap();
        let body = r#"{"model":"m","prompt":"x"}"#;
        let codes: Vec<u16> =
            (0..40).map(|_| post(&server.base_url(), "completions", body).0).collect();
        let count = |c| codes.iter().filter(|&&x| x == c).count() as u64;
        assert_eq!(server.faults(), (count(500), count(429)));
        assert!(count(500) > 0 && count(429) > 0 && count(200) > 0, "{codes:?}");
        assert_eq!(server.requests(), 40);
        // the bound is reached: the server stops by itself
        server.wait();
    }
}
