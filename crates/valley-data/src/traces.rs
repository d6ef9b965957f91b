//! Teacher traces: `valley generate`'s records joined with the questions they answer, each
//! response brought to `<think>…</think>` then the answer, and the ones unfit for training kept
//! out by a named filter.
//!
//! The filter, [`FILTER`], keeps a sample when the server said it stopped on its own (finish
//! reason `stop`, not `length`; [`valley_types::Generation::completed`]) and its normalized
//! response has a closed reasoning block ([`valley_types::ThinkStatus::WellFormed`]). Every
//! sample it keeps out is counted, by teacher and reason, in the manifest; a generation whose
//! question is not in the questions file is left out and named by file, line and field.
//!
//! Each trace keeps its teacher, sample index, finish reason and completion-token count, and the
//! question's source reference; its id is `{question_id}/{teacher}/{sample_index}`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde_json::{Value, json};
use valley_types::{
    Generation, HubSource, ImportInput, ImportManifest, ImportOutput, Question, ResponseFormat,
    SourceCount, ThinkStatus, Trace, parse_response,
};

use crate::import::ImportError;
use crate::import::manifest_path_for;
use crate::io::{FieldMap, OutputSet, RowReader, StagedFile, decode_row};

/// The filter's name, as manifests and summaries show it.
pub const FILTER: &str = "finished-with-closed-think";

/// One teacher's generations.
#[derive(Debug, Clone)]
pub struct TeacherGenerations {
    /// The name traces carry (the recipe's teacher name).
    pub teacher: String,
    /// How its responses are shaped.
    pub format: ResponseFormat,
    /// Its generation files.
    pub files: Vec<PathBuf>,
}

/// What `data traces` reads and writes.
#[derive(Debug, Clone)]
pub struct TracesConfig {
    /// Questions files (`data import ocr2`'s `questions.jsonl`).
    pub questions: Vec<PathBuf>,
    /// The teachers' generations.
    pub generations: Vec<TeacherGenerations>,
    /// The traces file; its manifest goes beside it.
    pub out: PathBuf,
    /// Keep only questions of these source datasets (all when empty).
    pub datasets: Vec<String>,
    /// Files read from the Hub, for the manifest.
    pub hub: Vec<HubSource>,
}

/// What the filter did to one teacher's samples.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FilterCounts {
    /// Samples read.
    pub samples: u64,
    /// Traces written.
    pub kept: u64,
    /// Cut at the token budget, or with no finish reason that says they ended.
    pub not_finished: u64,
    /// Finished, but with no closed `<think>…</think>` block.
    pub no_closed_think: u64,
    /// Questions outside `datasets`.
    pub outside_datasets: u64,
}

/// What `data traces` wrote.
#[derive(Debug, Clone)]
pub struct TracesOutcome {
    /// The manifest, as written.
    pub manifest: ImportManifest,
    /// Where it was written.
    pub manifest_path: PathBuf,
    /// The filter's counts, by teacher.
    pub filter: BTreeMap<String, FilterCounts>,
}

