//! `valley data …`: dataset curation commands.

pub(crate) mod decontam;
pub(crate) mod dedup;
pub(crate) mod import;
pub(crate) mod label;
pub(crate) mod render;
pub(crate) mod split;
pub(crate) mod stats;
pub(crate) mod subsets;
pub(crate) mod traces;
pub(crate) mod verify;

mod tokenize;

use valley_data::io::FieldMap;

/// Parses `--field FIELD=COLUMN` flags.
pub(crate) fn field_map(specs: &[String]) -> anyhow::Result<FieldMap> {
    FieldMap::parse(specs).map_err(|e| anyhow::anyhow!("--field: {e}"))
}
