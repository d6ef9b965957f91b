//! A running sandboxed program: its pipes, how to kill it, how it ended.

use std::fs::File;
use std::time::Duration;

use crate::SpawnError;

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it (`SIGKILL` at a deadline, `SIGSEGV`, `SIGXCPU` at the CPU limit...).
    Signaled(i32),
}

impl ExitStatus {
    /// Exited with code 0.
    pub fn success(self) -> bool {
        self == Self::Exited(0)
    }

    pub(crate) fn from_raw(status: libc::c_int) -> Self {
        if libc::WIFSIGNALED(status) {
            Self::Signaled(libc::WTERMSIG(status))
        } else {
            Self::Exited(libc::WEXITSTATUS(status))
        }
    }
}

/// What a finished program did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// How it ended.
    pub status: ExitStatus,
    /// Its standard output, up to the output limit.
    pub stdout: Vec<u8>,
    /// Its standard error, up to the output limit.
    pub stderr: Vec<u8>,
    /// It wrote more than the output limit and was killed.
    pub output_limit_exceeded: bool,
    /// It was still running at the wall-clock deadline and was killed.
    pub timed_out: bool,
    /// Wall-clock time from start to end.
    pub wall: Duration,
    /// User plus system CPU time of the program and the children it waited for.
    pub cpu: Duration,
    /// Peak resident memory in KiB.
    pub max_rss_kib: u64,
}

/// A program started by [`crate::Sandbox::spawn`]. Dropping it kills it and everything it
/// started, so nothing outlives the handle.
#[derive(Debug)]
pub struct Child {
    pub(crate) pid: libc::pid_t,
    /// The program's standard input (write end), if piped.
    pub stdin: Option<File>,
    /// The program's standard output (read end).
    pub stdout: Option<File>,
    /// The program's standard error (read end).
    pub stderr: Option<File>,
    pub(crate) finished: Option<(ExitStatus, Duration, u64)>,
}

impl Child {
    /// The process id (in the judge's PID namespace).
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Kills the program and, through its PID namespace or process group, everything it started.
    pub fn kill(&mut self) {
        if self.finished.is_none() {
            // SAFETY: kill(2) with a pid we spawned and have not reaped yet (so it cannot have
            // been reused); negative pid targets its process group (set up with setsid).
            unsafe {
                libc::kill(-self.pid, libc::SIGKILL);
                libc::kill(self.pid, libc::SIGKILL);
            }
        }
    }

    /// Waits for the program to end; returns its status, CPU time and peak RSS in KiB.
    pub fn wait(&mut self) -> Result<(ExitStatus, Duration, u64), SpawnError> {
        self.wait_flags(0).map(|r| r.expect("blocking wait returns a status"))
    }

    /// Returns the status if the program has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<(ExitStatus, Duration, u64)>, SpawnError> {
        self.wait_flags(libc::WNOHANG)
    }

    fn wait_flags(
        &mut self,
        flags: libc::c_int,
    ) -> Result<Option<(ExitStatus, Duration, u64)>, SpawnError> {
        if let Some(done) = self.finished {
            return Ok(Some(done));
        }
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain old data; zeroed is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: wait4 on our own child with valid out-pointers.
            let r = unsafe { libc::wait4(self.pid, &mut status, flags, &mut usage) };
            if r == 0 {
                return Ok(None);
            }
            if r < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(SpawnError::Os { what: "wait4", source: err });
            }
            break;
        }
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
        let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
        let done = (ExitStatus::from_raw(status), cpu, usage.ru_maxrss as u64);
        self.finished = Some(done);
        Ok(Some(done))
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.finished.is_none() {
            self.kill();
            let _ = self.wait();
        }
    }
}
