//! What a generation job is given (its settings, the tasks) and what it reports (events, failures,
//! the summary, its errors).

use std::time::Duration;

use crate::client::{RequestError, RetryPolicy};
use crate::journal::{JobIdentity, JournalError};
use crate::prompt::PromptBody;

/// Settings of a generation job, with defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateConfig {
    /// Base URLs of the OpenAI-compatible API, such as `http://127.0.0.1:8000/v1`: one server,
    /// or several replicas of the same model.
    pub endpoints: Vec<String>,
    /// Model name sent with each request.
    pub model: String,
    /// Bearer token, if the server wants one.
    pub api_key: Option<String>,
    /// Samples per task.
    pub n: u32,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus mass.
    pub top_p: f64,
    /// Completion-token budget.
    pub max_tokens: Option<u32>,
    /// Base seed; sample `i` is sent with `seed + i`.
    pub seed: Option<u64>,
    /// Server-specific fields added to every request body; none may be one valley sets itself.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    /// Requests in flight at most, per replica.
    pub concurrency: usize,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// Send a second copy of a straggling request to another replica once the queue is empty.
    pub hedge: bool,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            endpoints: vec!["http://127.0.0.1:8000/v1".into()],
            model: "default".into(),
            api_key: None,
            n: 1,
            temperature: 0.2,
            top_p: 0.95,
            max_tokens: None,
            seed: None,
            extra_body: serde_json::Map::new(),
            concurrency: 8,
            request_timeout: Duration::from_secs(3600),
            retry: RetryPolicy::default(),
            hedge: true,
        }
    }
}

impl GenerateConfig {
    /// The settings every record of this job shares.
    pub fn identity(&self) -> JobIdentity {
        JobIdentity {
            model: self.model.clone(),
            temperature: self.temperature,
            top_p: self.top_p,
            max_tokens: self.max_tokens,
            extra: self.extra_body.clone(),
        }
    }
}

/// An endpoint must be an absolute `http` or `https` URL with a host, so a typo is found before
/// the first request rather than after every sample has failed.
pub(super) fn check_endpoint_url(endpoint: &str) -> Result<(), GenerateError> {
    let invalid = |why: String| GenerateError::Endpoint { endpoint: endpoint.to_owned(), why };
    let url = reqwest::Url::parse(endpoint).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("scheme `{}` is not http or https", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL takes no query or fragment".into()));
    }
    Ok(())
}

/// The request fields valley sets from its own options, which `extra_body` may not replace.
pub(super) const RESERVED_BODY_KEYS: &[&str] =
    &["model", "messages", "prompt", "n", "stream", "temperature", "top_p", "max_tokens", "seed"];

/// One prompt to sample `n` times.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The key the records carry.
    pub question_id: String,
    /// What is sent.
    pub prompt: PromptBody,
    /// How the prompt was made from the problem, recorded in every record.
    pub prompt_style: Option<valley_types::PromptStyle>,
}

/// Progress of a job, reported as it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// A record is durably on file.
    Written {
        /// Its completion-token count.
        completion_tokens: Option<u64>,
        /// Its request latency.
        latency: Duration,
    },
    /// A request failed and will be retried.
    Retry {
        /// The task.
        question_id: String,
        /// The sample.
        sample_index: u32,
        /// The attempt that failed.
        attempt: u32,
        /// Why.
        error: String,
    },
    /// A sample failed for good and was left off the file.
    Failed {
        /// The task.
        question_id: String,
        /// The sample.
        sample_index: u32,
        /// Why.
        error: String,
    },
}

/// A sample left off the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The task.
    pub question_id: String,
    /// The sample.
    pub sample_index: u32,
    /// Requests sent.
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

/// What a job did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// (task, sample) pairs the job covers.
    pub planned: u64,
    /// Pairs already on file when it started.
    pub already_done: u64,
    /// Records written by this run.
    pub written: u64,
    /// Samples that failed for good (not on file).
    pub failed: Vec<Failure>,
    /// Requests retried.
    pub retries: u64,
    /// Completion tokens of the records written.
    pub completion_tokens: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Second copies sent of straggling requests.
    pub hedged: u64,
    /// Of those, the ones that answered first.
    pub hedge_wins: u64,
    /// Requests lost to a replica whose server died, and sent again elsewhere.
    pub replica_losses: u64,
    /// Completions each replica answered.
    pub per_replica: Vec<u64>,
}

/// Why a job could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The settings are invalid.
    #[error("invalid generation settings: {0}")]
    Config(String),
    /// The endpoint is not a usable base URL.
    #[error("invalid endpoint `{endpoint}`: {why}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        why: String,
    },
    /// The server does not answer at all (refused, unknown host, silent).
    #[error("cannot reach the server at `{endpoint}`")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The transport error.
        #[source]
        source: RequestError,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] RequestError),
    /// Two tasks share a question id.
    #[error("question id `{0}` appears twice in the input")]
    DuplicateQuestion(String),
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The generations file failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
}
