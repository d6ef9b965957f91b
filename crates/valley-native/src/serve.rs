//! An OpenAI-compatible HTTP server over [`crate::generate`]: `GET /v1/models`,
//! `POST /v1/chat/completions`, `POST /v1/completions` (no streaming), HTTP/1.1 with
//! keep-alive, one thread per connection; requests share one model and run one at a time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use burn::tensor::backend::Backend;
use serde_json::{Value, json};
use valley_data::chat::{ChatTokenizer, Message};

use crate::generate::{FinishReason, SamplingParams, generate};
use crate::llama::CausalLm;

/// Largest request body accepted.
const MAX_BODY: usize = 16 << 20;

/// A model ready to answer requests.
pub struct Generator<B: Backend> {
    pub model: CausalLm<B>,
    pub tokenizer: ChatTokenizer,
    /// End-of-turn token ids.
    pub stop: Vec<u32>,
    /// The name `/v1/models` lists and answers carry.
    pub name: String,
}

/// A served completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub finish_reason: FinishReason,
    pub completion_tokens: usize,
}

/// A request the server refuses (HTTP 400).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

impl<B: Backend> Generator<B> {
    /// Generates from prompt ids, cutting at the first `stop_strings` match.
    pub fn complete(
        &self,
        prompt: &[u32],
        params: &SamplingParams,
        stop_strings: &[String],
    ) -> Completion {
        let decode = |ids: &[u32]| self.tokenizer.tokenizer().decode(ids, true).unwrap_or_default();
        let mut cut: Option<String> = None;
        let g = generate(&self.model, prompt, params, &self.stop, |ids| {
            if stop_strings.is_empty() {
                return false;
            }
            let text = decode(ids);
            match stop_strings.iter().filter_map(|s| text.find(s.as_str())).min() {
                Some(at) => {
                    cut = Some(text[..at].to_owned());
                    true
                }
                None => false,
            }
        });
        let text = cut.unwrap_or_else(|| decode(&g.tokens));
        Completion { text, finish_reason: g.finish_reason, completion_tokens: g.tokens.len() }
    }

    /// Answers one API request: `(status, body)`.
    pub fn handle(&self, method: &str, path: &str, body: &[u8], ids: &AtomicU64) -> (u16, Value) {
        let path = path.split('?').next().unwrap_or(path);
        match (method, path) {
            ("GET", "/v1/models") => (
                200,
                json!({"object": "list", "data": [{"id": self.name, "object": "model", "created": 0, "owned_by": "valley"}]}),
            ),
            ("POST", "/v1/chat/completions") | ("POST", "/v1/completions") => {
                let chat = path.ends_with("chat/completions");
                match self.answer(chat, body, ids) {
                    Ok(v) => (200, v),
                    Err(e) => {
                        (400, json!({"error": {"message": e.0, "type": "invalid_request_error"}}))
                    }
                }
            }
            ("GET" | "POST", _) => (
                404,
                json!({"error": {"message": format!("no route {method} {path}"), "type": "not_found"}}),
            ),
            _ => (
                405,
                json!({"error": {"message": format!("method {method} not allowed"), "type": "invalid_request_error"}}),
            ),
        }
    }

