//! The results step (one run-result record per evaluated run) and the report over them.

use serde_json::{Value, json};

use super::builder::{Builder, path_str};
use super::step::{Action, OUT, ResultSource, Step, StepKind, step_dir};

impl Builder<'_> {
    /// The results step of every evaluated run, and the report when enabled.
    pub(super) fn results_and_report(&mut self) {
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

#[cfg(test)]
mod tests {
    use super::super::testing::{ENDPOINT, args, flag, plan, step};
    use crate::plan::{Action, StepKind};

    #[test]
    fn results_read_every_eval_and_the_report_reads_the_results() {
        let p = plan(
            ENDPOINT,
            "baselines = [\"tiny\"]\n[[runs]]\nstudents = [\"tiny\"]\ndata = [\"scaling/10\"]\n",
        );
        let r = step(&p, "results");
        assert_eq!(r.kind, StepKind::Results);
        let evals: Vec<usize> = p
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == StepKind::Eval)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(r.deps, evals);
        let Action::Results { runs } = &r.action else { panic!("{:?}", r.action) };
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].eval_dir, p.step_dir(evals[0]));
        let report = step(&p, "report");
        assert_eq!(report.deps, [p.index("results").unwrap()]);
        assert_eq!(flag(&args(report), "--results"), Some("/s/study-out/results/results.jsonl"));
    }

    #[test]
    fn no_report_when_disabled_and_no_results_without_runs() {
        let p = plan(ENDPOINT, "baselines = [\"tiny\"]\n[report]\nenabled = false\n");
        assert!(p.index("results").is_some() && p.index("report").is_none());
        let p = plan(ENDPOINT, "");
        assert!(p.index("results").is_none() && p.index("report").is_none());
    }
}
