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

/// Prints `error:`, one `caused by:` line per source and any `hint:`; returns the exit code.
#[expect(clippy::print_stderr, reason = "the binary's one error reporter")]
pub(crate) fn report(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        return SUCCESS;
    }
    eprintln!("error: {err}");
    let mut hint = None;
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    for cause in err.chain() {
        if let Some(h) = cause.downcast_ref::<Hint>() {
            hint = Some(h.hint.clone());
        }
    }
    if let Some(h) = hint {
        eprintln!("hint: {h}");
    }
    if err.chain().any(|c| c.downcast_ref::<CheckFailed>().is_some()) {
        CHECK_FAILED
    } else {
        USAGE
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
