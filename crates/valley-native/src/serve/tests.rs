//! The server end to end on a tiny model: HTTP limits (malformed requests get a 4xx), the
//! OpenAI formats whole and streamed, and continuous batching that gives every request exactly
//! what it gets alone.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use valley_data::chat::{ChatTemplate, ChatTokenizer};

use super::batch::{self, BatchOptions, EngineDecoder, Event, Job};
use super::http::{App, Limits};
use super::text::tests::bytes_tokenizer;
use crate::config::{Family, ModelConfig, parameter_shapes};
use crate::engine::{QuantLm, Step};
use crate::generate::{FinishReason, SamplingParams, sample};
use crate::quant::{GgmlType, Isa};
use crate::rng::Rng;

fn tiny_model() -> QuantLm {
    let cfg = ModelConfig {
        model_type: Family::Llama,
        vocab_size: 256,
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 16,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        rope_scaling: None,
        max_position_embeddings: 96,
        tie_word_embeddings: true,
        attention_bias: false,
        bos_token_id: None,
        eos_token_id: None,
    };
    let mut rng = Rng::new(42);
    let host = parameter_shapes(&cfg)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let base = if name.ends_with("norm.weight") { 1.0 } else { 0.0 };
            let sd = if name.contains("embed") { 1.0 } else { 0.2 };
            (name, (shape, (0..n).map(|_| base + sd * rng.normal() as f32).collect()))
        })
        .collect();
    QuantLm::from_host(cfg, &host, Path::new("tiny"), Isa::detect())
        .unwrap()
        .requantize(GgmlType::Q8_0)
}

fn chat_tokenizer() -> ChatTokenizer {
    let template = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";
    ChatTokenizer::from_parts(
        bytes_tokenizer(),
        ChatTemplate::new(template, &Default::default()).unwrap(),
        None,
    )
}

/// Generation alone, as `generate` runs it: greedy or sampled, stop token 0, stop strings cut.
fn alone(model: &QuantLm, prompt: &[u32], params: &SamplingParams) -> (Vec<u32>, FinishReason) {
    let (mut cache, mut ws, mut logits) = (model.new_cache(), model.workspace(), Vec::new());
    let mut rng = Rng::new(params.seed);
    let mut out = Vec::new();
    let mut feed = prompt.to_vec();
    loop {
        model.forward(&mut [Step { cache: &mut cache, tokens: &feed }], &mut ws, &mut logits);
        let next = sample(&logits, params, &mut rng);
        if next == 0 {
            return (out, FinishReason::Stop);
        }
        out.push(next);
        if out.len() >= params.max_tokens || cache.len() + 1 >= model.config.max_position_embeddings
        {
            return (out, FinishReason::Length);
        }
        feed = vec![next];
    }
}

