//! `data import ocr2`: OpenCodeReasoning-2's rows with every question filled from its source
//! dataset, written as one question per source question, and optionally OCR2's own R1 responses
//! as traces.
//!
//! OCR2 (`nvidia/OpenCodeReasoning-2`, CC-BY-4.0; splits `python` and `cpp` of config `train`)
//! carries `"-"` as the question of every row and locates it by `dataset`, `split` and `index`
//! (a string) in TACO, APPS, CodeContests or open-r1's Codeforces. The import streams OCR2 twice
//! at most: pass 1 reads only the small columns and keeps one entry per OCR2 `question_id` (the
//! first row's source reference wins, as NeMo-Skills' `prepare_questions.py` keeps the first
//! occurrence); then each referenced source split is read once for the wanted positions; pass 2
//! (`--traces r1`) streams the rows again for `r1_generation`. Memory grows with the number of
//! distinct questions (about 35K), never with the rows' size; pass 2 adds a 16-byte digest per
//! trace written, to catch a duplicate id.
//!
//! A question whose source split was not given, whose index is out of range, or whose source row
//! has no text is left out, counted with its rows by reason, and named (OCR2 file, row, field)
//! in the manifest and in `left_out.jsonl`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use valley_types::{
    HubSource, ImportInput, ImportManifest, ImportOutput, Question, SourceCount, SourceRef, Trace,
};

use super::error::ImportError;
use super::issues::Issues;
use super::read::{Rows, sorted_shards, text_field};
use super::source::{SourceKind, SourceQuestion, SourceSpec, read_split};
use crate::io::{Columns, OutputSet, StagedFile};

/// The teacher name written into traces made from OCR2's `r1_generation`.
pub const OCR2_R1_TEACHER: &str = "ocr2-r1";

/// What `data import ocr2` reads and writes.
#[derive(Debug, Clone)]
pub struct Ocr2Config {
    /// OCR2 files (Parquet or JSON Lines), in any order: they are read sorted by path.
    pub inputs: Vec<PathBuf>,
    /// Local copies of the source splits.
    pub sources: Vec<SourceSpec>,
    /// Output folder: `questions.jsonl`, `left_out.jsonl`, `manifest.json` (and `traces.jsonl`).
    pub out: PathBuf,
    /// Also write OCR2's own R1 responses as traces.
    pub traces: bool,
    /// Keep only questions from these source datasets (all when empty).
    pub datasets: Vec<String>,
    /// Files read from the Hub, for the manifest.
    pub hub: Vec<HubSource>,
}

/// What an OCR2 import wrote.
#[derive(Debug, Clone)]
pub struct Ocr2Outcome {
    /// The manifest, as written.
    pub manifest: ImportManifest,
    /// Where it was written.
    pub manifest_path: PathBuf,
}

/// The columns pass 1 reads.
const KEY_COLUMNS: &[&str] =
    &["question_id", "question", "dataset", "split", "index", "difficulty", "source", "license"];
/// The columns pass 2 reads.
const TRACE_COLUMNS: &[&str] = &["id", "question_id", "r1_generation", "judgement", "pass_rate"];

#[derive(Deserialize)]
struct KeyRow {
    #[serde(default)]
    question_id: Option<Value>,
    #[serde(default)]
    question: Option<Value>,
    #[serde(default)]
    dataset: Option<Value>,
    #[serde(default)]
    split: Option<Value>,
    #[serde(default)]
    index: Option<Value>,
    #[serde(default)]
    difficulty: Option<Value>,
    #[serde(default)]
    source: Option<Value>,
    #[serde(default)]
    license: Option<Value>,
}

#[derive(Deserialize)]
struct TraceRow {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    question_id: Option<Value>,
    #[serde(default)]
    r1_generation: Option<Value>,
    #[serde(default)]
    judgement: Option<Value>,
    #[serde(default)]
    pass_rate: Option<Value>,
}

