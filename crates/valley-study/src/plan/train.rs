//! Train steps: one `valley train` per run of the grid, its config layered from the study's
//! `[train]`, the student's and the grid's tables under what the study decides (model, data,
//! output), keyed by the layered settings and not by paths.

use serde_json::{Value, json};

use super::builder::{Builder, merge, path_str, table};
use super::step::{Action, OUT, RunInfo, Step, StepKind, TRAIN_OUTPUT, step_dir};

impl Builder<'_> {
    /// The train step of `student` on `data` from `from` (`base`, or a run to continue), then
    /// its generate and eval steps; returns the run's id.
    pub(super) fn train_run(
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
}

#[cfg(test)]
mod tests {
    use super::super::testing::{ENDPOINT, plan, step};
    use crate::plan::{Action, StepKind};

    const GRID: &str = r#"
[train.train]
epochs = 2
learning-rate = 1e-5
[students.tiny.train.train]
learning-rate = 2e-5
[[runs]]
students = ["tiny"]
data = ["scaling/10"]
[runs.train.train]
global-batch = 4
[[runs]]
students = ["tiny"]
data = ["scaling/100"]
from = ["tiny/scaling-10"]
"#;

    fn config(p: &crate::plan::Plan, id: &str) -> toml::Table {
        match &step(p, id).action {
            Action::Train { config } => config.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_config_layers_study_student_grid_then_what_the_study_decides() {
        let p = plan(ENDPOINT, GRID);
        let s = step(&p, "train/tiny/scaling-10");
        assert_eq!(s.kind, StepKind::Train);
        assert_eq!((s.train_rows, s.params), (Some(10), Some(1e9)));
        assert_eq!(s.deps, [p.index("data/scaling").unwrap()]);
        let c = config(&p, "train/tiny/scaling-10");
        let train = c["train"].as_table().unwrap();
        assert_eq!(train["epochs"].as_integer(), Some(2));
        assert_eq!(train["learning-rate"].as_float(), Some(2e-5));
        assert_eq!(train["global-batch"].as_integer(), Some(4));
        assert_eq!(c["model"]["path"].as_str(), Some("/s/models/tiny"));
        assert_eq!(c["model"]["name"].as_str(), Some("tiny/scaling-10"));
        assert_eq!(c["data"]["train"].as_str(), Some("/s/study-out/data/scaling/10.jsonl"));
        assert_eq!(c["data"]["rows"].as_integer(), Some(10));
        assert_eq!(c["output"]["dir"].as_str(), Some("{out}/run"));
        // The key holds the settings, not the paths.
        assert!(s.settings["train"].get("model").is_none());
        assert_eq!(s.settings["train"]["train"]["global-batch"], 4);
    }

    #[test]
    fn a_continued_run_starts_from_its_base_runs_checkpoint() {
        let p = plan(ENDPOINT, GRID);
        let s = step(&p, "train/tiny/scaling-10+scaling-100");
        let base = p.index("train/tiny/scaling-10").unwrap();
        assert!(s.deps.contains(&base), "{:?}", s.deps);
        let c = config(&p, "train/tiny/scaling-10+scaling-100");
        assert_eq!(c["model"]["path"].as_str(), Some("/s/study-out/train/tiny/scaling-10/run"));
        assert_eq!(s.settings["model"]["continues"], "tiny/scaling-10");
        let run = p.runs.iter().find(|r| r.id == "tiny/scaling-10+scaling-100").unwrap();
        assert_eq!((run.base.as_deref(), run.data_size), (Some("tiny/scaling-10"), 100));
    }
}
