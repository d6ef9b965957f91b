//! The Linux implementation: `clone` into fresh namespaces, build a read-only root, drop to an
//! unprivileged user, apply rlimits, `execve`.
//!
//! Everything the child does between `clone` and `execve` is a raw system call on data prepared
//! beforehand: the judge is multi-threaded, so the child may not allocate or take locks.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::child::Child;
use crate::{
    Command, Limits, Output, Policy, Protection, Protections, SandboxConfig, SandboxError,
    SpawnError,
};

/// Folders every program needs to run (shared libraries, the interpreter's system files).
const SYSTEM_PATHS: [&str; 7] = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc"];
/// Device nodes bound read-write into `/dev`.
const DEVICES: [&str; 4] = ["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"];

/// How the unprivileged user is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserMode {
    /// The judge is root: `setresuid` to the configured uid.
    SetUid,
    /// The judge is not root: a user namespace mapping the judge's uid to `nobody` inside.
    UserNamespace,
    /// Neither: the program runs as the judge's user (weak policy only).
    None,
}

/// A sandbox: isolation settings probed once, then used to spawn any number of programs.
#[derive(Debug, Clone)]
pub struct Sandbox {
    config: SandboxConfig,
    protections: Protections,
    namespaces: bool,
    user: UserMode,
    root_dir: PathBuf,
    mounts: Vec<Mount>,
}

/// One entry of the new root, relative to `/`.
#[derive(Debug, Clone)]
enum Mount {
    /// Bind a folder or file read-only (`flags` keeps the source's locked mount flags).
    Bind { path: PathBuf, dir: bool, writable: bool, flags: libc::c_ulong },
    /// A symbolic link (merged-`/usr` systems have `/bin -> usr/bin`).
    Symlink { path: PathBuf, target: PathBuf },
}

impl Sandbox {
    /// Probes the kernel and prepares the mount plan; refuses weaker isolation under
    /// [`Policy::Strict`].
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        // SAFETY: geteuid has no preconditions.
        let is_root = unsafe { libc::geteuid() } == 0;
        let mut user = if is_root { UserMode::SetUid } else { UserMode::UserNamespace };
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
        if !missing.is_empty() && config.policy == Policy::Strict {
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
        let root_dir = std::env::temp_dir().join(format!("valley-sandbox-root-{}", unsafe_uid()));
        if namespaces {
            std::fs::create_dir_all(&root_dir)
                .map_err(|source| SandboxError::Prepare { path: root_dir.clone(), source })?;
        }
        let mut mounts = Vec::new();
        for p in SYSTEM_PATHS {
            let path = Path::new(p);
            if path.symlink_metadata().is_ok() {
                mounts.push(plan_mount(path, false)?);
            }
        }
        for p in DEVICES {
            if Path::new(p).exists() {
                mounts.push(plan_mount(Path::new(p), true)?);
            }
        }
        for p in &config.binds {
            let canonical = p
                .canonicalize()
                .map_err(|source| SandboxError::Bind { path: p.clone(), source })?;
            if SYSTEM_PATHS.iter().any(|s| canonical.starts_with(s)) {
                continue;
            }
            mounts.push(plan_mount(&canonical, false)?);
        }
        Ok(Self { config, protections, namespaces, user, root_dir, mounts })
    }

    /// The protections every program spawned here gets.
    pub fn protections(&self) -> &Protections {
        &self.protections
    }

    /// The settings this sandbox was built with.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Starts `cmd` with piped stdin, stdout and stderr.
    ///
    /// The program dies with the judge: its parent-death signal fires when the *thread* that
    /// cloned it exits, so every clone happens on one spawner thread that lives as long as the
    /// process, whichever thread calls `spawn`.
    pub fn spawn(&self, cmd: &Command) -> Result<Child, SpawnError> {
        let sandbox = self.clone();
        let cmd = cmd.clone();
        spawner::run(move || sandbox.spawn_here(&cmd))
    }

