//! `valley report`: reads the run results (and the verdicts they point at), runs the valley
//! analysis and the split comparisons, and writes every table, figure and the HTML page with a
//! manifest, all at once (staged under temporary names, renamed when every file is ready).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use valley_data::io::{ClaimOutputs, FieldMap, OutputKind, OutputSet, RowReader, decode_row};
use valley_metrics::Bootstrap;
use valley_report::{Provenance, ReportConfig, Study, analyse_study, render_report, size_label};
use valley_types::RunResult;

use crate::args::ReportArgs;
use crate::printer;

pub(crate) fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let _claim = ClaimOutputs::new()
        .input("--results", &args.results)
        .output("--out", &args.out, OutputKind::Folder)
        .claim()?;
    let config = ReportConfig {
        bootstrap: Bootstrap {
            resamples: args.bootstrap_resamples,
            seed: args.bootstrap_seed,
            ..Bootstrap::default()
        },
        png_scale: args.png_scale,
    };
    let (runs, lines, results_sha256) = read_results(&args.results)?;
    let mut inputs = vec![json!({
        "role": "results",
        "path": args.results.display().to_string(),
        "sha256": results_sha256,
    })];
    let runs = attach_verdicts(&args.results, runs, &lines, &mut inputs)?;
    let n_runs = runs.len();
    let study = Study::new(runs)
        .map_err(|e| anyhow::anyhow!("{}:{}: {e}", args.results.display(), lines[e.index]))?;
    let provenance = Provenance {
        valley_version: env!("CARGO_PKG_VERSION").into(),
        git_revision: valley_study::GIT_REVISION.into(),
        results: args.results.display().to_string(),
        results_sha256: results_sha256.clone(),
        runs: n_runs,
    };
    let analysis = analyse_study(&study, &config);
    let artifacts = render_report(&analysis, &provenance, &config)
        .context("cannot draw the report's figures")?;

    let mut listed = Vec::with_capacity(artifacts.len());
    for a in &artifacts {
        listed.push(json!({
            "path": a.path,
            "bytes": a.bytes.len(),
            "sha256": hex::encode(Sha256::digest(&a.bytes)),
        }));
    }
    let manifest = json!({
        "command": "report",
        "valley_version": provenance.valley_version,
        "git_revision": provenance.git_revision,
        "inputs": inputs,
        "settings": {
            "bootstrap": config.bootstrap,
            "png_scale": config.png_scale,
            "confidence": 0.95,
        },
        "runs": n_runs,
        "artifacts": listed,
    });
    let manifest_text = format!("{}\n", serde_json::to_string_pretty(&manifest)?);

    let mut staged = OutputSet::new();
    for a in &artifacts {
        staged.write(args.out.join(&a.path), &a.bytes)?;
    }
    staged.write(args.out.join("manifest.json"), manifest_text.as_bytes())?;
    let written: Vec<String> = staged
        .commit()?
        .iter()
        .map(|p| p.strip_prefix(&args.out).unwrap_or(p).display().to_string())
        .collect();

    let students: Vec<serde_json::Value> = analysis
        .students
        .iter()
        .map(|f| {
            json!({
                "model": f.model,
                "label": f.label,
                "valley_detected": f.valley_detected,
                "min_size": f.min_size,
                "depth_ratio": f.depth_ratio,
                "slope_per_decade": f.slope_per_decade,
                "slope_ci95": f.slope_ci95,
                "r2": f.r2,
                "better_fit": f.better_fit,
                "reason": f.reason,
            })
        })
        .collect();
    let summary = json!({
        "out": args.out.display().to_string(),
        "runs": n_runs,
        "students": students,
        "split_comparisons": analysis.splits.as_ref().map_or(0, |t| t.comparisons.len()),
        "within_noise": analysis.splits.as_ref().map_or_else(Vec::new, |t| t
            .comparisons
            .iter()
            .filter_map(|c| c.noise_warning())
            .collect::<Vec<_>>()),
        "files": written,
    });
    let mut human = format!("{n_runs} runs -> {} ({} files)\n", args.out.display(), written.len());
    for f in &analysis.students {
        let verdict = if f.valley_detected {
            format!(
                "valley at {} ({:.2}x the baseline)",
                f.min_size.map_or_else(String::new, size_label),
                f.depth_ratio.unwrap_or(f64::NAN)
            )
        } else {
            format!("no valley ({})", f.reason)
        };
        let trend = match (f.slope_per_decade, f.r2) {
            (Some(b), Some(r2)) => {
                format!(", {b:+.4} pass@1 per decade past the bottom (R² {r2:.3})")
            }
            _ => String::new(),
        };
        human.push_str(&format!("  {}: {verdict}{trend}\n", f.label));
    }
    if let Some(t) = &analysis.splits {
        for w in t.comparisons.iter().filter_map(|c| c.noise_warning()) {
            tracing::warn!("{w}");
        }
    }
    printer::summary(args.json, &summary, &human)?;
    Ok(crate::exit::SUCCESS)
}