/// Builds teacher traces from generations.
pub fn teacher_traces(config: &TracesConfig) -> Result<TracesOutcome, ImportError> {
    let fields = FieldMap::default();
    let mut inputs = Vec::new();
    let mut questions: Vec<Question> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for path in &config.questions {
        let mut reader = RowReader::open(path)?;
        let mut n = 0u64;
        for row in reader.by_ref() {
            let row = row?;
            let q: Question = decode_row(path, &row, &fields)?;
            n += 1;
            if by_id.insert(q.question_id.clone(), questions.len()).is_some() {
                return Err(ImportError::Read(crate::io::ReadDatasetError {
                    path: path.clone(),
                    line: Some(row.line),
                    kind: crate::io::ReadDatasetErrorKind::Field {
                        field: "question_id".into(),
                        column: None,
                        message: format!("`{}` is there twice", q.question_id),
                    },
                }));
            }
            questions.push(q);
        }
        inputs.push(ImportInput {
            role: "questions".into(),
            path: path.display().to_string(),
            sha256: reader.sha256().unwrap_or_default(),
            rows: n,
        });
    }

    let mut issues = crate::import::Issues::default();
    let mut set = OutputSet::new();
    let ti = set.add(StagedFile::create(&config.out)?.hashing());
    let mut filter: BTreeMap<String, FilterCounts> = BTreeMap::new();
    let mut sources: BTreeMap<String, SourceCount> = BTreeMap::new();
    let mut answered: HashSet<usize> = HashSet::new();
    let mut seen: HashSet<(usize, usize, u32)> = HashSet::new();
    let mut samples = 0u64;
    for (t, teacher) in config.generations.iter().enumerate() {
        let counts = filter.entry(teacher.teacher.clone()).or_default();
        for path in &teacher.files {
            let mut reader = RowReader::open(path)?;
            let mut n = 0u64;
            for row in reader.by_ref() {
                let row = row?;
                let g: Generation = decode_row(path, &row, &fields)?;
                n += 1;
                samples += 1;
                let Some(&qi) = by_id.get(&g.question_id) else {
                    issues.add("no question", path, row.line, "question_id", &g.question_id, 1);
                    continue;
                };
                let q = &questions[qi];
                counts.samples += 1;
                if !config.datasets.is_empty() && !config.datasets.contains(&q.dataset) {
                    counts.outside_datasets += 1;
                    continue;
                }
                if !seen.insert((qi, t, g.sample_index)) {
                    let what = format!("{}/{}", g.question_id, g.sample_index);
                    issues.add("duplicate sample", path, row.line, "sample_index", &what, 1);
                    continue;
                }
                let response = teacher.format.normalize(&g.response);
                if g.completed(None) != Some(true) {
                    counts.not_finished += 1;
                    continue;
                }
                if parse_response(&response).think != ThinkStatus::WellFormed {
                    counts.no_closed_think += 1;
                    continue;
                }
                counts.kept += 1;
                answered.insert(qi);
                sources.entry(q.dataset.clone()).or_default().rows += 1;
                set.file(ti).write_record(&trace(q, teacher, &g, response))?;
            }
            inputs.push(ImportInput {
                role: format!("generations {}", teacher.teacher),
                path: path.display().to_string(),
                sha256: reader.sha256().unwrap_or_default(),
                rows: n,
            });
        }
    }
    for &qi in &answered {
        sources.entry(questions[qi].dataset.clone()).or_default().questions += 1;
    }
    let f = set.file(ti);
    let name = config.out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let outputs = BTreeMap::from([(
        "traces".to_owned(),
        ImportOutput { path: name, rows: f.rows(), sha256: f.content_sha256().unwrap_or_default() },
    )]);
    let mut settings = serde_json::Map::new();
    settings.insert("filter".into(), json!(FILTER));
    settings.insert("filtered".into(), serde_json::to_value(&filter).unwrap_or(Value::Null));
    let formats: BTreeMap<_, _> =
        config.generations.iter().map(|g| (g.teacher.clone(), g.format.name())).collect();
    settings.insert("response_formats".into(), json!(formats));
    settings.insert("datasets".into(), json!(config.datasets));
    let manifest = ImportManifest {
        command: "traces".into(),
        inputs,
        hub: config.hub.clone(),
        outputs,
        input_rows: samples,
        sources,
        left_out: issues.into_summary(),
        settings,
        valley_version: env!("CARGO_PKG_VERSION").into(),
    };
    let manifest_path = manifest_path_for(&config.out);
    set.commit_with_manifest(&manifest_path, &manifest)?;
    Ok(TracesOutcome { manifest, manifest_path, filter })
}

fn trace(q: &Question, teacher: &TeacherGenerations, g: &Generation, response: String) -> Trace {
    let mut extra = serde_json::Map::new();
    extra.insert("teacher".into(), json!(teacher.teacher));
    extra.insert("sample_index".into(), json!(g.sample_index));
    extra.insert("finish_reason".into(), json!(g.finish_reason));
    if let Some(t) = g.completion_tokens {
        extra.insert("completion_tokens".into(), json!(t));
    }
    extra.insert("model".into(), json!(g.model));
    extra.insert("dataset".into(), json!(q.dataset));
    extra.insert("split".into(), json!(q.split));
    extra.insert("index".into(), json!(q.index));
    if let Some(l) = &q.license {
        extra.insert("license".into(), json!(l));
    }
    Trace {
        id: format!("{}/{}/{}", q.question_id, teacher.teacher, g.sample_index),
        question: q.question.clone(),
        response,
        question_id: Some(q.question_id.clone()),
        difficulty: q.difficulty.clone(),
        source: q.source.clone(),
        correct: None,
        extra,
    }
}
