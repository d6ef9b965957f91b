//! HTTP/1.1 on hyper: routing, request limits (header size and count, body size, read
//! timeouts; hyper itself answers a malformed request line, header or `Content-Length` with
//! 400 and oversized headers with 431, and decodes chunked bodies), whole JSON answers and
//! server-sent-event streams.

use std::convert::Infallible;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use valley_data::chat::ChatTokenizer;

use super::api::{self, AnswerMeta, Choice, GenRequest};
use super::batch::{Event, Job};

/// Request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body (bytes).
    pub max_body: usize,
    /// Largest request head: request line and headers (bytes).
    pub max_header_bytes: usize,
    /// Most header fields.
    pub max_headers: usize,
    /// Longest wait for a request's head, and for its body.
    pub read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 16 << 20,
            max_header_bytes: 64 << 10,
            max_headers: 100,
            read_timeout: Duration::from_secs(30),
        }
    }
}

/// What every request handler shares.
pub struct App {
    pub name: String,
    pub tokenizer: Arc<ChatTokenizer>,
    pub context: usize,
    /// Rows of the model's embedding (prompt ids must be below).
    pub vocab: usize,
    pub jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
    pub ids: AtomicU64,
    pub limits: Limits,
    pub log: Box<dyn Fn(&str) + Send + Sync>,
}

type Reply = Response<BoxBody<Bytes, Infallible>>;

/// Serves `app` on `listener` until the process ends (a single-threaded runtime: the model
/// runs on its own threads).
pub fn serve(app: App, listener: TcpListener) -> std::io::Result<()> {
    let app = Arc::new(app);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => continue,
            };
            let app = Arc::clone(&app);
            let limits = app.limits;
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let service = hyper::service::service_fn(move |req| {
                    let app = Arc::clone(&app);
                    async move { Ok::<_, Infallible>(handle(&app, req).await) }
                });
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(hyper_util::rt::TokioTimer::new())
                    // a client may close its sending side once the request is out
                    .half_close(true)
                    .header_read_timeout(limits.read_timeout)
                    .max_header_size(limits.max_header_bytes)
                    .max_headers(limits.max_headers);
                // a connection that fails (malformed request: hyper has answered it) just ends
                let _ = builder.serve_connection(io, service).await;
            });
        }
    })
}

fn json_reply(status: StatusCode, v: &Value) -> Reply {
    let body = serde_json::to_vec(v).expect("JSON serialises");
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, message: &str, kind: &str) -> Reply {
    json_reply(status, &api::error_body(message, kind))
}

async fn handle(app: &App, req: Request<Incoming>) -> Reply {
    let started = Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let reply = route(app, req).await;
    (app.log)(&format!(
        "{method} {path} {} {:.2}s",
        reply.status().as_u16(),
        started.elapsed().as_secs_f64()
    ));
    reply
}

