//! The training data as every backend sees it: each trace rendered with valley-data's chat
//! template and tokenizer (the path `valley data render` takes), or in torchtune's own format
//! (`data.template = "torchtune"`), the over-length policy applied, and the result written
//! pre-tokenised (`id`, `input_ids`, `loss_mask`), so no engine can re-template, truncate or
//! drop rows on its own.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use valley_data::chat::{ChatTokenizer, TorchtuneFormat, TorchtuneRenderer, trace_conversation};
use valley_data::io::{FieldMap, RawRow, RowReader, StagedFile, decode_row};
use valley_types::Trace;

use crate::error::PrepareDataError;
use crate::spec::{LossOn, OverLength, TemplateKind, TrainSpec};

/// Rows rendered in parallel at a time.
const CHUNK_ROWS: usize = 1024;

/// One training sequence, pre-tokenised: the record of `tokens.jsonl` that every backend reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizedRow {
    /// The trace's id.
    pub id: String,
    /// Token ids of the rendered conversation.
    pub input_ids: Vec<u32>,
    /// 1 where the token carries the loss, 0 elsewhere; as long as `input_ids`.
    pub loss_mask: Vec<u8>,
}

/// One trace as rendered, before the over-length policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedRow {
    /// The trace's line in the data file.
    pub line: u64,
    /// The row. With torchtune's format already cut to `max-seq-len` by torchtune's rule.
    pub row: TokenizedRow,
    /// Its length in tokens before any cut: over `max-seq-len` means the policy applies.
    pub full_len: usize,
}

/// Where the row and token counts of a plan come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CountSource {
    /// Rendered from the data file.
    File,
    /// The spec's `data.rows`; the file is not present, so tokens are unknown.
    Declared,
}

/// What preparing the data found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Where the counts come from.
    pub source: CountSource,
    /// Rows in the file (or declared).
    pub rows_in: u64,
    /// Rows trained on, after the over-length policy.
    pub rows: u64,
    /// Rows left out for being too long (`over-length = "drop"`).
    pub dropped: u64,
    /// Rows cut to `max-seq-len` (`over-length = "truncate"`).
    pub truncated: u64,
    /// Tokens of the rows trained on (one epoch).
    pub tokens: Option<u64>,
    /// Of those, tokens with loss mask 1.
    pub trained_tokens: Option<u64>,
    /// The longest row trained on, in tokens.
    pub max_tokens: Option<u64>,
}

/// Loads the spec's tokenizer (and chat template).
pub fn load_tokenizer(spec: &TrainSpec) -> Result<ChatTokenizer, PrepareDataError> {
    let path = spec.tokenizer_path().unwrap_or(Path::new("."));
    Ok(ChatTokenizer::load(path, spec.model.chat_template.as_deref())?)
}

/// The spec's field mapping.
pub fn field_map(spec: &TrainSpec) -> Result<FieldMap, PrepareDataError> {
    let pairs: Vec<String> = spec.data.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    FieldMap::parse(&pairs).map_err(PrepareDataError::Fields)
}

/// Renders the spec's data. With `out`, writes the pre-tokenised rows there (atomically).
/// When the data file is absent and the spec declares `data.rows`, returns the declared count
/// (tokens unknown) and writes nothing; with `out` set that is an error, since a run needs
/// the data.
pub fn prepare(
    spec: &TrainSpec,
    spec_path: &Path,
    out: Option<&Path>,
) -> Result<DataSummary, PrepareDataError> {
    let path = &spec.data.train;
    if !path.exists()
        && out.is_none()
        && let Some(rows) = spec.data.rows
    {
        return Ok(DataSummary {
            source: CountSource::Declared,
            rows_in: rows,
            rows,
            dropped: 0,
            truncated: 0,
            tokens: None,
            trained_tokens: None,
            max_tokens: None,
        });
    }
    let tokenizer = load_tokenizer(spec)?;
    let fields = field_map(spec)?;
    let mut writer = out.map(StagedFile::create).transpose()?;
    let mut summary = DataSummary {
        source: CountSource::File,
        rows_in: 0,
        rows: 0,
        dropped: 0,
        truncated: 0,
        tokens: Some(0),
        trained_tokens: Some(0),
        max_tokens: Some(0),
    };
    let (mut tokens, mut trained, mut longest) = (0u64, 0u64, 0u64);
    for_each_rendered(spec, &tokenizer, &fields, None, |rendered| {
        summary.rows_in += 1;
        let Some(row) = apply_policy(spec, rendered, &mut summary)? else {
            return Ok(());
        };
        summary.rows += 1;
        tokens += row.input_ids.len() as u64;
        trained += row.loss_mask.iter().map(|&m| u64::from(m)).sum::<u64>();
        longest = longest.max(row.input_ids.len() as u64);
        if let Some(w) = writer.as_mut() {
            w.write_record(&row)?;
        }
        Ok(())
    })?;
    summary.tokens = Some(tokens);
    summary.trained_tokens = Some(trained);
    summary.max_tokens = Some(longest);
    if let Some(declared) = spec.data.rows
        && declared != summary.rows_in
    {
        return Err(PrepareDataError::RowCount {
            spec: spec_path.to_path_buf(),
            path: path.clone(),
            declared,
            found: summary.rows_in,
        });
    }
    if summary.rows == 0 {
        return Err(PrepareDataError::Empty(path.clone()));
    }
    if let Some(w) = writer {
        w.commit()?;
    }
    Ok(summary)
}

