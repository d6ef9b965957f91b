//! The backends that run a study's steps: [`local`] (child processes on this machine) and
//! [`slurm`] (one batch job per step). What they share — the opening of a run and its closing —
//! is written once in [`shared`], as the [`shared::Backend`] trait each implements.

mod local;
mod shared;
mod slurm;

use crate::error::StudyError;
use crate::spec::BackendKind;
use crate::study::{Event, RunOptions, RunSummary, Study};

impl Study {
    /// Runs (or resumes) every step that is not done.
    pub fn run(
        &self,
        options: &RunOptions,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<RunSummary, StudyError> {
        let _lock = self.lock()?;
        match options.backend.unwrap_or(self.spec.spec.study.backend) {
            BackendKind::Local => {
                shared::run(local::Local::new(self, options), self, options, on_event)
            }
            BackendKind::Slurm => shared::run(slurm::Slurm::new(self), self, options, on_event),
        }
    }
}
