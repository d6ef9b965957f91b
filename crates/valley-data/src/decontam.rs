//! Decontamination of a training set against a benchmark's problems (`valley data decontam`).
//!
//! A trace is contaminated when its question shares at least `min_overlap` word n-grams
//! (normalised text, default n = 13, as in the GPT-3 and Llama reports) with a benchmark problem's
//! statement, covering at least `min_coverage` of that problem's n-grams. N-grams found in more
//! than `max_problems` benchmark problems are the benchmark's template, not a leak, and are
//! ignored. Contaminated traces are removed and reported with the problem they match, the number
//! of shared n-grams and one of them. A statement shorter than n words matches a question that
//! contains it whole.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use valley_types::Trace;

use crate::io::{
    FieldMap, OutputSet, ReadDatasetError, ReadDatasetErrorKind, RowReader, WriteDatasetError,
    read_records,
};
use crate::text::{ngram_text, normalise, word_ngrams};

/// Benchmark fields tried, in order, for a problem's statement and its id.
pub const STATEMENT_FIELDS: [&str; 5] =
    ["question_content", "question", "prompt", "text", "description"];
/// Fields tried for a problem's id.
pub const ID_FIELDS: [&str; 4] = ["question_id", "task_id", "id", "problem_id"];

/// How to decontaminate.
#[derive(Debug, Clone)]
pub struct DecontamConfig {
    /// The traces.
    pub input: PathBuf,
    /// Field mapping for the traces.
    pub fields: FieldMap,
    /// Benchmark problems (LCB, TACO, HumanEval/MBPP rows, or any rows with a statement field).
    pub benchmark: PathBuf,
    /// Traces kept.
    pub out: PathBuf,
    /// One record per removed trace.
    pub report: Option<PathBuf>,
    /// Words per n-gram.
    pub ngram: usize,
    /// Shared n-grams needed to call a trace contaminated.
    pub min_overlap: usize,
    /// An n-gram found in more than this many of the benchmark's problems is text of the
    /// benchmark's template ("Please solve the programming task below…", "You are given a string
    /// S of length N…"), not evidence that one problem leaked, and is ignored. The default, 1,
    /// keeps only n-grams unique to one problem.
    pub max_problems: usize,
    /// Share of a benchmark problem's n-grams a question must contain to be removed: a leak
    /// carries much of a problem, a common phrase only a sliver of it.
    pub min_coverage: f64,
}

/// One removed trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contaminated {
    /// The trace's id.
    pub id: String,
    /// Its line in the input.
    pub line: u64,
    /// The benchmark problem it overlaps most.
    pub benchmark_id: String,
    /// That problem's line in the benchmark file.
    pub benchmark_line: u64,
    /// Shared n-grams.
    pub shared_ngrams: usize,
    /// Share of the trace question's n-grams that are shared.
    pub overlap: f64,
    /// Share of the benchmark problem's n-grams found in the question.
    pub coverage: f64,
    /// One shared n-gram, normalised.
    pub example: String,
}

/// What decontamination did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DecontamSummary {
    /// Benchmark problems read.
    pub benchmark_problems: u64,
    /// Traces read.
    pub rows: u64,
    /// Traces kept.
    pub kept: u64,
    /// Traces removed.
    pub removed: u64,
    /// Benchmark problems matched by at least one trace.
    pub problems_hit: u64,
    /// Distinct benchmark n-grams ignored as template boilerplate.
    pub boilerplate_ngrams: u64,
}