async fn route(app: &App, req: Request<Incoming>) -> Reply {
    let chat = match (req.method(), req.uri().path()) {
        (&Method::GET, "/v1/models") => {
            return json_reply(
                StatusCode::OK,
                &json!({"object": "list", "data": [{"id": app.name, "object": "model", "created": 0, "owned_by": "valley"}]}),
            );
        }
        (&Method::GET, "/health") => return json_reply(StatusCode::OK, &json!({"status": "ok"})),
        (&Method::POST, "/v1/chat/completions") => true,
        (&Method::POST, "/v1/completions") => false,
        (&Method::GET | &Method::POST, path) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!("no route {} {path}", req.method()),
                "not_found",
            );
        }
        (m, _) => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("method {m} not allowed"),
                "invalid_request_error",
            );
        }
    };
    // a declared length over the limit is refused before reading anything
    if req.body().size_hint().lower() > app.limits.max_body as u64 {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body over {} bytes", app.limits.max_body),
            "invalid_request_error",
        );
    }
    let body = Limited::new(req.into_body(), app.limits.max_body);
    let bytes = match tokio::time::timeout(app.limits.read_timeout, body.collect()).await {
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
                "invalid_request_error",
            );
        }
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body over {} bytes", app.limits.max_body),
                "invalid_request_error",
            );
        }
        Ok(Err(e)) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("malformed request body: {e}"),
                "invalid_request_error",
            );
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    let default_seed = app.ids.load(Ordering::Relaxed);
    let parsed = api::parse_request(chat, &bytes, &app.tokenizer, app.context, default_seed);
    let req = match parsed {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.0, "invalid_request_error"),
    };
    if let Some(t) = req.prompt.iter().find(|&&t| t as usize >= app.vocab) {
        let message = format!("token id {t} is outside the model's vocabulary of {}", app.vocab);
        return error(StatusCode::BAD_REQUEST, &message, "invalid_request_error");
    }
    let id = app.ids.fetch_add(1, Ordering::Relaxed);
    let meta = AnswerMeta {
        id: format!("{}-{id}", if chat { "chatcmpl" } else { "cmpl" }),
        created: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        model: app.name.clone(),
        chat,
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let job = Job {
        prompt: req.prompt.clone(),
        choices: req.choices.clone(),
        stop: req.stop.clone(),
        stream: req.stream,
        events: tx,
    };
    let sent = app.jobs.lock().unwrap_or_else(|p| p.into_inner()).send(job);
    if sent.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the model has stopped", "server_error");
    }
    if req.stream {
        let body = SseBody::new(meta, &req, rx);
        let mut r = Response::new(body.boxed());
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return r;
    }
    match collect(rx, req.choices.len()).await {
        Some(choices) => {
            json_reply(StatusCode::OK, &api::answer(&meta, req.prompt.len(), &choices))
        }
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the model stopped before answering",
            "server_error",
        ),
    }
}

/// Waits for every choice of a non-streamed request.
async fn collect(mut rx: UnboundedReceiver<Event>, n: usize) -> Option<Vec<Choice>> {
    let mut out: Vec<Option<Choice>> = vec![None; n];
    while out.iter().any(Option::is_none) {
        if let Event::Done { index, choice } = rx.recv().await? {
            out[index] = Some(choice);
        }
    }
    out.into_iter().collect()
}

/// A streamed answer: events from the batcher turned into server-sent-event chunks, then the
/// usage chunk (when asked for) and `data: [DONE]`.
struct SseBody {
    meta: AnswerMeta,
    rx: UnboundedReceiver<Event>,
    prompt_tokens: usize,
    include_usage: bool,
    /// Per choice: whether its first chunk went out, and whether it is done.
    started: Vec<bool>,
    done: Vec<bool>,
    completion_tokens: usize,
    finished: bool,
}

impl SseBody {
    fn new(meta: AnswerMeta, req: &GenRequest, rx: UnboundedReceiver<Event>) -> Self {
        let n = req.choices.len();
        Self {
            meta,
            rx,
            prompt_tokens: req.prompt.len(),
            include_usage: req.include_usage,
            started: vec![false; n],
            done: vec![false; n],
            completion_tokens: 0,
            finished: false,
        }
    }
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let mut out = String::new();
        // drain what is ready into one frame
        loop {
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(Event::Text { index, text })) => {
                    let first = !std::mem::replace(&mut this.started[index], true);
                    out.push_str(&api::chunk(&this.meta, index, Some(&text), first, None));
                }
                Poll::Ready(Some(Event::Done { index, choice })) => {
                    let first = !std::mem::replace(&mut this.started[index], true);
                    let text = first.then_some("");
                    out.push_str(&api::chunk(
                        &this.meta,
                        index,
                        text,
                        first,
                        Some(choice.finish_reason),
                    ));
                    this.completion_tokens += choice.completion_tokens;
                    this.done[index] = true;
                    if this.done.iter().all(|d| *d) {
                        if this.include_usage {
                            out.push_str(&api::usage_chunk(
                                &this.meta,
                                this.prompt_tokens,
                                this.completion_tokens,
                            ));
                        }
                        out.push_str(api::DONE);
                        this.finished = true;
                        break;
                    }
                }
                // the batcher went away mid-stream: end the stream
                Poll::Ready(None) => {
                    this.finished = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        if out.is_empty() {
            return if this.finished { Poll::Ready(None) } else { Poll::Pending };
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
    }
}
