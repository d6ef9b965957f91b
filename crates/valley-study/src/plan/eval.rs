//! Eval steps: `valley eval` of a run's generations with the study's judge settings; each run's
//! eval is what the results step collects.

use serde_json::json;

use super::builder::{Builder, path_str, push_opt};
use super::step::{Action, Input, OUT, RunInfo, Step, StepKind, step_dir};

impl Builder<'_> {
    /// The eval step of `run`'s generations (step `gi`); records the run.
    pub(super) fn eval(&mut self, run: RunInfo, gi: usize) {
        let spec = &self.spec.spec;
        let g = &spec.generate;
        let e = &spec.eval;
        let problems = self.spec.resolve(&spec.benchmark.problems);
        let gen_id = &self.steps[gi].id;
        let mut args = vec![
            "eval".into(),
            "--problems".into(),
            path_str(&problems),
            "--generations".into(),
            path_str(&step_dir(self.out(), gen_id).join("generations.jsonl")),
            "--out".into(),
            OUT.into(),
            "--profile".into(),
            e.profile.clone(),
            "--bootstrap-seed".into(),
            e.bootstrap_seed.to_string(),
        ];
        push_opt(&mut args, "--extract", e.extract.clone());
        push_opt(&mut args, "--timeout", e.timeout.map(|v| v.to_string()));
        push_opt(&mut args, "--memory-mb", e.memory_mb.map(|v| v.to_string()));
        push_opt(&mut args, "--jobs", e.jobs.map(|v| v.to_string()));
        push_opt(&mut args, "--problem-format", spec.benchmark.problem_format.clone());
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
        let mut settings = json!({
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
        if e.extract.is_none() {
            // `valley eval` grades by the profile's rule since issue 13 (LiveCodeBench's for
            // `lcb`, after-think before): evaluations made under the old default are redone
            settings["default_extract"] = json!(2);
        }
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
}

#[cfg(test)]
mod tests {
    use super::super::testing::{ENDPOINT, args, flag, plan, step};
    use crate::plan::StepKind;

    #[test]
    fn eval_judges_its_runs_generations_with_the_studys_settings() {
        let p = plan(
            &format!("{ENDPOINT}\nmax-tokens = 128\n"),
            "baselines = [\"tiny\"]\n[eval]\nk = [1, 5]\nextract = \"lcb\"\nallow-weak-sandbox = true\n",
        );
        let s = step(&p, "eval/tiny/base");
        assert_eq!(s.kind, StepKind::Eval);
        assert_eq!(s.deps, [p.index("generate/tiny/base").unwrap()]);
        let a = args(s);
        assert_eq!(a[0], "eval");
        assert_eq!(
            flag(&a, "--generations"),
            Some("/s/study-out/generate/tiny/base/generations.jsonl")
        );
        assert_eq!(flag(&a, "--problems"), Some("/s/problems.jsonl"));
        assert_eq!((flag(&a, "--k"), flag(&a, "--extract")), (Some("1,5"), Some("lcb")));
        assert_eq!((flag(&a, "--max-tokens"), flag(&a, "--profile")), (Some("128"), Some("lcb")));
        assert!(a.contains(&"--allow-weak-sandbox"));
        assert_eq!(s.settings["k"], serde_json::json!([1, 5]));
        assert_eq!(p.runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["tiny/base"]);
    }
}
