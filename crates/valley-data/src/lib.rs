//! Dataset reading and writing and the curation stages of valley.