    fn spawn_here(&self, cmd: &Command) -> Result<Child, SpawnError> {
        let limits = cmd.limits.clone().unwrap_or_else(|| self.config.limits.clone());
        let plan = self.plan(cmd, &limits)?;
        let (stdin_r, stdin_w) = pipe(true)?;
        let (stdout_r, stdout_w) = pipe(true)?;
        let (stderr_r, stderr_w) = pipe(true)?;
        let (err_r, err_w) = pipe(true)?;
        let (sync_r, sync_w) = pipe(true)?;
        let fds = ChildFds {
            stdin: stdin_r,
            stdout: stdout_w,
            stderr: stderr_w,
            err: err_w,
            sync: sync_r,
        };
        let flags = if self.namespaces { namespace_flags(self.user) } else { 0 };
        // SAFETY: a fork-like clone (no new stack, SIGCHLD on exit). The child runs only
        // `child_main`, which makes raw system calls on `plan` and `fds` (prepared above) and
        // never returns.
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
            let source = std::io::Error::last_os_error();
            close_all(&[
                stdin_r, stdin_w, stdout_r, stdout_w, stderr_r, stderr_w, err_r, err_w, sync_r,
                sync_w,
            ]);
            return Err(SpawnError::Os { what: "clone", source });
        }
        if pid == 0 {
            // SAFETY: we are the freshly cloned child; see child_main's contract.
            unsafe { child_main(&plan, &fds) }
        }
        let pid = pid as libc::pid_t;
        close_all(&[stdin_r, stdout_w, stderr_w, err_w, sync_r]);
        // SAFETY: each fd is a pipe end we own exclusively from here on.
        let (stdin, stdout, stderr, mut err, mut sync) = unsafe {
            (
                File::from_raw_fd(stdin_w),
                File::from_raw_fd(stdout_r),
                File::from_raw_fd(stderr_r),
                File::from_raw_fd(err_r),
                File::from_raw_fd(sync_w),
            )
        };
        let mut child = Child {
            pid,
            stdin: Some(stdin),
            stdout: Some(stdout),
            stderr: Some(stderr),
            finished: None,
        };
        if self.user == UserMode::UserNamespace
            && self.namespaces
            && let Err(source) = write_id_maps(pid)
        {
            return Err(SpawnError::Setup { step: "write user namespace maps", source });
        }
        let _ = sync.write_all(b"g");
        drop(sync);
        let mut report = [0u8; 8];
        let mut got = 0;
        while got < report.len() {
            match err.read(&mut report[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(SpawnError::Os { what: "read setup report", source });
                }
            }
        }
        if got == report.len() {
            let step = u32::from_ne_bytes(report[..4].try_into().expect("4 bytes"));
            let errno = i32::from_ne_bytes(report[4..].try_into().expect("4 bytes"));
            let _ = child.wait();
            return Err(SpawnError::Setup {
                step: STEPS.get(step as usize).copied().unwrap_or("unknown"),
                source: std::io::Error::from_raw_os_error(errno),
            });
        }
        Ok(child)
    }

    /// Runs `cmd` to completion with `input` on stdin; kills it at `wall` or when it writes more
    /// than the output limit.
    pub fn run(&self, cmd: &Command, input: &[u8], wall: Duration) -> Result<Output, SpawnError> {
        let limit = cmd.limits.as_ref().unwrap_or(&self.config.limits).output as usize;
        let start = Instant::now();
        let mut child = self.spawn(cmd)?;
        let mut stdin = child.stdin.take().expect("spawn pipes stdin");
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let stdout = child.stdout.take().expect("spawn pipes stdout");
        let stderr = child.stderr.take().expect("spawn pipes stderr");
        let deadline = start + wall;
        let (outputs, mut timed_out, over) =
            collect(&mut child, [stdout, stderr], limit, deadline)?;
        // The pipes may close before the program ends: keep the deadline while waiting.
        let (status, cpu, rss) = loop {
            if let Some(done) = child.try_wait()? {
                break done;
            }
            if Instant::now() >= deadline {
                timed_out = true;
                child.kill();
                break child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let _ = writer.join();
        let [stdout, stderr] = outputs;
        Ok(Output {
            status,
            stdout,
            stderr,
            output_limit_exceeded: over,
            timed_out,
            wall: start.elapsed(),
            cpu,
            max_rss_kib: rss,
        })
    }

    fn plan(&self, cmd: &Command, limits: &Limits) -> Result<Plan, SpawnError> {
        let c = |p: &OsStr| {
            CString::new(p.as_bytes()).map_err(|_| SpawnError::Nul(p.to_string_lossy().into()))
        };
        let root = self.root_dir.as_os_str();
        let under = |p: &Path| {
            let mut v = root.as_bytes().to_vec();
            v.extend_from_slice(p.as_os_str().as_bytes());
            c(OsStr::from_bytes(&v))
        };
        let mut dirs = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut add_dirs = |p: &Path, dirs: &mut Vec<CString>| -> Result<(), SpawnError> {
            for anc in p.ancestors().collect::<Vec<_>>().into_iter().rev().skip(1) {
                if seen.insert(anc.to_owned()) {
                    dirs.push(under(anc)?);
                }
            }
            Ok(())
        };
        let mut binds = Vec::new();
        let mut symlinks = Vec::new();
        if self.namespaces {
            for extra in ["/proc", "/tmp", "/dev"] {
                add_dirs(Path::new(extra), &mut dirs)?;
            }
            for m in &self.mounts {
                match m {
                    Mount::Bind { path, dir, writable, flags } => {
                        let parent = path.parent().unwrap_or(Path::new("/"));
                        add_dirs(parent, &mut dirs)?;
                        if *dir {
                            add_dirs(path, &mut dirs)?;
                        }
                        binds.push(BindPlan {
                            src: c(path.as_os_str())?,
                            dst: under(path)?,
                            dir: *dir,
                            readonly: !*writable,
                            flags: *flags,
                        });
                    }
                    Mount::Symlink { path, target } => {
                        symlinks.push((c(target.as_os_str())?, under(path)?));
                    }
                }
            }
            for (link, target) in [
                ("/dev/fd", "/proc/self/fd"),
                ("/dev/stdin", "/proc/self/fd/0"),
                ("/dev/stdout", "/proc/self/fd/1"),
                ("/dev/stderr", "/proc/self/fd/2"),
            ] {
                symlinks.push((c(OsStr::new(target))?, under(Path::new(link))?));
            }
        }
        let (tmp_uid, tmp_gid) = match self.user {
            UserMode::SetUid => (self.config.uid, self.config.gid),
            UserMode::UserNamespace => (NOBODY, NOBODY),
            // SAFETY: getuid/getgid have no preconditions.
            UserMode::None => unsafe { (libc::getuid(), libc::getgid()) },
        };
        let tmp_options = format!("size={},mode=0700,uid={tmp_uid},gid={tmp_gid}", limits.tmp_size);
        let mut rlimits = vec![(libc::RLIMIT_CORE, 0)];
        let opt = |v: Option<u64>| v.map(|x| x as libc::rlim_t);
        if let Some(cpu) = limits.cpu {
            rlimits
                .push((libc::RLIMIT_CPU, cpu.as_secs().max(1) + u64::from(cpu.subsec_nanos() > 0)));
        }
        for (res, v) in [
            (libc::RLIMIT_AS, opt(limits.memory)),
            (libc::RLIMIT_FSIZE, opt(limits.file_size)),
            (libc::RLIMIT_NOFILE, opt(limits.open_files)),
        ] {
            if let Some(v) = v {
                rlimits.push((res, v));
            }
        }
        // Counted per user and user namespace (Linux >= 5.14 ucounts), so it also holds inside
        // our own user namespace without counting the invoking user's other processes.
        if let Some(n) = limits.processes {
            rlimits.push((libc::RLIMIT_NPROC, n));
        }
        let program = c(cmd.program.as_os_str())?;
        let mut argv = vec![program.clone()];
        for a in &cmd.args {
            argv.push(c(a)?);
        }
        let mut envp = Vec::new();
        for (k, v) in cmd.environment() {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            envp.push(c(OsStr::from_bytes(&kv))?);
        }
        Ok(Plan::new(PlanParts {
            namespaces: self.namespaces,
            user: self.user,
            uid: self.config.uid,
            gid: self.config.gid,
            root: c(root)?,
            root_options: c(OsStr::new("size=1m,mode=0755"))?,
            dirs,
            binds,
            symlinks,
            tmp: under(Path::new("/tmp"))?,
            tmp_options: c(OsStr::new(&tmp_options))?,
            proc_target: under(Path::new("/proc"))?,
            hostname: self.config.hostname.clone().into_bytes(),
            rlimits,
            program,
            argv,
            envp,
        }))
    }
}

const NOBODY: u32 = 65534;

/// The one long-lived thread every sandboxed program is cloned from.
mod spawner {
    use std::sync::mpsc::{Sender, channel};
    use std::sync::{Mutex, OnceLock};

    type Job = Box<dyn FnOnce() + Send>;

    static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

    /// Runs `f` on the spawner thread and returns its result.
    pub(super) fn run<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
        let queue = QUEUE.get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            std::thread::Builder::new()
                .name("valley-sandbox-spawner".into())
                .spawn(move || {
                    for job in rx {
                        job();
                    }
                })
                .expect("cannot start the sandbox spawner thread");
            Mutex::new(tx)
        });
        let (tx, rx) = channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        queue.lock().expect("spawner queue lock").send(job).expect("spawner thread is alive");
        rx.recv().expect("spawner thread answers")
    }
}