/// Reads every record, naming file, line and field on error; returns the records, their line
/// numbers and the file's SHA-256.
fn read_results(path: &Path) -> anyhow::Result<(Vec<RunResult>, Vec<u64>, String)> {
    let mut reader =
        RowReader::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let fields = FieldMap::default();
    let (mut runs, mut lines) = (Vec::new(), Vec::new());
    for row in reader.by_ref() {
        let row = row?;
        let r: RunResult = decode_row(path, &row, &fields)?;
        if let Err((field, message)) = r.validate() {
            bail!("{}:{}: field `{field}`: {message}", path.display(), row.line);
        }
        runs.push(r);
        lines.push(row.line);
    }
    if runs.is_empty() {
        bail!("{}: no run records", path.display());
    }
    let sha = match reader.sha256() {
        Some(s) => s,
        None => hex::encode(Sha256::digest(fs_err::read(path)?)),
    };
    Ok((runs, lines, sha))
}

/// The part of a verdict record the report needs.
#[derive(Deserialize)]
struct VerdictRow {
    question_id: String,
    verdict: String,
}

/// Fills `per_problem` from each run's `verdicts` file (relative to the results' folder) when the
/// run has no inline outcomes, and lists the files read as inputs.
fn attach_verdicts(
    results: &Path,
    mut runs: Vec<RunResult>,
    lines: &[u64],
    inputs: &mut Vec<serde_json::Value>,
) -> anyhow::Result<Vec<RunResult>> {
    let dir = results.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    for (r, line) in runs.iter_mut().zip(lines) {
        let Some(rel) = &r.verdicts else { continue };
        if r.per_problem.is_some() {
            continue;
        }
        let path = dir.join(rel);
        let mut reader = RowReader::open(&path).with_context(|| {
            format!(
                "{}:{line}: field `verdicts`: cannot read {}",
                results.display(),
                path.display()
            )
        })?;
        let fields = FieldMap::default();
        let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut not_judged = 0u64;
        for row in reader.by_ref() {
            let row = row?;
            let v: VerdictRow = decode_row(&path, &row, &fields)?;
            if valley_types::Verdict::from_code(&v.verdict).is_none() {
                bail!(
                    "{}:{}: field `verdict`: unknown verdict `{}`",
                    path.display(),
                    row.line,
                    v.verdict
                );
            }
            // the judge's own failure is no outcome of the model (issue 14)
            if v.verdict == valley_types::Verdict::JudgeError.code() {
                not_judged += 1;
                continue;
            }
            let c = counts.entry(v.question_id).or_default();
            c.0 += u64::from(v.verdict == "AC");
            c.1 += 1;
        }
        if not_judged > 0 {
            tracing::warn!(
                "{}: {not_judged} samples the judge could not judge (JUDGE_ERROR) are left out",
                path.display()
            );
        }
        if counts.is_empty() {
            bail!(
                "{}: no judged verdict records (named by {}:{line})",
                path.display(),
                results.display()
            );
        }
        if counts.len() as u64 != r.n_problems {
            tracing::warn!(
                "{}: {} problems, but run `{}` says n_problems {}",
                path.display(),
                counts.len(),
                r.run,
                r.n_problems
            );
        }
        let sha = match reader.sha256() {
            Some(s) => s,
            None => hex::encode(Sha256::digest(fs_err::read(&path)?)),
        };
        inputs.push(json!({
            "role": "verdicts",
            "run": r.run,
            "path": path.display().to_string(),
            "sha256": sha,
        }));
        r.per_problem =
            Some(counts.into_iter().map(|(q, (ok, n))| (q, ok as f64 / n as f64)).collect());
    }
    Ok(runs)
}
