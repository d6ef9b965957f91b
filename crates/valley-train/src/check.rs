//! `valley train check`: proof that an engine trains on valley's tokens and masks. valley
//! renders a sample of the spec's traces (the rows `valley train` hands over), the engine's own
//! Python package prepares them as it does in training (`python/valley_parity.py`), and the two
//! are compared token for token. With `data.template = "torchtune"` the torchtune check also
//! renders the raw traces with torchtune's own tokenizer and dataset code and compares those
//! with valley's rendering of torchtune's format.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use valley_data::io::{RowReader, decode_row};
use valley_types::Trace;

use crate::data::{self, TokenizedRow};
use crate::engine::{EngineInputs, write_engine_files};
use crate::error::{PrepareDataError, TrainError};
use crate::plan::Plan;
use crate::spec::{Backend, LossOn, TemplateKind, TrainSpec};

/// The parity script, embedded.
pub const PARITY_SCRIPT: &str = include_str!("../python/valley_parity.py");

/// One trace whose engine rows differ from valley's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The trace.
    pub id: String,
    /// What differs: `dropped`, `input_ids` or `loss_mask`.
    pub what: String,
    /// The first differing position (tokens), when both rows exist.
    pub position: Option<usize>,
    /// valley's length.
    pub valley_len: usize,
    /// The engine's length (0 when dropped).
    pub engine_len: usize,
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The engine checked.
    pub engine: String,
    /// Traces compared.
    pub rows: u64,
    /// Tokens compared (valley's).
    pub tokens: u64,
    /// Traces whose ids and masks are identical.
    pub identical: u64,
    /// Traces that differ.
    pub mismatched: u64,
    /// The differing traces (all of them).
    pub mismatches: Vec<Mismatch>,
}

/// Why a check could not run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Rendering valley's side failed.
    #[error(transparent)]
    Data(#[from] PrepareDataError),
    /// Writing the engine's config failed.
    #[error(transparent)]
    Engine(#[from] TrainError),
    /// The engine's preprocessing failed.
    #[error("the {engine} preprocessing ({python}) failed ({status}): {stderr}")]
    Script {
        /// The engine.
        engine: String,
        /// The interpreter.
        python: String,
        /// Its status.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// A file of the check cannot be written or read.
    #[error("cannot access {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// This engine has no parity path.
    #[error(
        "engine `{0}` has no parity check (engines with one: trl, torchtune, llama-factory, axolotl)"
    )]
    NoCheck(String),
}

/// Compares valley's rows with the engine's, matched by id.
pub fn compare(engine: &str, valley: &[TokenizedRow], theirs: &[TokenizedRow]) -> CheckReport {
    let by_id: std::collections::HashMap<&str, &TokenizedRow> =
        theirs.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut report = CheckReport {
        engine: engine.to_owned(),
        rows: valley.len() as u64,
        tokens: valley.iter().map(|r| r.input_ids.len() as u64).sum(),
        identical: 0,
        mismatched: 0,
        mismatches: Vec::new(),
    };
    for v in valley {
        let Some(e) = by_id.get(v.id.as_str()) else {
            report.mismatches.push(Mismatch {
                id: v.id.clone(),
                what: "dropped".into(),
                position: None,
                valley_len: v.input_ids.len(),
                engine_len: 0,
            });
            continue;
        };
        let first_diff = |a: &[u32], b: &[u32]| {
            a.iter()
                .zip(b)
                .position(|(x, y)| x != y)
                .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
        };
        let mask_v: Vec<u32> = v.loss_mask.iter().map(|&m| u32::from(m)).collect();
        let mask_e: Vec<u32> = e.loss_mask.iter().map(|&m| u32::from(m)).collect();
        let diff = first_diff(&v.input_ids, &e.input_ids)
            .map(|p| ("input_ids", p))
            .or_else(|| first_diff(&mask_v, &mask_e).map(|p| ("loss_mask", p)));
        match diff {
            None => report.identical += 1,
            Some((what, p)) => report.mismatches.push(Mismatch {
                id: v.id.clone(),
                what: what.into(),
                position: Some(p),
                valley_len: v.input_ids.len(),
                engine_len: e.input_ids.len(),
            }),
        }
    }
    report.mismatched = report.mismatches.len() as u64;
    report
}

