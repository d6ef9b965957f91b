//! Generate steps: `valley generate` on the benchmark with the study's sampling settings, with
//! an engine's servers (`--engine`) started on the run's checkpoint by the step, or against an
//! endpoint the spec names.

use serde_json::{Value, json};
use valley_types::PromptStyle;

use super::builder::{Builder, path_str, push_opt};
use super::step::{Action, Input, OUT, RunInfo, Step, StepKind};

impl Builder<'_> {
    /// The generate step of `run`, whose model is `model` (after its `train` step, if any);
    /// `inputs` and `identity` name the model's files and what it is in the step's key. Returns
    /// the step's index.
    pub(super) fn generate(
        &mut self,
        run: &RunInfo,
        model: String,
        train: Option<usize>,
        inputs: Vec<Input>,
        identity: Value,
    ) -> usize {
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
        push_opt(&mut args, "--max-tokens", g.max_tokens.map(|v| v.to_string()));
        push_opt(&mut args, "--seed", g.seed.map(|v| v.to_string()));
        push_opt(&mut args, "--api", g.api.clone());
        let (style, given) = self.prompt_style(&run.student);
        // the style as the spec gives it, else a registry style other than the generic one, so
        // the keys of studies whose prompts did not change stay as they were
        let style_key = given
            .map(str::to_owned)
            .or_else(|| (style != PromptStyle::OpenAIChat).then(|| style.name().to_owned()));
        args.extend(["--prompt-style".into(), style.name().into()]);
        let extra_body = serde_json::to_value(&g.extra_body).unwrap_or_default();
        if !g.extra_body.is_empty() {
            args.extend(["--extra-body".into(), extra_body.to_string()]);
        }
        push_opt(&mut args, "--limit", spec.benchmark.limit.map(|v| v.to_string()));
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
                push_opt(&mut args, "--context-length", g.context_length.map(|v| v.to_string()));
                push_opt(
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
            "prompt_style": style_key,
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
        self.push(Step {
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
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::Value;

    use super::super::testing::{ENDPOINT, args, flag, plan, step};
    use crate::plan::{Action, StepKind, expand};
    use crate::spec::LoadedSpec;

    const BASELINE: &str =
        "baselines = []\n[[runs]]\nstudents = [\"tiny\"]\ndata = [\"scaling/10\"]\n";

    #[test]
    fn a_served_run_starts_valley_serve_on_its_checkpoint() {
        let p = plan("serve = true\nmax-tokens = 64\nn = 3\n", BASELINE);
        let s = step(&p, "generate/tiny/scaling-10");
        assert_eq!(s.kind, StepKind::Generate);
        assert!(s.resumable);
        assert_eq!(s.deps, [p.index("train/tiny/scaling-10").unwrap()]);
        let a = args(s);
        assert_eq!(flag(&a, "--engine"), Some("valley"));
        assert_eq!(flag(&a, "--model"), Some("/s/study-out/train/tiny/scaling-10/run"));
        assert_eq!(flag(&a, "--served-model-name"), Some("tiny/scaling-10"));
        assert_eq!((flag(&a, "--n"), flag(&a, "--max-tokens")), (Some("3"), Some("64")));
        assert_eq!(flag(&a, "--endpoint"), None);
        assert_eq!(flag(&a, "--out"), Some("{out}/generations.jsonl"));
        assert!(s.settings.get("extra_body").is_none(), "absent unless set: keys stay");
    }

    #[test]
    fn an_endpoint_run_samples_from_it_with_the_extra_body() {
        let p = plan(&format!("{ENDPOINT}\n[generate.extra-body]\ntop_k = 20\n"), BASELINE);
        let s = step(&p, "generate/tiny/scaling-10");
        let a = args(s);
        assert_eq!(flag(&a, "--endpoint"), Some("http://127.0.0.1:1/v1"));
        assert_eq!(flag(&a, "--model"), Some("tiny/scaling-10"));
        assert_eq!(flag(&a, "--engine"), None);
        assert_eq!(flag(&a, "--extra-body"), Some(r#"{"top_k":20}"#));
        assert_eq!(s.settings["extra_body"]["top_k"], 20);
    }

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
}
