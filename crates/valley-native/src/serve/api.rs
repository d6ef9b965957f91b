//! The OpenAI API as valley serves it: a request body validated into a [`GenRequest`], and the
//! JSON of answers — whole (`chat.completion`, `text_completion`) or streamed as server-sent
//! events (`chat.completion.chunk` pieces, then `data: [DONE]`).

use serde_json::{Value, json};
use valley_data::chat::{ChatTokenizer, Message};

use crate::generate::{FinishReason, SamplingParams};

/// A request the server refuses (HTTP 400), with OpenAI's error message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// A validated generation request.
#[derive(Debug, Clone, PartialEq)]
pub struct GenRequest {
    /// `/v1/chat/completions` (else `/v1/completions`).
    pub chat: bool,
    pub prompt: Vec<u32>,
    /// One entry per choice (`n`), each with its own seed.
    pub choices: Vec<SamplingParams>,
    pub stop: Vec<String>,
    pub stream: bool,
    /// `stream_options.include_usage`: a last chunk with the token counts.
    pub include_usage: bool,
}

/// Parses a request body. `context` bounds the prompt; `default_seed` seeds requests without one.
pub fn parse_request(
    chat: bool,
    body: &[u8],
    tokenizer: &ChatTokenizer,
    context: usize,
    default_seed: u64,
) -> Result<GenRequest, BadRequest> {
    let req: Value =
        serde_json::from_slice(body).map_err(|e| BadRequest(format!("invalid JSON body: {e}")))?;
    if !req.is_object() {
        return Err(BadRequest("the body must be a JSON object".into()));
    }
    let num = |key: &str, default: f64| -> Result<f64, BadRequest> {
        match req.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| BadRequest(format!("`{key}` must be a number"))),
        }
    };
    let flag = |v: Option<&Value>, key: &str| -> Result<bool, BadRequest> {
        match v {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(BadRequest(format!("`{key}` must be a boolean"))),
        }
    };
    let prompt = if chat {
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
        let text = tokenizer
            .render_text(&messages, true)
            .map_err(|e| BadRequest(format!("chat template: {e}")))?;
        tokenizer.encode(&text).map_err(|e| BadRequest(e.to_string()))?
    } else {
        match req.get("prompt") {
            Some(Value::String(p)) => tokenizer.encode(p).map_err(|e| BadRequest(e.to_string()))?,
            Some(Value::Array(ids)) if ids.iter().all(Value::is_u64) => {
                let vocab = tokenizer.tokenizer().get_vocab_size(true) as u64;
                ids.iter()
                    .map(|v| v.as_u64().filter(|&i| i < vocab).map(|i| i as u32))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        BadRequest(format!("`prompt`: token ids must be below {vocab}"))
                    })?
            }
            _ => {
                return Err(BadRequest(
                    "`prompt` must be a string or an array of token ids".into(),
                ));
            }
        }
    };
    if prompt.is_empty() {
        return Err(BadRequest("the prompt is empty".into()));
    }
    if prompt.len() >= context {
        return Err(BadRequest(format!(
            "the prompt has {} tokens; the context is {context}",
            prompt.len()
        )));
    }
    let default_max = if chat { (context - prompt.len()) as f64 } else { 16.0 };
    let max_tokens = num("max_tokens", num("max_completion_tokens", default_max)?)?;
    let temperature = num("temperature", 1.0)?;
    let top_p = num("top_p", 1.0)?;
    let n = num("n", 1.0)?;
    if max_tokens < 0.0
        || temperature < 0.0
        || !(0.0..=1.0).contains(&top_p)
        || !(1.0..=64.0).contains(&n)
        || n.fract() != 0.0
    {
        return Err(BadRequest(
            "`max_tokens` ≥ 0, `temperature` ≥ 0, `top_p` in [0, 1], `n` an integer in [1, 64]"
                .into(),
        ));
    }
    let seed = match req.get("seed") {
        None | Some(Value::Null) => default_seed,
        Some(Value::Number(s)) => s.as_u64().or_else(|| s.as_i64().map(|v| v as u64)).unwrap_or(0),
        Some(_) => return Err(BadRequest("`seed` must be an integer".into())),
    };
    let stop: Vec<String> = match req.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
        }
        Some(_) => return Err(BadRequest("`stop` must be a string or an array of strings".into())),
    };
    let stream = flag(req.get("stream"), "stream")?;
    let include_usage = flag(
        req.get("stream_options").and_then(|o| o.get("include_usage")),
        "stream_options.include_usage",
    )?;
    let choices = (0..n as u64)
        .map(|i| SamplingParams {
            temperature,
            top_p,
            max_tokens: max_tokens as usize,
            seed: seed.wrapping_add(i.wrapping_mul(0x9e37_79b9)),
        })
        .collect();
    Ok(GenRequest { chat, prompt, choices, stop, stream, include_usage })
}