fn script_error(engine: Backend, python: &str, output: &std::process::Output) -> CheckError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
    CheckError::Script {
        engine: engine.as_str().into(),
        python: python.into(),
        status: output.status.to_string(),
        stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
    }
}

/// Renders the first `sample` rows of `spec`'s data as `valley train` would hand them over,
/// runs `engine`'s preprocessing with `python` in `work`, and compares.
pub fn run(
    spec: &TrainSpec,
    engine: Backend,
    sample: usize,
    python: &str,
    work: &Path,
) -> Result<CheckReport, CheckError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckError::Io { path, source }
    };
    if !matches!(
        engine,
        Backend::Trl | Backend::Torchtune | Backend::LlamaFactory | Backend::Axolotl
    ) {
        return Err(CheckError::NoCheck(engine.as_str().into()));
    }
    let tokenizer = data::load_tokenizer(spec)?;
    let fields = data::field_map(spec)?;
    let mut valley = Vec::new();
    let mut sample_spec = spec.clone();
    sample_spec.compute.backend = engine;
    let mut policy = data::DataSummary {
        source: data::CountSource::File,
        rows_in: 0,
        rows: 0,
        dropped: 0,
        truncated: 0,
        tokens: None,
        trained_tokens: None,
        max_tokens: None,
    };
    data::for_each_rendered(spec, &tokenizer, &fields, Some(sample), |rendered| {
        if let Some(row) = data::apply_policy(spec, rendered, &mut policy)? {
            valley.push(row);
        }
        Ok(())
    })?;
    fs_err::create_dir_all(work).map_err(io(work))?;
    let tokens = work.join("valley.jsonl");
    let mut text = String::new();
    for r in &valley {
        text.push_str(&serde_json::to_string(r).map_err(|e| CheckError::Io {
            path: tokens.clone(),
            source: std::io::Error::other(e),
        })?);
        text.push('\n');
    }
    fs_err::write(&tokens, text).map_err(io(&tokens))?;
    let summary = data::DataSummary {
        source: data::CountSource::File,
        rows_in: valley.len() as u64,
        rows: valley.len() as u64,
        dropped: 0,
        truncated: 0,
        tokens: None,
        trained_tokens: None,
        max_tokens: None,
    };
    let plan = Plan::resolve(&sample_spec, &summary);
    let inputs = EngineInputs {
        data: &tokens,
        out_dir: work,
        resume: false,
        tokenizer_vocab: u32::try_from(tokenizer.tokenizer().get_vocab_size(true))
            .unwrap_or(u32::MAX),
    };
    let files = write_engine_files(&sample_spec, &plan, &inputs)?;
    let config = files
        .files
        .iter()
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            matches!(name, "trl.json" | "torchtune.yaml" | "llama-factory.yaml" | "axolotl.yaml")
        })
        .cloned()
        .ok_or_else(|| CheckError::NoCheck(engine.as_str().into()))?;
    // The engine's own data conversion (LLaMA-Factory: valley's rows to its tokenized_path),
    // exactly as `valley train` runs it before launching, with the check's interpreter.
    if let Some(prepare) = &files.prepare {
        let output = Command::new(python)
            .args(&prepare.args)
            .envs(prepare.env.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(io(Path::new(python)))?;
        if !output.status.success() {
            return Err(script_error(engine, python, &output));
        }
    }
    let script = work.join("valley_parity.py");
    fs_err::write(&script, PARITY_SCRIPT).map_err(io(&script))?;
    let out = work.join("engine.jsonl");
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg(engine.as_str())
        .arg("--tokens")
        .arg(&tokens)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&out);
    if engine == Backend::Torchtune {
        cmd.env("PYTHONPATH", config.parent().unwrap_or(work));
    }
    if matches!(engine, Backend::LlamaFactory | Backend::Axolotl) {
        cmd.arg("--tokenizer").arg(spec.tokenizer_path().unwrap_or(Path::new(".")));
        if let Some(model) = &spec.model.path {
            cmd.arg("--model").arg(model);
        }
    }
    let output = cmd.output().map_err(io(Path::new(python)))?;
    if !output.status.success() {
        return Err(script_error(engine, python, &output));
    }
    let theirs = read_rows(&out)?;
    let report = compare(engine.as_str(), &valley, &theirs);
    if engine != Backend::Torchtune || spec.data.template != TemplateKind::Torchtune {
        return Ok(report);
    }
    // torchtune's own tokenizer on the raw traces.
    let traces = work.join("traces.jsonl");
    let mut text = String::new();
    let reader = RowReader::open(&spec.data.train).map_err(PrepareDataError::from)?;
    for raw in reader.take(sample) {
        let raw = raw.map_err(PrepareDataError::from)?;
        let t: Trace =
            decode_row(&spec.data.train, &raw, &fields).map_err(PrepareDataError::from)?;
        let row = serde_json::json!({"id": t.id, "question": t.question, "response": t.response});
        text.push_str(&row.to_string());
        text.push('\n');
    }
    fs_err::write(&traces, text).map_err(io(&traces))?;
    let template_out = work.join("torchtune-template.jsonl");
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg("torchtune-template")
        .arg("--traces")
        .arg(&traces)
        .arg("--tokenizer")
        .arg(spec.tokenizer_path().unwrap_or(Path::new(".")))
        .arg("--max-seq-len")
        .arg(spec.train.max_seq_len.to_string())
        .arg("--out")
        .arg(&template_out);
    if let Some(system) = &spec.data.system {
        cmd.arg("--system").arg(system);
    }
    if spec.train.loss_on == LossOn::All {
        cmd.arg("--train-on-input");
    }
    let output = cmd.output().map_err(io(Path::new(python)))?;
    if !output.status.success() {
        return Err(script_error(engine, python, &output));
    }
    let template = compare("torchtune-template", &valley, &read_rows(&template_out)?);
    Ok(merge(report, template))
}