    fn answer(&self, chat: bool, body: &[u8], ids: &AtomicU64) -> Result<Value, BadRequest> {
        let req: Value = serde_json::from_slice(body)
            .map_err(|e| BadRequest(format!("invalid JSON body: {e}")))?;
        if req.get("stream").and_then(Value::as_bool) == Some(true) {
            return Err(BadRequest("`stream`: streaming is not supported".into()));
        }
        let num = |key: &str, default: f64| -> Result<f64, BadRequest> {
            match req.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => {
                    v.as_f64().ok_or_else(|| BadRequest(format!("`{key}` must be a number")))
                }
            }
        };
        let prompt_ids = if chat {
            let messages = req
                .get("messages")
                .and_then(Value::as_array)
                .ok_or_else(|| BadRequest("`messages` must be an array".into()))?;
            let messages = messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let role = m.get("role").and_then(Value::as_str);
                    let content = m.get("content").and_then(Value::as_str);
                    match (role, content) {
                        (Some(r), Some(c)) => Ok(Message::new(r, c)),
                        _ => Err(BadRequest(format!(
                            "`messages[{i}]` needs string `role` and `content`"
                        ))),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            let text = self
                .tokenizer
                .render_text(&messages, true)
                .map_err(|e| BadRequest(format!("chat template: {e}")))?;
            self.tokenizer.encode(&text).map_err(|e| BadRequest(e.to_string()))?
        } else {
            let prompt = req
                .get("prompt")
                .and_then(Value::as_str)
                .ok_or_else(|| BadRequest("`prompt` must be a string".into()))?;
            self.tokenizer.encode(prompt).map_err(|e| BadRequest(e.to_string()))?
        };
        if prompt_ids.is_empty() {
            return Err(BadRequest("the prompt is empty".into()));
        }
        let context = self.model.config.max_position_embeddings;
        if prompt_ids.len() >= context {
            return Err(BadRequest(format!(
                "the prompt has {} tokens; the context is {context}",
                prompt_ids.len()
            )));
        }
        let default_max = if chat { (context - prompt_ids.len()) as f64 } else { 16.0 };
        let max_tokens = num("max_tokens", num("max_completion_tokens", default_max)?)?;
        let temperature = num("temperature", 1.0)?;
        let top_p = num("top_p", 1.0)?;
        let n = num("n", 1.0)?;
        if max_tokens < 0.0
            || temperature < 0.0
            || !(0.0..=1.0).contains(&top_p)
            || !(1.0..=64.0).contains(&n)
        {
            return Err(BadRequest(
                "`max_tokens` ≥ 0, `temperature` ≥ 0, `top_p` in [0, 1], `n` in [1, 64]".into(),
            ));
        }
        let seed = match req.get("seed") {
            Some(Value::Number(s)) => s.as_u64().unwrap_or(0),
            _ => ids.load(Ordering::Relaxed),
        };
        let stop_strings: Vec<String> = match req.get("stop") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => {
                a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
            }
            Some(_) => {
                return Err(BadRequest("`stop` must be a string or an array of strings".into()));
            }
        };
        let mut choices = Vec::new();
        let mut completion_tokens = 0;
        for i in 0..n as u64 {
            let params = SamplingParams {
                temperature,
                top_p,
                max_tokens: max_tokens as usize,
                seed: seed.wrapping_add(i.wrapping_mul(0x9e37_79b9)),
            };
            let c = self.complete(&prompt_ids, &params, &stop_strings);
            completion_tokens += c.completion_tokens;
            choices.push(if chat {
                json!({"index": i, "message": {"role": "assistant", "content": c.text}, "finish_reason": c.finish_reason.as_str()})
            } else {
                json!({"index": i, "text": c.text, "logprobs": null, "finish_reason": c.finish_reason.as_str()})
            });
        }
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Ok(json!({
            "id": format!("{}-{id}", if chat { "chatcmpl" } else { "cmpl" }),
            "object": if chat { "chat.completion" } else { "text_completion" },
            "created": created,
            "model": self.name,
            "choices": choices,
            "usage": {"prompt_tokens": prompt_ids.len(), "completion_tokens": completion_tokens,
                      "total_tokens": prompt_ids.len() + completion_tokens},
        }))
    }
}

