//! What a sandbox enforces: resource limits and how much weaker isolation may be tolerated.

use std::time::Duration;

/// Resource limits applied to every process the sandbox starts (rlimits are per process and
/// inherited by its children; the process count is per sandbox user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// CPU seconds (`RLIMIT_CPU`, rounded up to whole seconds); `None` leaves it unlimited.
    pub cpu: Option<Duration>,
    /// Address space in bytes (`RLIMIT_AS`).
    pub memory: Option<u64>,
    /// Processes of the sandbox user (`RLIMIT_NPROC`); guards against fork bombs.
    pub processes: Option<u64>,
    /// Largest file the program may write (`RLIMIT_FSIZE`).
    pub file_size: Option<u64>,
    /// Open file descriptors (`RLIMIT_NOFILE`).
    pub open_files: Option<u64>,
    /// Size of the private writable `/tmp`.
    pub tmp_size: u64,
    /// Bytes of stdout (and, separately, stderr) kept by [`crate::Sandbox::run`]; a program that
    /// writes more is killed.
    pub output: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu: None,
            memory: Some(4 << 30),
            processes: Some(64),
            file_size: Some(64 << 20),
            open_files: Some(256),
            tmp_size: 64 << 20,
            output: 64 << 20,
        }
    }
}

/// Whether to refuse running when the kernel denies part of the isolation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Policy {
    /// Refuse unless every protection applies (the default).
    #[default]
    Strict,
    /// Run with whatever the kernel allows, and say what is missing in [`crate::Protections`].
    AllowWeak,
}

/// A sandbox's settings. `init` is [`crate::Sandbox::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Limits for every spawned command (a command may override them).
    pub limits: Limits,
    /// Refuse or accept weaker isolation.
    pub policy: Policy,
    /// User id the program runs as when the judge runs as root. Give each concurrent sandbox its
    /// own id so process limits and signals never cross between them.
    pub uid: u32,
    /// Group id, as `uid`.
    pub gid: u32,
    /// Extra read-only paths visible inside (an interpreter's prefix, say). System folders
    /// (`/usr`, `/lib*`, `/bin`, `/sbin`, `/etc`) are always visible.
    pub binds: Vec<std::path::PathBuf>,
    /// Hostname inside the UTS namespace.
    pub hostname: String,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            policy: Policy::Strict,
            uid: 65534,
            gid: 65534,
            binds: Vec::new(),
            hostname: "valley-sandbox".into(),
        }
    }
}
