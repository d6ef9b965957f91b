//! Importing datasets as published: OpenCodeReasoning-2 with its questions filled from its
//! source datasets, and TACO as problems with stable ids.
//!
//! - [`ocr2`]: `data import ocr2` — one question per source question (`questions.jsonl`), and
//!   OCR2's own R1 responses as traces on request.
//! - [`taco`]: `data import taco` — TACO rows as problems with `question_id` `taco/{split}/{index}`.
//! - [`source`]: the source datasets OCR2 names, and how each holds its question text.
//!
//! Both derive ids from [`valley_types::SourceRef`], so traces of OCR2 questions from TACO are
//! judged against a TACO import without a join written by hand. Rows an import cannot use are
//! counted by reason and named (file, row, field) in its manifest, never dropped silently.

mod error;
mod issues;
pub mod ocr2;
mod read;
pub mod source;
pub mod taco;

pub use error::ImportError;
pub use issues::Issues;
pub use ocr2::{Ocr2Config, Ocr2Outcome, import_ocr2};
pub use source::{SourceKind, SourceSpec};
pub use taco::{TacoConfig, TacoOutcome, import_taco, manifest_path_for};
