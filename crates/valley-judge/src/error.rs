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
    /// A package the profile needs does not import in the judge's interpreter.
    #[error(
        "the judge's Python `{python}` ({version}) cannot import {module}, which the {profile} profile needs ({reason})"
    )]
    MissingModule {
        /// The interpreter as given.
        python: String,
        /// Its version.
        version: String,
        /// The module.
        module: String,
        /// The profile.
        profile: String,
        /// The import error.
        reason: String,
    },
    /// A package imports outside the sandbox but not inside it (its folder is not visible there).
    #[error(
        "{module} imports in the judge's Python `{python}` but not inside the sandbox (a folder of it is not visible there)"
    )]
    HiddenModule {
        /// The interpreter as given.
        python: String,
        /// The module.
        module: String,
    },
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
