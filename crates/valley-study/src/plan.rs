//! Expanding a spec into its steps: data (label, subsets, split) -> train -> generate -> eval per
//! run, then results and report. Steps come out in dependency order; each says what it runs,
//! which files and upstream steps it reads, and which settings go into its key.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::StudyError;
use crate::spec::{DatasetSpec, LoadedSpec, StudentSpec};

/// Where a step writes while it runs, as it appears in an action's arguments: replaced by the
/// step's partial folder, which is renamed to its final folder on success.
pub(crate) const OUT: &str = "{out}";

/// The folder inside a train step's output that holds the final checkpoint (`output.dir` of the
/// train config).
pub(crate) const TRAIN_OUTPUT: &str = "run";

/// What kind of work a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// `valley data label`.
    Label,
    /// `valley data subsets`.
    Subsets,
    /// `valley data split`.
    Split,
    /// `valley train`.
    Train,
    /// `valley generate` (starting the engine's servers with `--engine`).
    Generate,
    /// `valley eval`.
    Eval,
    /// The run-result records of every evaluated run.
    Results,
    /// `valley report`.
    Report,
}

impl StepKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Label => "label",
            StepKind::Subsets => "subsets",
            StepKind::Split => "split",
            StepKind::Train => "train",
            StepKind::Generate => "generate",
            StepKind::Eval => "eval",
            StepKind::Results => "results",
            StepKind::Report => "report",
        }
    }
}

/// What executing a step does; arguments may hold [`OUT`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Action {
    /// `valley <args>`.
    Valley {
        /// Arguments after `valley`.
        args: Vec<String>,
    },
    /// Writes `{out}/train.toml` and runs `valley train --config` on it.
    Train {
        /// The train config.
        config: toml::Table,
    },
    /// Writes `{out}/results.jsonl`: one run-result record per evaluated run.
    Results {
        /// The runs, each with its eval folder.
        runs: Vec<ResultSource>,
    },
}

/// One evaluated run for the results step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultSource {
    /// The run's record without its metrics.
    pub run: RunInfo,
    /// The eval step's final folder (`metrics.json`, `verdicts.jsonl`).
    pub eval_dir: PathBuf,
    /// The eval step's key.
    pub eval_step: String,
}

/// An external file or folder a step reads; its content hash goes into the step's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// The spec field it comes from (`datasets.scaling.traces`).
    pub field: String,
    /// The resolved path.
    pub path: PathBuf,
}

/// One node of the study's DAG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Unique id, also its folder under the study's output (`train/qwen/scaling-1000`).
    pub id: String,
    /// What it does.
    pub kind: StepKind,
    /// Indices of the steps it reads.
    pub deps: Vec<usize>,
    /// External inputs.
    pub inputs: Vec<Input>,
    /// Settings that change its result (everything but paths and parallelism).
    pub settings: Value,
    /// How it runs.
    pub action: Action,
    /// Whether a half-done partial folder of the same key is kept for the next attempt (the
    /// generation journal resumes).
    pub resumable: bool,
    /// The run it belongs to.
    pub run: Option<String>,
    /// Training examples read (train steps), for the estimate.
    pub train_rows: Option<u64>,
    /// The student's parameter count, for the estimate.
    pub params: Option<f64>,
}

/// One run of the grid: a student, trained (or not) on one data part from one starting point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Run id (`qwen/scaling-1000`, `qwen/scaling-30000+correctness-correct`, `qwen/base`).
    pub id: String,
    /// Student key.
    pub student: String,
    /// The model name reports show.
    pub model: String,
    /// `<dataset>/<part>`, none for a baseline.
    pub data: Option<String>,
    /// Training examples (0 for a baseline).
    pub data_size: u64,
    /// The split group, for a split dataset.
    pub split: Option<String>,
    /// The run this one continues training from.
    pub base: Option<String>,
}

/// A study's steps, in dependency order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Step>,
    /// The runs.
    pub runs: Vec<RunInfo>,
    /// The study's output folder.
    pub out: PathBuf,
}

impl Plan {
    /// The final folder of a step.
    pub fn step_dir(&self, i: usize) -> PathBuf {
        step_dir(&self.out, &self.steps[i].id)
    }

