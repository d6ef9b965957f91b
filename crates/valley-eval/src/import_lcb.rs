//! `data import lcb`: LiveCodeBench's `code_generation_lite` files read directly — the JSON Lines
//! files `test.jsonl` … `test6.jsonl` of a release, with no loading script (LiveCodeBench's own
//! loader broke under `datasets` 4, which dropped loading scripts) — into one problems file for a
//! release and date window. Each row is parsed as the judge parses it; an unreadable row or a
//! second row with the same `question_id` is left out, counted and named (file, row, field).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use valley_data::import::{Issues, manifest_path_for};
use valley_data::io::{
    OutputSet, ReadDatasetError, ReadDatasetErrorKind, RowReader, StagedFile, WriteDatasetError,
};
use valley_types::{
    HubSource, ImportInput, ImportManifest, ImportOutput, ProblemFormat, SourceCount,
};

use crate::benchmark::Benchmark;
use crate::error::SelectionError;

/// What an LCB import wrote.
#[derive(Debug, Clone)]
pub struct LcbImport {
    /// The manifest, as written.
    pub manifest: ImportManifest,
    /// Where it was written (beside the problems file).
    pub manifest_path: PathBuf,
    /// Problems kept.
    pub problems: u64,
    /// Rows outside the release's window or filters.
    pub outside: u64,
    /// Problems kept per platform.
    pub platforms: BTreeMap<String, u64>,
}

/// An LCB import stopped; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportLcbError {
    /// A file could not be read, or a row is not a JSON object.
    #[error(transparent)]
    Read(#[from] ReadDatasetError),
    /// The output could not be written.
    #[error(transparent)]
    Write(#[from] WriteDatasetError),
    /// A row's `contest_date` cannot be read while a date window is set.
    #[error(transparent)]
    Selection(#[from] SelectionError),
}

/// Reads the benchmark's files and writes the problems it selects to `out`, with the manifest
/// beside it; `hub` names the files read from the Hub.
pub fn import_lcb(
    bench: &Benchmark,
    out: &Path,
    hub: Vec<HubSource>,
) -> Result<LcbImport, ImportLcbError> {
    let mut issues = Issues::default();
    let mut inputs = Vec::new();
    let mut set = OutputSet::new();
    let pi = set.add(StagedFile::create(out)?.hashing());
    let mut seen: HashMap<String, (String, u64)> = HashMap::new();
    let (mut rows, mut outside) = (0u64, 0u64);
    let mut platforms: BTreeMap<String, u64> = BTreeMap::new();
    for path in bench.files() {
        let mut reader = RowReader::open(path)?;
        let mut n = 0u64;
        for row in reader.by_ref() {
            let row = row?;
            n += 1;
            rows += 1;
            let bad = |kind| ReadDatasetError { path: path.clone(), line: Some(row.line), kind };
            let value: Value = serde_json::from_slice(&row.json)
                .map_err(|e| bad(ReadDatasetErrorKind::Json(e)))?;
            let Value::Object(map) = &value else {
                return Err(bad(ReadDatasetErrorKind::NotAnObject).into());
            };
            if !bench.keep(map, path, row.line)? {
                outside += 1;
                continue;
            }
            let problem = match valley_judge::parse_problem(&value, Some(ProblemFormat::Lcb)) {
                Ok(p) => p,
                Err(e) => {
                    let field = match &e {
                        valley_judge::ParseProblemError::Missing(f) => *f,
                        valley_judge::ParseProblemError::Invalid { field, .. } => field,
                        valley_judge::ParseProblemError::UnknownFormat => "public_test_cases",
                    };
                    issues.add("unreadable problem", path, row.line, field, &e.to_string(), 1);
                    continue;
                }
            };
            if let Some((file, line)) = seen.get(&problem.question_id) {
                let first = format!("`{}` first at {file}:{line}", problem.question_id);
                issues.add("duplicate question_id", path, row.line, "question_id", &first, 1);
                continue;
            }
            seen.insert(problem.question_id.clone(), (path.display().to_string(), row.line));
            *platforms.entry(problem.platform.clone().unwrap_or_default()).or_insert(0) += 1;
            set.file(pi).write_line(&row.json)?;
        }
        inputs.push(ImportInput {
            role: "lcb".into(),
            path: path.display().to_string(),
            sha256: reader.sha256().unwrap_or_default(),
            rows: n,
        });
    }
    let kept = set.file(pi).rows();
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let outputs = BTreeMap::from([(
        "problems".to_owned(),
        ImportOutput {
            path: name,
            rows: kept,
            sha256: set.file(pi).content_sha256().unwrap_or_default(),
        },
    )]);
    let mut settings = serde_json::Map::new();
    settings.insert("selection".into(), json!(bench.describe()));
    settings.insert("outside_selection".into(), json!(outside));
    settings.insert("platforms".into(), json!(platforms));
    let manifest = ImportManifest {
        command: "import lcb".into(),
        inputs,
        hub,
        outputs,
        input_rows: rows,
        sources: BTreeMap::from([(
            "livecodebench".to_owned(),
            SourceCount { questions: kept, rows: kept },
        )]),
        left_out: issues.into_summary(),
        settings,
        valley_version: env!("CARGO_PKG_VERSION").into(),
    };
    let manifest_path = manifest_path_for(out);
    set.commit_with_manifest(&manifest_path, &manifest)?;
    Ok(LcbImport { manifest, manifest_path, problems: kept, outside, platforms })
}
