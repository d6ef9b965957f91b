//! Parsing `hf://` paths.

/// The kind of a Hub repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepoKind {
    /// `hf://datasets/…`.
    Dataset,
    /// `hf://models/…`, or `hf://OWNER/NAME…`.
    Model,
    /// `hf://spaces/…`.
    Space,
}

impl RepoKind {
    /// The singular name (`dataset`), as manifests record it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dataset => "dataset",
            Self::Model => "model",
            Self::Space => "space",
        }
    }
}

/// A parsed `hf://` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubPath {
    /// The path as given.
    pub uri: String,
    /// The repository kind.
    pub kind: RepoKind,
    /// `OWNER/NAME`.
    pub repo: String,
    /// The revision asked for (a branch, tag or commit), if any.
    pub revision: Option<String>,
    /// The path or glob inside the repository (`""` for all of it).
    pub pattern: String,
}

impl HubPath {
    /// Whether `s` is an `hf://` path at all.
    pub fn is_hub(s: &str) -> bool {
        s.starts_with("hf://")
    }

    /// The owner and the name.
    pub fn owner_name(&self) -> (&str, &str) {
        self.repo.split_once('/').unwrap_or(("", &self.repo))
    }

    /// Whether the pattern is a glob rather than one path.
    pub fn is_glob(&self) -> bool {
        self.pattern.contains(['*', '?', '[', '{'])
    }
}

impl std::str::FromStr for HubPath {
    type Err = String;

    fn from_str(uri: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "invalid Hub path `{uri}`: {why} (expected hf://datasets/OWNER/NAME[@REVISION]/PATH-OR-GLOB, hf://models/…, hf://spaces/… or hf://OWNER/NAME[@REVISION]/PATH)"
            )
        };
        let rest = uri.strip_prefix("hf://").ok_or_else(|| bad("no hf:// prefix"))?;
        let (kind, rest) = match rest.split_once('/') {
            Some(("datasets", r)) => (RepoKind::Dataset, r),
            Some(("models", r)) => (RepoKind::Model, r),
            Some(("spaces", r)) => (RepoKind::Space, r),
            _ => (RepoKind::Model, rest),
        };
        let mut parts = rest.splitn(3, '/');
        let owner = parts.next().unwrap_or_default();
        let name_rev = parts.next().ok_or_else(|| bad("no repository name"))?;
        let pattern = parts.next().unwrap_or_default().trim_matches('/').to_owned();
        let (name, revision) = match name_rev.split_once('@') {
            Some((n, r)) => (n, Some(r)),
            None => (name_rev, None),
        };
        if owner.is_empty() || name.is_empty() {
            return Err(bad("empty owner or name"));
        }
        if revision.is_some_and(str::is_empty) {
            return Err(bad("empty revision after @"));
        }
        if pattern.split('/').any(|seg| seg == "..") {
            return Err(bad("`..` in the path"));
        }
        Ok(Self {
            uri: uri.to_owned(),
            kind,
            repo: format!("{owner}/{name}"),
            revision: revision.map(str::to_owned),
            pattern,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str, kind: RepoKind, repo: &str, rev: Option<&str>, pattern: &str) {
        let p: HubPath = uri.parse().unwrap();
        assert_eq!(
            (p.kind, p.repo.as_str(), p.revision.as_deref(), p.pattern.as_str()),
            (kind, repo, rev, pattern),
            "{uri}"
        );
    }

    #[test]
    fn parses_the_filesystem_spelling() {
        check(
            "hf://datasets/nvidia/OpenCodeReasoning-2@main/train/python/*.parquet",
            RepoKind::Dataset,
            "nvidia/OpenCodeReasoning-2",
            Some("main"),
            "train/python/*.parquet",
        );
        check("hf://datasets/BAAI/TACO/ALL", RepoKind::Dataset, "BAAI/TACO", None, "ALL");
        check(
            "hf://Qwen/Qwen2.5-7B-Instruct",
            RepoKind::Model,
            "Qwen/Qwen2.5-7B-Instruct",
            None,
            "",
        );
        check("hf://models/a/b@0123abc/", RepoKind::Model, "a/b", Some("0123abc"), "");
        check("hf://spaces/a/b/app.py", RepoKind::Space, "a/b", None, "app.py");
        assert!("hf://datasets/a/b/x/*.parquet".parse::<HubPath>().unwrap().is_glob());
        for bad in [
            "hf://",
            "hf://datasets/a",
            "hf://a",
            "hf://a/b@/x",
            "hf://datasets/a/b/../c",
            "s3://a/b",
        ] {
            assert!(bad.parse::<HubPath>().is_err(), "{bad}");
        }
    }
}
