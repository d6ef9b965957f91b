//! `data import taco`: TACO rows (`BAAI/TACO`, Apache-2.0) as problems with stable ids.
//!
//! A TACO row has no id; it is known by its split and its position in it, which is also how
//! OpenCodeReasoning-2 names it (`dataset` `taco`, `split`, `index`). Each problem gets
//! `question_id` `taco/{split}/{index}` ([`valley_types::SourceRef::question_id`]) and keeps its
//! row's fields (`question`, `input_output`, `difficulty`, `starter_code`, …) except `solutions`
//! unless asked, so `data label --problems` finds the problem of every trace an OCR2 import made
//! from a TACO question. A row without a question, or whose `input_output` is not a JSON object
//! with equally long `inputs` and `outputs` lists, is left out, counted and named; its position
//! still counts, so the ids of the rows after it do not move.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use valley_types::{HubSource, ImportInput, ImportManifest, ImportOutput, SourceCount, SourceRef};

use super::error::ImportError;
use super::issues::Issues;
use super::read::{Rows, sorted_shards};
use crate::io::{Columns, OutputSet, StagedFile};

/// What `data import taco` reads and writes.
#[derive(Debug, Clone)]
pub struct TacoConfig {
    /// The split's shards (Parquet or JSON Lines), read sorted by path.
    pub inputs: Vec<PathBuf>,
    /// `train` or `test`.
    pub split: String,
    /// The problems file; its manifest goes beside it ([`manifest_path_for`]).
    pub out: PathBuf,
    /// Keep the `solutions` field (large; the judge does not read it).
    pub keep_solutions: bool,
    /// Files read from the Hub, for the manifest.
    pub hub: Vec<HubSource>,
}

/// What a TACO import wrote.
#[derive(Debug, Clone)]
pub struct TacoOutcome {
    /// The manifest, as written.
    pub manifest: ImportManifest,
    /// Where it was written.
    pub manifest_path: PathBuf,
}

/// The manifest written beside a problems file: `x.jsonl` → `x.manifest.json`.
pub fn manifest_path_for(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = [".jsonl.gz", ".jsonl.zst", ".jsonl", ".json", ".ndjson"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name);
    out.with_file_name(format!("{stem}.manifest.json"))
}

/// Imports a TACO split as problems.
pub fn import_taco(config: &TacoConfig) -> Result<TacoOutcome, ImportError> {
    let mut issues = Issues::default();
    let mut inputs = Vec::new();
    let mut set = OutputSet::new();
    let pi = set.add(StagedFile::create(&config.out)?.hashing());
    let mut index = 0u64;
    let mut difficulties: BTreeMap<String, u64> = BTreeMap::new();
    let columns =
        if config.keep_solutions { Columns::All } else { Columns::Except(&["solutions"]) };
    for path in sorted_shards(&config.inputs) {
        let mut rows = Rows::open(&path, columns)?;
        let mut n = 0u64;
        while let Some(row) = rows.next_row()? {
            let position = index;
            index += 1;
            n += 1;
            let mut map = row.object()?;
            if let Err((field, reason)) = check(&map) {
                issues.add(&reason, &path, row.line, field, "", 1);
                continue;
            }
            if !config.keep_solutions {
                map.shift_remove("solutions");
            }
            let r =
                SourceRef { dataset: "taco".into(), split: config.split.clone(), index: position };
            let mut out = Map::new();
            out.insert("question_id".into(), json!(r.question_id()));
            out.insert("dataset".into(), json!(r.dataset));
            out.insert("split".into(), json!(r.split));
            out.insert("index".into(), json!(r.index));
            for (k, v) in map {
                if !out.contains_key(&k) {
                    out.insert(k, v);
                }
            }
            let label = match out.get("difficulty") {
                Some(Value::String(s)) => s.clone(),
                _ => "(none)".into(),
            };
            *difficulties.entry(label).or_insert(0) += 1;
            set.file(pi).write_record(&Value::Object(out))?;
        }
        inputs.push(ImportInput {
            role: format!("taco:{}", config.split),
            path: path.display().to_string(),
            sha256: rows.sha256(),
            rows: n,
        });
    }
    let written = set.file(pi).rows();
    let name = config.out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let outputs = BTreeMap::from([(
        "problems".to_owned(),
        ImportOutput {
            path: name,
            rows: written,
            sha256: set.file(pi).content_sha256().unwrap_or_default(),
        },
    )]);
    let mut settings = Map::new();
    settings.insert("split".into(), json!(config.split));
    settings.insert("keep_solutions".into(), json!(config.keep_solutions));
    settings.insert("difficulties".into(), json!(difficulties));
    let manifest = ImportManifest {
        command: "import taco".into(),
        inputs,
        hub: config.hub.clone(),
        outputs,
        input_rows: index,
        sources: BTreeMap::from([(
            "taco".to_owned(),
            SourceCount { questions: written, rows: written },
        )]),
        left_out: issues.into_summary(),
        settings,
        valley_version: env!("CARGO_PKG_VERSION").into(),
    };
    let manifest_path = manifest_path_for(&config.out);
    set.commit_with_manifest(&manifest_path, &manifest)?;
    Ok(TacoOutcome { manifest, manifest_path })
}

/// Whether a TACO row can be judged: a question, and tests the judge can read.
fn check(row: &Map<String, Value>) -> Result<(), (&'static str, String)> {
    match row.get("question") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(("question", "no question".into()));
        }
        Some(_) => return Err(("question", "question is not a string".into())),
    }
    let field = "input_output";
    let io = match row.get(field) {
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err((field, "no tests".into()));
        }
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|e| (field, format!("tests are not JSON ({e})")))?,
        Some(v @ Value::Object(_)) => v.clone(),
        None | Some(Value::Null) => return Err((field, "no tests".into())),
        Some(_) => return Err((field, "tests are not a JSON object".into())),
    };
    let list = |k: &str| match io.get(k) {
        Some(Value::Array(a)) => Ok(a.len()),
        _ => Err((field, format!("tests have no `{k}` list"))),
    };
    let (i, o) = (list("inputs")?, list("outputs")?);
    if i != o {
        return Err((field, format!("tests have {i} inputs but {o} outputs")));
    }
    if i == 0 {
        return Err((field, "no tests".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_beside_the_problems() {
        for (p, m) in [
            ("d/taco.jsonl", "d/taco.manifest.json"),
            ("taco.jsonl.gz", "taco.manifest.json"),
            ("taco", "taco.manifest.json"),
        ] {
            assert_eq!(manifest_path_for(Path::new(p)), PathBuf::from(m), "{p}");
        }
    }

    #[test]
    fn checks_tests() {
        let ok = |io: Value| {
            let row = json!({"question": "q", "input_output": io});
            check(row.as_object().unwrap()).map_err(|e| e.1)
        };
        assert_eq!(ok(json!("{\"inputs\": [\"1\"], \"outputs\": [\"2\"]}")), Ok(()));
        assert_eq!(ok(json!({"inputs": [[1]], "outputs": [[2]], "fn_name": "f"})), Ok(()));
        assert!(
            ok(json!("{\"inputs\": [\"1\"], \"outputs\": []}"))
                .unwrap_err()
                .contains("1 inputs but 0")
        );
        assert!(ok(json!("not json")).unwrap_err().contains("not JSON"));
        assert!(ok(json!("")).unwrap_err().contains("no tests"));
        assert!(ok(json!("{\"inputs\": [], \"outputs\": []}")).unwrap_err().contains("no tests"));
        let row = json!({"question": "", "input_output": "{}"});
        assert_eq!(check(row.as_object().unwrap()).unwrap_err().0, "question");
    }
}
