//! The cloned child: everything it needs prepared as C strings before `clone` (the [`Plan`]),
//! and the raw system calls it makes on it between `clone` and `execve` (mounts, `pivot_root`,
//! rlimits, the user drop, `execve`), reporting a failed step on the error pipe.
//!
//! The judge is multi-threaded, so the child may not allocate or take locks.

use std::ffi::CString;
use std::os::fd::RawFd;

use super::mount::{BindPlan, MountPlan};
use super::probe::UserMode;
use crate::SpawnError;

/// Names of the child's setup steps, indexed by the step number it reports.
pub(super) const STEPS: [&str; 20] = [
    "wait for user namespace maps",
    "make mounts private",
    "mount root tmpfs",
    "create folder",
    "create mount point",
    "bind mount",
    "remount read-only",
    "symlink",
    "mount /tmp",
    "pivot_root",
    "detach old root",
    "mount /proc",
    "remount root read-only",
    "sethostname",
    "chdir",
    "setrlimit",
    "drop privileges",
    "set no_new_privs",
    "set parent-death signal",
    "execve",
];

/// The settings of one child, as C strings.
pub(super) struct PlanParts {
    pub(super) namespaces: bool,
    pub(super) user: UserMode,
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) root: CString,
    pub(super) root_options: CString,
    pub(super) mounts: MountPlan,
    pub(super) tmp: CString,
    pub(super) tmp_options: CString,
    pub(super) proc_target: CString,
    pub(super) hostname: Vec<u8>,
    pub(super) rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    pub(super) program: CString,
    pub(super) argv: Vec<CString>,
    pub(super) envp: Vec<CString>,
}

/// Everything the child needs, as C strings and pointer arrays built before `clone`.
pub(super) struct Plan {
    parts: PlanParts,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    tmpfs: CString,
    proc_: CString,
    slash: CString,
    dot: CString,
    tmp_abs: CString,
}

impl Plan {
    pub(super) fn new(parts: PlanParts) -> Self {
        let mut argv_ptrs: Vec<_> = parts.argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let mut envp_ptrs: Vec<_> = parts.envp.iter().map(|a| a.as_ptr()).collect();
        envp_ptrs.push(std::ptr::null());
        let c = |s: &str| CString::new(s).expect("static string without NUL");
        Self {
            parts,
            argv_ptrs,
            envp_ptrs,
            tmpfs: c("tmpfs"),
            proc_: c("proc"),
            slash: c("/"),
            dot: c("."),
            tmp_abs: c("/tmp"),
        }
    }
}

/// The child's ends of the pipes: stdio, the error report and the start signal.
pub(super) struct ChildFds {
    pub(super) stdin: RawFd,
    pub(super) stdout: RawFd,
    pub(super) stderr: RawFd,
    pub(super) err: RawFd,
    pub(super) sync: RawFd,
}

/// A pipe (read end, write end).
pub(super) fn pipe(cloexec: bool) -> Result<(RawFd, RawFd), SpawnError> {
    let mut fds = [0; 2];
    let flags = if cloexec { libc::O_CLOEXEC } else { 0 };
    // SAFETY: pipe2 with a valid two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), flags) } != 0 {
        return Err(SpawnError::os("pipe2"));
    }
    Ok((fds[0], fds[1]))
}

pub(super) fn close_all(fds: &[RawFd]) {
    for &fd in fds {
        // SAFETY: closing fds this module created and has not handed out.
        unsafe { libc::close(fd) };
    }
}

/// Reports the failed step and errno on the error pipe and exits.
///
/// # Safety
/// Only async-signal-safe calls: errno read, write, _exit.
unsafe fn fail(err_fd: RawFd, step: u32) -> ! {
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&step.to_ne_bytes());
    buf[4..].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: writing a stack buffer to a pipe we own, then exiting without running destructors.
    unsafe {
        libc::write(err_fd, buf.as_ptr().cast(), buf.len());
        libc::_exit(127)
    }
}

