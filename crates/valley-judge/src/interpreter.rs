//! The Python interpreter that runs graded programs: found outside the sandbox, then made
//! visible inside it (read-only) at the same paths. The probe also imports the declared
//! environment's packages ([`crate::env`]), so a missing one is known before any program runs.

use std::collections::BTreeMap;
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
    /// Folders bound read-only into the sandbox: prefixes (a virtual environment's and the base
    /// interpreter's it points to), `sys.path` entries, the real binary's folder.
    pub roots: Vec<PathBuf>,
    /// Each declared module ([`crate::env::declared_modules`]): its version when it imports,
    /// else why not.
    pub modules: BTreeMap<String, Result<String, String>>,
}

#[derive(Deserialize)]
struct ModuleProbe {
    version: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Probe {
    executable: PathBuf,
    real: PathBuf,
    version: String,
    prefixes: Vec<PathBuf>,
    path: Vec<PathBuf>,
    modules: BTreeMap<String, ModuleProbe>,
}

/// Run with `-I` (no `PYTHON*` variables, no user site-packages, no current folder on the path),
/// which is what the interpreter sees inside the sandbox; the module names follow as arguments.
const PROBE: &str = r#"
import sys, os, json, importlib
mods = {}
for name in sys.argv[1:]:
    try:
        m = importlib.import_module(name)
        v = getattr(m, '__version__', None)
        mods[name] = {'version': str(v) if v is not None else 'unknown'}
    except BaseException as e:
        mods[name] = {'error': '%s: %s' % (type(e).__name__, e)}
print(json.dumps({'executable': sys.executable, 'real': os.path.realpath(sys.executable),
 'version': sys.version.split()[0],
 'prefixes': [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix],
 'path': [p for p in sys.path if p and os.path.isdir(p)], 'modules': mods}))
"#;

impl Interpreter {
    /// Runs `python` (a name on `PATH` or a path) once to learn where it lives and which of
    /// the declared modules it imports.
    pub fn probe(python: &str) -> Result<Self, JudgeError> {
        let err = |source| JudgeError::Interpreter { python: python.to_owned(), source };
        let out = std::process::Command::new(python)
            .args(["-I", "-c", PROBE])
            .args(crate::env::declared_modules())
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
        let modules = probe
            .modules
            .into_iter()
            .map(|(name, m)| {
                let status = match (m.version, m.error) {
                    (Some(v), _) => Ok(v),
                    (None, e) => Err(e.unwrap_or_else(|| "did not import".into())),
                };
                (name, status)
            })
            .collect();
        // started as the sandbox sees it: the folder with every link resolved (only canonical
        // roots are bound, so a path through a linked folder does not exist in there), the name
        // kept (a virtual environment's `python` finds its pyvenv.cfg beside the path it was
        // started by, not beside the interpreter it links to)
        let executable = match (
            probe.executable.parent().and_then(|d| d.canonicalize().ok()),
            probe.executable.file_name(),
        ) {
            (Some(dir), Some(name)) => dir.join(name),
            _ => probe.executable,
        };
        Ok(Self { executable, version: probe.version, roots, modules })
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
        // Every declared module is probed: its version, or why it does not import.
        for m in crate::env::declared_modules() {
            assert!(i.modules.contains_key(&m), "{m}: {:?}", i.modules);
        }
        assert!(
            i.roots.iter().any(|r| i.executable.starts_with(r) || i.executable.starts_with("/usr"))
        );
        assert!(matches!(
            Interpreter::probe("/nonexistent/python"),
            Err(JudgeError::Interpreter { .. })
        ));
    }
}
