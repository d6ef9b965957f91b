//! Fetching an `hf://` path into the HF cache through `hf-hub`'s `snapshot_download`.
//!
//! A path's files are downloaded (or, offline, looked up) under
//! `{cache}/{kind}s--{owner}--{name}/snapshots/{commit}/`, exactly where `huggingface_hub` keeps
//! them, so a cache filled by Python serves valley and the other way round. The snapshot folder's
//! name is the commit the revision resolved to.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use hf_hub::{HFClientBuilder, HFClientSync, HFError};
use valley_types::HubSource;

use crate::path::{HubPath, RepoKind};

/// How to reach the Hub; the binary fills it from `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`,
/// `HF_HUB_CACHE` and `HF_HOME`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubConfig {
    /// Base URL [default: `https://huggingface.co`].
    pub endpoint: Option<String>,
    /// Bearer token for private or gated repositories [default: `hf-hub`'s token file].
    pub token: Option<String>,
    /// Read the cache only; request nothing.
    pub offline: bool,
    /// The hub cache folder [default: `hf-hub`'s].
    pub cache_dir: Option<PathBuf>,
}

/// A client for `hf://` paths.
pub struct Hub {
    client: HFClientSync,
    offline: bool,
    endpoint: String,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("endpoint", &self.endpoint)
            .field("offline", &self.offline)
            .finish()
    }
}

/// What a fetch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The source, with the commit, for manifests.
    pub source: HubSource,
    /// The matching files in the local cache, in repository-path order.
    pub files: Vec<PathBuf>,
    /// The snapshot folder (`…/snapshots/{commit}`), the repository's root.
    pub snapshot: PathBuf,
    /// The local path the `hf://` path names: the one file, the folder it names inside the
    /// snapshot, or the snapshot itself for a whole repository or a glob.
    pub local: PathBuf,
}

/// Fetching a Hub path failed.
#[derive(Debug, thiserror::Error)]
#[error("{uri}: {kind}")]
pub struct HubError {
    /// The path as given.
    pub uri: String,
    /// What went wrong.
    #[source]
    pub kind: HubErrorKind,
}