/// Seven requests (one with three sampled choices) through a batcher of three slots: each
/// choice gets exactly the tokens it gets alone, though they shared forward passes, prompts
/// were read in chunks beside decoding sequences, and slots were refilled as others finished.
#[test]
fn continuous_batching_gives_each_request_what_it_gets_alone() {
    let model = tiny_model();
    let tok = bytes_tokenizer();
    let (tx, rx) = std::sync::mpsc::channel();
    let decoder = EngineDecoder::new(model.clone());
    let worker = std::thread::spawn(move || {
        let opts = BatchOptions { max_sequences: 3, prefill_chunk: 5 };
        batch::run(decoder, &tok, &[0], opts, rx);
    });
    let mut expected = Vec::new();
    let mut receivers = Vec::new();
    for r in 0..7u64 {
        let prompt: Vec<u32> =
            (0..3 + 2 * r as u32).map(|i| 1 + (i * 37 + r as u32 * 11) % 250).collect();
        let choices: Vec<SamplingParams> = if r == 3 {
            (0..3)
                .map(|i| SamplingParams {
                    temperature: 0.8,
                    top_p: 0.95,
                    max_tokens: 12,
                    seed: 100 + i,
                })
                .collect()
        } else {
            vec![SamplingParams {
                temperature: 0.0,
                top_p: 1.0,
                max_tokens: 6 + r as usize,
                seed: 0,
            }]
        };
        expected.push(choices.iter().map(|p| alone(&model, &prompt, p)).collect::<Vec<_>>());
        let (etx, erx) = tokio::sync::mpsc::unbounded_channel();
        tx.send(Job { prompt, choices, stop: Vec::new(), stream: true, events: etx }).unwrap();
        receivers.push(erx);
    }
    drop(tx);
    worker.join().unwrap();
    let tok = bytes_tokenizer();
    for (r, mut erx) in receivers.into_iter().enumerate() {
        let mut streamed = vec![String::new(); expected[r].len()];
        let mut done = vec![None; expected[r].len()];
        while let Ok(e) = erx.try_recv() {
            match e {
                Event::Text { index, text } => streamed[index].push_str(&text),
                Event::Done { index, choice } => done[index] = Some(choice),
            }
        }
        for (i, (tokens, finish)) in expected[r].iter().enumerate() {
            let choice =
                done[i].as_ref().unwrap_or_else(|| panic!("request {r} choice {i} not done"));
            let text = tok.decode(tokens, true).unwrap();
            assert_eq!(
                (choice.completion_tokens, &choice.text, choice.finish_reason),
                (tokens.len(), &text, *finish),
                "request {r} choice {i}"
            );
            assert_eq!(
                streamed[i], text,
                "request {r} choice {i}: the stream adds up to the answer"
            );
        }
    }
}

/// A fake batcher that answers each choice with "hi é" in two pieces.
fn fake_batcher() -> std::sync::mpsc::Sender<Job> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    std::thread::spawn(move || {
        for job in rx {
            for index in 0..job.choices.len() {
                if job.stream {
                    let _ = job.events.send(Event::Text { index, text: "hi ".into() });
                    let _ = job.events.send(Event::Text { index, text: "é".into() });
                }
                let choice = super::api::Choice {
                    text: "hi é".into(),
                    finish_reason: FinishReason::Stop,
                    completion_tokens: 3,
                };
                let _ = job.events.send(Event::Done { index, choice });
            }
        }
    });
    tx
}

fn start(limits: Limits) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = App {
        name: "tiny".into(),
        tokenizer: Arc::new(chat_tokenizer()),
        context: 96,
        vocab: 256,
        jobs: std::sync::Mutex::new(fake_batcher()),
        ids: Default::default(),
        limits,
        log: Box::new(|_| {}),
    };
    std::thread::spawn(move || super::http::serve(app, listener));
    addr
}

