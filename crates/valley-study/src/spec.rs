//! The study spec: a TOML file naming the students, the datasets, the grid of runs, the benchmark
//! and the settings of each stage. Relative paths are resolved against the spec's folder.
//!
//! The file's top level and `[study]`/`[slurm]` are in [`study`], what is studied (students,
//! datasets, runs) in [`grid`], the stages' settings in [`stages`], the training data made from
//! its sources in [`distill`], and reading and checking a file in [`loaded`].

mod distill;
mod grid;
mod loaded;
mod stages;
mod study;

pub(crate) use distill::{DistillOutput, DistillSpec};
pub(crate) use grid::{DatasetSpec, StudentSpec};
pub use loaded::LoadedSpec;
pub use study::{BackendKind, StudySpec};
