//! Reading and writing record files: JSON Lines (plain, gzip, zstd) and Parquet in, JSON Lines out.
//!
//! Reading streams one row at a time, so memory stays flat whatever the input size. Every row
//! error names the file, the line (for Parquet: the row, counted from 1) and the field. Outputs are
//! staged under temporary names and renamed only when complete, and claimed first: an output that
//! overlaps an input is refused and each output is locked for the run ([`ClaimOutputs`]).

mod claim;
mod error;
mod fields;
mod format;
mod read;
mod write;

pub use claim::{Claim, ClaimOutputError, ClaimOutputs, OutputKind, Overlap};
pub use error::{ReadDatasetError, ReadDatasetErrorKind, WriteDatasetError};
pub use fields::FieldMap;
pub use format::Format;
pub use read::{Columns, RawRow, RowReader, decode_row, read_records};
pub use write::{OutputSet, StagedFile};
