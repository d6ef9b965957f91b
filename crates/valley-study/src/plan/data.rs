//! Data steps: `valley data label` (when the traces are to be judged first), then nested subsets
//! or a balanced split of the traces. The traces (and a label's problems) are a file, or a
//! `[distill]` output: then the step depends on the step writing it.

use serde_json::json;

use super::builder::{Builder, path_str};
use super::step::{Action, Input, OUT, Step, StepKind, step_dir};
use crate::spec::DatasetSpec;

impl Builder<'_> {
    /// The steps of dataset `name`.
    pub(super) fn data(&mut self, name: &str, d: &DatasetSpec) {
        let fields: Vec<String> =
            d.fields.iter().flat_map(|f| ["--field".into(), f.clone()]).collect();
        let (traces, traces_step) = self.data_path(&d.traces);
        let traces_field = format!("datasets.{name}.traces");
        // The traces come from the file (or a [distill] step), or from the label step that
        // judged them.
        let (input_path, mut deps, mut inputs) = match &d.label {
            Some(label) => {
                let id = format!("label/{name}");
                let (problems, problems_step) = self.data_path(&label.problems);
                let mut args = vec![
                    "data".into(),
                    "label".into(),
                    "--input".into(),
                    path_str(&traces),
                    "--problems".into(),
                    path_str(&problems),
                    "--profile".into(),
                    label.profile.clone(),
                    "--out".into(),
                    format!("{OUT}/labelled.jsonl"),
                ];
                if let Some(f) = &label.problem_format {
                    args.extend(["--problem-format".into(), f.clone()]);
                }
                if self.spec.spec.eval.allow_weak_sandbox {
                    args.push("--allow-weak-sandbox".into());
                }
                if problems_step.is_some() {
                    // TACO rows without tests are not problems: their traces are counted out
                    args.push("--skip-unmatched".into());
                }
                args.extend(fields.iter().cloned());
                let mut inputs = Vec::new();
                if traces_step.is_none() {
                    inputs.push(Input { field: traces_field.clone(), path: traces.clone() });
                }
                if problems_step.is_none() {
                    let field = format!("datasets.{name}.label.problems");
                    inputs.push(Input { field, path: problems });
                }
                let mut settings = json!({
                    "profile": label.profile,
                    "problem_format": label.problem_format,
                    "fields": d.fields,
                });
                // only when set, so that the keys of studies without it stay as they were
                if problems_step.is_some() {
                    settings["skip_unmatched"] = json!(true);
                }
                let i = self.push(Step {
                    id: id.clone(),
                    kind: StepKind::Label,
                    deps: traces_step.into_iter().chain(problems_step).collect(),
                    inputs,
                    settings,
                    action: Action::Valley { args },
                    resumable: false,
                    run: None,
                    train_rows: None,
                    params: None,
                });
                (step_dir(self.out(), &id).join("labelled.jsonl"), vec![i], vec![])
            }
            None => match traces_step {
                Some(t) => (traces.clone(), vec![t], vec![]),
                None => (traces.clone(), vec![], vec![Input { field: traces_field, path: traces }]),
            },
        };
        let id = format!("data/{name}");
        let seed = d.seed.to_string();
        let (kind, mut args, settings) = match d.split {
            None => {
                let mut sizes = d.sizes.clone();
                sizes.sort_unstable_by(|a, b| b.cmp(a));
                let list = sizes.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
                (
                    StepKind::Subsets,
                    vec!["data".into(), "subsets".into(), "--sizes".into(), list],
                    json!({"sizes": sizes, "seed": d.seed, "fields": d.fields}),
                )
            }
            Some(by) => {
                let per = d.per_group.unwrap_or(0).to_string();
                (
                    StepKind::Split,
                    vec![
                        "data".into(),
                        "split".into(),
                        "--by".into(),
                        by.as_str().into(),
                        "--per-group".into(),
                        per,
                    ],
                    json!({"by": by.as_str(), "per_group": d.per_group, "seed": d.seed, "fields": d.fields}),
                )
            }
        };
        args.extend([
            "--input".into(),
            path_str(&input_path),
            "--seed".into(),
            seed,
            "--out".into(),
            OUT.into(),
        ]);
        args.extend(fields);
        let i = self.push(Step {
            id,
            kind,
            deps: std::mem::take(&mut deps),
            inputs: std::mem::take(&mut inputs),
            settings,
            action: Action::Valley { args },
            resumable: false,
            run: None,
            train_rows: None,
            params: None,
        });
        self.data_steps.insert(name.to_owned(), i);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{ENDPOINT, args, flag, plan, step};
    use crate::plan::{Action, StepKind};

    #[test]
    fn subsets_take_the_sizes_largest_first_from_the_traces() {
        let p = plan(ENDPOINT, "");
        let s = step(&p, "data/scaling");
        assert_eq!(s.kind, StepKind::Subsets);
        let a = args(s);
        assert_eq!(&a[..2], ["data", "subsets"]);
        assert_eq!(flag(&a, "--sizes"), Some("100,10"));
        assert_eq!(flag(&a, "--input"), Some("/s/traces.jsonl"));
        assert_eq!(flag(&a, "--seed"), Some("7"));
        assert_eq!(flag(&a, "--out"), Some("{out}"));
        assert!(s.deps.is_empty());
        assert_eq!(s.inputs[0].field, "datasets.scaling.traces");
        assert_eq!(s.settings["sizes"], serde_json::json!([100, 10]));
    }

    #[test]
    fn labelled_traces_are_judged_first_then_split() {
        let p = plan(
            ENDPOINT,
            r#"
[datasets.correct]
traces = "taco.jsonl"
label = { problems = "taco-problems.jsonl", problem-format = "taco" }
split = "correctness"
per-group = 3
fields = ["response=output"]
"#,
        );
        let label = step(&p, "label/correct");
        assert_eq!(label.kind, StepKind::Label);
        let a = args(label);
        assert_eq!(flag(&a, "--profile"), Some("taco"));
        assert_eq!(flag(&a, "--problem-format"), Some("taco"));
        assert_eq!(flag(&a, "--field"), Some("response=output"));
        assert_eq!(label.inputs.len(), 2);
        let split = step(&p, "data/correct");
        assert_eq!(split.kind, StepKind::Split);
        assert_eq!(split.deps, [p.index("label/correct").unwrap()]);
        assert!(split.inputs.is_empty(), "the labelled traces are an upstream step's output");
        let a = args(split);
        assert_eq!((flag(&a, "--by"), flag(&a, "--per-group")), (Some("correctness"), Some("3")));
        assert_eq!(flag(&a, "--input"), Some("/s/study-out/label/correct/labelled.jsonl"));
        assert!(matches!(split.action, Action::Valley { .. }));
    }
}
