//! The judge's declared Python environment: the packages graded programs may import beyond the
//! standard library, pinned in `python/requirements.txt` ([`REQUIREMENTS`]); which of them each
//! profile cannot run without ([`crate::Profile::required_modules`]); what an interpreter holds
//! of them ([`EnvReport`]); and making a virtual environment that holds exactly them
//! ([`create`]).
//!
//! Every judging command checks its interpreter once at start ([`crate::JudgeConfig::init`]): a
//! package the profile needs that does not import is an error naming it, never a verdict blamed
//! on a candidate.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::{Interpreter, JudgeError, Profile};

/// The pinned requirements file, as pip reads it.
pub const REQUIREMENTS: &str = include_str!("../python/requirements.txt");

/// The name the requirements are written under inside an environment made by [`create`].
pub const REQUIREMENTS_FILE: &str = "valley-judge-requirements.txt";

/// One pinned package of the declared environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The package's name on PyPI.
    pub package: String,
    /// The pinned version.
    pub version: String,
    /// The module programs import.
    pub module: String,
    /// `python_version` bounds under which this pin applies (all must hold).
    bounds: Vec<(String, (u32, u32))>,
}

impl Requirement {
    /// Whether the pin applies to Python `version` (`3.11.7`).
    pub fn applies_to(&self, version: &str) -> bool {
        let Some(v) = major_minor(version) else { return true };
        self.bounds.iter().all(|(op, b)| match op.as_str() {
            "<" => v < *b,
            "<=" => v <= *b,
            ">" => v > *b,
            ">=" => v >= *b,
            "==" => v == *b,
            "!=" => v != *b,
            _ => true,
        })
    }
}

fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut it = version.split('.');
    Some((it.next()?.trim().parse().ok()?, it.next()?.trim().parse().ok()?))
}

/// Every pin of [`REQUIREMENTS`], in file order. The file is part of the binary; a line this
/// parser does not understand is a bug, caught by this module's tests.
pub fn requirements() -> Vec<Requirement> {
    REQUIREMENTS.lines().filter_map(|l| parse_line(l).expect("bug: requirements.txt")).collect()
}

/// `name==version` with an optional `; python_version OP "X.Y" [and …]` marker.
fn parse_line(line: &str) -> Result<Option<Requirement>, String> {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(None);
    }
    let (spec, marker) = match line.split_once(';') {
        Some((s, m)) => (s.trim(), Some(m.trim())),
        None => (line, None),
    };
    let (package, version) =
        spec.split_once("==").ok_or_else(|| format!("`{line}`: expected name==version"))?;
    let mut bounds = Vec::new();
    for clause in marker.into_iter().flat_map(|m| m.split(" and ")) {
        let clause = clause.trim();
        let rest = clause
            .strip_prefix("python_version")
            .ok_or_else(|| format!("`{line}`: only python_version markers are understood"))?
            .trim();
        let op_len = rest.find(|c: char| !"<>=!".contains(c)).unwrap_or(rest.len());
        let (op, value) = rest.split_at(op_len);
        let value = value.trim().trim_matches('"').trim_matches('\'');
        let v = major_minor(value).ok_or_else(|| format!("`{line}`: bad version `{value}`"))?;
        bounds.push((op.to_owned(), v));
    }
    let package = package.trim().to_owned();
    Ok(Some(Requirement {
        module: package.replace('-', "_").to_lowercase(),
        package,
        version: version.trim().to_owned(),
        bounds,
    }))
}

/// The modules of the declared environment (each once).
pub fn declared_modules() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in requirements() {
        if !out.contains(&r.module) {
            out.push(r.module);
        }
    }
    out
}

/// One declared package as an interpreter holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageStatus {
    /// The module imported.
    pub module: String,
    /// The version the declared environment pins for this Python.
    pub pinned: Option<String>,
    /// The version that imported, or `None`.
    pub found: Option<String>,
    /// Why it did not import (`ModuleNotFoundError: No module named 'numpy'`).
    pub error: Option<String>,
}

/// What an interpreter holds of the declared environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvReport {
    /// The interpreter as the user named it.
    pub python: String,
    /// Its `sys.executable`.
    pub executable: PathBuf,
    /// Its version (`3.11.7`).
    pub version: String,
    /// Each declared package.
    pub packages: Vec<PackageStatus>,
}

impl EnvReport {
    /// The report for a probed interpreter.
    pub fn of(python: &str, interpreter: &Interpreter) -> Self {
        let reqs = requirements();
        let packages = declared_modules()
            .into_iter()
            .map(|module| {
                let pinned = reqs
                    .iter()
                    .find(|r| r.module == module && r.applies_to(&interpreter.version))
                    .map(|r| r.version.clone());
                let (found, error) = match interpreter.modules.get(&module) {
                    Some(Ok(v)) => (Some(v.clone()), None),
                    Some(Err(e)) => (None, Some(e.clone())),
                    None => (None, Some("not probed".into())),
                };
                PackageStatus { module, pinned, found, error }
            })
            .collect();
        Self {
            python: python.to_owned(),
            executable: interpreter.executable.clone(),
            version: interpreter.version.clone(),
            packages,
        }
    }

