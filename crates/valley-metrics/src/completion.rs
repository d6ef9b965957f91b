//! Completion rate: the share of responses that end within the token budget.
//!
//! *Definition.* Over all responses, those that finished on their own within the budget (the
//! paper: "the percentage of all model responses that finish within 32K tokens"). Whether one
//! response finished is decided by the caller (`valley_types::Generation::completed`: the
//! finish reason, else the completion-token count against the budget); a response about which
//! nothing is known counts as not completed and is also reported apart.
//!
//! *Why it matters.* Incomplete responses mostly loop on the same phrases until the cutoff; the
//! paper finds the rate rising log-linearly with data size, with performance.
//!
//! *Example.* Finish reasons `stop, length, stop, stop` → 0.75.
//!
//! *Pitfalls.* A server that stops at its own context limit reports `length` like a budget hit;
//! generations made with a budget above the evaluation budget need the token count, so pass the
//! budget to `completed`.

use crate::Rate;

/// The share of responses whose `completed` flag is `Some(true)`; unknown counts as incomplete.
pub fn completion_rate(completed: impl IntoIterator<Item = Option<bool>>) -> Rate {
    Rate::of(completed.into_iter().map(|c| c == Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_not_completed() {
        let r = completion_rate([Some(true), Some(false), None, Some(true)]);
        assert_eq!(r, Rate { count: 2, total: 4 });
        assert_eq!(completion_rate([]).value(), None);
    }
}
