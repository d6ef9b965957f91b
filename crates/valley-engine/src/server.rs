//! One running server process: started in a process group of its own with its output appended
//! to its log, asked over HTTP whether it is ready, and stopped with everything it started.
//!
//! The group is signalled while its leader is still unreaped (a zombie at worst), so its id
//! cannot have been reused by an unrelated process. Where `setpriv` is there the server also
//! gets SIGKILL when the thread that started it dies, so even a `valley` killed with SIGKILL
//! leaves no server behind.

use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How long a stopped server gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// A started server.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Where clients connect.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Its log file.
    pub log: PathBuf,
    /// Where this start's output begins in the log.
    log_start: u64,
    reaped: Option<String>,
}

/// Why a server did not become ready.
#[derive(Debug)]
pub(crate) enum NotReady {
    /// It exited (status text); `clash` when its log says its port was taken.
    Exited { status: String, clash: bool },
    /// The health route did not answer in time.
    Timeout,
    /// Asked to stop.
    Interrupted,
}

/// Whether `setpriv --pdeathsig` works here (util-linux ≥ 2.33).
fn setpriv() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

impl Server {
    /// Starts `command` (executable first) with `env` added, appending its output to `log`
    /// after a header line.
    pub(crate) fn spawn(
        command: &[String],
        env: &[(String, String)],
        log: &Path,
        header: &str,
        host: &str,
        port: u16,
    ) -> std::io::Result<Server> {
        let mut file = fs_err::OpenOptions::new().create(true).append(true).open(log)?;
        writeln!(file, "== valley: {header}")?;
        writeln!(
            file,
            "== valley: {}{}",
            env.iter().map(|(k, v)| format!("{k}={v} ")).collect::<String>(),
            command.join(" ")
        )?;
        file.flush()?;
        let log_start = file.metadata()?.len();
        let file = file.into_parts().0;
        let (bin, args) = command.split_first().expect("a command line has an executable");
        let mut cmd = if setpriv() {
            let mut c = Command::new("setpriv");
            c.args(["--pdeathsig", "KILL", "--"]).arg(bin).args(args);
            c
        } else {
            let mut c = Command::new(bin);
            c.args(args);
            c
        };
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        let child = cmd.spawn()?;
        Ok(Server {
            child,
            host: host.to_owned(),
            port,
            log: log.to_path_buf(),
            log_start,
            reaped: None,
        })
    }

    /// Its process id (also its process group's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://host:port/v1`.
    pub fn url(&self) -> String {
        format!("http://{}:{}/v1", self.host, self.port)
    }

    /// Whether its main process has exited (without reaping it).
    pub fn exited(&self) -> bool {
        self.reaped.is_some() || !running(self.pid())
    }

    /// Its exit status, once reaped.
    pub fn status(&self) -> Option<&str> {
        self.reaped.as_deref()
    }

    /// The last `lines` lines its log got since this start.
    pub fn tail(&self, lines: usize) -> String {
        tail(&self.log, self.log_start, lines)
    }