/// What went wrong while fetching a Hub path.
#[derive(Debug, thiserror::Error)]
pub enum HubErrorKind {
    /// The path is not an `hf://` path valley reads.
    #[error("{0}")]
    Invalid(String),
    /// Offline, and the cache does not hold the revision or the files.
    #[error("not in the local Hub cache, and offline mode (HF_HUB_OFFLINE) forbids downloading it")]
    NotCached(#[source] HFError),
    /// The Hub (or its cache) answered with an error.
    #[error("the Hub at {endpoint} refused the request")]
    Client {
        /// The endpoint asked.
        endpoint: String,
        /// Its error.
        #[source]
        source: HFError,
    },
    /// Nothing in the repository (or, offline, in its cached files) matches the path.
    #[error("no file of {repo} at commit {commit} matches `{pattern}`{}", if *offline { " among the cached files (offline: HF_HUB_OFFLINE)" } else { "" })]
    NoMatch {
        /// `owner/name`.
        repo: String,
        /// The commit searched.
        commit: String,
        /// The path or glob.
        pattern: String,
        /// Whether only the cache was searched.
        offline: bool,
    },
    /// The glob is not a valid glob.
    #[error("invalid glob `{pattern}`")]
    Glob {
        /// The glob.
        pattern: String,
        /// Why.
        #[source]
        source: globset::Error,
    },
    /// The cache folder could not be listed.
    #[error("cannot read the snapshot folder {}", path.display())]
    Io {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Hub {
    /// A client for `config`.
    pub fn new(config: &HubConfig) -> Result<Self, HubError> {
        let mut b = HFClientBuilder::new().retry_max_attempts(2);
        if let Some(e) = &config.endpoint {
            b = b.endpoint(e.trim_end_matches('/'));
        }
        if let Some(t) = &config.token {
            b = b.token(t);
        }
        if let Some(c) = &config.cache_dir {
            b = b.cache_dir(c);
        }
        let endpoint = config.endpoint.clone().unwrap_or_else(|| "https://huggingface.co".into());
        let client = b.build_sync().map_err(|source| HubError {
            uri: endpoint.clone(),
            kind: HubErrorKind::Client { endpoint: endpoint.clone(), source },
        })?;
        Ok(Self { client, offline: config.offline, endpoint })
    }

    /// Downloads (or, offline, finds in the cache) the files `path` names.
    pub fn fetch(&self, path: &HubPath) -> Result<Fetched, HubError> {
        let err = |kind| HubError { uri: path.uri.clone(), kind };
        let (owner, name) = path.owner_name();
        let patterns: Option<Vec<String>> = match (path.pattern.as_str(), path.is_glob()) {
            ("", _) => None,
            (p, true) => Some(vec![p.to_owned()]),
            // a plain path names a file, or a folder and everything in it
            (p, false) => Some(vec![p.to_owned(), format!("{p}/**")]),
        };
        let result = match path.kind {
            RepoKind::Dataset => self.snapshot(&self.client.dataset(owner, name), path, &patterns),
            RepoKind::Model => self.snapshot(&self.client.model(owner, name), path, &patterns),
            RepoKind::Space => self.snapshot(&self.client.space(owner, name), path, &patterns),
        };
        let snapshot = result.map_err(|source| {
            err(match source {
                e @ HFError::LocalEntryNotFound { .. } if self.offline => {
                    HubErrorKind::NotCached(e)
                }
                source => HubErrorKind::Client { endpoint: self.endpoint.clone(), source },
            })
        })?;
        let commit =
            snapshot.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let set = match &patterns {
            None => None,
            Some(ps) => {
                let mut b = GlobSetBuilder::new();
                for p in ps {
                    let g = Glob::new(p)
                        .map_err(|source| err(HubErrorKind::Glob { pattern: p.clone(), source }))?;
                    b.add(g);
                }
                Some(b.build().map_err(|source| {
                    err(HubErrorKind::Glob { pattern: path.pattern.clone(), source })
                })?)
            }
        };
        let mut rel = Vec::new();
        // a pattern that matches nothing downloads nothing: no snapshot folder is made
        if snapshot.is_dir() {
            walk(&snapshot, "", set.as_ref(), &mut rel)
                .map_err(|source| err(HubErrorKind::Io { path: snapshot.clone(), source }))?;
        }
        rel.sort();
        if rel.is_empty() {
            return Err(err(HubErrorKind::NoMatch {
                repo: path.repo.clone(),
                commit,
                pattern: path.pattern.clone(),
                offline: self.offline,
            }));
        }
        let files: Vec<PathBuf> = rel.iter().map(|r| snapshot.join(r)).collect();
        let local = if path.pattern.is_empty() || path.is_glob() {
            snapshot.clone()
        } else {
            snapshot.join(&path.pattern)
        };
        Ok(Fetched {
            source: HubSource {
                uri: path.uri.clone(),
                repo_type: path.kind.name().into(),
                repo: path.repo.clone(),
                revision: path.revision.clone().unwrap_or_else(|| "main".into()),
                commit,
                files: rel,
            },
            files,
            snapshot,
            local,
        })
    }

    fn snapshot<T: hf_hub::repository::RepoType>(
        &self,
        repo: &hf_hub::HFRepositorySync<T>,
        path: &HubPath,
        patterns: &Option<Vec<String>>,
    ) -> Result<PathBuf, HFError> {
        repo.snapshot_download()
            .maybe_revision(path.revision.clone())
            .maybe_allow_patterns(patterns.clone())
            .local_files_only(self.offline)
            .max_workers(4)
            .send()
    }
}

/// Repository paths (with `/`) of the files under `dir` that match `set` (all when `None`).
fn walk(
    dir: &Path,
    prefix: &str,
    set: Option<&GlobSet>,
    out: &mut Vec<String>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        // snapshot entries are symlinks into blobs/: follow them
        let meta = std::fs::metadata(entry.path())?;
        if meta.is_dir() {
            walk(&entry.path(), &rel, set, out)?;
        } else if set.is_none_or(|s| s.is_match(&rel)) {
            out.push(rel);
        }
    }
    Ok(())
}
