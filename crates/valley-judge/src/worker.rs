//! One warm interpreter (the zygote) in its own sandbox, and the frames exchanged with it.

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use valley_sandbox::{Child, Command, Protection, Sandbox};

use crate::Interpreter;
use crate::protocol::{Hello, Request, Response, read_frame, write_frame};
use crate::python::HARNESS;

/// Extra seconds Rust waits past a record's deadline before declaring the zygote hung.
const GRACE: f64 = 30.0;

/// A running zygote.
pub(crate) struct Worker {
    child: Child,
    stdin: File,
    frames: Receiver<std::io::Result<Option<Response>>>,
    pub(crate) hello: Hello,
    next_id: u64,
    /// The problem whose tests the zygote holds (it keeps the last ones sent).
    cached_problem: Option<u64>,
    /// A private working folder made for this worker when the sandbox has no private /tmp.
    _workdir: Option<tempfile::TempDir>,
}

impl Worker {
    /// Starts the harness in `sandbox` and waits for its hello.
    /// `lazy_numpy`: the zygote serves only the lcb profile and need not preload numpy.
    /// `require`: modules the zygote reports on in its hello (found inside the sandbox or not).
    pub(crate) fn start(
        sandbox: &Sandbox,
        python: &Interpreter,
        lazy_numpy: bool,
        require: &[&str],
    ) -> Result<Self, String> {
        let (workdir, workdir_path) = if sandbox.protections().has(Protection::PrivateTmp) {
            (None, PathBuf::from("/tmp"))
        } else {
            let dir = tempfile::Builder::new()
                .prefix("valley-judge-")
                .tempdir()
                .map_err(|e| format!("cannot create a working folder: {e}"))?;
            if sandbox.protections().user_mode == "setuid" {
                let c = sandbox.config();
                std::os::unix::fs::chown(dir.path(), Some(c.uid), Some(c.gid)).map_err(|e| {
                    format!("cannot hand the working folder to the sandbox user: {e}")
                })?;
            }
            let path = dir.path().to_owned();
            (Some(dir), path)
        };
        // The interpreter's folders that lie inside the working folder (a virtual environment
        // made under /tmp): the zygote empties the folder after every record, but not these.
        let keep: Vec<String> = python
            .roots
            .iter()
            .filter(|r| r.starts_with(&workdir_path))
            .map(|r| r.to_string_lossy().into_owned())
            .collect();
        let cmd = Command::new(&python.executable)
            .arg("-c")
            .arg(HARNESS)
            .env("VALLEY_JUDGE_WORKDIR", &workdir_path)
            .env("HOME", &workdir_path)
            .env("TMPDIR", &workdir_path)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("OPENBLAS_NUM_THREADS", "1")
            .env("OMP_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            .env("VALLEY_JUDGE_NUMPY", if lazy_numpy { "lazy" } else { "preload" })
            .env("VALLEY_JUDGE_REQUIRE", require.join(","))
            .env("VALLEY_JUDGE_KEEP", keep.join(":"));
        let mut child = sandbox.spawn(&cmd).map_err(|e| {
            let why = error_chain(&e);
            if why.contains("execve") {
                format!(
                    "{why} (the interpreter {} is not runnable inside the sandbox)",
                    python.executable.display()
                )
            } else {
                why
            }
        })?;
        let stdin = child.stdin.take().expect("sandbox pipes stdin");
        let mut stdout = child.stdout.take().expect("sandbox pipes stdout");
        let mut stderr = child.stderr.take().expect("sandbox pipes stderr");
        // The zygote's own stderr: kept to explain a failed start, then drained and dropped.
        let (err_tx, err_rx) = channel::<String>();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = vec![0u8; 8192];
            let mut kept = Vec::new();
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if kept.len() < 16384 {
                    kept.extend_from_slice(&buf[..n]);
                    let _ = err_tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        });
        let (tx, frames) = channel();
        let (hello_tx, hello_rx) = channel();
        std::thread::spawn(move || {
            let hello = read_frame::<Hello>(&mut stdout);
            let ok = matches!(hello, Ok(Some(_)));
            let _ = hello_tx.send(hello);
            if !ok {
                return;
            }
            loop {
                let frame = read_frame::<Response>(&mut stdout);
                let end = !matches!(frame, Ok(Some(_)));
                if tx.send(frame).is_err() || end {
                    return;
                }
            }
        });
        let hello = match hello_rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Ok(Some(h))) => h,
            other => {
                child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(50));
                let stderr: String = err_rx.try_iter().collect();
                let why = match other {
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "no answer within 120 s".into(),
                    _ => "it exited".into(),
                };
                return Err(format!("{why}; its stderr: {}", stderr.trim()));
            }
        };
        Ok(Self {
            child,
            stdin,
            frames,
            hello,
            next_id: 0,
            cached_problem: None,
            _workdir: workdir,
        })
    }

    /// Grades one record. `Err` means the zygote is unusable (it died or hung) and was killed.
    pub(crate) fn grade(&mut self, mut req: Request<'_>) -> Result<Response, String> {
        self.next_id += 1;
        req.id = self.next_id;
        if self.cached_problem == Some(req.problem) {
            req.inputs = None;
            req.outputs = None;
        }
        let wait = Duration::from_secs_f64(req.deadline + GRACE);
        if let Err(e) = write_frame(&mut self.stdin, &req) {
            self.child.kill();
            return Err(format!("cannot send the job to the judge's interpreter: {e}"));
        }
        self.cached_problem = Some(req.problem);
        match self.frames.recv_timeout(wait) {
            Ok(Ok(Some(resp))) if resp.id == Some(req.id) => Ok(resp),
            Ok(Ok(Some(_))) => {
                self.child.kill();
                Err("the judge's interpreter answered out of order".into())
            }
            Ok(Ok(None)) | Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().map(|s| format!("{:?}", s.0)).unwrap_or_default();
                Err(format!("the judge's interpreter exited ({status})"))
            }
            Ok(Err(e)) => {
                self.child.kill();
                Err(format!("bad frame from the judge's interpreter: {e}"))
            }
            Err(RecvTimeoutError::Timeout) => {
                self.child.kill();
                Err(format!("the judge's interpreter hung past {:.0} s", wait.as_secs_f64()))
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
