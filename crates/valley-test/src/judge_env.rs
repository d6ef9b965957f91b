//! The judge's declared Python environment in tests: the interpreter `scripts/setup.d/40-judge-env.sh`
//! makes (`.cache/judge-env`, exported as `VALLEY_JUDGE_PYTHON` in `.cache/env.sh`), so that judge
//! tests never depend on what happens to be installed in the system's `python3`.

/// The variable that names the judge's interpreter (the `valley` binary reads it too).
pub const JUDGE_PYTHON_ENV: &str = "VALLEY_JUDGE_PYTHON";

/// `$VALLEY_JUDGE_PYTHON`, or a gated skip naming it ([`crate::gate`]).
pub fn judge_python() -> Option<String> {
    crate::gate::env(
        JUDGE_PYTHON_ENV,
        "scripts/setup.d/40-judge-env.sh (or `valley judge env create DIR`), then source \
         .cache/env.sh",
    )
}

/// A virtual environment made from `python3` under /tmp, without numpy (and without pip, which
/// keeps it fast): a Python the judge must refuse for the lcb and taco profiles, and a path under
/// /tmp the sandbox must show. `None` (a gated skip) where `python3 -m venv` does not run. Keep
/// the folder alive while the interpreter is used.
pub fn python_without_numpy() -> Option<(tempfile::TempDir, String)> {
    let dir = tempfile::Builder::new().prefix("valley-nonumpy-").tempdir_in("/tmp").ok()?;
    let env = dir.path().join("venv");
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&env)
        .status();
    if !made.is_ok_and(|s| s.success()) {
        crate::gate::skip("`python3 -m venv` did not run", "python3 with its venv module on PATH");
        return None;
    }
    Some((dir, env.join("bin/python").to_string_lossy().into_owned()))
}
