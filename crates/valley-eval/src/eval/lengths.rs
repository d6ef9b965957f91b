//! Response lengths in tokens and whether each response completed within its budget.

use valley_data::chat::ChatTokenizer;
use valley_metrics::length_stats;
use valley_types::{Generation, LengthSource, ResponseTokens};

use crate::error::EvalError;

/// Per generation: its length in tokens and whether it completed (`None`: unknown).
pub(super) struct Lengths {
    pub(super) tokens: Vec<Option<u64>>,
    pub(super) completed: Vec<Option<bool>>,
}

/// The server's count of each response, else the tokenizer's; a response completed when the
/// generation says so (its finish reason, its count against `max_tokens`), else when its count
/// is below the budget (`max_tokens`, else the one it was made with).
pub(super) fn measure(
    generations: &[Generation],
    tokenizer: Option<&ChatTokenizer>,
    max_tokens: Option<u64>,
) -> Result<Lengths, EvalError> {
    let mut lengths = Lengths {
        tokens: Vec::with_capacity(generations.len()),
        completed: Vec::with_capacity(generations.len()),
    };
    for g in generations {
        let tokens = match (g.completion_tokens, tokenizer) {
            (Some(t), _) => Some(t),
            (None, Some(tok)) => Some(
                tok.encode(&g.response)
                    .map_err(|source| EvalError::Tokenize { candidate: g.candidate_id(), source })?
                    .len() as u64,
            ),
            (None, None) => None,
        };
        let budget = max_tokens.or(g.params.as_ref().and_then(|p| p.max_tokens).map(u64::from));
        let by_count = match (tokens, budget) {
            (Some(t), Some(b)) => Some(t < b),
            _ => None,
        };
        lengths.tokens.push(tokens);
        lengths.completed.push(g.completed(max_tokens).or(by_count));
    }
    Ok(lengths)
}

impl Lengths {
    /// Percentiles of every response, of those that completed, and of the others.
    pub(super) fn stats(&self, generations: &[Generation], tokenizer: bool) -> ResponseTokens {
        let source = if generations.iter().all(|g| g.completion_tokens.is_some()) {
            LengthSource::Server
        } else if tokenizer {
            LengthSource::ServerElseTokenizer
        } else {
            LengthSource::ServerOnly
        };
        let with = |keep: fn(Option<bool>) -> bool| {
            length_stats(
                self.tokens
                    .iter()
                    .zip(&self.completed)
                    .filter(|(_, c)| keep(**c))
                    .filter_map(|(l, _)| *l),
            )
        };
        ResponseTokens {
            source,
            all: length_stats(self.tokens.iter().flatten().copied()),
            completed: with(|c| c == Some(true)),
            not_completed: with(|c| c != Some(true)),
        }
    }
}