/// What became of one OCR2 question.
#[derive(Debug, Clone)]
enum State {
    /// Its source reference, not looked up yet.
    Ref(SourceRef),
    /// Outside `--dataset`.
    Skipped,
    /// Left out: why, the field at fault, details.
    LeftOut { reason: String, field: &'static str, detail: String },
    /// Written as question number `n`.
    Written(usize),
}

/// One OCR2 question (`question_id`) and the rows that carry it.
#[derive(Debug)]
struct Entry {
    ocr2_id: String,
    state: State,
    given: Option<String>,
    difficulty: Option<String>,
    platform: Option<String>,
    license: Option<String>,
    file: PathBuf,
    row: u64,
    rows: u64,
}

/// Imports OCR2 with its questions filled from their sources.
pub fn import_ocr2(config: &Ocr2Config) -> Result<Ocr2Outcome, ImportError> {
    let inputs = sorted_shards(&config.inputs);
    let mut issues = Issues::default();
    let mut manifest_inputs = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut input_rows = 0u64;
    let mut other_refs = 0u64;
    let mut skipped_rows = 0u64;
    let mut hashes = Vec::new();
    for path in &inputs {
        let mut rows = Rows::open(path, Columns::Only(KEY_COLUMNS))?;
        let mut n = 0u64;
        while let Some(row) = rows.next_row()? {
            n += 1;
            let key: KeyRow = row.decode()?;
            let qid = match text_field(&key.question_id) {
                Ok(Some(q)) if !q.is_empty() => q,
                Ok(_) => {
                    issues.add("missing question_id", path, row.line, "question_id", "", 1);
                    continue;
                }
                Err(e) => {
                    issues.add("invalid question_id", path, row.line, "question_id", e, 1);
                    continue;
                }
            };
            if let Some(&i) = by_id.get(&qid) {
                let e = &mut entries[i];
                e.rows += 1;
                if let State::Ref(r) = &e.state
                    && source_ref(&key).ok().as_ref() != Some(r)
                {
                    other_refs += 1;
                }
                if matches!(e.state, State::Skipped) {
                    skipped_rows += 1;
                }
                continue;
            }
            let state = match source_ref(&key) {
                Ok(r) if !config.datasets.is_empty() && !config.datasets.contains(&r.dataset) => {
                    skipped_rows += 1;
                    State::Skipped
                }
                Ok(r) => State::Ref(r),
                Err((field, detail)) => {
                    State::LeftOut { reason: "invalid source reference".into(), field, detail }
                }
            };
            let given = text_field(&key.question)
                .ok()
                .flatten()
                .filter(|q| !q.trim().is_empty() && q.trim() != "-");
            by_id.insert(qid.clone(), entries.len());
            entries.push(Entry {
                ocr2_id: qid,
                state,
                given,
                difficulty: text_field(&key.difficulty).ok().flatten(),
                platform: text_field(&key.source).ok().flatten(),
                license: text_field(&key.license).ok().flatten(),
                file: path.clone(),
                row: row.line,
                rows: 1,
            });
        }
        let sha = rows.sha256();
        hashes.push(sha.clone());
        input_rows += n;
        manifest_inputs.push(ImportInput {
            role: "ocr2".into(),
            path: path.display().to_string(),
            sha256: sha,
            rows: n,
        });
    }
    let found = look_up_sources(config, &mut entries, &mut manifest_inputs)?;
    // Every row of a question left out is counted, under the question's first row.
    for e in &entries {
        if let State::LeftOut { reason, field, detail } = &e.state {
            issues.add(reason, &e.file, e.row, field, detail, e.rows);
        }
    }

    // Questions, one per source question, in the order OCR2 first names them.
    let mut questions: Vec<Question> = Vec::new();
    let mut by_source: HashMap<String, usize> = HashMap::new();
    let mut merged = 0u64;
    let mut given_in_rows = 0u64;
    for e in &mut entries {
        let State::Ref(r) = &e.state else { continue };
        let (text, source_difficulty) = match (&e.given, found.get(r)) {
            (Some(t), _) => {
                given_in_rows += 1;
                (t.clone(), None)
            }
            (None, Some(q)) => (q.text.clone(), q.difficulty.clone()),
            (None, None) => continue,
        };
        let id = r.question_id();
        if let Some(&n) = by_source.get(&id) {
            merged += 1;
            let q = &mut questions[n];
            let rows = q.extra.get("ocr2_rows").and_then(Value::as_u64).unwrap_or(0);
            q.extra.insert("ocr2_rows".into(), json!(rows + e.rows));
            e.state = State::Written(n);
            continue;
        }
        let mut extra = serde_json::Map::new();
        extra.insert("ocr2_question_id".into(), json!(e.ocr2_id));
        extra.insert("ocr2_rows".into(), json!(e.rows));
        if let Some(d) = source_difficulty {
            extra.insert("source_difficulty".into(), d);
        }
        questions.push(Question {
            question_id: id.clone(),
            question: text,
            difficulty: e.difficulty.clone(),
            source: e.platform.clone(),
            dataset: r.dataset.clone(),
            split: r.split.clone(),
            index: r.index,
            license: e.license.clone(),
            extra,
        });
        by_source.insert(id, questions.len() - 1);
        e.state = State::Written(questions.len() - 1);
    }
    let mut sources: BTreeMap<String, SourceCount> = BTreeMap::new();
    for e in &entries {
        if let State::Written(n) = e.state {
            sources.entry(questions[n].dataset.clone()).or_default().rows += e.rows;
        }
    }
    for q in &questions {
        sources.entry(q.dataset.clone()).or_default().questions += 1;
    }

    let mut set = OutputSet::new();
    let out = &config.out;
    let qi = set.add(StagedFile::create(out.join("questions.jsonl"))?.hashing());
    for q in &questions {
        set.file(qi).write_record(q)?;
    }
    let li = set.add(StagedFile::create(out.join("left_out.jsonl"))?.hashing());
    for e in &entries {
        if let State::LeftOut { reason, field, detail } = &e.state {
            set.file(li).write_record(&json!({
                "ocr2_question_id": e.ocr2_id,
                "file": e.file.display().to_string(),
                "row": e.row,
                "field": field,
                "reason": reason,
                "detail": detail,
                "rows": e.rows,
            }))?;
        }
    }
    let ti = if config.traces {
        let mut file = StagedFile::create(out.join("traces.jsonl"))?.hashing();
        write_traces(&inputs, &hashes, &entries, &by_id, &questions, &mut issues, &mut file)?;
        Some(set.add(file))
    } else {
        None
    };

    let mut outputs = BTreeMap::new();
    for (name, i) in [("questions", Some(qi)), ("left_out", Some(li)), ("traces", ti)] {
        let Some(i) = i else { continue };
        let f = set.file(i);
        outputs.insert(
            name.to_owned(),
            ImportOutput {
                path: format!("{name}.jsonl"),
                rows: f.rows(),
                sha256: f.content_sha256().unwrap_or_default(),
            },
        );
    }
    let mut settings = serde_json::Map::new();
    settings.insert("traces".into(), json!(if config.traces { Some("r1") } else { None }));
    settings.insert("datasets".into(), json!(config.datasets));
    settings.insert("rows_outside_datasets".into(), json!(skipped_rows));
    settings.insert("questions_given_in_rows".into(), json!(given_in_rows));
    settings.insert("question_ids_merged_by_source".into(), json!(merged));
    settings.insert("rows_with_another_source_reference".into(), json!(other_refs));
    let manifest = ImportManifest {
        command: "import ocr2".into(),
        inputs: manifest_inputs,
        hub: config.hub.clone(),
        outputs,
        input_rows,
        sources,
        left_out: issues.into_summary(),
        settings,
        valley_version: env!("CARGO_PKG_VERSION").into(),
    };
    let manifest_path = out.join("manifest.json");
    set.commit_with_manifest(&manifest_path, &manifest)?;
    Ok(Ocr2Outcome { manifest, manifest_path })
}

/// The source reference of a row, or the field that spoils it.
fn source_ref(key: &KeyRow) -> Result<SourceRef, (&'static str, String)> {
    let req = |v: &Option<Value>, field: &'static str| match text_field(v) {
        Ok(Some(s)) if !s.is_empty() => Ok(s),
        Ok(_) => Err((field, "missing".to_owned())),
        Err(e) => Err((field, e.to_owned())),
    };
    let dataset = req(&key.dataset, "dataset")?;
    let split = req(&key.split, "split")?;
    let index = req(&key.index, "index")?;
    let index = index
        .trim()
        .parse::<u64>()
        .map_err(|_| ("index", format!("`{index}` is not a row position")))?;
    Ok(SourceRef { dataset, split, index })
}

