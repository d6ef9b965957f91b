//! [`Sandbox`]: built once from a [`SandboxConfig`] (kernel probe, mount plan), then spawning any
//! number of programs, each cloned into fresh namespaces on the spawner thread; and `run`, which
//! feeds a program its input and collects its output under the deadline and output limit.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::child::{ChildFds, Plan, PlanParts, STEPS, child_main, close_all, pipe};
use super::mount::{Mount, MountPlan, cstr, plan_mounts, under};
use super::probe::{Isolation, NOBODY, UserMode, effective_uid, namespace_flags, write_id_maps};
use super::spawner;
use crate::child::Child;
use crate::{Command, Limits, Output, Protections, SandboxConfig, SandboxError, SpawnError};

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

impl Sandbox {
    /// Probes the kernel and prepares the mount plan; refuses weaker isolation under
    /// [`crate::Policy::Strict`].
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        let Isolation { namespaces, user, protections } = Isolation::probe(config.policy)?;
        let root_dir =
            std::env::temp_dir().join(format!("valley-sandbox-root-{}", effective_uid()));
        if namespaces {
            std::fs::create_dir_all(&root_dir)
                .map_err(|source| SandboxError::Prepare { path: root_dir.clone(), source })?;
        }
        let mounts = plan_mounts(&config.binds)?;
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
        let root = self.root_dir.as_os_str();
        let mounts =
            if self.namespaces { MountPlan::new(root, &self.mounts)? } else { MountPlan::none() };
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
        let program = cstr(cmd.program.as_os_str())?;
        let mut argv = vec![program.clone()];
        for a in &cmd.args {
            argv.push(cstr(a)?);
        }
        let mut envp = Vec::new();
        for (k, v) in cmd.environment() {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            envp.push(cstr(OsStr::from_bytes(&kv))?);
        }
        Ok(Plan::new(PlanParts {
            namespaces: self.namespaces,
            user: self.user,
            uid: self.config.uid,
            gid: self.config.gid,
            root: cstr(root)?,
            root_options: cstr(OsStr::new("size=1m,mode=0755"))?,
            mounts,
            tmp: under(root, Path::new("/tmp"))?,
            tmp_options: cstr(OsStr::new(&tmp_options))?,
            proc_target: under(root, Path::new("/proc"))?,
            hostname: self.config.hostname.clone().into_bytes(),
            rlimits,
            program,
            argv,
            envp,
        }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExitStatus, Policy, Protection};

    /// A strict sandbox, or `None` (a gated skip naming what is missing) where the kernel denies
    /// one.
    fn strict(limits: Limits) -> Option<Sandbox> {
        valley_test::gate::ok(
            Sandbox::new(SandboxConfig { limits, uid: 64999, gid: 64999, ..Default::default() }),
            HOW,
        )
    }

    const HOW: &str = "run the tests as root on a Linux kernel that allows user, PID, mount, \
                       network, IPC and UTS namespaces (a container needs --privileged or \
                       CAP_SYS_ADMIN)";

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
    fn binds_below_tmp_are_visible_read_only_beside_the_private_tmp() {
        // A virtual environment made under /tmp, say: the private /tmp must not hide it.
        let dir = tempfile::Builder::new().prefix("valley-bind-").tempdir_in("/tmp").unwrap();
        let prog = dir.path().join("run.sh");
        std::fs::write(&prog, "#!/bin/sh\necho ran; cat \"$(dirname \"$0\")/data.txt\"\n").unwrap();
        std::fs::set_permissions(&prog, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::fs::write(dir.path().join("data.txt"), "data\n").unwrap();
        let config = SandboxConfig {
            binds: vec![dir.path().to_owned()],
            uid: 64999,
            gid: 64999,
            ..Default::default()
        };
        let Some(sb) = valley_test::gate::ok(Sandbox::new(config), HOW) else {
            return;
        };
        let out = sb.run(&Command::new(&prog), b"", Duration::from_secs(5)).unwrap();
        assert_eq!(text(&out.stdout), "ran\ndata\n", "{}", text(&out.stderr));
        let script =
            format!("echo x > {d}/new; echo z > /tmp/ok && cat /tmp/ok", d = dir.path().display());
        assert_eq!(text(&sh(&sb, &script, 5000).stdout), "z\n");
        assert!(!dir.path().join("new").exists());
    }

    #[test]
    fn has_no_network() {
        let Some(sb) = strict(Limits::default()) else {
            return;
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let Some(py) = valley_test::gate::path("/usr/bin/python3", "apt-get install python3")
        else {
            return;
        };
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
