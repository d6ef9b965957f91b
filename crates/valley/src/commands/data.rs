//! `valley data …`: dataset curation commands.

pub(crate) mod split;
pub(crate) mod subsets;
