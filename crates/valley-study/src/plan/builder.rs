//! The expansion in progress: the steps and runs so far, the shared helpers of every step kind,
//! and the order of the grid (a run continuing from another comes after it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use valley_types::PromptStyle;

use super::step::{Input, RunInfo, Step};
use crate::error::StudyError;
use crate::spec::{DistillOutput, LoadedSpec, StudentSpec};

/// The expansion in progress.
pub(super) struct Builder<'a> {
    pub(super) spec: &'a LoadedSpec,
    pub(super) steps: Vec<Step>,
    pub(super) runs: Vec<RunInfo>,
    /// Dataset name -> the step writing its parts.
    pub(super) data_steps: HashMap<String, usize>,
    /// Run id -> its train step.
    pub(super) train_steps: HashMap<String, usize>,
    pub(super) evals: Vec<(RunInfo, usize)>,
    /// What `[distill]` makes: the step writing it and the file.
    pub(super) distilled: Vec<(DistillOutput, usize, PathBuf)>,
}

pub(super) fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Deep-merges `over` into `base` (tables merge, everything else replaces).
pub(super) fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

pub(super) fn table(pairs: impl IntoIterator<Item = (&'static str, toml::Value)>) -> toml::Table {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Appends `flag value` to `args` when there is a value.
pub(super) fn push_opt(args: &mut Vec<String>, flag: &str, v: Option<String>) {
    if let Some(v) = v {
        args.extend([flag.to_owned(), v]);
    }
}

impl<'a> Builder<'a> {
    pub(super) fn new(spec: &'a LoadedSpec) -> Self {
        Self {
            spec,
            steps: Vec::new(),
            runs: Vec::new(),
            data_steps: HashMap::new(),
            train_steps: HashMap::new(),
            evals: Vec::new(),
            distilled: Vec::new(),
        }
    }
}

impl Builder<'_> {
    pub(super) fn push(&mut self, step: Step) -> usize {
        self.steps.push(step);
        self.steps.len() - 1
    }

    pub(super) fn out(&self) -> &Path {
        &self.spec.out
    }

    /// A dataset's file: a `[distill]` output (with the step writing it), or a path.
    pub(super) fn data_path(&self, value: &Path) -> (PathBuf, Option<usize>) {
        if let Some(Ok(o)) = DistillOutput::of(value)
            && let Some((_, step, path)) = self.distilled.iter().find(|(d, _, _)| *d == o)
        {
            return (path.clone(), Some(*step));
        }
        (self.spec.resolve(value), None)
    }

    pub(super) fn student(&self, name: &str) -> &StudentSpec {
        &self.spec.spec.students[name]
    }

    pub(super) fn display(&self, name: &str) -> String {
        self.student(name).display.clone().unwrap_or_else(|| name.to_owned())
    }

    /// The prompt style of a student's runs, and the spec's text for it when the spec sets one:
    /// `[generate] prompt-style` when set (other than `auto`), else LiveCodeBench's registry
    /// style for the student's hub id, its folder's name, its display name, its key or
    /// `[generate] model-name` (a run trained from the student is prompted as the student: its
    /// checkpoint's name says nothing), else `OpenAIChat`.
    pub(super) fn prompt_style(&self, name: &str) -> (PromptStyle, Option<&str>) {
        if let Some(s) = self.spec.spec.generate.prompt_style.as_deref().filter(|s| *s != "auto") {
            // the spec check refused a style that does not parse
            return (s.parse().unwrap_or_default(), Some(s));
        }
        let st = self.student(name);
        let folder = st.path.as_ref().and_then(|p| p.file_name()).map(|f| f.to_string_lossy());
        let served = self.spec.spec.generate.model_name.as_deref();
        let found =
            [st.hub.as_deref(), folder.as_deref(), st.display.as_deref(), Some(name), served]
                .into_iter()
                .flatten()
                .find_map(PromptStyle::for_model);
        (found.unwrap_or_default(), None)
    }

    /// The student's own weights: a path (hashed) or a hub id (named).
    pub(super) fn student_model(&self, name: &str) -> (String, Vec<Input>, Value) {
        let st = self.student(name);
        match (&st.path, &st.hub) {
            (Some(p), _) => {
                let p = self.spec.resolve(p);
                let input = Input { field: format!("students.{name}.path"), path: p.clone() };
                (path_str(&p), vec![input], json!({"student": name}))
            }
            (None, Some(h)) => (h.clone(), vec![], json!({"student": name, "hub": h})),
            (None, None) => (
                String::new(),
                vec![],
                json!({"student": name, "init": serde_json::to_value(&st.init).unwrap_or(Value::Null)}),
            ),
        }
    }

    pub(super) fn tokenizer_inputs(&self, name: &str) -> Vec<Input> {
        let st = self.student(name);
        let mut out = Vec::new();
        if let Some(t) = &st.tokenizer {
            out.push(Input {
                field: format!("students.{name}.tokenizer"),
                path: self.spec.resolve(t),
            });
        }
        if let Some(t) = &st.chat_template {
            out.push(Input {
                field: format!("students.{name}.chat-template"),
                path: self.spec.resolve(t),
            });
        }
        out
    }

    pub(super) fn baseline(&mut self, student: &str) {
        let run = RunInfo {
            id: format!("{student}/base"),
            student: student.to_owned(),
            model: self.display(student),
            data: None,
            data_size: 0,
            split: None,
            base: None,
        };
        let (model, mut inputs, identity) = self.student_model(student);
        inputs.extend(self.tokenizer_inputs(student));
        self.generate_and_eval(run, model, None, inputs, identity);
    }

    pub(super) fn grid(&mut self) -> Result<(), StudyError> {
        // Runs continuing from another run come after it: repeat passes until every run is
        // placed, so grids may be listed in any order.
        let mut pending: Vec<(String, String, String, toml::Table)> = Vec::new();
        for g in &self.spec.spec.runs {
            for st in &g.students {
                for from in &g.from {
                    for d in &g.data {
                        pending.push((st.clone(), d.clone(), from.clone(), g.train.clone()));
                    }
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        while !pending.is_empty() {
            let before = pending.len();
            let mut rest = Vec::new();
            for (st, d, from, train) in pending {
                if from == "base" || self.train_steps.contains_key(&from) {
                    let id = self.train_run(&st, &d, &from, &train);
                    if !seen.insert(id.clone()) {
                        return Err(StudyError::Plan {
                            spec: self.spec.path.clone(),
                            message: format!("run `{id}` is listed twice"),
                        });
                    }
                } else {
                    rest.push((st, d, from, train));
                }
            }
            if rest.len() == before {
                let names: Vec<&str> = rest.iter().map(|r| r.2.as_str()).collect();
                return Err(StudyError::Plan {
                    spec: self.spec.path.clone(),
                    message: format!(
                        "no run to continue from named {} (runs are `<student>/<dataset>-<part>`)",
                        names.join(", ")
                    ),
                });
            }
            pending = rest;
        }
        Ok(())
    }

    /// The generate and eval steps of `run` (see [`Builder::generate`]).
    pub(super) fn generate_and_eval(
        &mut self,
        run: RunInfo,
        model: String,
        train: Option<usize>,
        inputs: Vec<Input>,
        identity: Value,
    ) {
        let gi = self.generate(&run, model, train, inputs, identity);
        self.eval(run, gi);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::spec::LoadedSpec;

    fn expand(runs: &str) -> Result<crate::plan::Plan, String> {
        let text = format!(
            "[study]\nname = \"t\"\n[benchmark]\nproblems = \"p.jsonl\"\n[students.a]\npath = \"m\"\n\
             [datasets.d]\ntraces = \"t.jsonl\"\nsizes = [1, 2]\n[generate]\nserve = true\n{runs}"
        );
        let spec =
            LoadedSpec::parse(Path::new("/s/study.toml"), &text).map_err(|e| e.to_string())?;
        crate::plan::expand(&spec).map_err(|e| e.to_string())
    }

    #[test]
    fn runs_continuing_from_others_come_after_them_whatever_the_order() {
        let p = expand(
            "[[runs]]\nstudents = [\"a\"]\ndata = [\"d/2\"]\nfrom = [\"a/d-1\"]\n\
             [[runs]]\nstudents = [\"a\"]\ndata = [\"d/1\"]\n",
        )
        .unwrap();
        let first = p.index("train/a/d-1").unwrap();
        let then = p.index("train/a/d-1+d-2").unwrap();
        assert!(first < then);
        for (i, s) in p.steps.iter().enumerate() {
            assert!(s.deps.iter().all(|&d| d < i), "{} comes before what it reads", s.id);
        }
    }

    #[test]
    fn a_run_listed_twice_or_continuing_from_nothing_is_refused() {
        let e = expand("[[runs]]\nstudents = [\"a\"]\ndata = [\"d/1\", \"d/1\"]\n").unwrap_err();
        assert!(e.contains("run `a/d-1` is listed twice"), "{e}");
        let e = expand("[[runs]]\nstudents = [\"a\"]\ndata = [\"d/1\"]\nfrom = [\"a/d-9\"]\n")
            .unwrap_err();
        assert!(e.contains("no run to continue from named a/d-9"), "{e}");
    }
}
