//! The generation record: one completion of one prompt, as `valley generate` appends it.
//!
//! A generation job is keyed by ([`Generation::question_id`], [`Generation::sample_index`]); a
//! resumed job skips every key already on file, so each key appears exactly once.

use serde::{Deserialize, Serialize};

use crate::trace::{THINK_CLOSE, THINK_OPEN, ThinkStatus, parse_response};

/// Which OpenAI-compatible endpoint produced a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// `POST {endpoint}/chat/completions` with `messages`: the server applies the chat template.
    #[default]
    Chat,
    /// `POST {endpoint}/completions` with a `prompt` already rendered through a chat template.
    Completions,
}

impl ApiKind {
    /// The path appended to the endpoint's base URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::Chat => "chat/completions",
            Self::Completions => "completions",
        }
    }
}

/// The sampling parameters a completion was drawn with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    /// Softmax temperature.
    pub temperature: f64,
    /// Nucleus-sampling mass.
    pub top_p: f64,
    /// Completion-token budget sent as `max_tokens`; `None` leaves it to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Seed sent with the request (the job's seed plus the sample index), when the job has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Server-specific fields sent in every request body (`--extra-body`), such as llama.cpp's
    /// `repeat_penalty` or vLLM's `top_k`: recorded so that two harnesses' settings can be told
    /// apart, and part of the job's identity.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Where the reasoning tags occur in a response, as byte offsets into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThinkSpan {
    /// The shape of the reasoning block.
    pub status: ThinkStatus,
    /// Byte offset of the first `<think>`, if any.
    pub open: Option<usize>,
    /// Byte offset of the first `</think>`, if any.
    pub close: Option<usize>,
}

impl ThinkSpan {
    /// Locates the reasoning tags of `response`.
    pub fn of(response: &str) -> Self {
        Self {
            status: parse_response(response).think,
            open: response.find(THINK_OPEN),
            close: response.find(THINK_CLOSE),
        }
    }
}

/// One completion: what the server said and how it was asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The problem (or question row) this completion answers.
    pub question_id: String,
    /// Which of the `n` samples of that problem this is, from 0.
    pub sample_index: u32,
    /// The completion text.
    pub response: String,
    /// The server's finish reason (`stop`, `length`, …), when it gave one.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Prompt tokens, as the server counted them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    /// Completion tokens, as the server counted them.
    #[serde(default)]
    pub completion_tokens: Option<u64>,
    /// The model name sent with the request.
    #[serde(default)]
    pub model: String,
    /// The endpoint kind used.
    #[serde(default)]
    pub api: ApiKind,
    /// How the problem was turned into the prompt (LiveCodeBench's `LMStyle` name); evaluation
    /// applies LiveCodeBench's extraction for it. `None` in records from elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_style: Option<crate::PromptStyle>,
    /// Sampling parameters of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<SamplingParams>,
    /// Wall time of the successful request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Requests sent for this sample, the successful one included.
    #[serde(default = "one")]
    pub attempts: u32,
    /// Where `<think>` and `</think>` occur in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<ThinkSpan>,
}

fn one() -> u32 {
    1
}

impl Generation {
    /// The record's identity within a job.
    pub fn key(&self) -> (&str, u32) {
        (&self.question_id, self.sample_index)
    }

    /// A candidate id unique within a job: `question_id/sample_index`.
    pub fn candidate_id(&self) -> String {
        format!("{}/{}", self.question_id, self.sample_index)
    }

    /// Whether the response ended within its budget: `Some(true)` when the server said it stopped
    /// on its own within `max_tokens` (the evaluation budget, when given), `Some(false)` when it hit
    /// the token limit (finish reason `length`, a stop past the budget, or, with no finish reason,
    /// a completion-token count that reaches the budget), `None` when nothing tells.
    pub fn completed(&self, max_tokens: Option<u64>) -> Option<bool> {
        match self.finish_reason.as_deref() {
            Some("length") => return Some(false),
            Some("stop" | "eos" | "end_turn" | "stop_sequence") => {
                return Some(match (self.completion_tokens, max_tokens) {
                    (Some(t), Some(m)) => t <= m,
                    _ => true,
                });
            }
            _ => {}
        }
        let budget = max_tokens.or(self.params.as_ref()?.max_tokens.map(u64::from));
        match (self.completion_tokens, budget) {
            (Some(t), Some(m)) => Some(t < m),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generation(finish: Option<&str>, tokens: Option<u64>, max: Option<u32>) -> Generation {
        Generation {
            question_id: "q".into(),
            sample_index: 0,
            response: String::new(),
            finish_reason: finish.map(str::to_owned),
            prompt_tokens: None,
            completion_tokens: tokens,
            model: "m".into(),
            api: ApiKind::Chat,
            prompt_style: None,
            params: Some(SamplingParams {
                temperature: 0.0,
                top_p: 1.0,
                max_tokens: max,
                seed: None,
                extra: serde_json::Map::new(),
            }),
            latency_ms: 0,
            attempts: 1,
            think: None,
        }
    }

    #[test]
    fn completion_from_finish_reason_then_tokens() {
        let check = |finish, tokens, max, limit, expect| {
            assert_eq!(generation(finish, tokens, max).completed(limit), expect);
        };
        check(Some("length"), Some(10), None, None, Some(false));
        check(Some("stop"), Some(10), None, None, Some(true));
        // a stop within the evaluation budget completes; one past it does not
        check(Some("stop"), Some(100), None, Some(100), Some(true));
        check(Some("stop"), Some(101), None, Some(100), Some(false));
        check(None, Some(99), Some(100), None, Some(true));
        check(None, Some(100), Some(100), None, Some(false));
        check(None, Some(50), Some(100), Some(40), Some(false));
        check(None, None, Some(100), None, None);
        check(Some("weird"), None, None, None, None);
    }

    #[test]
    fn think_span_offsets_are_bytes() {
        let s = ThinkSpan::of("é<think>a</think>b");
        assert_eq!((s.status, s.open, s.close), (ThinkStatus::Misplaced, Some(2), Some(10)));
        let s = ThinkSpan::of("<think>never");
        assert_eq!((s.status, s.open, s.close), (ThinkStatus::Unclosed, Some(0), None));
    }

    #[test]
    fn minimal_rows_from_elsewhere_parse() {
        let g: Generation =
            serde_json::from_str(r#"{"question_id":"a","sample_index":3,"response":"r"}"#).unwrap();
        assert_eq!((g.key(), g.attempts, g.candidate_id()), (("a", 3), 1, "a/3".to_owned()));
        assert_eq!(g.prompt_style, None);
        let g: Generation = serde_json::from_str(
            r#"{"question_id":"a","sample_index":0,"response":"r","prompt_style":"CodeQwenInstruct"}"#,
        )
        .unwrap();
        assert_eq!(g.prompt_style, Some(crate::PromptStyle::CodeQwenInstruct));
    }
}
