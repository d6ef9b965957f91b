//! Errors of the judge: building it, and reading problem rows.

/// The judge could not be built.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The Python interpreter could not be run or described itself oddly.
    #[error("cannot use the Python interpreter `{python}`")]
    Interpreter {
        /// The interpreter as given.
        python: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox refused (weak isolation) or could not be prepared.
    #[error("cannot build the sandbox")]
    Sandbox(#[source] valley_sandbox::SandboxError),
    /// The warm interpreter did not start inside the sandbox.
    #[error("the judge's interpreter did not start in the sandbox: {0}")]
    Start(String),
}

/// A problem row could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseProblemError {
    /// A required field is absent.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// A field holds the wrong kind of value.
    #[error("field `{field}`: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The row matches no known format.
    #[error(
        "cannot tell the problem format (no `public_test_cases`, `input_output` or `test`); pass --problem-format"
    )]
    UnknownFormat,
}