    /// The index of the step with this id.
    pub fn index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    /// Steps that read step `i`, directly.
    pub fn dependents(&self, i: usize) -> Vec<usize> {
        (0..self.steps.len()).filter(|&j| self.steps[j].deps.contains(&i)).collect()
    }
}

/// The final folder of step `id` under `out`.
pub(crate) fn step_dir(out: &Path, id: &str) -> PathBuf {
    out.join(id)
}

/// The partial folder a step writes to before it is renamed to its final folder.
pub(crate) fn partial_dir(out: &Path, id: &str) -> PathBuf {
    partial_dir_of(&step_dir(out, id))
}

/// The partial folder of the step whose final folder is `dir`.
pub(crate) fn partial_dir_of(dir: &Path) -> PathBuf {
    let name = dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!(".{name}.partial"))
}

/// The expansion in progress.
struct Builder<'a> {
    spec: &'a LoadedSpec,
    steps: Vec<Step>,
    runs: Vec<RunInfo>,
    /// Dataset name -> the step writing its parts.
    data_steps: HashMap<String, usize>,
    /// Run id -> its train step.
    train_steps: HashMap<String, usize>,
    evals: Vec<(RunInfo, usize)>,
}

/// Expands a loaded spec into its plan.
pub fn expand(spec: &LoadedSpec) -> Result<Plan, StudyError> {
    let mut b = Builder {
        spec,
        steps: Vec::new(),
        runs: Vec::new(),
        data_steps: HashMap::new(),
        train_steps: HashMap::new(),
        evals: Vec::new(),
    };
    for (name, d) in &spec.spec.datasets {
        b.data(name, d);
    }
    for student in &spec.spec.baselines {
        b.baseline(student);
    }
    b.grid()?;
    b.results_and_report();
    Ok(Plan { steps: b.steps, runs: b.runs, out: spec.out.clone() })
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Deep-merges `over` into `base` (tables merge, everything else replaces).
fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn table(pairs: impl IntoIterator<Item = (&'static str, toml::Value)>) -> toml::Table {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

impl Builder<'_> {
    fn push(&mut self, step: Step) -> usize {
        self.steps.push(step);
        self.steps.len() - 1
    }

    fn out(&self) -> &Path {
        &self.spec.out
    }

    fn data(&mut self, name: &str, d: &DatasetSpec) {
        let fields: Vec<String> =
            d.fields.iter().flat_map(|f| ["--field".into(), f.clone()]).collect();
        let traces = self.spec.resolve(&d.traces);
        let traces_field = format!("datasets.{name}.traces");
        // The traces come from the file, or from the label step that judged them.
        let (input_path, mut deps, mut inputs) = match &d.label {
            Some(label) => {
                let id = format!("label/{name}");
                let problems = self.spec.resolve(&label.problems);
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
                args.extend(fields.iter().cloned());
                let i = self.push(Step {
                    id: id.clone(),
                    kind: StepKind::Label,
                    deps: vec![],
                    inputs: vec![
                        Input { field: traces_field.clone(), path: traces.clone() },
                        Input { field: format!("datasets.{name}.label.problems"), path: problems },
                    ],
                    settings: json!({
                        "profile": label.profile,
                        "problem_format": label.problem_format,
                        "fields": d.fields,
                    }),
                    action: Action::Valley { args },
                    resumable: false,
                    run: None,
                    train_rows: None,
                    params: None,
                });
                (step_dir(self.out(), &id).join("labelled.jsonl"), vec![i], vec![])
            }
            None => (traces.clone(), vec![], vec![Input { field: traces_field, path: traces }]),
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

    fn student(&self, name: &str) -> &StudentSpec {
        &self.spec.spec.students[name]
    }

    fn display(&self, name: &str) -> String {
        self.student(name).display.clone().unwrap_or_else(|| name.to_owned())
    }

    /// The student's own weights: a path (hashed) or a hub id (named).
    fn student_model(&self, name: &str) -> (String, Vec<Input>, Value) {
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

    fn tokenizer_inputs(&self, name: &str) -> Vec<Input> {
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

    fn baseline(&mut self, student: &str) {
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

    fn grid(&mut self) -> Result<(), StudyError> {
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

    fn train_run(
        &mut self,
        student: &str,
        data: &str,
        from: &str,
        grid_train: &toml::Table,
    ) -> String {
        let (ds_name, ds, part) = self.spec.part(data).expect("bug: checked when the spec loaded");
        let ds_name = ds_name.to_owned();
        let tag = format!("{ds_name}-{part}");
        let (id, base) = if from == "base" {
            (format!("{student}/{tag}"), None)
        } else {
            (format!("{from}+{tag}"), Some(from.to_owned()))
        };
        let (data_size, split) = match ds.split {
            Some(_) => (ds.per_group.unwrap_or(0), Some(part.clone())),
            None => (part.parse().unwrap_or(0), None),
        };
        let data_step = self.data_steps[&ds_name];
        let data_file =
            step_dir(self.out(), &self.steps[data_step].id).join(format!("{part}.jsonl"));
        let st = self.student(student).clone();
        let mut deps = vec![data_step];
        let mut inputs = self.tokenizer_inputs(student);
        let (model_path, identity) = match &base {
            None => {
                let (m, ins, identity) = self.student_model(student);
                inputs.extend(ins);
                (m, identity)
            }
            Some(b) => {
                let t = self.train_steps[b];
                deps.push(t);
                let dir = step_dir(self.out(), &self.steps[t].id).join(TRAIN_OUTPUT);
                (path_str(&dir), json!({"continues": b}))
            }
        };
        let tokenizer = match (&st.tokenizer, &st.path) {
            (Some(t), _) => Some(path_str(&self.spec.resolve(t))),
            (None, Some(p)) => Some(path_str(&self.spec.resolve(p))),
            (None, None) => None,
        };
        // Layers: [train] < the student's < the grid's < what the study itself decides.
        let mut config = self.spec.spec.train.clone();
        merge(&mut config, &st.train);
        merge(&mut config, grid_train);
        let mut model = table([("name", toml::Value::String(id.clone()))]);
        match (&base, &st.init) {
            (None, Some(init)) => {
                model.insert("init".into(), toml::Value::Table(init.clone()));
            }
            _ => {
                model.insert("path".into(), toml::Value::String(model_path));
            }
        }
        if let Some(t) = tokenizer {
            model.insert("tokenizer".into(), toml::Value::String(t));
        }
        if let Some(t) = &st.chat_template {
            model.insert(
                "chat-template".into(),
                toml::Value::String(path_str(&self.spec.resolve(t))),
            );
        }
        let mut data_table = table([
            ("train", toml::Value::String(path_str(&data_file))),
            ("rows", toml::Value::Integer(i64::try_from(data_size).unwrap_or(i64::MAX))),
        ]);
        if !ds.fields.is_empty() {
            let fields: toml::Table = ds
                .fields
                .iter()
                .filter_map(|f| f.split_once('='))
                .map(|(k, v)| (k.to_owned(), toml::Value::String(v.to_owned())))
                .collect();
            data_table.insert("fields".into(), toml::Value::Table(fields));
        }
        let fixed = table([
            ("model", toml::Value::Table(model)),
            ("data", toml::Value::Table(data_table)),
            (
                "output",
                toml::Value::Table(table([(
                    "dir",
                    toml::Value::String(format!("{OUT}/{TRAIN_OUTPUT}")),
                )])),
            ),
        ]);
        let mut settings_table = config.clone();
        merge(&mut config, &fixed);
        // The key material: the layered settings, not the paths (a moved study keeps its keys).
        settings_table.remove("model");
        let settings = json!({
            "model": identity,
            "data": data,
            "train": serde_json::to_value(&settings_table).unwrap_or(Value::Null),
            "chat_template": st.chat_template.is_some(),
        });
        let train_id = format!("train/{id}");
        let t = self.push(Step {
            id: train_id.clone(),
            kind: StepKind::Train,
            deps,
            inputs,
            settings,
            action: Action::Train { config },
            resumable: false,
            run: Some(id.clone()),
            train_rows: Some(data_size),
            params: st.params,
        });
        self.train_steps.insert(id.clone(), t);
        let run = RunInfo {
            id: id.clone(),
            student: student.to_owned(),
            model: self.display(student),
            data: Some(data.to_owned()),
            data_size,
            split,
            base,
        };
        let checkpoint = path_str(&step_dir(self.out(), &train_id).join(TRAIN_OUTPUT));
        self.generate_and_eval(run, checkpoint, Some(t), vec![], json!({"train": train_id}));
        id
    }

    fn generate_and_eval(
        &mut self,
        run: RunInfo,
        model: String,
        train: Option<usize>,
        inputs: Vec<Input>,
        identity: Value,
    ) {
        let spec = &self.spec.spec;
        let g = &spec.generate;
        let problems = self.spec.resolve(&spec.benchmark.problems);
        let gen_id = format!("generate/{}", run.id);
        let name = g.model_name.clone().unwrap_or_else(|| run.id.clone());
        // `serve = true` is the engine `valley`.
        let engine = g.engine.clone().or_else(|| g.serve.then(|| "valley".to_owned()));
        let mut args = vec![
            "generate".into(),
            "--model".into(),
            if engine.is_some() { model.clone() } else { name.clone() },
            "--problems".into(),
            path_str(&problems),
            "--out".into(),
            format!("{OUT}/generations.jsonl"),
            "--n".into(),
            g.n.to_string(),
            "--temperature".into(),
            g.temperature.to_string(),
            "--top-p".into(),
            g.top_p.to_string(),
            "--concurrency".into(),
            g.concurrency.to_string(),
        ];
        let opt = |args: &mut Vec<String>, flag: &str, v: Option<String>| {
            if let Some(v) = v {
                args.extend([flag.to_owned(), v]);
            }
        };
        opt(&mut args, "--max-tokens", g.max_tokens.map(|v| v.to_string()));
        opt(&mut args, "--seed", g.seed.map(|v| v.to_string()));
        opt(&mut args, "--api", g.api.clone());
        opt(&mut args, "--prompt-style", g.prompt_style.clone());
        let extra_body = serde_json::to_value(&g.extra_body).unwrap_or_default();
        if !g.extra_body.is_empty() {
            args.extend(["--extra-body".into(), extra_body.to_string()]);
        }
        opt(&mut args, "--limit", spec.benchmark.limit.map(|v| v.to_string()));
        args.extend(spec.benchmark.select_args());
        let st = self.student(&run.student);
        let engine_args: Vec<String> =
            g.engine_args.iter().chain(&g.serve_args).chain(&st.engine_args).cloned().collect();
        match &engine {
            Some(e) => {
                args.extend([
                    "--engine".into(),
                    e.clone(),
                    "--served-model-name".into(),
                    name.clone(),
                    "--replicas".into(),
                    g.replicas.to_string(),
                    "--tensor-parallel".into(),
                    g.tensor_parallel.to_string(),
                    "--engine-timeout".into(),
                    g.serve_wait_seconds.to_string(),
                    "--engine-logs".into(),
                    format!("{OUT}/engine"),
                ]);
                // llama.cpp's server reads both from the GGUF file.
                if e != "llama.cpp" {
                    if let Some(t) = &st.tokenizer {
                        args.extend(["--tokenizer".into(), path_str(&self.spec.resolve(t))]);
                    }
                    if let Some(t) = &st.chat_template {
                        args.extend(["--chat-template".into(), path_str(&self.spec.resolve(t))]);
                    }
                }
                opt(&mut args, "--context-length", g.context_length.map(|v| v.to_string()));
                opt(
                    &mut args,
                    "--engine-bin",
                    g.engine_bin.as_ref().map(|b| path_str(&self.spec.resolve(b))),
                );
                args.extend(engine_args.iter().map(|a| format!("--engine-arg={a}")));
            }
            None => args.extend(["--endpoint".into(), g.endpoint.clone().unwrap_or_default()]),
        }
        let mut gen_inputs = inputs;
        gen_inputs.push(Input { field: "benchmark.problems".into(), path: problems.clone() });
        let mut settings = json!({
            "model": identity,
            "served_as": name,
            "serve": g.serve,
            "serve_args": g.serve_args,
            "n": g.n,
            "max_tokens": g.max_tokens,
            "temperature": g.temperature,
            "top_p": g.top_p,
            "seed": g.seed,
            "api": g.api,
            "prompt_style": g.prompt_style,
            "limit": spec.benchmark.limit,
            "select": spec.benchmark.select_args(),
        });
        // only when set, so that the keys of studies without it stay as they were
        if !g.extra_body.is_empty() {
            settings["extra_body"] = extra_body;
        }
        if let Some(e) = &g.engine {
            // The replica count is parallelism; tensor parallelism changes the numerics.
            settings["engine"] = json!({
                "name": e,
                "args": engine_args,
                "tensor_parallel": g.tensor_parallel,
                "context_length": g.context_length,
            });
        } else if !st.engine_args.is_empty() {
            settings["engine_args"] = json!(engine_args);
        }
        let gi = self.push(Step {
            id: gen_id.clone(),
            kind: StepKind::Generate,
            deps: train.into_iter().collect(),
            inputs: gen_inputs,
            settings,
            action: Action::Valley { args },
            resumable: true,
            run: Some(run.id.clone()),
            train_rows: None,
            params: self.student(&run.student).params,
        });
        let e = &spec.eval;
        let mut args = vec![
            "eval".into(),
            "--problems".into(),
            path_str(&problems),
            "--generations".into(),
            path_str(&step_dir(self.out(), &gen_id).join("generations.jsonl")),
            "--out".into(),
            OUT.into(),
            "--profile".into(),
            e.profile.clone(),
            "--bootstrap-seed".into(),
            e.bootstrap_seed.to_string(),
        ];
        opt(&mut args, "--extract", e.extract.clone());
        opt(&mut args, "--timeout", e.timeout.map(|v| v.to_string()));
        opt(&mut args, "--memory-mb", e.memory_mb.map(|v| v.to_string()));
        opt(&mut args, "--jobs", e.jobs.map(|v| v.to_string()));
        opt(&mut args, "--problem-format", spec.benchmark.problem_format.clone());
        args.extend(spec.benchmark.select_args());
        if !e.k.is_empty() {
            args.push("--k".into());
            args.push(e.k.iter().map(u64::to_string).collect::<Vec<_>>().join(","));
        }
        if let Some(m) = g.max_tokens {
            args.extend(["--max-tokens".into(), m.to_string()]);
        }
        if e.allow_weak_sandbox {
            args.push("--allow-weak-sandbox".into());
        }
        let settings = json!({
            "profile": e.profile,
            "extract": e.extract,
            "timeout": e.timeout,
            "memory_mb": e.memory_mb,
            "k": e.k,
            "bootstrap_seed": e.bootstrap_seed,
            "problem_format": spec.benchmark.problem_format,
            "max_tokens": g.max_tokens,
            "select": spec.benchmark.select_args(),
        });
        let ei = self.push(Step {
            id: format!("eval/{}", run.id),
            kind: StepKind::Eval,
            deps: vec![gi],
            inputs: vec![Input { field: "benchmark.problems".into(), path: problems }],
            settings,
            action: Action::Valley { args },
            resumable: false,
            run: Some(run.id.clone()),
            train_rows: None,
            params: None,
        });
        self.runs.push(run.clone());
        self.evals.push((run, ei));
    }

    fn results_and_report(&mut self) {
        if self.evals.is_empty() {
            return;
        }
        let runs: Vec<ResultSource> = self
            .evals
            .iter()
            .map(|(run, e)| ResultSource {
                run: run.clone(),
                eval_dir: step_dir(self.out(), &self.steps[*e].id),
                eval_step: self.steps[*e].id.clone(),
            })
            .collect();
        let settings = json!({
            "runs": runs.iter().map(|r| serde_json::to_value(&r.run).unwrap_or(Value::Null)).collect::<Vec<_>>(),
            "record_version": 1,
        });
        let r = self.push(Step {
            id: "results".into(),
            kind: StepKind::Results,
            deps: self.evals.iter().map(|(_, e)| *e).collect(),
            inputs: vec![],
            settings,
            action: Action::Results { runs },
            resumable: false,
            run: None,
            train_rows: None,
            params: None,
        });
        let report = &self.spec.spec.report;
        if report.enabled {
            let mut args = vec![
                "report".into(),
                "--results".into(),
                path_str(&step_dir(self.out(), "results").join("results.jsonl")),
                "--out".into(),
                OUT.into(),
            ];
            args.extend(report.args.iter().cloned());
            self.push(Step {
                id: "report".into(),
                kind: StepKind::Report,
                deps: vec![r],
                inputs: vec![],
                settings: json!({"args": report.args}),
                action: Action::Valley { args },
                resumable: false,
                run: None,
                train_rows: None,
                params: None,
            });
        }
    }
}

/// Counts of steps by kind, for summaries and tests.
pub fn count_by_kind(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for s in &plan.steps {
        *m.entry(s.kind.as_str()).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate_args(generate: &str, student_extra: &str) -> (Vec<String>, Value) {
        let text = format!(
            r#"
baselines = ["s"]
[study]
name = "t"
[benchmark]
problems = "p.jsonl"
[students.s]
path = "model"
tokenizer = "tok"
{student_extra}
[generate]
{generate}
"#
        );
        let spec = LoadedSpec::parse(Path::new("/x/study.toml"), &text).unwrap();
        let plan = expand(&spec).unwrap();
        let step = plan.steps.iter().find(|s| s.kind == StepKind::Generate).unwrap();
        let Action::Valley { args } = &step.action else { panic!("{:?}", step.action) };
        (args.clone(), step.settings.clone())
    }

    #[test]
    fn an_engine_generate_step_serves_the_checkpoint_under_the_run_id() {
        let (args, settings) = generate_args(
            "engine = \"vllm\"\nreplicas = 4\ntensor-parallel = 2\ncontext-length = 40960\n\
             engine-args = [\"--max-num-seqs\", \"64\"]",
            "engine-args = [\"--hf-overrides\", \"{}\"]",
        );
        let line = args.join(" ");
        assert!(line.starts_with("generate --model /x/model "), "{line}");
        for part in [
            "--engine vllm --served-model-name s/base --replicas 4 --tensor-parallel 2",
            "--engine-logs {out}/engine",
            "--tokenizer /x/tok",
            "--context-length 40960",
            "--engine-arg=--max-num-seqs --engine-arg=64 --engine-arg=--hf-overrides --engine-arg={}",
        ] {
            assert!(line.contains(part), "{part} not in {line}");
        }
        assert!(!line.contains("--endpoint"), "{line}");
        assert_eq!(settings["engine"]["tensor_parallel"], 2);
        assert!(settings["engine"].get("replicas").is_none(), "parallelism is not in the key");

        // llama.cpp reads the tokenizer from the GGUF; `serve = true` is the engine `valley`
        let (args, _) = generate_args("engine = \"llama.cpp\"", "");
        assert!(!args.contains(&"--tokenizer".to_owned()), "{args:?}");
        let (args, settings) =
            generate_args("serve = true\nserve-args = [\"--device\", \"cpu\"]", "");
        let line = args.join(" ");
        assert!(
            line.contains("--engine valley")
                && line.contains("--engine-arg=--device --engine-arg=cpu"),
            "{line}"
        );
        assert!(settings.get("engine").is_none(), "serve = true keeps its old key");
        let (args, _) = generate_args("endpoint = \"http://h:1/v1\"", "");
        assert!(
            args.join(" ").contains("--model s/base") && args.contains(&"http://h:1/v1".to_owned())
        );
    }

    #[test]
    fn engine_settings_are_checked() {
        for (generate, want) in [
            ("engine = \"tgi\"", "unknown engine `tgi`"),
            ("engine = \"vllm\"\nendpoint = \"http://h/v1\"", "give one of"),
            ("endpoint = \"http://h/v1\"\nreplicas = 2", "goes with `engine`"),
            ("engine = \"vllm\"\nreplicas = 0", "expected at least 1"),
            ("n = 1", "say how runs are sampled"),
        ] {
            let text = format!(
                "[study]\nname = \"t\"\n[benchmark]\nproblems = \"p\"\n[students.s]\npath = \"m\"\n[generate]\n{generate}\n"
            );
            let e = LoadedSpec::parse(Path::new("/x/s.toml"), &text).unwrap_err().to_string();
            assert!(e.contains(want), "{generate}: {e}");
        }
    }
}
