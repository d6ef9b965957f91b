//! Expanding a spec into its steps: `[distill]` (import, teachers, traces, decontam) -> data
//! (label, subsets, split) -> train -> generate -> eval per run, then results and report. Steps come out in dependency order; each says what it runs,
//! which files and upstream steps it reads, and which settings go into its key.
//!
//! One module per step kind: [`distill`], [`data`], [`train`], [`generate`] and [`eval`],
//! [`results`]; the
//! expansion's state and shared helpers in [`builder`], the records in [`step`].

mod builder;
mod data;
mod distill;
mod eval;
mod generate;
mod results;
mod step;
#[cfg(test)]
mod testing;
mod train;

use std::collections::BTreeMap;

pub use step::{Action, Plan, RunInfo, Step, StepKind};
pub(crate) use step::{OUT, ResultSource, TRAIN_OUTPUT, partial_dir, partial_dir_of};

use crate::error::StudyError;
use crate::spec::LoadedSpec;

/// Expands a loaded spec into its plan.
pub fn expand(spec: &LoadedSpec) -> Result<Plan, StudyError> {
    let mut b = builder::Builder::new(spec);
    if let Some(d) = &spec.spec.distill {
        b.distill(d);
    }
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

/// Counts of steps by kind, for summaries and tests.
pub fn count_by_kind(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for s in &plan.steps {
        *m.entry(s.kind.as_str()).or_insert(0) += 1;
    }
    m
}