/// Sends raw bytes and returns the status code and the rest of the response.
fn raw(addr: &str, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // the server may answer and close before reading everything
    let _ = s.write_all(request);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

fn post(path: &str, headers: &str, body: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n{body}")
        .into_bytes()
}

const CHAT: &str =
    r#"{"model":"tiny","messages":[{"role":"user","content":"hello"}],"max_tokens":4}"#;

#[test]
fn malformed_requests_get_a_4xx() {
    let limits = Limits {
        max_body: 1024,
        max_header_bytes: 8192,
        max_headers: 20,
        read_timeout: Duration::from_secs(1),
    };
    let addr = start(limits);
    let len = |b: &str| format!("Content-Length: {}\r\n", b.len());
    // a well-formed request answers
    assert_eq!(raw(&addr, &post("/v1/chat/completions", &len(CHAT), CHAT)).0, 200);
    // Content-Length not a number, two different ones, or a negative one
    for h in [
        "Content-Length: abc\r\n",
        "Content-Length: 5\r\nContent-Length: 7\r\n",
        "Content-Length: -3\r\n",
    ] {
        assert_eq!(raw(&addr, &post("/v1/chat/completions", h, CHAT)).0, 400, "{h:?}");
    }
    // headers over the size limit, or too many
    let big = format!("X-Big: {}\r\n{}", "a".repeat(9000), len(CHAT));
    assert_eq!(raw(&addr, &post("/v1/chat/completions", &big, CHAT)).0, 431);
    let many: String = (0..30).map(|i| format!("X-H{i}: v\r\n")).collect::<String>() + &len(CHAT);
    assert_eq!(raw(&addr, &post("/v1/chat/completions", &many, CHAT)).0, 431);
    // a chunked body is read as such
    let chunked = format!(
        "{:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        10,
        &CHAT[..10],
        CHAT.len() - 10,
        &CHAT[10..]
    );
    let (status, text) =
        raw(&addr, &post("/v1/chat/completions", "Transfer-Encoding: chunked\r\n", &chunked));
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("hi é"), "{text}");
    // a malformed chunk size
    let bad = "zz\r\nabc\r\n0\r\n\r\n";
    assert_eq!(
        raw(&addr, &post("/v1/chat/completions", "Transfer-Encoding: chunked\r\n", bad)).0,
        400
    );
    // bodies over the limit: declared, or chunked
    assert_eq!(raw(&addr, &post("/v1/chat/completions", "Content-Length: 5000\r\n", "")).0, 413);
    let long = "a".repeat(2000);
    let chunked = format!("{:x}\r\n{long}\r\n0\r\n\r\n", long.len());
    assert_eq!(
        raw(&addr, &post("/v1/chat/completions", "Transfer-Encoding: chunked\r\n", &chunked)).0,
        413
    );
    // a body that never arrives in full
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(&post("/v1/chat/completions", "Content-Length: 100\r\n", "{\"model\"")).unwrap();
    let mut out = String::new();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
    // not JSON, wrong fields, unknown routes and methods
    assert_eq!(raw(&addr, &post("/v1/chat/completions", &len("{oops"), "{oops")).0, 400);
    let wrong = r#"{"messages":"hi"}"#;
    assert_eq!(raw(&addr, &post("/v1/chat/completions", &len(wrong), wrong)).0, 400);
    let (status, text) =
        raw(&addr, &post("/v1/chat/completions", &len(r#"{"prompt":"x"}"#), r#"{"prompt":"x"}"#));
    assert_eq!(status, 400, "{text}");
    assert_eq!(raw(&addr, &post("/v2/nothing", &len("{}"), "{}")).0, 404);
    assert_eq!(
        raw(&addr, b"DELETE /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").0,
        405
    );
    // garbage instead of a request line
    assert_eq!(raw(&addr, b"\x01\x02 nonsense\r\n\r\n").0, 400);
}

fn sse(text: &str) -> Vec<Value> {
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    assert!(text.contains("text/event-stream"), "{text}");
    let events: Vec<&str> = body.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(events.last(), Some(&"[DONE]"), "{body}");
    events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect()
}

/// Streams as OpenAI clients read them: chat chunks with the role first, content deltas, a
/// finish reason, the usage chunk when asked, `[DONE]`; completions chunks with `text`.
#[test]
fn streams_are_server_sent_events_in_openai_form() {
    let addr = start(Limits::default());
    let body = r#"{"messages":[{"role":"user","content":"hello"}],"stream":true,"n":2,"stream_options":{"include_usage":true}}"#;
    let (status, text) = raw(
        &addr,
        &post("/v1/chat/completions", &format!("Content-Length: {}\r\n", body.len()), body),
    );
    assert_eq!(status, 200, "{text}");
    let chunks = sse(&text);
    for index in 0..2 {
        let mine: Vec<&Value> =
            chunks.iter().filter(|c| c["choices"][0]["index"] == index).collect();
        assert_eq!(mine[0]["choices"][0]["delta"]["role"], "assistant");
        let content: String =
            mine.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
        assert_eq!(content, "hi é");
        assert_eq!(mine.last().unwrap()["choices"][0]["finish_reason"], "stop");
        assert!(
            mine.iter().all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "tiny")
        );
    }
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"].as_array().unwrap().len(), 0);
    assert_eq!(usage["usage"]["completion_tokens"], 6);
    let body = r#"{"prompt":"hello","stream":true}"#;
    let (_, text) =
        raw(&addr, &post("/v1/completions", &format!("Content-Length: {}\r\n", body.len()), body));
    let chunks = sse(&text);
    let all: String = chunks.iter().map(|c| c["choices"][0]["text"].as_str().unwrap()).collect();
    assert_eq!(all, "hi é");
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "stop");
}
