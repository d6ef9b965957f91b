//! `valley judge env create|check`: the judge's declared Python environment, and the one check
//! of it before a study runs. Which interpreter judges: `--python`, else `$VALLEY_JUDGE_PYTHON`
//! (setup writes it into `.cache/env.sh`), else `python3`.

use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use valley_data::io::{ClaimOutputs, OutputKind};
use valley_judge::Profile;
use valley_judge::env::EnvReport;

use crate::args::{JudgeEnvCheckArgs, JudgeEnvCreateArgs};
use crate::exit::{self, Hint};
use crate::printer;

/// The variable naming the judge's default interpreter (setup writes it into `.cache/env.sh`).
pub(crate) const JUDGE_PYTHON_ENV: &str = "VALLEY_JUDGE_PYTHON";

/// What to do when the judge's interpreter lacks what the profile needs.
pub(crate) const ENV_HINT: &str = "make the judge's declared environment with `valley judge env create DIR` \
    (scripts/setup.sh makes .cache/judge-env), then pass --python DIR/bin/python or set \
    VALLEY_JUDGE_PYTHON=DIR/bin/python";

/// The judge's interpreter: `--python`, else `$VALLEY_JUDGE_PYTHON`, else `python3`.
pub(crate) fn judge_python(flag: Option<&str>) -> String {
    flag.map(str::to_owned)
        .or_else(|| std::env::var(JUDGE_PYTHON_ENV).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "python3".into())
}

/// `valley judge env create DIR`.
pub(crate) fn create(args: JudgeEnvCreateArgs) -> anyhow::Result<u8> {
    // A second `create` into the same folder is refused; so is an interpreter inside it (a name
    // looked up on PATH is no path).
    let python_path = args.python.contains('/').then(|| std::path::Path::new(&args.python));
    let _claim = ClaimOutputs::new()
        .input_opt("--python", python_path)
        .output("DIR", &args.dir, OutputKind::Folder)
        .claim()?;
    let start = Instant::now();
    let report = valley_judge::env::create(&args.dir, &args.python, &mut |line| {
        tracing::info!("{line}");
    })
    .with_context(|| format!("cannot make the judge environment {}", args.dir.display()))?;
    let python = valley_judge::env::env_python(&args.dir);
    let value = json!({
        "ok": true,
        "dir": args.dir,
        "python": python,
        "version": report.version,
        "packages": report.packages,
        "wall_s": start.elapsed().as_secs_f64(),
    });
    let human = format!(
        "judge environment ready in {:.1} s: {} (Python {}, {})\n  use it with --python {} or export {JUDGE_PYTHON_ENV}={}\n",
        start.elapsed().as_secs_f64(),
        python.display(),
        report.version,
        packages_line(&report),
        python.display(),
        python.display(),
    );
    printer::summary(args.json, &value, &human)?;
    Ok(exit::SUCCESS)
}

/// `valley judge env check`: exit 1 when a profile cannot judge with the interpreter.
pub(crate) fn check(args: JudgeEnvCheckArgs) -> anyhow::Result<u8> {
    let profiles: Vec<Profile> = match &args.profile {
        Some(p) => vec![p.parse().map_err(|e: String| anyhow::anyhow!("--profile: {e}"))?],
        None => Profile::ALL.to_vec(),
    };
    let python = judge_python(args.python.as_deref());
    let report = EnvReport::probe(&python).map_err(|e| {
        anyhow::Error::new(e).context(Hint {
            message: "cannot check the judge's Python".into(),
            hint: ENV_HINT.into(),
        })
    })?;
    let mut by_profile = serde_json::Map::new();
    let mut human = format!(
        "judge Python {python} ({}, Python {}): {}\n",
        report.executable.display(),
        report.version,
        packages_line(&report)
    );
    let mut ok = true;
    for p in &profiles {
        let missing: Vec<&str> = report.missing_for(*p).iter().map(|m| m.module.as_str()).collect();
        ok &= missing.is_empty();
        by_profile.insert(p.name().into(), json!({"ok": missing.is_empty(), "missing": missing}));
        human.push_str(&if missing.is_empty() {
            format!("  {p}: ok\n")
        } else {
            format!("  {p}: cannot judge: missing {}\n", missing.join(", "))
        });
    }
    let value = json!({
        "ok": ok,
        "python": python,
        "executable": report.executable,
        "version": report.version,
        "packages": report.packages,
        "profiles": by_profile,
    });
    printer::summary(args.json, &value, &human)?;
    if !ok {
        return Err(anyhow::Error::new(exit::CheckFailed(format!(
            "the judge's Python `{python}` lacks what a profile needs"
        )))
        .context(Hint {
            message: "judge environment check failed".into(),
            hint: ENV_HINT.into(),
        }));
    }
    Ok(exit::SUCCESS)
}

/// The judge's environment, checked once before a study runs any step: when an eval or label
/// step still to run needs a package the judge's Python lacks, the study stops now (exit 2,
/// naming it) rather than after hours of training. Its steps run `valley eval` and `valley data
/// label`, which take the same interpreter (`$VALLEY_JUDGE_PYTHON`, else `python3`).
pub(crate) fn check_study(study: &valley_study::Study) -> anyhow::Result<()> {
    use valley_study::StepKind;
    // Keys that cannot be computed (a missing input) are the run's to report.
    let Ok(keys) = study.store().and_then(|store| study.keys(&store)) else { return Ok(()) };
    let mut profiles: Vec<Profile> = Vec::new();
    for (i, step) in study.plan.steps.iter().enumerate() {
        if !matches!(step.kind, StepKind::Eval | StepKind::Label) || study.is_done(i, &keys[i].key)
        {
            continue;
        }
        let profile =
            step.settings.get("profile").and_then(|p| p.as_str()).and_then(|p| p.parse().ok());
        if let Some(p) = profile
            && !profiles.contains(&p)
        {
            profiles.push(p);
        }
    }
    if profiles.iter().all(|p| p.required_modules().is_empty()) {
        return Ok(());
    }
    let python = judge_python(None);
    let report = EnvReport::probe(&python).map_err(|e| {
        anyhow::Error::new(e).context(Hint {
            message: "cannot check the judge's Python for the study's eval and label steps".into(),
            hint: ENV_HINT.into(),
        })
    })?;
    for p in profiles {
        if let Some(missing) = report.missing_for(p).first() {
            return Err(anyhow::Error::new(Hint {
                message: format!(
                    "the judge's Python `{python}` ({}) cannot import {}, which the study's {p} steps need ({})",
                    report.version,
                    missing.module,
                    missing.error.as_deref().unwrap_or("")
                ),
                hint: ENV_HINT.into(),
            }));
        }
    }
    Ok(())
}

/// `numpy 2.2.6 (pinned 2.2.6)`, one per declared package.
fn packages_line(report: &EnvReport) -> String {
    report
        .packages
        .iter()
        .map(|p| match (&p.found, &p.pinned) {
            (Some(f), Some(pin)) if f == pin => format!("{} {f}", p.module),
            (Some(f), pin) => {
                format!("{} {f} (pinned {})", p.module, pin.as_deref().unwrap_or("-"))
            }
            (None, _) => format!("{} missing", p.module),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
