//! `valley data …`: dataset curation commands.

pub(crate) mod label;
pub(crate) mod split;
pub(crate) mod subsets;