/// The cloned child: set up isolation, then exec.
///
/// # Safety
/// Must run only in a freshly cloned child of a possibly multi-threaded parent: it performs only
/// raw system calls on memory prepared before the clone and never returns or allocates.
pub(super) unsafe fn child_main(plan: &Plan, fds: &ChildFds) -> ! {
    let p = &plan.parts;
    let null = std::ptr::null::<libc::c_char>();
    // SAFETY: every call below is a thin system-call wrapper on pointers into `plan`, which
    // lives in this (copied) address space; failures go to `fail`, which exits.
    unsafe {
        // Step 0: wait until the parent has written the id maps (and closed its end).
        let mut b = 0u8;
        if libc::read(fds.sync, (&mut b as *mut u8).cast(), 1) < 0 {
            fail(fds.err, 0);
        }
        libc::setsid();
        if p.namespaces {
            if libc::mount(
                null,
                plan.slash.as_ptr(),
                null,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                fail(fds.err, 1);
            }
            if libc::mount(
                plan.tmpfs.as_ptr(),
                p.root.as_ptr(),
                plan.tmpfs.as_ptr(),
                libc::MS_NOSUID,
                p.root_options.as_ptr().cast(),
            ) != 0
            {
                fail(fds.err, 2);
            }
            // The private /tmp first, so that binds below /tmp (a virtual environment made
            // under /tmp, say) are mounted on it rather than hidden by it.
            if libc::mkdir(p.tmp.as_ptr(), 0o755) != 0 && *libc::__errno_location() != libc::EEXIST
            {
                fail(fds.err, 3);
            }
            if libc::mount(
                plan.tmpfs.as_ptr(),
                p.tmp.as_ptr(),
                plan.tmpfs.as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                p.tmp_options.as_ptr().cast(),
            ) != 0
            {
                fail(fds.err, 8);
            }
            mount_all(&p.mounts, fds.err);
            // Before pivot_root: inside a user namespace the kernel mounts a new proc only
            // while a fully visible one (the host's) is still in this mount namespace.
            let proc_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
            if libc::mount(
                plan.proc_.as_ptr(),
                p.proc_target.as_ptr(),
                plan.proc_.as_ptr(),
                proc_flags,
                std::ptr::null(),
            ) != 0
            {
                fail(fds.err, 11);
            }
            if libc::chdir(p.root.as_ptr()) != 0
                || libc::syscall(libc::SYS_pivot_root, plan.dot.as_ptr(), plan.dot.as_ptr()) != 0
            {
                fail(fds.err, 9);
            }
            if libc::umount2(plan.dot.as_ptr(), libc::MNT_DETACH) != 0
                || libc::chdir(plan.slash.as_ptr()) != 0
            {
                fail(fds.err, 10);
            }
            let ro = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID;
            if libc::mount(null, plan.slash.as_ptr(), null, ro, std::ptr::null()) != 0 {
                fail(fds.err, 12);
            }
            if libc::sethostname(p.hostname.as_ptr().cast(), p.hostname.len()) != 0 {
                fail(fds.err, 13);
            }
            if libc::chdir(plan.tmp_abs.as_ptr()) != 0 {
                fail(fds.err, 14);
            }
        }
        for &(res, v) in &p.rlimits {
            let lim = libc::rlimit { rlim_cur: v as libc::rlim_t, rlim_max: v as libc::rlim_t };
            if libc::setrlimit(res, &lim) != 0 {
                fail(fds.err, 15);
            }
        }
        // Raw system calls, not glibc's wrappers: those broadcast the change to every thread
        // glibc believes exists and wait for them, and in a child cloned from a multi-threaded
        // parent those threads do not exist, so the wait never ends.
        if p.user == UserMode::SetUid
            && (libc::syscall(libc::SYS_setgroups, 0usize, std::ptr::null::<libc::gid_t>()) != 0
                || libc::syscall(libc::SYS_setresgid, p.gid, p.gid, p.gid) != 0
                || libc::syscall(libc::SYS_setresuid, p.uid, p.uid, p.uid) != 0)
        {
            fail(fds.err, 16);
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            fail(fds.err, 17);
        }
        // Set after the credential change, which clears it.
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            fail(fds.err, 18);
        }
        // stdio, then the error pipe at fd 3 (close-on-exec), everything else closed.
        if libc::dup2(fds.stdin, 0) < 0
            || libc::dup2(fds.stdout, 1) < 0
            || libc::dup2(fds.stderr, 2) < 0
        {
            fail(fds.err, 19);
        }
        let err = if libc::dup3(fds.err, 3, libc::O_CLOEXEC) < 0 { fds.err } else { 3 };
        if err == 3 {
            libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32);
        }
        libc::execve(p.program.as_ptr(), plan.argv_ptrs.as_ptr(), plan.envp_ptrs.as_ptr());
        fail(err, 19)
    }
}

/// The folders, binds and symlinks of the new root.
///
/// # Safety
/// As [`child_main`], whose step it is.
unsafe fn mount_all(m: &MountPlan, err: RawFd) {
    let null = std::ptr::null::<libc::c_char>();
    // SAFETY: system calls on C strings prepared before the clone; failures exit via `fail`.
    unsafe {
        for d in &m.dirs {
            if libc::mkdir(d.as_ptr(), 0o755) != 0 && *libc::__errno_location() != libc::EEXIST {
                fail(err, 3);
            }
        }
        for bind in &m.binds {
            bind_one(bind, null, err);
        }
        for (target, link) in &m.symlinks {
            if libc::symlink(target.as_ptr(), link.as_ptr()) != 0 {
                fail(err, 7);
            }
        }
    }
}

/// One bind mount, remounted read-only unless writable.
///
/// # Safety
/// As [`child_main`], whose step it is.
unsafe fn bind_one(bind: &BindPlan, null: *const libc::c_char, err: RawFd) {
    // SAFETY: system calls on C strings prepared before the clone; failures exit via `fail`.
    unsafe {
        if !bind.dir {
            let fd = libc::open(
                bind.dst.as_ptr(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                0o644,
            );
            if fd < 0 {
                fail(err, 4);
            }
            libc::close(fd);
        }
        if libc::mount(
            bind.src.as_ptr(),
            bind.dst.as_ptr(),
            null,
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        ) != 0
        {
            fail(err, 5);
        }
        if bind.readonly {
            let flags = libc::MS_BIND
                | libc::MS_REMOUNT
                | libc::MS_RDONLY
                | libc::MS_NOSUID
                | libc::MS_NODEV
                | bind.flags;
            if libc::mount(null, bind.dst.as_ptr(), null, flags, std::ptr::null()) != 0 {
                fail(err, 6);
            }
        }
    }
}
