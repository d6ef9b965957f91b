//! Dataset reading and writing and the curation stages of valley.
//!
//! - [`chat`]: tokenizer and chat template: a conversation rendered as HF transformers renders it,
//!   its token ids and its loss mask.
//! - [`io`]: streaming readers for JSON Lines (plain, gzip, zstd) and Parquet with field mapping
//!   and file:line:field errors; atomic writers.
//! - [`stats`]: token-length percentiles and reasoning-block shapes for `valley data stats`.
//! - [`subsets`]: nested random subsets whose draw does not depend on row order.
//! - [`split`]: balanced, disjoint groups by correctness or difficulty.
//! - [`import`]: OpenCodeReasoning-2 with its questions filled from their source datasets, and
//!   TACO as problems, both with the stable ids of [`valley_types::SourceRef`].
//! - [`traces`]: teacher traces from `valley generate`'s records, with the named filter that keeps
//!   out unfinished responses and responses without a closed `<think>` block.
//! - [`dedup`] and [`decontam`]: exact and MinHash near-duplicate removal, and n-gram
//!   decontamination against a benchmark, each with a report of what was removed and why.
//!
//! ```no_run
//! use valley_data::io::{FieldMap, read_records};
//! use valley_types::Trace;
//! let fields = FieldMap::parse(&["response=output"]).unwrap();
//! for row in read_records::<Trace>("traces.jsonl".as_ref(), &fields).unwrap() {
//!     let (line, trace) = row.unwrap();
//!     println!("{line}: {}", trace.id);
//! }
//! ```

pub mod chat;
pub mod decontam;
pub mod dedup;
pub mod import;
pub mod io;
pub mod select;
pub mod split;
pub mod stats;
pub mod subsets;
pub mod text;
pub mod traces;