/// Reads each source split once for the positions OCR2 refers to; counts and names the
/// questions it cannot fill.
fn look_up_sources(
    config: &Ocr2Config,
    entries: &mut [Entry],
    manifest_inputs: &mut Vec<ImportInput>,
) -> Result<HashMap<SourceRef, SourceQuestion>, ImportError> {
    let mut wanted: BTreeMap<(String, String), BTreeSet<u64>> = BTreeMap::new();
    for e in entries.iter() {
        if let (State::Ref(r), None) = (&e.state, &e.given) {
            wanted.entry((r.dataset.clone(), r.split.clone())).or_default().insert(r.index);
        }
    }
    let mut files: BTreeMap<(String, String), Vec<PathBuf>> = BTreeMap::new();
    for s in &config.sources {
        files.entry((s.kind.name().to_owned(), s.split.clone())).or_default().push(s.file.clone());
    }
    let mut found: HashMap<SourceRef, SourceQuestion> = HashMap::new();
    let mut failed: HashMap<SourceRef, State> = HashMap::new();
    for ((dataset, split), indices) in &wanted {
        let key = (dataset.clone(), split.clone());
        let (Some(kind), Some(paths)) = (SourceKind::from_name(dataset), files.get(&key)) else {
            let reason = match SourceKind::from_name(dataset) {
                None => format!("unknown source dataset `{dataset}`"),
                Some(_) => format!("no --source for {dataset}:{split}"),
            };
            for &index in indices {
                let r = SourceRef { dataset: dataset.clone(), split: split.clone(), index };
                let why = State::LeftOut {
                    reason: reason.clone(),
                    field: "dataset",
                    detail: String::new(),
                };
                failed.insert(r, why);
            }
            continue;
        };
        let rows = read_split(kind, paths, indices)?;
        for (path, sha, n) in &rows.files {
            manifest_inputs.push(ImportInput {
                role: format!("source {dataset}:{split}"),
                path: path.display().to_string(),
                sha256: sha.clone(),
                rows: *n,
            });
        }
        for &index in indices {
            let r = SourceRef { dataset: dataset.clone(), split: split.clone(), index };
            match rows.found.get(&index) {
                Some(Ok(q)) => {
                    found.insert(r, q.clone());
                }
                Some(Err(issue)) => {
                    let detail = format!(
                        "{}:{}: field `{}`: {}",
                        issue.file.display(),
                        issue.row,
                        issue.field,
                        issue.reason
                    );
                    let reason = "no question in the source row".into();
                    failed.insert(r, State::LeftOut { reason, field: "question", detail });
                }
                None => {
                    let detail = format!("{dataset}:{split} has {} rows", rows.rows);
                    let reason = "index out of range".into();
                    failed.insert(r, State::LeftOut { reason, field: "index", detail });
                }
            }
        }
    }
    for e in entries.iter_mut() {
        let State::Ref(r) = &e.state else { continue };
        if let Some(why) = failed.get(r).cloned() {
            e.state = why;
        }
    }
    Ok(found)
}

