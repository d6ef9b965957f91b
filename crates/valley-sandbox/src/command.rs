//! A program to run in the sandbox: path, arguments and environment, nothing inherited.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::Limits;

/// A program, its arguments and its environment. Unlike `std::process::Command`, nothing of the
/// caller's environment is inherited: only the variables set here (plus `PATH`, `HOME`, `LANG`
/// defaults) reach the program.
#[derive(Debug, Clone)]
pub struct Command {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) limits: Option<Limits>,
}

impl Command {
    /// A command running `program` (an absolute path visible inside the sandbox).
    pub fn new(program: impl AsRef<Path>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            limits: None,
        }
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        let key = key.as_ref().to_owned();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.as_ref().to_owned()));
        self
    }

    /// Overrides the sandbox's limits for this command.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The environment the program sees: defaults, then the variables set here.
    pub(crate) fn environment(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = [
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("HOME", "/tmp"),
            ("TMPDIR", "/tmp"),
            ("LANG", "C.UTF-8"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        for (k, v) in &self.env {
            env.retain(|(old, _)| old != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_is_defaults_plus_explicit_variables() {
        let cmd = Command::new("/bin/true").env("HOME", "/x").env("A", "1");
        let env: Vec<_> = cmd.environment();
        assert!(env.contains(&("HOME".into(), "/x".into())));
        assert!(env.contains(&("A".into(), "1".into())));
        assert_eq!(env.iter().filter(|(k, _)| k == "HOME").count(), 1);
        assert!(!env.iter().any(|(k, _)| k == "USER"));
    }
}