/// The identity of one answer, shared by its chunks.
#[derive(Debug, Clone)]
pub struct AnswerMeta {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub chat: bool,
}

impl AnswerMeta {
    fn object(&self, chunk: bool) -> &'static str {
        match (self.chat, chunk) {
            (true, false) => "chat.completion",
            (true, true) => "chat.completion.chunk",
            (false, _) => "text_completion",
        }
    }
}

/// One finished choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub text: String,
    pub finish_reason: FinishReason,
    pub completion_tokens: usize,
}

fn usage(prompt: usize, completion: usize) -> Value {
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

/// The whole answer.
pub fn answer(meta: &AnswerMeta, prompt_tokens: usize, choices: &[Choice]) -> Value {
    let list: Vec<Value> = choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if meta.chat {
                json!({"index": i, "message": {"role": "assistant", "content": c.text}, "finish_reason": c.finish_reason.as_str()})
            } else {
                json!({"index": i, "text": c.text, "logprobs": null, "finish_reason": c.finish_reason.as_str()})
            }
        })
        .collect();
    let completion: usize = choices.iter().map(|c| c.completion_tokens).sum();
    json!({
        "id": meta.id, "object": meta.object(false), "created": meta.created, "model": meta.model,
        "choices": list, "usage": usage(prompt_tokens, completion),
    })
}

/// One server-sent event carrying a chunk: choice `index` gained `text` (chat: a first chunk
/// per choice also carries `"role": "assistant"`), or ended with `finish`.
pub fn chunk(
    meta: &AnswerMeta,
    index: usize,
    text: Option<&str>,
    first: bool,
    finish: Option<FinishReason>,
) -> String {
    let choice = if meta.chat {
        let mut delta = serde_json::Map::new();
        if first {
            delta.insert("role".into(), "assistant".into());
        }
        if let Some(t) = text {
            delta.insert("content".into(), t.into());
        }
        json!({"index": index, "delta": delta, "logprobs": null, "finish_reason": finish.map(FinishReason::as_str)})
    } else {
        json!({"index": index, "text": text.unwrap_or(""), "logprobs": null, "finish_reason": finish.map(FinishReason::as_str)})
    };
    event(&json!({
        "id": meta.id, "object": meta.object(true), "created": meta.created, "model": meta.model,
        "choices": [choice],
    }))
}

/// The usage chunk that ends a stream with `include_usage` (no choices).
pub fn usage_chunk(meta: &AnswerMeta, prompt_tokens: usize, completion_tokens: usize) -> String {
    event(&json!({
        "id": meta.id, "object": meta.object(true), "created": meta.created, "model": meta.model,
        "choices": [], "usage": usage(prompt_tokens, completion_tokens),
    }))
}

/// The event that ends every stream.
pub const DONE: &str = "data: [DONE]\n\n";

fn event(v: &Value) -> String {
    format!("data: {v}\n\n")
}

/// An OpenAI-style error body.
pub fn error_body(message: &str, kind: &str) -> Value {
    json!({"error": {"message": message, "type": kind}})
}
