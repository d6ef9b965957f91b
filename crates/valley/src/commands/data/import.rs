//! `valley data import ocr2|taco|lcb`: datasets as published, with stable ids and every row left out
//! counted and named.

use anyhow::Context;
use serde_json::json;
use valley_data::import::{Ocr2Config, SourceSpec, TacoConfig, import_ocr2, import_taco};
use valley_eval::import_lcb;
use valley_types::ImportManifest;

use crate::args::{ImportLcbArgs, ImportOcr2Args, ImportTacoArgs, Ocr2TracesArg, TacoSplitArg};
use crate::commands::benchmark;
use crate::exit::{self, CheckFailed};
use crate::printer;

pub(crate) fn ocr2(args: ImportOcr2Args) -> anyhow::Result<u8> {
    let mut sources = Vec::new();
    for s in &args.sources {
        let spec: SourceSpec = s.parse().map_err(|e: String| anyhow::anyhow!("--source: {e}"))?;
        sources.push(spec);
    }
    for d in &args.datasets {
        if valley_data::import::SourceKind::from_name(d).is_none() {
            anyhow::bail!(
                "--dataset: unknown source dataset `{d}` (expected one of: taco, apps, code_contests, open-r1/codeforces)"
            );
        }
    }
    let config = Ocr2Config {
        inputs: args.input.clone(),
        sources,
        out: args.out.clone(),
        traces: args.traces == Some(Ocr2TracesArg::R1),
        datasets: args.datasets.clone(),
        hub: crate::hub::sources(),
    };
    let outcome = import_ocr2(&config).context("cannot import OpenCodeReasoning-2")?;
    let m = &outcome.manifest;
    let questions = m.outputs.get("questions").map_or(0, |o| o.rows);
    let mut human = format!(
        "{questions} questions from {} OCR2 rows into {}\n",
        m.input_rows,
        args.out.display()
    );
    for (name, c) in &m.sources {
        human.push_str(&format!("  {name:<20} {:>8} questions ({} rows)\n", c.questions, c.rows));
    }
    if let Some(t) = m.outputs.get("traces") {
        human.push_str(&format!("{} traces (OCR2's R1 responses) in {}\n", t.rows, t.path));
    }
    let summary = json!({
        "out": args.out,
        "manifest": outcome.manifest_path,
        "input_rows": m.input_rows,
        "questions": questions,
        "traces": m.outputs.get("traces").map(|t| t.rows),
        "sources": m.sources,
        "left_out": m.left_out,
        "settings": m.settings,
    });
    finish(args.json, &summary, human, m, &outcome.manifest_path, questions, || {
        format!(
            "no question could be filled from {} OCR2 rows (see {})",
            m.input_rows,
            outcome.manifest_path.display()
        )
    })
}

pub(crate) fn taco(args: ImportTacoArgs) -> anyhow::Result<u8> {
    let split = match args.split {
        TacoSplitArg::Train => "train",
        TacoSplitArg::Test => "test",
    };
    let config = TacoConfig {
        inputs: args.input.clone(),
        split: split.into(),
        out: args.out.clone(),
        keep_solutions: args.keep_solutions,
        hub: crate::hub::sources(),
    };
    let outcome = import_taco(&config).context("cannot import TACO")?;
    let m = &outcome.manifest;
    let problems = m.outputs.get("problems").map_or(0, |o| o.rows);
    let human = format!(
        "{problems} TACO {split} problems (ids taco/{split}/<index>) from {} rows into {}\n",
        m.input_rows,
        args.out.display()
    );
    let summary = json!({
        "out": args.out,
        "manifest": outcome.manifest_path,
        "input_rows": m.input_rows,
        "problems": problems,
        "left_out": m.left_out,
        "settings": m.settings,
    });
    finish(args.json, &summary, human, m, &outcome.manifest_path, problems, || {
        format!(
            "no TACO row could be used out of {} (see {})",
            m.input_rows,
            outcome.manifest_path.display()
        )
    })
}

pub(crate) fn lcb(args: ImportLcbArgs) -> anyhow::Result<u8> {
    let bench = benchmark::resolve(&args.input, &args.benchmark)?;
    let done = import_lcb(&bench, &args.out, crate::hub::sources())
        .context("cannot import LiveCodeBench")?;
    let m = &done.manifest;
    let mut human = format!(
        "{} LiveCodeBench problems of {} rows ({} outside the selection) into {}\n",
        done.problems,
        m.input_rows,
        done.outside,
        args.out.display()
    );
    for (p, n) in &done.platforms {
        human.push_str(&format!("  {p:<12} {n}\n"));
    }
    let summary = json!({
        "out": args.out,
        "manifest": done.manifest_path,
        "input_rows": m.input_rows,
        "problems": done.problems,
        "outside_selection": done.outside,
        "platforms": done.platforms,
        "left_out": m.left_out,
    });
    finish(args.json, &summary, human, m, &done.manifest_path, done.problems, || {
        format!("no LiveCodeBench problem kept out of {} rows", m.input_rows)
    })
}

/// Prints an import's summary (the human one ending with the rows left out and the manifest's
/// path) and fails the check when it kept nothing (`none` says so).
fn finish(
    json: bool,
    summary: &serde_json::Value,
    mut human: String,
    m: &ImportManifest,
    manifest_path: &std::path::Path,
    kept: u64,
    none: impl FnOnce() -> String,
) -> anyhow::Result<u8> {
    human.push_str(&left_out_lines(m));
    human.push_str(&format!("manifest: {}", manifest_path.display()));
    printer::summary(json, summary, &human)?;
    if kept == 0 {
        return Err(anyhow::Error::new(CheckFailed(none())));
    }
    Ok(exit::SUCCESS)
}

/// The rows left out, by reason, each with its first row named.
fn left_out_lines(m: &ImportManifest) -> String {
    let l = &m.left_out;
    if l.rows == 0 {
        return "no row left out\n".into();
    }
    let mut s = format!("{} rows left out:\n", l.rows);
    for (reason, n) in &l.by_reason {
        s.push_str(&format!("  {n:>8} rows: {reason}"));
        if let Some(e) = l.examples.iter().find(|e| e.reason.starts_with(reason.as_str())) {
            s.push_str(&format!(" (first: {e})"));
        }
        s.push('\n');
    }
    s
}
