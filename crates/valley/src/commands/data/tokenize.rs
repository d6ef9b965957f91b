//! Shared by `data stats` and `data render`: loading the tokenizer and streaming traces in
//! chunks that are decoded, rendered and tokenized in parallel.

use std::path::Path;

use anyhow::Context as _;
use rayon::prelude::*;
use valley_data::chat::{ChatTokenizer, Message, trace_conversation};
use valley_data::io::{FieldMap, RawRow, RowReader, decode_row};
use valley_types::Trace;

use crate::args::{InputArgs, TokenizerArgs};

/// Rows per parallel chunk, and the byte budget that closes a chunk early (long traces).
const CHUNK_ROWS: usize = 4096;
const CHUNK_BYTES: usize = 64 << 20;

/// Validated input, tokenizer and thread settings.
pub(crate) struct Pipeline {
    pub(crate) fields: FieldMap,
    pub(crate) tokenizer: ChatTokenizer,
    pub(crate) system: Option<String>,
    pool: rayon::ThreadPool,
}

impl Pipeline {
    pub(crate) fn new(input: &InputArgs, tok: &TokenizerArgs) -> anyhow::Result<Self> {
        let fields = super::field_map(&input.fields)?;
        let tokenizer = ChatTokenizer::load(&tok.tokenizer, tok.chat_template.as_deref())?;
        let mut builder = rayon::ThreadPoolBuilder::new();
        if let Some(jobs) = tok.jobs {
            builder = builder.num_threads(jobs);
        }
        let pool = builder.build().context("cannot start worker threads")?;
        Ok(Self { fields, tokenizer, system: tok.system.clone(), pool })
    }

    /// The conversation the student sees for `trace`.
    pub(crate) fn conversation(&self, trace: &Trace) -> Vec<Message> {
        trace_conversation(self.system.as_deref(), &trace.question, &trace.response)
    }

    /// Streams `path` in chunks; `work` runs on each decoded trace in parallel, and `sink` gets
    /// each chunk's results in input order. The first row error stops the run.
    pub(crate) fn run<T, W, S>(&self, path: &Path, work: W, mut sink: S) -> anyhow::Result<()>
    where
        T: Send,
        W: Fn(u64, &Trace) -> anyhow::Result<T> + Sync,
        S: FnMut(Trace, T) -> anyhow::Result<()>,
    {
        let mut reader = RowReader::open(path)?;
        loop {
            let mut chunk: Vec<RawRow> = Vec::new();
            let mut bytes = 0;
            while chunk.len() < CHUNK_ROWS && bytes < CHUNK_BYTES {
                match reader.next() {
                    Some(row) => {
                        let row = row?;
                        bytes += row.json.len();
                        chunk.push(row);
                    }
                    None => break,
                }
            }
            if chunk.is_empty() {
                return Ok(());
            }
            let results: Vec<anyhow::Result<(Trace, T)>> = self.pool.install(|| {
                chunk
                    .par_iter()
                    .map(|row| {
                        let trace: Trace = decode_row(path, row, &self.fields)?;
                        let out = work(row.line, &trace).with_context(|| {
                            format!(
                                "{}:{}: cannot render trace `{}`",
                                path.display(),
                                row.line,
                                trace.id
                            )
                        })?;
                        Ok((trace, out))
                    })
                    .collect()
            });
            for result in results {
                let (trace, out) = result?;
                sink(trace, out)?;
            }
        }
    }
}
