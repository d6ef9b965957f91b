//! Why an engine's servers could not be started or kept running.

use std::path::PathBuf;

/// A server failed to start, died, or the settings cannot work.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The settings cannot work (too few GPUs, a flag valley sets itself, …).
    #[error("{0}")]
    Config(String),
    /// The executable could not be started.
    #[error("cannot start `{program}` for replica {replica}")]
    Spawn {
        /// The replica.
        replica: usize,
        /// The executable.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server exited before it answered, or while it served.
    #[error(
        "{engine} server of replica {replica} exited ({status}) before it was ready; the last lines of {log}:\n{tail}",
        log = log.display()
    )]
    Exited {
        /// The engine.
        engine: String,
        /// The replica.
        replica: usize,
        /// How it exited.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log.
        tail: String,
    },
    /// The server did not answer its health route in time.
    #[error(
        "{engine} server of replica {replica} did not answer {route} within {seconds}s; the last lines of {log}:\n{tail}",
        log = log.display()
    )]
    Timeout {
        /// The engine.
        engine: String,
        /// The replica.
        replica: usize,
        /// The route it was asked.
        route: String,
        /// The limit.
        seconds: f64,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log.
        tail: String,
    },
    /// A replica died again after its last allowed restart.
    #[error("replica {replica} died and was restarted {restarts} times already; giving up on it")]
    GaveUp {
        /// The replica.
        replica: usize,
        /// Restarts it had.
        restarts: u32,
    },
    /// Stopped by a signal while starting.
    #[error("interrupted while starting the servers")]
    Interrupted,
    /// A log file or folder could not be written.
    #[error("cannot write {}", path.display())]
    Log {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