fn read_rows(path: &Path) -> Result<Vec<TokenizedRow>, CheckError> {
    data::read_tokenized(path)
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| CheckError::Io { path: path.to_owned(), source: std::io::Error::other(e) })
}

/// One report of two comparisons of the same rows: the engine's, then the template's
/// (its mismatches named `template <what>`); a row is identical when it is in both.
fn merge(engine: CheckReport, template: CheckReport) -> CheckReport {
    let mut mismatches = engine.mismatches;
    mismatches.extend(
        template
            .mismatches
            .into_iter()
            .map(|m| Mismatch { what: format!("template {}", m.what), ..m }),
    );
    let bad: std::collections::HashSet<&str> = mismatches.iter().map(|m| m.id.as_str()).collect();
    let mismatched = bad.len() as u64;
    CheckReport {
        engine: format!("{} + {}", engine.engine, template.engine),
        rows: engine.rows,
        tokens: engine.tokens,
        identical: engine.rows - mismatched,
        mismatched,
        mismatches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, ids: &[u32], mask: &[u8]) -> TokenizedRow {
        TokenizedRow { id: id.into(), input_ids: ids.to_vec(), loss_mask: mask.to_vec() }
    }

    #[test]
    fn finds_each_kind_of_difference() {
        let valley = [
            row("same", &[1, 2, 3], &[0, 1, 1]),
            row("ids", &[1, 2, 3], &[0, 1, 1]),
            row("mask", &[1, 2, 3], &[0, 1, 1]),
            row("cut", &[1, 2, 3], &[0, 1, 1]),
            row("gone", &[1, 2], &[0, 1]),
        ];
        let engine = [
            row("same", &[1, 2, 3], &[0, 1, 1]),
            row("ids", &[1, 9, 3], &[0, 1, 1]),
            row("mask", &[1, 2, 3], &[0, 1, 0]),
            row("cut", &[1, 2], &[0, 1]),
        ];
        let r = compare("trl", &valley, &engine);
        assert_eq!((r.rows, r.identical, r.mismatched, r.tokens), (5, 1, 4, 14));
        let got: Vec<(&str, &str, Option<usize>)> =
            r.mismatches.iter().map(|m| (m.id.as_str(), m.what.as_str(), m.position)).collect();
        assert_eq!(
            got,
            [
                ("ids", "input_ids", Some(1)),
                ("mask", "loss_mask", Some(2)),
                ("cut", "input_ids", Some(2)),
                ("gone", "dropped", None)
            ]
        );
    }
}