    /// Polls until the health route answers 200 and `/v1/models` lists `name`, the process
    /// exits, `deadline` passes or `stop` is raised.
    pub(crate) fn wait_ready(
        &mut self,
        health: &str,
        name: &str,
        deadline: Instant,
        stop: &AtomicBool,
    ) -> Result<(), NotReady> {
        let mut pause = Duration::from_millis(20);
        loop {
            if stop.load(Ordering::SeqCst) {
                return Err(NotReady::Interrupted);
            }
            if self.exited() {
                self.kill_group(Duration::ZERO);
                let status = self.reaped.clone().unwrap_or_else(|| "unknown".into());
                let clash = port_clash(&self.tail(200));
                return Err(NotReady::Exited { status, clash });
            }
            if get(&self.host, self.port, health).is_some_and(|(code, _)| code == 200) {
                match get(&self.host, self.port, "/v1/models") {
                    Some((200, body)) if lists(&body, name) => return Ok(()),
                    // Something else answers on this port: ours could not bind it.
                    Some((200, _)) => {
                        self.kill_group(Duration::ZERO);
                        return Err(NotReady::Exited {
                            status: format!("another server answers on port {}", self.port),
                            clash: true,
                        });
                    }
                    _ => {}
                }
            }
            if Instant::now() >= deadline {
                return Err(NotReady::Timeout);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Stops the server and everything in its process group: SIGTERM, up to `grace` for them
    /// to exit, then SIGKILL; reaps the main process.
    pub fn stop(&mut self, grace: Duration) {
        self.kill_group(grace);
    }

    fn kill_group(&mut self, grace: Duration) {
        if self.reaped.is_some() {
            return;
        }
        let pgid = Pid::from_raw(self.pid() as i32);
        if !grace.is_zero() {
            let _ = killpg(pgid, Signal::SIGTERM);
            let deadline = Instant::now() + grace;
            while group_alive(self.pid()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(10);
        while group_alive(self.pid()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = self.child.wait();
        self.reaped = Some(status.map_or_else(|e| format!("unknown: {e}"), |s| s.to_string()));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill_group(Duration::from_secs(2));
    }
}

/// `(state, process group)` of a process from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let _ppid = f.next()?;
    let pgrp = f.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// Whether `pid` exists and is not a zombie.
fn running(pid: u32) -> bool {
    stat(pid).is_some_and(|(s, _)| s != 'Z' && s != 'X')
}

/// Whether any process of group `pgid` is still running (zombies excluded).
pub(crate) fn group_alive(pgid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else { return false };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .any(|pid| stat(pid).is_some_and(|(s, g)| g == pgid && s != 'Z' && s != 'X'))
}

/// The last `lines` lines of `path` from byte `from`.
fn tail(path: &Path, from: u64, lines: usize) -> String {
    let Ok(mut f) = std::fs::File::open(path) else { return String::new() };
    let len = f.metadata().map_or(0, |m| m.len());
    // The end is enough: at most 64 KiB.
    let start = from.max(len.saturating_sub(64 << 10));
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether a server's log says its port was taken.
fn port_clash(log: &str) -> bool {
    let l = log.to_ascii_lowercase();
    l.contains("address already in use") || l.contains("errno 98") || l.contains("eaddrinuse")
}

fn lists(body: &str, name: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| {
        v["data"].as_array().is_some_and(|d| d.iter().any(|m| m["id"].as_str() == Some(name)))
    })
}

/// `GET path` on `host:port`: (status, body), or `None` when nothing answers.
pub(crate) fn get(host: &str, port: u16, path: &str) -> Option<(u16, String)> {
    let addr = (host, port).to_socket_addrs().ok()?.next()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    let _ = s.take(1 << 20).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let code = text.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Some((code, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_server_takes_its_whole_group_along() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("r.log");
        // a parent that ignores SIGTERM and a child of its own
        let cmd: Vec<String> = ["sh", "-c", "trap '' TERM; sleep 300 & echo started; wait"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let mut s = Server::spawn(&cmd, &[], &log, "test", "127.0.0.1", 1).unwrap();
        let pid = s.pid();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !s.tail(5).contains("started") {
            assert!(Instant::now() < deadline, "never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(group_alive(pid) && !s.exited());
        s.stop(Duration::from_millis(200));
        assert!(!group_alive(pid), "something of group {pid} survived");
        assert!(s.exited() && s.status().is_some());
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("== valley: test\n== valley: sh -c"), "{text}");
    }

    #[test]
    fn an_exit_before_ready_is_told_apart_from_a_port_clash() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("r.log");
        let run = |script: &str| {
            let cmd: Vec<String> = vec!["sh".into(), "-c".into(), script.into()];
            let mut s = Server::spawn(&cmd, &[], &log, "t", "127.0.0.1", 9).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            s.wait_ready("/health", "m", deadline, &AtomicBool::new(false))
        };
        match run("echo 'RuntimeError: CUDA out of memory' >&2; exit 3") {
            Err(NotReady::Exited { status, clash: false }) => assert!(status.contains('3')),
            other => panic!("{other:?}"),
        }
        match run("echo 'OSError: [Errno 98] Address already in use'; exit 1") {
            Err(NotReady::Exited { clash: true, .. }) => {}
            other => panic!("{other:?}"),
        }
        let cmd: Vec<String> = vec!["sleep".into(), "30".into()];
        let mut s = Server::spawn(&cmd, &[], &log, "t", "127.0.0.1", 9).unwrap();
        let soon = Instant::now() + Duration::from_millis(300);
        assert!(matches!(
            s.wait_ready("/health", "m", soon, &AtomicBool::new(false)),
            Err(NotReady::Timeout)
        ));
        assert!(matches!(
            s.wait_ready("/health", "m", soon, &AtomicBool::new(true)),
            Err(NotReady::Interrupted)
        ));
    }

    #[test]
    fn reads_model_lists_and_clash_messages() {
        assert!(lists(r#"{"object":"list","data":[{"id":"a"},{"id":"m/1"}]}"#, "m/1"));
        assert!(!lists(r#"{"data":[{"id":"a"}]}"#, "m/1"));
        assert!(!lists("<html>", "m/1"));
        assert!(port_clash("ERROR: [Errno 98] error while attempting to bind"));
        assert!(!port_clash("CUDA out of memory"));
    }
}
