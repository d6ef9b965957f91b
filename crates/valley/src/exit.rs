//! Exit codes and the one error reporter.
//!
//! 0: success. 1: the work ran but what it checked failed (a threshold, a mismatch, a refused
//! split). 2: a usage, input or toolkit error.

/// The work ran and succeeded.
pub(crate) const SUCCESS: u8 = 0;
/// The work ran but what it checked failed.
pub(crate) const CHECK_FAILED: u8 = 1;
/// Usage, input or toolkit error.
pub(crate) const USAGE: u8 = 2;

/// An error that means "the work ran, and its check failed" (exit 1) rather than a fault (exit 2).
#[derive(Debug)]
pub(crate) struct CheckFailed(pub(crate) String);

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckFailed {}

/// A hint printed after the error chain.
#[derive(Debug)]
pub(crate) struct Hint {
    pub(crate) message: String,
    pub(crate) hint: String,
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hint {}

/// Prints one `error:` line holding the whole chain (so it names the file, line and field at
/// fault, as the contract asks), each cause once, then any `hint:`; returns the exit code.
#[expect(clippy::print_stderr, reason = "the binary's one error reporter")]
pub(crate) fn report(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        return SUCCESS;
    }
    eprintln!("error: {}", chain_line(err));
    // `downcast_ref` finds a Hint added with `.context(Hint { … })`, which the chain's items
    // (the wrapped errors) do not show as a Hint.
    if let Some(h) =
        err.downcast_ref::<Hint>().or_else(|| err.chain().find_map(|c| c.downcast_ref::<Hint>()))
    {
        eprintln!("hint: {}", h.hint);
    }
    if err.chain().any(|c| c.downcast_ref::<CheckFailed>().is_some()) {
        CHECK_FAILED
    } else {
        USAGE
    }
}

/// The chain joined with `: `, leaving out a cause whose text an outer message already shows
/// (typed errors often print their source inline).
fn chain_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_line_shows_each_cause_once() {
        let inner = std::io::Error::other("field `response`: missing");
        let err = anyhow::Error::new(inner)
            .context("in.jsonl:2: field `response`: missing")
            .context("cannot draw subsets");
        assert_eq!(chain_line(&err), "cannot draw subsets: in.jsonl:2: field `response`: missing");
        let err = anyhow::anyhow!("a").context("b");
        assert_eq!(chain_line(&err), "b: a");
    }
}