/// Decontamination failed.
#[derive(Debug, thiserror::Error)]
pub enum DecontamError {
    /// Reading failed.
    #[error(transparent)]
    Read(#[from] ReadDatasetError),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] WriteDatasetError),
    /// The configuration is invalid.
    #[error("{0}")]
    Config(String),
}

struct Problem {
    id: String,
    line: u64,
}

/// Hashes of every window of exactly `m` words (none when the text is shorter).
fn word_windows(normalised: &str, m: usize) -> Vec<u64> {
    let words: Vec<&str> = normalised.split(' ').filter(|w| !w.is_empty()).collect();
    if words.len() < m {
        return Vec::new();
    }
    words.windows(m).map(|w| crate::text::fnv1a(w.join(" ").as_bytes())).collect()
}

/// Removes traces whose question overlaps a benchmark problem; streams the traces.
pub fn run(config: &DecontamConfig) -> Result<DecontamSummary, DecontamError> {
    if config.ngram == 0 || config.min_overlap == 0 {
        return Err(DecontamError::Config(
            "n-gram size and minimum overlap must be positive".into(),
        ));
    }
    let mut problems: Vec<Problem> = Vec::new();
    let mut index: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut short_lens: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
    for row in RowReader::open(&config.benchmark)? {
        let row = row?;
        let bad = |field: &str, message: &str| ReadDatasetError {
            path: config.benchmark.clone(),
            line: Some(row.line),
            kind: ReadDatasetErrorKind::Field {
                field: field.into(),
                column: None,
                message: message.into(),
            },
        };
        let value: serde_json::Value =
            serde_json::from_slice(&row.json).map_err(|e| ReadDatasetError {
                path: config.benchmark.clone(),
                line: Some(row.line),
                kind: ReadDatasetErrorKind::Json(e),
            })?;
        let obj = value.as_object().ok_or_else(|| ReadDatasetError {
            path: config.benchmark.clone(),
            line: Some(row.line),
            kind: ReadDatasetErrorKind::NotAnObject,
        })?;
        let statement = STATEMENT_FIELDS
            .iter()
            .find_map(|f| obj.get(*f).and_then(|v| v.as_str()))
            .ok_or_else(|| bad(&STATEMENT_FIELDS.join("|"), "no statement field"))?;
        let id = ID_FIELDS
            .iter()
            .find_map(|f| match obj.get(*f) {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| format!("line {}", row.line));
        let k = problems.len() as u32;
        let normalised = normalise(statement);
        let words = normalised.split(' ').filter(|w| !w.is_empty()).count();
        if words > 0 && words < config.ngram {
            // A statement shorter than one n-gram is matched when a question contains it whole.
            short_lens.insert(words);
        }
        let mut grams = word_ngrams(&normalised, config.ngram);
        grams.sort_unstable();
        grams.dedup();
        for g in grams {
            index.entry(g).or_default().push(k);
        }
        problems.push(Problem { id, line: row.line });
    }
    if config.max_problems == 0 {
        return Err(DecontamError::Config("maximum problems per n-gram must be positive".into()));
    }
    if !(0.0..=1.0).contains(&config.min_coverage) {
        return Err(DecontamError::Config(format!(
            "minimum coverage {} is not within [0, 1]",
            config.min_coverage
        )));
    }
    let limit = config.max_problems;
    let before = index.len();
    index.retain(|_, ps| ps.len() <= limit);
    let mut problem_ngrams = vec![0usize; problems.len()];
    for ps in index.values() {
        for &p in ps {
            problem_ngrams[p as usize] += 1;
        }
    }
    let mut summary = DecontamSummary {
        benchmark_problems: problems.len() as u64,
        boilerplate_ngrams: (before - index.len()) as u64,
        ..Default::default()
    };
    let mut hit = vec![false; problems.len()];
    // the kept rows and the report land together
    let mut set = OutputSet::new();
    let out = set.create(&config.out)?;
    let report = config.report.as_ref().map(|r| set.create(r)).transpose()?;
    for row in read_records::<Trace>(&config.input, &config.fields)? {
        let (line, trace) = row?;
        summary.rows += 1;
        let text = normalise(&trace.question);
        let mut grams = word_ngrams(&text, config.ngram);
        for &m in &short_lens {
            grams.extend(word_windows(&text, m));
        }
        grams.sort_unstable();
        grams.dedup();
        let mut shared: HashMap<u32, (usize, u64)> = HashMap::new();
        for &g in &grams {
            for &p in index.get(&g).map(Vec::as_slice).unwrap_or(&[]) {
                let e = shared.entry(p).or_insert((0, g));
                e.0 += 1;
            }
        }
        let coverage = |p: u32, n: usize| n as f64 / problem_ngrams[p as usize].max(1) as f64;
        let best = shared
            .into_iter()
            .filter(|&(p, (n, _))| n >= config.min_overlap && coverage(p, n) >= config.min_coverage)
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(&a.0)));
        match best {
            Some((p, (n, g))) => {
                summary.removed += 1;
                hit[p as usize] = true;
                if let Some(r) = report {
                    let problem = &problems[p as usize];
                    set.file(r).write_record(&Contaminated {
                        id: trace.id,
                        line,
                        benchmark_id: problem.id.clone(),
                        benchmark_line: problem.line,
                        shared_ngrams: n,
                        overlap: n as f64 / grams.len().max(1) as f64,
                        coverage: coverage(p, n),
                        example: ngram_text(&text, config.ngram, g)
                            .or_else(|| short_lens.iter().find_map(|&m| ngram_text(&text, m, g)))
                            .unwrap_or_default(),
                    })?;
                }
            }
            None => {
                summary.kept += 1;
                set.file(out).write_record(&trace)?;
            }
        }
    }
    summary.problems_hit = hit.iter().filter(|h| **h).count() as u64;
    set.commit()?;
    Ok(summary)
}
