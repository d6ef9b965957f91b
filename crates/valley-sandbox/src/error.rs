//! Errors of building a sandbox and of starting a program in it.

/// The sandbox could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The kernel denies protections that the strict policy requires.
    #[error("sandbox isolation unavailable: missing {}", missing.join(", "))]
    WeakIsolation {
        /// Names of the protections that could not be applied.
        missing: Vec<String>,
    },
    /// A bind path does not exist or cannot be resolved.
    #[error("cannot bind {path} into the sandbox")]
    Bind {
        /// The path as given.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox root could not be prepared.
    #[error("cannot prepare the sandbox mount point {path}")]
    Prepare {
        /// The mount point folder.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A program could not be started, or a spawned program could not be waited for.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// A system call on the judge's side failed.
    #[error("{what} failed")]
    Os {
        /// The operation.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Setting up the sandboxed child failed before the program started.
    #[error("sandbox setup step `{step}` failed")]
    Setup {
        /// The step that failed.
        step: &'static str,
        /// The OS error it returned.
        #[source]
        source: std::io::Error,
    },
    /// An argument, path or variable holds a NUL byte.
    #[error("argument holds a NUL byte: {0:?}")]
    Nul(String),
}

impl SpawnError {
    pub(crate) fn os(what: &'static str) -> Self {
        Self::Os { what, source: std::io::Error::last_os_error() }
    }
}