/// Pass 2: OCR2's own R1 response of every row whose question was written, as a trace.
fn write_traces(
    inputs: &[PathBuf],
    hashes: &[String],
    entries: &[Entry],
    by_id: &HashMap<String, usize>,
    questions: &[Question],
    issues: &mut Issues,
    file: &mut StagedFile,
) -> Result<(), ImportError> {
    let mut samples: Vec<u32> = vec![0; questions.len()];
    let mut seen: HashSet<[u8; 16]> = HashSet::new();
    for (path, first) in inputs.iter().zip(hashes) {
        let mut rows = Rows::open(path, Columns::Only(TRACE_COLUMNS))?;
        while let Some(row) = rows.next_row()? {
            let t: TraceRow = row.decode()?;
            let Some(&i) = text_field(&t.question_id).ok().flatten().and_then(|q| by_id.get(&q))
            else {
                continue;
            };
            let State::Written(n) = entries[i].state else { continue };
            let q = &questions[n];
            let id = match text_field(&t.id) {
                Ok(Some(id)) if !id.is_empty() => id,
                _ => {
                    issues.add("trace without an id", path, row.line, "id", "", 1);
                    continue;
                }
            };
            let response = match &t.r1_generation {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                _ => {
                    issues.add("trace without a response", path, row.line, "r1_generation", "", 1);
                    continue;
                }
            };
            if !seen.insert(digest(&id)) {
                issues.add("duplicate id", path, row.line, "id", &id, 1);
                continue;
            }
            let mut extra = serde_json::Map::new();
            extra.insert("teacher".into(), json!(OCR2_R1_TEACHER));
            extra.insert("sample_index".into(), json!(samples[n]));
            samples[n] += 1;
            extra.insert("ocr2_question_id".into(), json!(entries[i].ocr2_id));
            for (k, v) in [("ocr2_judgement", &t.judgement), ("ocr2_pass_rate", &t.pass_rate)] {
                if let Some(v) = v.as_ref().filter(|v| !v.is_null()) {
                    extra.insert(k.into(), v.clone());
                }
            }
            extra.insert("dataset".into(), json!(q.dataset));
            extra.insert("split".into(), json!(q.split));
            extra.insert("index".into(), json!(q.index));
            if let Some(l) = &q.license {
                extra.insert("license".into(), json!(l));
            }
            let trace = Trace {
                id,
                question: q.question.clone(),
                response,
                question_id: Some(q.question_id.clone()),
                difficulty: q.difficulty.clone(),
                source: q.source.clone(),
                correct: None,
                extra,
            };
            file.write_record(&trace)?;
        }
        let second = rows.sha256();
        if &second != first {
            return Err(ImportError::Changed { path: path.clone(), first: first.clone(), second });
        }
    }
    Ok(())
}

fn digest(s: &str) -> [u8; 16] {
    let h = Sha256::digest(s.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&h[..16]);
    out
}