fn unsafe_uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

fn namespace_flags(user: UserMode) -> libc::c_long {
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

fn plan_mount(path: &Path, writable: bool) -> Result<Mount, SandboxError> {
    let meta = path
        .symlink_metadata()
        .map_err(|source| SandboxError::Bind { path: path.to_owned(), source })?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)
            .map_err(|source| SandboxError::Bind { path: path.to_owned(), source })?;
        return Ok(Mount::Symlink { path: path.to_owned(), target });
    }
    let flags = locked_flags(path);
    Ok(Mount::Bind { path: path.to_owned(), dir: meta.is_dir(), writable, flags })
}

/// Mount flags of the source that a bind remount must keep (inside a user namespace the kernel
/// refuses to clear them).
fn locked_flags(path: &Path) -> libc::c_ulong {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs is plain old data; zeroed is valid and the kernel fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return 0;
    }
    let mut flags = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st.f_flag & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    flags
}

fn write_id_maps(pid: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    std::fs::write(format!("/proc/{pid}/setgroups"), "deny")?;
    std::fs::write(format!("/proc/{pid}/uid_map"), format!("{NOBODY} {uid} 1"))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), format!("{NOBODY} {gid} 1"))?;
    Ok(())
}

fn pipe(cloexec: bool) -> Result<(RawFd, RawFd), SpawnError> {
    let mut fds = [0; 2];
    let flags = if cloexec { libc::O_CLOEXEC } else { 0 };
    // SAFETY: pipe2 with a valid two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), flags) } != 0 {
        return Err(SpawnError::os("pipe2"));
    }
    Ok((fds[0], fds[1]))
}