/// The spec's renderer for torchtune's format, or `None` for the chat template.
fn torchtune_renderer(
    spec: &TrainSpec,
    tokenizer: &ChatTokenizer,
) -> Result<Option<TorchtuneRenderer>, PrepareDataError> {
    if spec.data.template != TemplateKind::Torchtune {
        return Ok(None);
    }
    let format = TorchtuneFormat::detect(tokenizer.tokenizer()).ok_or_else(|| {
        PrepareDataError::TorchtuneFamily(spec.tokenizer_path().unwrap_or(Path::new(".")).into())
    })?;
    TorchtuneRenderer::new(tokenizer.tokenizer(), format)
        .map(Some)
        .map_err(PrepareDataError::TorchtuneTokens)
}

/// Renders the traces of the spec's data file (all, or the first `limit`) in parallel, in file
/// order, and hands each to `sink` before any policy is applied.
pub fn for_each_rendered(
    spec: &TrainSpec,
    tokenizer: &ChatTokenizer,
    fields: &FieldMap,
    limit: Option<usize>,
    mut sink: impl FnMut(RenderedRow) -> Result<(), PrepareDataError>,
) -> Result<(), PrepareDataError> {
    let path = &spec.data.train;
    let mut reader = RowReader::open(path)?;
    let system = spec.data.system.as_deref();
    let torchtune = torchtune_renderer(spec, tokenizer)?;
    let train_on_input = spec.train.loss_on == LossOn::All;
    let max = spec.train.max_seq_len as usize;
    let mut left = limit.unwrap_or(usize::MAX);
    loop {
        let take = CHUNK_ROWS.min(left);
        let chunk: Vec<RawRow> = reader.by_ref().take(take).collect::<Result<_, _>>()?;
        left -= chunk.len();
        if chunk.is_empty() {
            return Ok(());
        }
        let rendered: Vec<Result<RenderedRow, PrepareDataError>> = chunk
            .par_iter()
            .map(|raw| {
                let trace: Trace = decode_row(path, raw, fields)?;
                let conversation = trace_conversation(system, &trace.question, &trace.response);
                let failed = |source| PrepareDataError::Render {
                    path: path.clone(),
                    line: raw.line,
                    id: trace.id.clone(),
                    source,
                };
                let (input_ids, loss_mask, full_len) = match &torchtune {
                    // torchtune's own labels: training on the input is its `train_on_input`.
                    Some(t) => {
                        let r =
                            t.render(&conversation, train_on_input, Some(max)).map_err(failed)?;
                        (r.rendered.input_ids, r.rendered.loss_mask, r.full_len)
                    }
                    None => {
                        let r = tokenizer.render(&conversation).map_err(failed)?;
                        let mask = match spec.train.loss_on {
                            LossOn::Assistant => r.loss_mask,
                            LossOn::All => vec![1; r.input_ids.len()],
                        };
                        let n = r.input_ids.len();
                        (r.input_ids, mask, n)
                    }
                };
                Ok(RenderedRow {
                    line: raw.line,
                    row: TokenizedRow { id: trace.id, input_ids, loss_mask },
                    full_len,
                })
            })
            .collect();
        for result in rendered {
            sink(result?)?;
        }
    }
}

/// Applies `data.over-length` to one rendered row: `None` when it is dropped. `summary` counts
/// what it did.
pub fn apply_policy(
    spec: &TrainSpec,
    rendered: RenderedRow,
    summary: &mut DataSummary,
) -> Result<Option<TokenizedRow>, PrepareDataError> {
    let max = spec.train.max_seq_len;
    let RenderedRow { line, mut row, full_len } = rendered;
    if full_len <= max as usize {
        return Ok(Some(row));
    }
    match spec.data.over_length {
        OverLength::Error => Err(PrepareDataError::OverLength {
            path: spec.data.train.clone(),
            line,
            id: row.id,
            tokens: full_len,
            max,
        }),
        OverLength::Drop => {
            summary.dropped += 1;
            Ok(None)
        }
        OverLength::Truncate => {
            // torchtune's format arrives already cut by torchtune's own rule.
            summary.truncated += 1;
            row.input_ids.truncate(max as usize);
            row.loss_mask.truncate(max as usize);
            Ok(Some(row))
        }
    }
}

/// Reads a pre-tokenised file written by [`prepare`].
pub fn read_tokenized(
    path: &Path,
) -> Result<
    impl Iterator<Item = Result<TokenizedRow, valley_data::io::ReadDatasetError>> + use<>,
    valley_data::io::ReadDatasetError,
> {
    let reader = RowReader::open(path)?;
    let path = path.to_path_buf();
    let fields = FieldMap::default();
    Ok(reader.map(move |row| decode_row(&path, &row?, &fields)))
}

/// The pre-tokenised data file of a run folder.
pub fn tokens_path(run_dir: &Path) -> PathBuf {
    run_dir.join("data").join("tokens.jsonl")
}
