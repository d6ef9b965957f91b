//! What the kernel allows: the namespaces a clone may create, how the unprivileged user is
//! obtained, and the protections that follow from both.

use crate::{Policy, Protection, Protections, SandboxError};

/// The user id a user namespace maps the judge's own user to.
pub(super) const NOBODY: u32 = 65534;

/// How the unprivileged user is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UserMode {
    /// The judge is root: `setresuid` to the configured uid.
    SetUid,
    /// The judge is not root: a user namespace mapping the judge's uid to `nobody` inside.
    UserNamespace,
    /// Neither: the program runs as the judge's user (weak policy only).
    None,
}

/// The isolation this machine gives: whether namespaces can be created, the user mode, and the
/// protections that apply.
#[derive(Debug, Clone)]
pub(super) struct Isolation {
    pub(super) namespaces: bool,
    pub(super) user: UserMode,
    pub(super) protections: Protections,
}

impl Isolation {
    /// Probes the kernel once; refuses weaker isolation under [`Policy::Strict`].
    pub(super) fn probe(policy: Policy) -> Result<Self, SandboxError> {
        let mut user =
            if effective_uid() == 0 { UserMode::SetUid } else { UserMode::UserNamespace };
        let namespaces = probe_clone(namespace_flags(user));
        if !namespaces && user == UserMode::UserNamespace {
            user = UserMode::None;
        }
        let mut applied = vec![Protection::Rlimits, Protection::NoNewPrivileges];
        applied.extend([Protection::DieWithParent, Protection::CleanEnvironment]);
        if namespaces {
            applied.extend([
                Protection::PidNamespace,
                Protection::NetworkNamespace,
                Protection::PrivateRoot,
                Protection::IpcNamespace,
                Protection::UtsNamespace,
                Protection::PrivateTmp,
            ]);
        }
        if user != UserMode::None {
            applied.push(Protection::UnprivilegedUser);
        }
        applied.sort();
        let missing: Vec<Protection> =
            Protection::ALL.into_iter().filter(|p| !applied.contains(p)).collect();
        if !missing.is_empty() && policy == Policy::Strict {
            return Err(SandboxError::WeakIsolation {
                missing: missing.iter().map(|p| p.name().to_owned()).collect(),
            });
        }
        let protections = Protections {
            applied,
            missing,
            user_mode: match user {
                UserMode::SetUid => "setuid",
                UserMode::UserNamespace => "user_namespace",
                UserMode::None => "none",
            },
        };
        Ok(Self { namespaces, user, protections })
    }
}

pub(super) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// The clone flags of a sandboxed child in `user` mode.
pub(super) fn namespace_flags(user: UserMode) -> libc::c_long {
    let mut f = libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS;
    if user == UserMode::UserNamespace {
        f |= libc::CLONE_NEWUSER;
    }
    f as libc::c_long
}

/// Whether a clone with `flags` succeeds: the child exits at once.
fn probe_clone(flags: libc::c_long) -> bool {
    // SAFETY: fork-like clone; the child immediately calls _exit, which is async-signal-safe.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as libc::c_long,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        return false;
    }
    if pid == 0 {
        // SAFETY: in the child; _exit never returns and touches no shared state.
        unsafe { libc::_exit(0) }
    }
    let mut status = 0;
    // SAFETY: reaping the child we just created.
    unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
    true
}

/// Maps the judge's user and group to `nobody` inside the user namespace of child `pid`.
pub(super) fn write_id_maps(pid: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    std::fs::write(format!("/proc/{pid}/setgroups"), "deny")?;
    std::fs::write(format!("/proc/{pid}/uid_map"), format!("{NOBODY} {uid} 1"))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), format!("{NOBODY} {gid} 1"))?;
    Ok(())
}
