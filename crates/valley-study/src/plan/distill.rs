//! `[distill]` steps: the paper's data from its sources.
//!
//! ```text
//! distill/questions        valley data import ocr2 (OCR2 + its source datasets)
//! distill/teacher/<name>   valley generate --recipe R --teacher <name>   (one per teacher)
//! distill/traces           valley data traces (every question)
//! distill/benchmark        valley data import lcb (the benchmark's release and window)
//! distill/decontam         valley data decontam (report kept)
//! distill/taco-traces      valley data traces --dataset taco   } when a dataset uses
//! distill/taco-decontam    valley data decontam                }   distill:taco-traces
//! distill/taco-problems    valley data import taco               when one uses distill:taco-problems
//! ```
//!
//! Local files are inputs (hashed into the keys); `hf://` paths are passed as written and named
//! in the settings (the import's manifest records the commit each resolved to).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::builder::{Builder, path_str};
use super::step::{Action, Input, OUT, Step, StepKind, step_dir};
use crate::spec::{DistillOutput, DistillSpec};

impl Builder<'_> {
    /// The `[distill]` steps, each dataset output recorded in `distilled`.
    pub(super) fn distill(&mut self, d: &DistillSpec) {
        let used = |o: DistillOutput| {
            self.spec.spec.datasets.values().any(|ds| {
                DistillOutput::of(&ds.traces) == Some(Ok(o))
                    || ds
                        .label
                        .as_ref()
                        .is_some_and(|l| DistillOutput::of(&l.problems) == Some(Ok(o)))
            })
        };
        let (taco_traces_used, taco_problems_used) =
            (used(DistillOutput::TacoTraces), used(DistillOutput::TacoProblems));

        // Questions.
        let mut inputs = Vec::new();
        let mut hub = Vec::new();
        let mut args: Vec<String> =
            vec!["data".into(), "import".into(), "ocr2".into(), "--input".into()];
        for v in &d.ocr2 {
            args.push(self.distill_file("distill.ocr2", v, &mut inputs, &mut hub));
        }
        let mut source_keys = Vec::new();
        for src in &d.sources {
            let (key, file) = src.split_once('=').expect("bug: checked when the spec loaded");
            let file = self.distill_file("distill.sources", file, &mut inputs, &mut hub);
            args.extend(["--source".into(), format!("{key}={file}")]);
            source_keys.push(key.to_owned());
        }
        for ds in &d.datasets {
            args.extend(["--dataset".into(), ds.clone()]);
        }
        args.extend(["--out".into(), OUT.into()]);
        let q = self.push(distill_step(
            "distill/questions",
            StepKind::Import,
            vec![],
            inputs,
            json!({"hub": hub, "sources": source_keys, "datasets": d.datasets}),
            args,
        ));
        let questions = step_dir(self.out(), "distill/questions").join("questions.jsonl");

        // One generation per teacher, resumable.
        let recipe = self.spec.resolve(&d.recipe);
        let mut generations = Vec::new();
        for (name, t) in &d.teachers {
            let id = format!("distill/teacher/{name}");
            let served = t
                .model
                .clone()
                .or_else(|| recipe_model(&recipe, name))
                .unwrap_or_else(|| name.clone());
            let mut args: Vec<String> = [
                "generate",
                "--recipe",
                &path_str(&recipe),
                "--teacher",
                name,
                "--endpoint",
                &t.endpoint,
                "--model",
                &served,
                "--problems",
                &path_str(&questions),
                "--out",
                &format!("{OUT}/generations.jsonl"),
                "--concurrency",
                &t.concurrency.to_string(),
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            if let Some(n) = d.limit {
                args.extend(["--limit".into(), n.to_string()]);
            }
            let i = self.push(Step {
                id: id.clone(),
                kind: StepKind::Teacher,
                deps: vec![q],
                inputs: vec![Input { field: "distill.recipe".into(), path: recipe.clone() }],
                settings: json!({"teacher": name, "served_as": served, "limit": d.limit}),
                action: Action::Valley { args },
                resumable: true,
                run: None,
                train_rows: None,
                params: None,
            });
            generations.push((
                name.clone(),
                i,
                step_dir(self.out(), &id).join("generations.jsonl"),
            ));
        }

        // The benchmark the traces are decontaminated against: its release and window.
        let benchmark = d.decontam.then(|| self.decontam_benchmark());

        let traces =
            |b: &mut Self, id: &str, did: &str, dataset: Option<&str>| -> (usize, PathBuf) {
                let mut args: Vec<String> = vec![
                    "data".into(),
                    "traces".into(),
                    "--questions".into(),
                    path_str(&questions),
                    "--recipe".into(),
                    path_str(&recipe),
                ];
                for (name, _, file) in &generations {
                    args.extend(["--generations".into(), format!("{name}={}", path_str(file))]);
                }
                if let Some(ds) = dataset {
                    args.extend(["--dataset".into(), ds.into()]);
                }
                args.extend(["--out".into(), format!("{OUT}/traces.jsonl")]);
                let mut deps = vec![q];
                deps.extend(generations.iter().map(|(_, i, _)| *i));
                let t = b.push(Step {
                    id: id.into(),
                    kind: StepKind::Traces,
                    deps,
                    inputs: vec![Input { field: "distill.recipe".into(), path: recipe.clone() }],
                    settings: json!({"dataset": dataset}),
                    action: Action::Valley { args },
                    resumable: false,
                    run: None,
                    train_rows: None,
                    params: None,
                });
                let file = step_dir(b.out(), id).join("traces.jsonl");
                match &benchmark {
                    None => (t, file),
                    Some((bench_file, bench_step, bench_inputs)) => {
                        let args = vec![
                            "data".into(),
                            "decontam".into(),
                            "--input".into(),
                            path_str(&file),
                            "--benchmark".into(),
                            path_str(bench_file),
                            "--out".into(),
                            format!("{OUT}/traces.jsonl"),
                            "--report".into(),
                            format!("{OUT}/report.jsonl"),
                        ];
                        let dc = b.push(distill_step(
                            did,
                            StepKind::Decontam,
                            std::iter::once(t).chain(*bench_step).collect(),
                            bench_inputs.clone(),
                            json!({}),
                            args,
                        ));
                        (dc, step_dir(b.out(), did).join("traces.jsonl"))
                    }
                }
            };
        let (t, file) = traces(self, "distill/traces", "distill/decontam", None);
        self.distilled.push((DistillOutput::Traces, t, file));
        if taco_traces_used {
            let (t, file) =
                traces(self, "distill/taco-traces", "distill/taco-decontam", Some("taco"));
            self.distilled.push((DistillOutput::TacoTraces, t, file));
        }

        // TACO's problems, for labelling.
        if taco_problems_used {
            let mut inputs = Vec::new();
            let mut hub = Vec::new();
            let mut args: Vec<String> =
                vec!["data".into(), "import".into(), "taco".into(), "--input".into()];
            for v in &d.taco {
                args.push(self.distill_file("distill.taco", v, &mut inputs, &mut hub));
            }
            args.extend([
                "--split".into(),
                d.taco_split.clone(),
                "--out".into(),
                format!("{OUT}/problems.jsonl"),
            ]);
            let id = "distill/taco-problems";
            let p = self.push(distill_step(
                id,
                StepKind::Import,
                vec![],
                inputs,
                json!({"hub": hub, "split": d.taco_split}),
                args,
            ));
            let file = step_dir(self.out(), id).join("problems.jsonl");
            self.distilled.push((DistillOutput::TacoProblems, p, file));
        }
    }

    /// A `[distill]` file value: a local path (an input of the step) or an `hf://` path.
    fn distill_file(
        &self,
        field: &str,
        v: &str,
        inputs: &mut Vec<Input>,
        hub: &mut Vec<String>,
    ) -> String {
        if DistillSpec::is_hub(v) {
            hub.push(v.to_owned());
            return v.to_owned();
        }
        let p = self.spec.resolve(Path::new(v));
        inputs.push(Input { field: field.into(), path: p.clone() });
        path_str(&p)
    }

    /// The benchmark file decontamination reads, with the step writing it (an `import lcb` of
    /// the release and window) or the inputs reading it.
    fn decontam_benchmark(&mut self) -> (PathBuf, Option<usize>, Vec<Input>) {
        let bench = &self.spec.spec.benchmark;
        let problems = self.spec.resolve(&bench.problems);
        let select = bench.select_args();
        if select.is_empty() {
            let input = Input { field: "benchmark.problems".into(), path: problems.clone() };
            return (problems, None, vec![input]);
        }
        let id = "distill/benchmark";
        let mut args: Vec<String> = vec![
            "data".into(),
            "import".into(),
            "lcb".into(),
            "--input".into(),
            path_str(&problems),
        ];
        args.extend(select.iter().cloned());
        args.extend(["--out".into(), format!("{OUT}/problems.jsonl")]);
        let i = self.push(distill_step(
            id,
            StepKind::Import,
            vec![],
            vec![Input { field: "benchmark.problems".into(), path: problems }],
            json!({"select": select}),
            args,
        ));
        (step_dir(self.out(), id).join("problems.jsonl"), Some(i), vec![])
    }
}

fn distill_step(
    id: &str,
    kind: StepKind,
    deps: Vec<usize>,
    inputs: Vec<Input>,
    settings: serde_json::Value,
    args: Vec<String>,
) -> Step {
    Step {
        id: id.into(),
        kind,
        deps,
        inputs,
        settings,
        action: Action::Valley { args },
        resumable: false,
        run: None,
        train_rows: None,
        params: None,
    }
}

/// The `model` of teacher `name` in the recipe at `path`, when it can be read.
fn recipe_model(path: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let recipe: toml::Table = toml::from_str(&text).ok()?;
    recipe.get("teachers")?.get(name)?.get("model")?.as_str().map(str::to_owned)
}
