//! `hf://` paths: files and repositories of the Hugging Face Hub, fetched through the `hf-hub`
//! crate into the usual HF cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
//! `~/.cache/huggingface/hub`), with the commit each was read at.
//!
//! - [`HubPath`]: `hf://datasets/OWNER/NAME[@REVISION]/PATH-OR-GLOB`, `hf://models/…`,
//!   `hf://spaces/…`, and `hf://OWNER/NAME[@REVISION][/PATH]` for a model, as `huggingface_hub`'s
//!   `HfFileSystem` spells them; an empty path is the whole repository.
//! - [`Hub`] (from a [`HubConfig`]: endpoint, token, offline, cache folder) → [`Hub::fetch`] →
//!   [`Fetched`]: the local files in path order, the snapshot folder, and a
//!   [`valley_types::HubSource`] naming the commit, for manifests.
//!
//! Offline, nothing is requested: a revision is read from the cache's `refs/` and the files from
//! its snapshot, or the fetch fails saying so. Only the binary reads the environment
//! (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`, `HF_HOME`, `HF_HUB_CACHE`); this crate takes
//! them in its config.
//!
//! ```no_run
//! use valley_hub::{Hub, HubConfig, HubPath};
//! let hub = Hub::new(&HubConfig::default())?;
//! let path: HubPath = "hf://datasets/nvidia/OpenCodeReasoning-2/train/python/*.parquet".parse()?;
//! let fetched = hub.fetch(&path)?;
//! println!("{} files at commit {}", fetched.files.len(), fetched.source.commit);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod fetch;
mod path;

pub use fetch::{Fetched, Hub, HubConfig, HubError, HubErrorKind};
pub use path::{HubPath, RepoKind};
