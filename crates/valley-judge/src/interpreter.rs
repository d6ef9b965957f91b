//! The Python interpreter that runs graded programs: found outside the sandbox, then made
//! visible inside it (read-only) at the same paths.

use std::path::PathBuf;

use serde::Deserialize;

use crate::JudgeError;

/// A Python interpreter and the folders it needs.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// `sys.executable` (a virtual environment's own `python`, when it is one).
    pub executable: PathBuf,
    /// Version, e.g. `3.11.7`; recorded in every verdict.
    pub version: String,
    /// Folders bound read-only into the sandbox: prefixes, `sys.path` entries, the real binary's
    /// folder.
    pub roots: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct Probe {
    executable: PathBuf,
    real: PathBuf,
    version: String,
    prefixes: Vec<PathBuf>,
    path: Vec<PathBuf>,
}

const PROBE: &str = "import sys, os, json\n\
print(json.dumps({'executable': sys.executable, 'real': os.path.realpath(sys.executable),\n\
 'version': sys.version.split()[0],\n\
 'prefixes': [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix],\n\
 'path': [p for p in sys.path if p and os.path.isdir(p)]}))";

impl Interpreter {
    /// Runs `python` (a name on `PATH` or a path) once to learn where it lives.
    pub fn probe(python: &str) -> Result<Self, JudgeError> {
        let err = |source| JudgeError::Interpreter { python: python.to_owned(), source };
        let out = std::process::Command::new(python)
            .args(["-c", PROBE])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(err)?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(err(std::io::Error::other(format!(
                "probe failed ({}): {msg}",
                out.status
            ))));
        }
        let probe: Probe = serde_json::from_slice(&out.stdout).map_err(|e| err(e.into()))?;
        let mut roots: Vec<PathBuf> = Vec::new();
        let real_dir = probe.real.parent().map(PathBuf::from);
        let exe_dir = probe.executable.parent().map(PathBuf::from);
        for p in probe.prefixes.into_iter().chain(probe.path).chain(real_dir).chain(exe_dir) {
            let Ok(p) = p.canonicalize() else { continue };
            if p == std::path::Path::new("/") || roots.iter().any(|r| p.starts_with(r)) {
                continue;
            }
            roots.retain(|r| !r.starts_with(&p));
            roots.push(p);
        }
        Ok(Self { executable: probe.executable, version: probe.version, roots })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_python3_when_present() {
        let Some(i) = valley_test::gate::ok(Interpreter::probe("python3"), "python3 on PATH")
        else {
            return;
        };
        assert!(i.version.starts_with('3'), "{}", i.version);
        assert!(
            i.roots.iter().any(|r| i.executable.starts_with(r) || i.executable.starts_with("/usr"))
        );
        assert!(matches!(
            Interpreter::probe("/nonexistent/python"),
            Err(JudgeError::Interpreter { .. })
        ));
    }
}