/// Serves `generator` on `listener` until the process ends. `log` receives one line per request.
pub fn serve<B: Backend>(
    generator: Generator<B>,
    listener: TcpListener,
    log: impl Fn(&str) + Send + Sync + 'static,
) -> std::io::Result<()>
where
    Generator<B>: Send,
{
    let shared = Arc::new((Mutex::new(generator), AtomicU64::new(0), log));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let (generator, ids, log) = &*shared;
            let _ = connection(stream, |method, path, body| {
                let started = std::time::Instant::now();
                let g = generator.lock().unwrap_or_else(|p| p.into_inner());
                let (status, value) = g.handle(method, path, body, ids);
                log(&format!("{method} {path} {status} {:.2}s", started.elapsed().as_secs_f64()));
                (status, value)
            });
        });
    }
    Ok(())
}

/// Reads requests from one connection until it closes, answering each with `route`.
fn connection(
    stream: TcpStream,
    route: impl Fn(&str, &str, &[u8]) -> (u16, Value),
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return Ok(());
        };
        let (method, path) = (method.to_owned(), path.to_owned());
        let mut length = 0usize;
        let mut close = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                } else if k == "connection" && v.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let (status, value) = if length > MAX_BODY {
            (
                413,
                json!({"error": {"message": "request body too large", "type": "invalid_request_error"}}),
            )
        } else {
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body)?;
            route(&method, &path, &body)
        };
        let body = serde_json::to_vec(&value).expect("JSON serialises");
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            413 => "Payload Too Large",
            _ => "Error",
        };
        write!(
            writer,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        )?;
        writer.write_all(&body)?;
        writer.flush()?;
        if close || length > MAX_BODY {
            return Ok(());
        }
    }
}

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Cpu,
    /// One NVIDIA GPU (needs the `cuda` feature).
    Cuda,
}

/// What `valley serve` serves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// An HF folder or a `.gguf` file.
    pub model: std::path::PathBuf,
    pub tokenizer: Option<std::path::PathBuf>,
    pub chat_template: Option<std::path::PathBuf>,
    /// The name `/v1/models` lists.
    pub name: String,
    pub device: DeviceKind,
}

/// What was loaded, reported once before serving.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub family: crate::config::Family,
    pub parameters: usize,
    pub stop_ids: Vec<u32>,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot load the model")]
    Model(#[from] crate::weights::LoadModelError),
    #[error("cannot load the tokenizer")]
    Tokenizer(#[from] crate::chat::LoadChatError),
    #[error("this build has no CUDA backend (build with `--features cuda`)")]
    NoCuda,
    #[error("serving failed")]
    Io(#[from] std::io::Error),
}

/// Loads `opts.model` on its device and serves it on `listener` until the process ends.
pub fn run_server(
    opts: &ServeOptions,
    listener: TcpListener,
    on_ready: impl FnOnce(&ServerInfo),
    log: impl Fn(&str) + Send + Sync + 'static,
) -> Result<(), ServeError> {
    match opts.device {
        DeviceKind::Cpu => run_on::<crate::Cpu>(opts, listener, on_ready, log, Default::default()),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => {
            run_on::<burn::backend::Cuda>(opts, listener, on_ready, log, Default::default())
        }
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => Err(ServeError::NoCuda),
    }
}

fn run_on<B: Backend>(
    opts: &ServeOptions,
    listener: TcpListener,
    on_ready: impl FnOnce(&ServerInfo),
    log: impl Fn(&str) + Send + Sync + 'static,
    device: B::Device,
) -> Result<(), ServeError>
where
    Generator<B>: Send,
{
    let (config, host) = crate::weights::load_host(&opts.model)?;
    let model = crate::weights::to_device::<B>(config.clone(), &host, &opts.model, &device)?;
    drop(host);
    let tokenizer = crate::chat::load_chat_tokenizer(
        &opts.model,
        opts.tokenizer.as_deref(),
        opts.chat_template.as_deref(),
    )?;
    let stop = crate::chat::stop_ids(&tokenizer, &config);
    on_ready(&ServerInfo {
        family: config.model_type,
        parameters: config.parameter_count(),
        stop_ids: stop.clone(),
    });
    let generator = Generator { model, tokenizer, stop, name: opts.name.clone() };
    Ok(serve(generator, listener, log)?)
}
