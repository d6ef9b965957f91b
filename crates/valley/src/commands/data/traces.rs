//! `valley data traces`: teacher traces from generations, through the named filter.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;
use valley_data::traces::{FILTER, TeacherGenerations, TracesConfig, teacher_traces};
use valley_generate::TeacherRecipe;
use valley_types::ResponseFormat;

use crate::args::TracesArgs;
use crate::exit::{self, CheckFailed};
use crate::printer;

pub(crate) fn run(args: TracesArgs) -> anyhow::Result<u8> {
    let recipe = match &args.recipe {
        Some(p) => Some((
            p,
            TeacherRecipe::load(p).with_context(|| format!("cannot read {}", p.display()))?,
        )),
        None => None,
    };
    let mut generations: Vec<TeacherGenerations> = Vec::new();
    for spec in &args.generations {
        let (teacher, file) = spec
            .split_once('=')
            .filter(|(t, f)| !t.is_empty() && !f.is_empty())
            .ok_or_else(|| anyhow::anyhow!("--generations: `{spec}` is not TEACHER=FILE"))?;
        let format = match &recipe {
            Some((path, r)) => r.teacher(path, teacher)?.response_format,
            None => ResponseFormat::Think,
        };
        match generations.iter_mut().find(|g| g.teacher == teacher) {
            Some(g) => g.files.push(PathBuf::from(file)),
            None => generations.push(TeacherGenerations {
                teacher: teacher.to_owned(),
                format,
                files: vec![PathBuf::from(file)],
            }),
        }
    }
    let config = TracesConfig {
        questions: args.questions.clone(),
        generations,
        out: args.out.clone(),
        datasets: args.datasets.clone(),
        hub: crate::hub::sources(),
    };
    let outcome = teacher_traces(&config).context("cannot build teacher traces")?;
    let m = &outcome.manifest;
    let kept = m.outputs.get("traces").map_or(0, |o| o.rows);
    let mut human =
        format!("{kept} traces from {} samples into {}\n", m.input_rows, args.out.display());
    human.push_str(&format!("filter {FILTER}:\n"));
    for (teacher, c) in &outcome.filter {
        human.push_str(&format!(
            "  {teacher:<20} kept {} of {}: {} not finished, {} without a closed <think>{}\n",
            c.kept,
            c.samples,
            c.not_finished,
            c.no_closed_think,
            if c.outside_datasets > 0 {
                format!(", {} outside --dataset", c.outside_datasets)
            } else {
                String::new()
            }
        ));
    }
    for (name, c) in &m.sources {
        human.push_str(&format!("  {name:<20} {:>8} questions, {} traces\n", c.questions, c.rows));
    }
    if m.left_out.rows > 0 {
        human.push_str(&format!("{} samples left out:\n", m.left_out.rows));
        for e in &m.left_out.examples {
            human.push_str(&format!("  {e}\n"));
        }
    }
    human.push_str(&format!("manifest: {}", outcome.manifest_path.display()));
    let summary = json!({
        "out": args.out,
        "manifest": outcome.manifest_path,
        "samples": m.input_rows,
        "traces": kept,
        "filter": FILTER,
        "filtered": outcome.filter,
        "sources": m.sources,
        "left_out": m.left_out,
    });
    printer::summary(args.json, &summary, &human)?;
    if kept == 0 {
        return Err(anyhow::Error::new(CheckFailed(format!(
            "no trace passed the filter {FILTER} (see {})",
            outcome.manifest_path.display()
        ))));
    }
    Ok(exit::SUCCESS)
}
