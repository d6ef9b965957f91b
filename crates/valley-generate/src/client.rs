//! One completion request to an OpenAI-compatible server, with retries and backoff.
//!
//! Retried: HTTP 408, 409, 425, 429 and 5xx, transport errors (refused, reset, timed out) and
//! bodies that are not a completion. Waits grow exponentially with jitter, capped, and a
//! `Retry-After` header in seconds is honoured (up to the cap). Other 4xx answers are final.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use valley_types::{ApiKind, SamplingParams};

use crate::prompt::PromptBody;

/// A request failed for good (after its retries, or at once when retrying cannot help).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The server answered with an error status.
    #[error("server answered HTTP {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The request did not get an answer.
    #[error("request failed")]
    Transport(#[source] reqwest::Error),
    /// The answer is not a completion.
    #[error("answer is not a completion: {0}")]
    Decode(String),
}

impl RequestError {
    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => {
                matches!(status, 408 | 409 | 425 | 429) || (500..600).contains(status)
            }
            Self::Transport(e) => !e.is_builder(),
            Self::Decode(_) => true,
        }
    }

    /// Whether the request never got an answer (refused, reset, closed): what a server that
    /// died looks like from here.
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Transport(e) if !e.is_builder())
    }
}

/// How failed requests are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Requests sent at most per sample, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled each time.
    pub initial_backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (from 1): `initial · 2^(retry−1)`, capped, scaled by
    /// a jitter factor in [0.5, 1] drawn from `jitter` (a value in [0, 1)).
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exp = self.initial_backoff.saturating_mul(1u32 << (retry.saturating_sub(1)).min(20));
        exp.min(self.max_backoff).mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// What a server sent back for one prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The text; reasoning a server returned apart (`reasoning_content`) is put back in front as
    /// `<think>…</think>`, so tag rates see what the model wrote.
    pub text: String,
    /// The finish reason.
    pub finish_reason: Option<String>,
    /// Prompt tokens counted by the server.
    pub prompt_tokens: Option<u64>,
    /// Completion tokens counted by the server.
    pub completion_tokens: Option<u64>,
    /// Wall time of the successful request.
    pub latency: Duration,
    /// Requests sent, the successful one included.
    pub attempts: u32,
}

/// An HTTP client bound to one endpoint and model.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    model: String,
    api_key: Option<String>,
}

impl Client {
    /// A client for `endpoint` (a base URL such as `http://127.0.0.1:8000/v1`).
    pub fn new(
        endpoint: &str,
        model: &str,
        api_key: Option<String>,
        request_timeout: Duration,
    ) -> Result<Self, RequestError> {
        let http = reqwest::Client::builder()
            .timeout(request_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(RequestError::Transport)?;
        Ok(Self {
            http,
            base: endpoint.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api_key,
        })
    }

    /// Whether the server at `base` (a base URL such as `http://127.0.0.1:8000/v1`) is there at
    /// all: `GET {base}/models`, where any HTTP answer (even an error status) counts, and so
    /// does a connection the server accepted but did not answer within `timeout` (a busy
    /// server: llama.cpp's answers nothing while it decodes); only a connection that cannot be
    /// made (refused, unknown host, TLS failure, no answer to connect) is an error.
    pub async fn probe(&self, base: &str, timeout: Duration) -> Result<(), RequestError> {
        let url = format!("{}/models", base.trim_end_matches('/'));
        let mut req = self.http.get(url).timeout(timeout);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.is_timeout() && !e.is_connect() => Ok(()),
            Err(e) => Err(RequestError::Transport(e)),
        }
    }

    /// The request body for `prompt` with `params`.
    pub fn body(&self, prompt: &PromptBody, params: &SamplingParams) -> serde_json::Value {
        let mut body = json!({
            "model": self.model,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "n": 1,
            "stream": false,
        });
        let map = body.as_object_mut().expect("a JSON object literal");
        match prompt {
            PromptBody::Chat(messages) => map.insert("messages".into(), json!(messages)),
            PromptBody::Text(text) => map.insert("prompt".into(), json!(text)),
        };
        if let Some(m) = params.max_tokens {
            map.insert("max_tokens".into(), json!(m));
        }
        if let Some(s) = params.seed {
            map.insert("seed".into(), json!(s));
        }
        for (k, v) in &params.extra {
            map.insert(k.clone(), v.clone());
        }
        body
    }

    /// Sends `prompt` once.
    pub async fn send_once(
        &self,
        prompt: &PromptBody,
        params: &SamplingParams,
    ) -> Result<(Completion, Option<Duration>), (RequestError, Option<Duration>)> {
        self.send_once_to(&self.base, prompt, params).await
    }