    /// Probes `python` (a name on `PATH` or a path).
    pub fn probe(python: &str) -> Result<Self, JudgeError> {
        Ok(Self::of(python, &Interpreter::probe(python)?))
    }

    /// The packages `profile` needs that do not import.
    pub fn missing_for(&self, profile: Profile) -> Vec<&PackageStatus> {
        self.packages
            .iter()
            .filter(|p| {
                profile.required_modules().contains(&p.module.as_str()) && p.found.is_none()
            })
            .collect()
    }

    /// The packages that import at another version than the pin (or not at all).
    pub fn off_pin(&self) -> Vec<&PackageStatus> {
        self.packages.iter().filter(|p| p.found.is_none() || p.found != p.pinned).collect()
    }
}

/// Making the declared environment failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateEnvError {
    /// A command of the installation failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, or why it did not start.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// A file of the environment cannot be written.
    #[error("cannot write {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The new environment's interpreter does not run.
    #[error(transparent)]
    Probe(#[from] JudgeError),
    /// The installation ended without every pin in place.
    #[error("the environment {} lacks the pinned {}", .dir.display(), .packages.join(", "))]
    Incomplete {
        /// The environment.
        dir: PathBuf,
        /// `package==version` of each pin not in place.
        packages: Vec<String>,
    },
}

/// The interpreter of a virtual environment folder.
pub fn env_python(dir: &Path) -> PathBuf {
    dir.join("bin").join("python")
}

/// Makes (or completes) a virtual environment in `dir` from the interpreter `base`, holding
/// exactly the declared packages at their pins, from the package index pip is configured with.
/// Idempotent: an environment that already holds every pin is left as it is. `log` receives a
/// line per step.
pub fn create(
    dir: &Path,
    base: &str,
    log: &mut dyn FnMut(&str),
) -> Result<EnvReport, CreateEnvError> {
    let python = env_python(dir);
    let python_str = python.to_string_lossy().into_owned();
    if python.exists()
        && let Ok(report) = EnvReport::probe(&python_str)
        && report.off_pin().is_empty()
    {
        log(&format!("{} already holds every pin", dir.display()));
        return Ok(report);
    }
    if !python.exists() {
        log(&format!("creating a virtual environment in {} from {base}", dir.display()));
        run(Command::new(base).arg("-m").arg("venv").arg(dir))?;
    }
    let req = dir.join(REQUIREMENTS_FILE);
    fs_write(&req, REQUIREMENTS)?;
    log(&format!("installing the pinned packages ({})", req.display()));
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "-r",
        ])
        .arg(&req))?;
    let report = EnvReport::probe(&python_str)?;
    let off: Vec<String> = report
        .off_pin()
        .iter()
        .map(|p| format!("{}=={}", p.module, p.pinned.as_deref().unwrap_or("?")))
        .collect();
    if !off.is_empty() {
        return Err(CreateEnvError::Incomplete { dir: dir.to_owned(), packages: off });
    }
    Ok(report)
}

fn fs_write(path: &Path, text: &str) -> Result<(), CreateEnvError> {
    std::fs::write(path, text)
        .map_err(|source| CreateEnvError::Io { path: path.to_owned(), source })
}

fn run(cmd: &mut Command) -> Result<(), CreateEnvError> {
    let line = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    );
    let out = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output();
    let out = out.map_err(|e| CreateEnvError::Command {
        command: line.clone(),
        status: format!("cannot start: {e}"),
        stderr: String::new(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.trim().lines().rev().take(8).collect();
    Err(CreateEnvError::Command {
        command: line,
        status: out.status.to_string(),
        stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requirements_file_parses_and_pins_numpy_for_every_python() {
        let reqs = requirements();
        assert!(!reqs.is_empty());
        for v in ["3.10.1", "3.11.7", "3.12.0", "3.13.2", "3.14.0"] {
            let numpy: Vec<_> =
                reqs.iter().filter(|r| r.module == "numpy" && r.applies_to(v)).collect();
            assert_eq!(numpy.len(), 1, "Python {v}: {numpy:?}");
        }
        assert_eq!(declared_modules(), ["numpy"]);
    }

    #[test]
    fn markers_bound_the_python_version() {
        let r =
            parse_line(r#"pkg-name==1.2; python_version >= "3.11" and python_version < "3.13""#)
                .unwrap()
                .unwrap();
        assert_eq!(
            (r.package.as_str(), r.module.as_str(), r.version.as_str()),
            ("pkg-name", "pkg_name", "1.2")
        );
        assert!(!r.applies_to("3.10.4"));
        assert!(r.applies_to("3.11.0"));
        assert!(r.applies_to("3.12.9"));
        assert!(!r.applies_to("3.13.0"));
        assert!(parse_line("# only a comment").unwrap().is_none());
        assert!(parse_line("numpy>=2").is_err());
        assert!(parse_line("numpy==2; sys_platform == 'linux'").is_err());
    }
}
