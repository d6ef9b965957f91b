//! Which protections a sandbox applies, so every verdict file can say how it was isolated.

use serde::Serialize;

/// One protection the sandbox may apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Own PID namespace: the program sees only its own processes, and killing its pid 1 kills
    /// them all.
    PidNamespace,
    /// Own network namespace with no interfaces up: no network, loopback included.
    NetworkNamespace,
    /// Own mount namespace with a read-only root holding only system folders and bound paths.
    PrivateRoot,
    /// Own IPC namespace (System V IPC, POSIX queues).
    IpcNamespace,
    /// Own hostname.
    UtsNamespace,
    /// Runs as an unprivileged user (a dedicated uid as root, or a user namespace otherwise).
    UnprivilegedUser,
    /// Private size-capped writable `/tmp`; nothing else writable.
    PrivateTmp,
    /// CPU, memory, process, file-size and file-count rlimits; no core dumps.
    Rlimits,
    /// `no_new_privs`: no privilege gain through set-uid binaries.
    NoNewPrivileges,
    /// Killed when the judge dies.
    DieWithParent,
    /// The environment holds only the variables the judge sets.
    CleanEnvironment,
}

impl Protection {
    /// Every protection, in report order.
    pub const ALL: [Protection; 11] = [
        Self::PidNamespace,
        Self::NetworkNamespace,
        Self::PrivateRoot,
        Self::IpcNamespace,
        Self::UtsNamespace,
        Self::UnprivilegedUser,
        Self::PrivateTmp,
        Self::Rlimits,
        Self::NoNewPrivileges,
        Self::DieWithParent,
        Self::CleanEnvironment,
    ];

    /// The protection's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::PidNamespace => "pid_namespace",
            Self::NetworkNamespace => "network_namespace",
            Self::PrivateRoot => "private_root",
            Self::IpcNamespace => "ipc_namespace",
            Self::UtsNamespace => "uts_namespace",
            Self::UnprivilegedUser => "unprivileged_user",
            Self::PrivateTmp => "private_tmp",
            Self::Rlimits => "rlimits",
            Self::NoNewPrivileges => "no_new_privileges",
            Self::DieWithParent => "die_with_parent",
            Self::CleanEnvironment => "clean_environment",
        }
    }
}

/// The protections a sandbox applies, and how the unprivileged user is obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protections {
    /// Protections that apply to every spawned program.
    pub applied: Vec<Protection>,
    /// Protections the kernel denied (empty under the strict policy).
    pub missing: Vec<Protection>,
    /// `setuid` (running as root) or `user_namespace`, or `none`.
    pub user_mode: &'static str,
}

impl Protections {
    /// Whether `p` applies.
    pub fn has(&self, p: Protection) -> bool {
        self.applied.contains(&p)
    }

    /// Whether every protection applies.
    pub fn is_full(&self) -> bool {
        self.missing.is_empty()
    }
}
