//! The report's records: how it draws ([`ReportConfig`]), where it comes from ([`Provenance`]),
//! what it concludes about a study ([`Analysis`], from [`analyse_study`]), and the files it
//! renders ([`Figure`], [`Artifact`]).

use serde::Serialize;
use valley_metrics::Bootstrap;

use crate::splits::{SplitTable, split_table};
use crate::study::Study;
use crate::valley::{StudentFit, analyse};

/// How the report draws its intervals and figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportConfig {
    /// Bootstrap of the intervals over problems (resamples, seed; confidence 0.95).
    pub bootstrap: Bootstrap,
    /// PNG size relative to the SVG's (2: 1440×920 pixels).
    pub png_scale: f32,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self { bootstrap: Bootstrap { resamples: 2_000, ..Bootstrap::default() }, png_scale: 2.0 }
    }
}

/// Where the report comes from, shown on every artifact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// valley's version.
    pub valley_version: String,
    /// valley's git revision (`unknown` outside a checkout).
    pub git_revision: String,
    /// The results file as given.
    pub results: String,
    /// SHA-256 of the results file's bytes.
    pub results_sha256: String,
    /// Runs read.
    pub runs: usize,
}

impl Provenance {
    /// One line for the comment at the top of a text artifact.
    pub fn line(&self) -> String {
        format!(
            "valley report {} (git {}) from {} sha256:{}",
            self.valley_version, self.git_revision, self.results, self.results_sha256
        )
    }
}

/// What the report concludes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// One valley analysis per student.
    pub students: Vec<StudentFit>,
    /// The split comparisons, when the study has split runs.
    pub splits: Option<SplitTable>,
    /// Every run, in input order (runs continued from a base without a split appear only here).
    pub runs: Vec<RunRow>,
}

/// One run as the all-runs table shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// Run name.
    pub run: String,
    /// The student.
    pub model: String,
    /// The run continued from.
    pub base: Option<String>,
    /// The data group.
    pub split: Option<String>,
    /// Training examples.
    pub data_size: Option<u64>,
    /// pass@1 with its interval.
    pub pass_at_1: crate::stats::Estimate,
    /// Completion rate.
    pub completion_rate: Option<f64>,
    /// Think-tag rate.
    pub think_tag_rate: Option<f64>,
    /// Problems evaluated.
    pub n_problems: u64,
    /// Samples evaluated.
    pub n_samples: u64,
}

/// Analyses every curve and stage of `study`.
pub fn analyse_study(study: &Study, config: &ReportConfig) -> Analysis {
    Analysis {
        students: study.curves.iter().map(|c| analyse(c, &study.runs, &config.bootstrap)).collect(),
        splits: split_table(study, &config.bootstrap),
        runs: study
            .runs
            .iter()
            .map(|r| RunRow {
                run: r.run.clone(),
                model: r.model.clone(),
                base: r.base.clone(),
                split: r.split.clone(),
                data_size: r.data_size,
                pass_at_1: crate::stats::estimate(r, &config.bootstrap),
                completion_rate: r.completion_rate,
                think_tag_rate: r.think_tag_rate,
                n_problems: r.n_problems,
                n_samples: r.n_samples,
            })
            .collect(),
    }
}

/// One figure's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// SVG file name.
    pub svg: String,
    /// PNG file name.
    pub png: String,
}

impl Figure {
    pub(crate) fn named(kind: &str, slug: &str) -> Self {
        Self { svg: format!("{kind}-{slug}.svg"), png: format!("{kind}-{slug}.png") }
    }
}

/// A student's figures: pass@1 (`valley-<label>`) and, when its runs have them, the completion
/// and think-tag rates of the paper's Table 1 (`rates-<label>`) and where its samples ended
/// (`decomposition-<label>`, issue 13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentFigures {
    /// The valley figure.
    pub valley: Figure,
    /// The rates figure.
    pub rates: Option<Figure>,
    /// The failure-decomposition figure.
    pub decomposition: Option<Figure>,
}

/// One output file: its name in the report folder and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// File name, relative to the report folder.
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
}
