//! Test support for the step kinds' unit tests: a small spec expanded into its plan.

use std::path::Path;

use super::step::{Plan, Step};
use crate::spec::LoadedSpec;

/// A study in `/s` with a student `tiny` and a dataset `scaling` (traces cut into 10 and 100);
/// `generate` is the body of its `[generate]` table, `rest` any further tables (its lines before
/// the first table, such as `baselines`, go to the top of the file).
pub(super) fn plan(generate: &str, rest: &str) -> Plan {
    let at = rest.find("\n[").map_or(rest.len(), |i| i + 1);
    let (top, rest) = if rest.starts_with('[') { ("", rest) } else { rest.split_at(at) };
    let text = format!(
        r#"
{top}
[study]
name = "t"
[benchmark]
problems = "problems.jsonl"
[students.tiny]
path = "models/tiny"
params = 1e9
[datasets.scaling]
traces = "traces.jsonl"
sizes = [10, 100]
seed = 7
[generate]
{generate}
{rest}
"#
    );
    let spec = LoadedSpec::parse(Path::new("/s/study.toml"), &text).unwrap();
    crate::plan::expand(&spec).unwrap()
}

/// The step with this id.
pub(super) fn step<'a>(plan: &'a Plan, id: &str) -> &'a Step {
    plan.steps.iter().find(|s| s.id == id).unwrap_or_else(|| {
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
        panic!("no step `{id}` in {ids:?}")
    })
}

/// The arguments of a step that runs `valley`.
pub(super) fn args(step: &Step) -> Vec<&str> {
    match &step.action {
        super::step::Action::Valley { args } => args.iter().map(String::as_str).collect(),
        other => panic!("{} runs no valley arguments: {other:?}", step.id),
    }
}

/// The value after `flag` in `args`.
pub(super) fn flag<'a>(args: &[&'a str], flag: &str) -> Option<&'a str> {
    args.iter().position(|a| *a == flag).and_then(|i| args.get(i + 1).copied())
}

/// An endpoint to sample from, for specs whose models are not served by the step.
pub(super) const ENDPOINT: &str = r#"endpoint = "http://127.0.0.1:1/v1""#;
