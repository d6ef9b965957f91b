//! Gated tests: the one way a test that needs something outside the repository (a tool, a model,
//! a server, a kernel feature) says that it cannot run.
//!
//! A gate either hands the test what it needs or skips: it prints `skipped: <test>: <what is
//! missing> (<how to get it>)` on stderr, appends the same line to `$VALLEY_GATED_LOG` when that
//! is set (`scripts/test.sh` lists the skips at the end, since the test harness hides a passing
//! test's stderr), and the test returns early. With `VALLEY_REQUIRE_GATED=1` (CI sets it) a skip
//! is a failure instead: the test panics naming what was missing and how to get it, so a machine
//! that lacks a tool can never pass CI by skipping the tests that need it.
//!
//! ```
//! // A test body that needs a command (`gate::env` and `gate::path` gate on a variable or a file).
//! let Some(sh) = valley_test::gate::command("sh", "apt-get install dash") else {
//!     return;
//! };
//! assert!(std::process::Command::new(sh).arg("-c").arg("true").status().unwrap().success());
//! ```

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Set to `1`, every skip is a failure (`.ci/run` sets it).
pub const REQUIRE_ENV: &str = "VALLEY_REQUIRE_GATED";

/// A file each skip appends its line to (`scripts/test.sh` sets it and prints the list).
pub const LOG_ENV: &str = "VALLEY_GATED_LOG";

/// The test cannot run: `missing` names what is absent, `how` how to get it. Returns after
/// printing `skipped: …`, or panics with the same words when `VALLEY_REQUIRE_GATED=1`.
pub fn skip(missing: impl Display, how: impl Display) {
    let require = std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1");
    let log = std::env::var_os(LOG_ENV).map(PathBuf::from);
    decide(&missing.to_string(), &how.to_string(), require, log.as_deref());
}

/// `$name`'s value when set and not empty, else a skip naming the variable.
pub fn env(name: &str, how: impl Display) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            skip(format_args!("${name} is not set"), how);
            None
        }
    }
}

/// `path` when it exists (file or folder), else a skip naming it.
pub fn path(path: impl Into<PathBuf>, how: impl Display) -> Option<PathBuf> {
    let path = path.into();
    if path.exists() {
        Some(path)
    } else {
        skip(format_args!("{} does not exist", path.display()), how);
        None
    }
}

/// The first `name` found on `PATH` (an executable file), else a skip naming the command.
pub fn command(name: &str, how: impl Display) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| is_executable(p)));
    if found.is_none() {
        skip(format_args!("no `{name}` command on PATH"), how);
    }
    found
}

/// `Ok`'s value, else a skip whose missing part is the error.
pub fn ok<T, E: Display>(result: Result<T, E>, how: impl Display) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            skip(e, how);
            None
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The running test's name (libtest names each test's thread after it), else the binary's.
fn test_name() -> String {
    let thread = std::thread::current();
    match thread.name() {
        Some(n) if n != "main" => n.to_owned(),
        _ => std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "a test".into()),
    }
}

#[expect(clippy::print_stderr, reason = "a skipped test says why on stderr")]
fn decide(missing: &str, how: &str, require: bool, log: Option<&Path>) {
    let test = test_name();
    if require {
        panic!(
            "gated test {test} cannot run: {missing}; to get it: {how} \
             ({REQUIRE_ENV}=1 makes a skip a failure)"
        );
    }
    let line = format!("skipped: {test}: {missing} ({how})");
    eprintln!("{line}");
    if let Some(log) = log {
        // One short append per skip: lines from parallel test binaries do not interleave.
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = appended {
            eprintln!("warning: cannot append to ${LOG_ENV} ({}): {e}", log.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_is_logged_with_the_test_name_what_and_how() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skips.txt");
        decide("no `zstd` command on PATH", "apt-get install zstd", false, Some(&log));
        decide("$X is not set", "scripts/setup.sh", false, Some(&log));
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "skipped: gate::tests::a_skip_is_logged_with_the_test_name_what_and_how: no `zstd` command on PATH (apt-get install zstd)",
                "skipped: gate::tests::a_skip_is_logged_with_the_test_name_what_and_how: $X is not set (scripts/setup.sh)",
            ]
        );
    }

    #[test]
    #[should_panic(
        expected = "cannot run: no `chromium` command on PATH; to get it: scripts/setup.d/60-chromium.sh (VALLEY_REQUIRE_GATED=1"
    )]
    fn required_a_skip_is_a_failure_naming_what_and_how() {
        decide("no `chromium` command on PATH", "scripts/setup.d/60-chromium.sh", true, None);
    }

    #[test]
    fn gates_hand_over_what_is_there() {
        assert_eq!(ok::<_, String>(Ok(3), "-"), Some(3));
        assert_eq!(path(env!("CARGO_MANIFEST_DIR"), "-"), Some(env!("CARGO_MANIFEST_DIR").into()));
        assert!(command("sh", "-").is_some_and(|p| p.ends_with("sh")));
    }
}