fn close_all(fds: &[RawFd]) {
    for &fd in fds {
        // SAFETY: closing fds this module created and has not handed out.
        unsafe { libc::close(fd) };
    }
}

/// Reads both pipes until EOF, the deadline or the output limit.
fn collect(
    child: &mut Child,
    pipes: [File; 2],
    limit: usize,
    deadline: Instant,
) -> Result<([Vec<u8>; 2], bool, bool), SpawnError> {
    use std::os::fd::AsRawFd;
    let mut bufs = [Vec::new(), Vec::new()];
    let mut open = [true, true];
    let mut pipes = pipes;
    let mut timed_out = false;
    let mut over = false;
    let mut chunk = vec![0u8; 64 * 1024];
    while open.iter().any(|o| *o) {
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            child.kill();
            break;
        }
        let ms = (deadline - now).as_millis().min(i32::MAX as u128) as i32;
        let mut pfds: Vec<libc::pollfd> = (0..2)
            .filter(|&i| open[i])
            .map(|i| libc::pollfd { fd: pipes[i].as_raw_fd(), events: libc::POLLIN, revents: 0 })
            .collect();
        // SAFETY: pfds is a valid array of pollfd of the given length.
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms.max(1)) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(SpawnError::Os { what: "poll", source: e });
        }
        for p in pfds {
            if p.revents == 0 {
                continue;
            }
            let i = if p.fd == pipes[0].as_raw_fd() { 0 } else { 1 };
            match pipes[i].read(&mut chunk) {
                Ok(0) | Err(_) => open[i] = false,
                Ok(n) => {
                    let keep = n.min(limit.saturating_sub(bufs[i].len()));
                    bufs[i].extend_from_slice(&chunk[..keep]);
                    if keep < n {
                        over = true;
                    }
                }
            }
        }
        if over {
            child.kill();
            break;
        }
    }
    Ok((bufs, timed_out, over))
}

