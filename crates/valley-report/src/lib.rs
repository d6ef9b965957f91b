//! The study report: from run records ([`valley_types::RunResult`]) to the scaling tables, the
//! valley analysis of each student, the split comparisons of the paper's Table 2 with paired
//! statistics, figures and an HTML page. Pure: every artifact is rendered in memory, and the
//! `valley report` command writes them.
//!
//! - [`Study`]: the runs, validated and arranged into one [`Curve`] per student and split
//!   [`Stage`]s;
//! - [`analyse_study`] → [`Analysis`]: a [`StudentFit`] per student (`valley_detected`,
//!   `min_size`, `depth_ratio`, the log-linear fit past the bottom and the power law beside it;
//!   the rule is in [`valley`]) and the [`SplitTable`];
//! - [`render_report`]: every [`Artifact`] (fit.json, tables in Markdown, CSV and LaTeX, SVG and
//!   PNG figures of pass@1 and of Table 1's completion and think-tag rates, index.html);
//! - [`stats`]: least squares, interval sources, the paired bootstrap and the exact McNemar test.
//!
//! ```
//! use valley_report::{ReportConfig, Study, analyse_study};
//! use valley_types::RunResult;
//! let runs: Vec<RunResult> = [(0, 0.126), (1000, 0.05), (10_000, 0.19), (30_000, 0.264)]
//!     .iter()
//!     .map(|&(size, score)| RunResult {
//!         version: 1, run: format!("q{size}"), model: "Qwen2.5".into(), label: None, base: None,
//!         data_size: Some(size), split: None, pass_at_1: score, pass_at_1_ci95: None,
//!         completion_rate: None, think_tag_rate: None, no_code_rate: None,
//!         pass_at_1_after_think: None, failure_decomposition: None, n_problems: 400,
//!         n_samples: 400, per_problem: None, verdicts: None, provenance: Default::default(),
//!     })
//!     .collect();
//! let study = Study::new(runs).unwrap();
//! let analysis = analyse_study(&study, &ReportConfig::default());
//! let fit = &analysis.students[0];
//! assert!(fit.valley_detected);
//! assert_eq!(fit.min_size, Some(1000));
//! assert!(fit.slope_per_decade.unwrap() > 0.0);
//! ```

mod analysis;
pub mod render;
mod report;
mod splits;
pub mod stats;
mod study;
pub mod valley;

pub use analysis::{
    Analysis, Artifact, Figure, Provenance, ReportConfig, RunRow, StudentFigures, analyse_study,
};
pub use render::{RenderPngError, svg_to_png};
pub use report::{RULE, fit_json, render_report};
pub use splits::{
    CONTRASTS, Cell, SplitComparison, SplitRow, SplitTable, StageColumn, split_table,
};
pub use study::size_label;
pub use study::{Curve, Stage, Study, StudyError};
pub use valley::{CurvePoint, Difference, RateFit, StudentFit, analyse};