    /// Sends `prompt` once to the server at `base` (another replica of the same model).
    pub async fn send_once_to(
        &self,
        base: &str,
        prompt: &PromptBody,
        params: &SamplingParams,
    ) -> Result<(Completion, Option<Duration>), (RequestError, Option<Duration>)> {
        let api = match prompt {
            PromptBody::Chat(_) => ApiKind::Chat,
            PromptBody::Text(_) => ApiKind::Completions,
        };
        let url = format!("{}/{}", base.trim_end_matches('/'), api.path());
        let mut req = self.http.post(url).json(&self.body(prompt, params));
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let start = Instant::now();
        let resp = req.send().await.map_err(|e| (RequestError::Transport(e), None))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let bytes = resp.bytes().await.map_err(|e| (RequestError::Transport(e), retry_after))?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err((RequestError::Status { status: status.as_u16(), body }, retry_after));
        }
        let latency = start.elapsed();
        parse_completion(&bytes, api)
            .map(|mut c| {
                c.latency = latency;
                (c, retry_after)
            })
            .map_err(|e| (e, retry_after))
    }

    /// Sends `prompt` until it succeeds, fails for good or runs out of attempts. `on_retry` hears
    /// of each failed attempt that will be retried; `jitter` gives values in [0, 1).
    pub async fn send(
        &self,
        prompt: &PromptBody,
        params: &SamplingParams,
        policy: &RetryPolicy,
        mut jitter: impl FnMut() -> f64,
        mut on_retry: impl FnMut(u32, &RequestError),
    ) -> Result<Completion, (RequestError, u32)> {
        let mut attempt = 1;
        loop {
            match self.send_once(prompt, params).await {
                Ok((mut c, _)) => {
                    c.attempts = attempt;
                    return Ok(c);
                }
                Err((e, retry_after)) => {
                    if !e.is_retryable() || attempt >= policy.max_attempts {
                        return Err((e, attempt));
                    }
                    on_retry(attempt, &e);
                    let wait = policy.backoff(attempt, jitter());
                    let wait = retry_after.map_or(wait, |r| r.min(policy.max_backoff).max(wait));
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<ChatMessage>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChatMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default, alias = "reasoning")]
    reasoning_content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// Reads a `chat/completions` or `completions` answer body.
pub fn parse_completion(bytes: &[u8], api: ApiKind) -> Result<Completion, RequestError> {
    let answer: Answer =
        serde_json::from_slice(bytes).map_err(|e| RequestError::Decode(e.to_string()))?;
    let choice = answer
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| RequestError::Decode("no `choices`".into()))?;
    let text = match api {
        ApiKind::Chat => {
            let m = choice
                .message
                .ok_or_else(|| RequestError::Decode("choice has no `message`".into()))?;
            let content = m.content.unwrap_or_default();
            match m.reasoning_content.filter(|r| !r.is_empty()) {
                Some(r) => format!("<think>{r}</think>{content}"),
                None => content,
            }
        }
        ApiKind::Completions => {
            choice.text.ok_or_else(|| RequestError::Decode("choice has no `text`".into()))?
        }
    };
    let usage = answer.usage.unwrap_or(Usage { prompt_tokens: None, completion_tokens: None });
    Ok(Completion {
        text,
        finish_reason: choice.finish_reason,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        latency: Duration::ZERO,
        attempts: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chat_and_text_answers() {
        let chat = br#"{"choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
        let c = parse_completion(chat, ApiKind::Chat).unwrap();
        assert_eq!((c.text.as_str(), c.finish_reason.as_deref()), ("hi", Some("stop")));
        assert_eq!((c.prompt_tokens, c.completion_tokens), (Some(3), Some(1)));
        let split = br#"{"choices":[{"message":{"content":"ans","reasoning_content":"why"},"finish_reason":"length"}]}"#;
        assert_eq!(parse_completion(split, ApiKind::Chat).unwrap().text, "<think>why</think>ans");
        let text = br#"{"choices":[{"text":"t","finish_reason":null}]}"#;
        let c = parse_completion(text, ApiKind::Completions).unwrap();
        assert_eq!((c.text.as_str(), c.finish_reason, c.completion_tokens), ("t", None, None));
        for bad in [&b"{}"[..], b"{\"choices\":[]}", b"<html>", br#"{"choices":[{"text":"t"}]}"#] {
            assert!(parse_completion(bad, ApiKind::Chat).is_err());
        }
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let p = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        };
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, 0.0), Duration::from_millis(200));
        assert_eq!(p.backoff(10, 1.0), Duration::from_millis(1000));
        assert_eq!(p.backoff(100, 1.0), Duration::from_millis(1000));
    }

    #[test]
    fn which_errors_are_retried() {
        let s = |status| RequestError::Status { status, body: String::new() };
        assert!(s(429).is_retryable() && s(500).is_retryable() && s(503).is_retryable());
        assert!(!s(400).is_retryable() && !s(401).is_retryable() && !s(404).is_retryable());
        assert!(RequestError::Decode("x".into()).is_retryable());
    }

    #[test]
    fn body_carries_the_sampling_parameters() {
        let c = Client::new("http://127.0.0.1:1/v1/", "m", None, Duration::from_secs(1)).unwrap();
        let params = SamplingParams {
            temperature: 0.2,
            top_p: 0.95,
            max_tokens: Some(9),
            seed: Some(4),
            extra: serde_json::Map::new(),
        };
        let b = c.body(&PromptBody::Text("p".into()), &params);
        assert_eq!(
            b,
            json!({"model":"m","temperature":0.2,"top_p":0.95,"n":1,"stream":false,"prompt":"p","max_tokens":9,"seed":4})
        );
        assert_eq!(c.base, "http://127.0.0.1:1/v1");
    }
}