/// Names of the child's setup steps, indexed by the step number it reports.
const STEPS: [&str; 20] = [
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

#[derive(Debug)]
struct BindPlan {
    src: CString,
    dst: CString,
    dir: bool,
    readonly: bool,
    flags: libc::c_ulong,
}

struct PlanParts {
    namespaces: bool,
    user: UserMode,
    uid: u32,
    gid: u32,
    root: CString,
    root_options: CString,
    dirs: Vec<CString>,
    binds: Vec<BindPlan>,
    symlinks: Vec<(CString, CString)>,
    tmp: CString,
    tmp_options: CString,
    proc_target: CString,
    hostname: Vec<u8>,
    rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

/// Everything the child needs, as C strings and pointer arrays built before `clone`.
struct Plan {
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
    fn new(parts: PlanParts) -> Self {
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

struct ChildFds {
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    err: RawFd,
    sync: RawFd,
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
unsafe fn child_main(plan: &Plan, fds: &ChildFds) -> ! {
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
            for d in &p.dirs {
                if libc::mkdir(d.as_ptr(), 0o755) != 0 && *libc::__errno_location() != libc::EEXIST
                {
                    fail(fds.err, 3);
                }
            }
            for bind in &p.binds {
                if !bind.dir {
                    let fd = libc::open(
                        bind.dst.as_ptr(),
                        libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                        0o644,
                    );
                    if fd < 0 {
                        fail(fds.err, 4);
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
                    fail(fds.err, 5);
                }
                if bind.readonly {
                    let flags = libc::MS_BIND
                        | libc::MS_REMOUNT
                        | libc::MS_RDONLY
                        | libc::MS_NOSUID
                        | libc::MS_NODEV
                        | bind.flags;
                    if libc::mount(null, bind.dst.as_ptr(), null, flags, std::ptr::null()) != 0 {
                        fail(fds.err, 6);
                    }
                }
            }
            for (target, link) in &p.symlinks {
                if libc::symlink(target.as_ptr(), link.as_ptr()) != 0 {
                    fail(fds.err, 7);
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExitStatus;

    /// A strict sandbox, or `None` (with the reason on stderr) where the kernel denies one.
    fn strict(limits: Limits) -> Option<Sandbox> {
        match Sandbox::new(SandboxConfig { limits, uid: 64999, gid: 64999, ..Default::default() }) {
            Ok(s) => Some(s),
            Err(e) => {
                #[expect(clippy::print_stderr, reason = "tests say why they skip")]
                {
                    eprintln!("skipped: {e}");
                }
                None
            }
        }
    }

    fn sh(sandbox: &Sandbox, script: &str, wall_ms: u64) -> Output {
        let cmd = Command::new("/bin/sh").arg("-c").arg(script);
        sandbox.run(&cmd, b"", Duration::from_millis(wall_ms)).expect("spawn")
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn echoes_stdin_and_reports_exit_code() {
        let Some(sb) = strict(Limits::default()) else {
            return;
        };
        let cmd = Command::new("/bin/sh").arg("-c").arg("cat; exit 3");
        let out = sb.run(&cmd, b"hello", Duration::from_secs(5)).unwrap();
        assert_eq!(out.stdout, b"hello");
        assert_eq!(out.status, ExitStatus::Exited(3));
        assert!(sb.protections().is_full());
    }

    #[test]
    fn runs_unprivileged_in_a_clean_environment() {
        let Some(sb) = strict(Limits::default()) else {
            return;
        };
        // SAFETY: setenv in a test; other tests do not read this variable.
        unsafe { std::env::set_var("VALLEY_SECRET_FOR_TEST", "leak") };
        let out =
            sh(&sb, "id -u; env; hostname 2>/dev/null || cat /proc/sys/kernel/hostname", 5000);
        let s = text(&out.stdout);
        assert!(!s.contains("leak"), "{s}");
        assert!(s.starts_with("64999\n") || s.starts_with("65534\n"), "{s}");
        assert!(s.contains("valley-sandbox"), "{s}");
    }

    #[test]
    fn cannot_read_or_write_the_hosts_files() {
        let Some(sb) = strict(Limits::default()) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret.txt");
        std::fs::write(&secret, "top secret").unwrap();
        let script = format!(
            "cat {s}; echo x > {d}/written; echo y > /etc/valley-test; echo z > /tmp/ok && cat /tmp/ok",
            s = secret.display(),
            d = dir.path().display()
        );
        let out = sh(&sb, &script, 5000);
        assert!(!text(&out.stdout).contains("top secret"));
        assert_eq!(text(&out.stdout), "z\n");
        assert!(!dir.path().join("written").exists());
        assert!(!Path::new("/etc/valley-test").exists());
    }

    #[test]
    fn has_no_network() {
        let Some(sb) = strict(Limits::default()) else {
            return;
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let py = "/usr/bin/python3";
        if !Path::new(py).exists() {
            return;
        }
        let code = format!(
            "import socket\ntry:\n socket.create_connection(('127.0.0.1',{port}),timeout=1); print('connected')\nexcept OSError as e: print('refused')"
        );
        let out =
            sb.run(&Command::new(py).arg("-c").arg(code), b"", Duration::from_secs(5)).unwrap();
        assert_eq!(text(&out.stdout), "refused\n", "{}", text(&out.stderr));
    }

    #[test]
    fn kills_at_the_wall_deadline_with_everything_it_started() {
        let Some(sb) = strict(Limits::default()) else {
            return;
        };
        let marker = format!("valley-daemon-{}", std::process::id());
        // A daemon that outlives its parent shell, then a sleep that outlives the deadline.
        let script = format!("(setsid sh -c 'exec -a {marker} sleep 30' &) ; sleep 30");
        let out = sh(&sb, &script, 300);
        assert!(out.timed_out);
        assert!(out.wall < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(100));
        let ps = std::process::Command::new("ps").args(["-eo", "args"]).output().unwrap();
        assert!(!text(&ps.stdout).contains(&marker), "daemon survived");
    }

    #[test]
    fn limits_cpu_processes_output_and_files() {
        let limits = Limits {
            cpu: Some(Duration::from_secs(1)),
            processes: Some(8),
            output: 1000,
            file_size: Some(4096),
            ..Limits::default()
        };
        let Some(sb) = strict(limits) else { return };
        let spin = sh(&sb, "while :; do :; done", 10_000);
        assert!(matches!(spin.status, ExitStatus::Signaled(libc::SIGXCPU | libc::SIGKILL)));
        assert!(!spin.timed_out, "CPU limit should fire before the wall deadline");
        let flood = sh(&sb, "yes", 5000);
        assert!(flood.output_limit_exceeded);
        assert_eq!(flood.stdout.len(), 1000);
        let fill = sh(&sb, "head -c 100000 /dev/zero > /tmp/big; echo $?", 5000);
        assert_ne!(text(&fill.stdout), "0\n");
        let bomb = sh(&sb, "for i in $(seq 20); do sleep 5 & done; wait", 800);
        assert!(
            text(&bomb.stderr).contains("fork") || text(&bomb.stderr).contains("esource"),
            "{}",
            text(&bomb.stderr)
        );
        // The next program runs normally.
        assert_eq!(text(&sh(&sb, "echo ok", 5000).stdout), "ok\n");
    }

    #[test]
    fn weak_policy_runs_and_says_what_is_missing() {
        let sb = Sandbox::new(SandboxConfig { policy: Policy::AllowWeak, ..Default::default() })
            .unwrap();
        let out = sh(&sb, "echo hi", 5000);
        assert_eq!(out.stdout, b"hi\n");
        let p = sb.protections();
        assert_eq!(p.applied.len() + p.missing.len(), Protection::ALL.len());
    }
}
