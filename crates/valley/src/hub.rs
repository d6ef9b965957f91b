//! `hf://` arguments: any path argument of any command may name files of the Hugging Face Hub
//! (`hf://datasets/OWNER/NAME[@REVISION]/PATH-OR-GLOB`, models and spaces too). They are fetched
//! into the HF cache before the command runs and replaced by their local paths; a glob given to
//! a flag that takes several files (`--input F…`, a repeatable `--source NAME:SPLIT=FILE`)
//! becomes one value per file, in path order. Every fetch is recorded ([`sources`]) so that the
//! command's manifest names the commit it read.
//!
//! Environment, as `huggingface_hub` reads it: `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`
//! (`1`, `true`, `yes`, `on`), `HF_HUB_CACHE`, `HF_HOME`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use clap::{Arg, ArgAction, Command, CommandFactory};
use valley_hub::{Hub, HubConfig, HubPath};
use valley_types::HubSource;

use crate::args::Cli;

/// The Hub's base URL.
pub(crate) const HF_ENDPOINT: &str = "HF_ENDPOINT";
/// A bearer token for private or gated repositories.
pub(crate) const HF_TOKEN: &str = "HF_TOKEN";
/// Read the cache only.
pub(crate) const HF_HUB_OFFLINE: &str = "HF_HUB_OFFLINE";
/// The hub cache folder.
pub(crate) const HF_HUB_CACHE: &str = "HF_HUB_CACHE";
/// The Hugging Face home folder (the cache is its `hub/`).
pub(crate) const HF_HOME: &str = "HF_HOME";

static SOURCES: Mutex<Vec<HubSource>> = Mutex::new(Vec::new());

/// Every Hub path this run fetched, in argument order.
pub(crate) fn sources() -> Vec<HubSource> {
    SOURCES.lock().map(|s| s.clone()).unwrap_or_default()
}

/// Whether any argument names the Hub.
pub(crate) fn mentions_hub(args: &[OsString]) -> bool {
    args.iter().any(|a| a.to_string_lossy().contains("hf://"))
}

/// The Hub settings from the environment.
pub(crate) fn config_from_env() -> HubConfig {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    HubConfig {
        endpoint: var(HF_ENDPOINT),
        token: var(HF_TOKEN),
        offline: var(HF_HUB_OFFLINE).is_some_and(|v| {
            matches!(v.trim().to_ascii_uppercase().as_str(), "1" | "TRUE" | "YES" | "ON")
        }),
        cache_dir: var(HF_HUB_CACHE)
            .map(PathBuf::from)
            .or_else(|| var(HF_HOME).map(|h| PathBuf::from(h).join("hub"))),
    }
}

/// The arguments with every `hf://` value fetched and replaced by its local path(s).
pub(crate) fn resolve_args(args: Vec<OsString>) -> anyhow::Result<Vec<OsString>> {
    let root = Cli::command();
    let mut r = Resolver { hub: None, out: Vec::with_capacity(args.len()) };
    let mut cur: &Command = &root;
    let mut i = 0;
    let mut only_positional = false;
    if let Some(first) = args.first() {
        r.out.push(first.clone());
        i = 1;
    }
    while i < args.len() {
        let tok = args[i].to_string_lossy().into_owned();
        i += 1;
        if only_positional {
            r.value(&tok, None, "an argument")?;
            continue;
        }
        if tok == "--" {
            only_positional = true;
            r.out.push(tok.into());
            continue;
        }
        let found: Option<(&Arg, String, Option<String>)> = if let Some(long) =
            tok.strip_prefix("--")
        {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            cur.get_arguments()
                .find(|a| a.get_long() == Some(name))
                .map(|a| (a, format!("--{name}"), inline))
        } else if let Some(short) = tok.strip_prefix('-').filter(|s| s.chars().count() == 1) {
            let c = short.chars().next().unwrap_or('-');
            cur.get_arguments().find(|a| a.get_short() == Some(c)).map(|a| (a, tok.clone(), None))
        } else {
            None
        };
        if let Some((arg, flag, inline)) = found {
            if !arg.get_action().takes_values() {
                r.out.push(tok.into());
                continue;
            }
            let many_per_flag = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
            let repeatable = matches!(arg.get_action(), ArgAction::Append);
            let files_in_value = arg
                .get_value_names()
                .is_some_and(|v| v.iter().any(|n| n.as_str().contains("FILE")));
            let spec = Spec { flag: &flag, many_per_flag, repeatable, files_in_value };
            let mut values = Vec::new();
            match inline {
                Some(v) => values.push(v),
                None => {
                    // one value, or (num_args 1..) every value up to the next flag
                    while i < args.len() {
                        let v = args[i].to_string_lossy().into_owned();
                        if !values.is_empty() && (!many_per_flag || v.starts_with('-')) {
                            break;
                        }
                        values.push(v);
                        i += 1;
                        if !many_per_flag {
                            break;
                        }
                    }
                }
            }
            r.flag_values(&spec, &values)?;
            continue;
        }
        if !tok.starts_with('-')
            && let Some(sub) = cur.find_subcommand(&tok)
        {
            cur = sub;
            r.out.push(tok.into());
            continue;
        }
        if tok.starts_with('-') {
            r.out.push(tok.into());
        } else {
            r.value(&tok, None, "an argument")?;
        }
    }
    Ok(r.out)
}

struct Spec<'a> {
    flag: &'a str,
    many_per_flag: bool,
    repeatable: bool,
    files_in_value: bool,
}

struct Resolver {
    hub: Option<Hub>,
    out: Vec<OsString>,
}

impl Resolver {
    fn hub(&mut self) -> anyhow::Result<&Hub> {
        if self.hub.is_none() {
            self.hub = Some(Hub::new(&config_from_env())?);
        }
        Ok(self.hub.as_ref().expect("just set"))
    }

    /// Fetches `uri`: every file (a glob), or the one path it names.
    fn fetch(&mut self, uri: &str) -> anyhow::Result<(Vec<PathBuf>, PathBuf)> {
        let path: HubPath = uri.parse().map_err(|e: String| anyhow::anyhow!(e))?;
        let fetched = self.hub()?.fetch(&path).with_context(|| format!("cannot fetch {uri}"))?;
        tracing::info!("{uri}: commit {}, {} files", fetched.source.commit, fetched.files.len());
        if let Ok(mut s) = SOURCES.lock() {
            s.push(fetched.source.clone());
        }
        let single =
            if path.is_glob() { fetched.files.clone() } else { vec![fetched.local.clone()] };
        Ok((single, fetched.local))
    }

    /// A value that is not a flag's: one path.
    fn value(&mut self, v: &str, flag: Option<&str>, what: &str) -> anyhow::Result<()> {
        if !HubPath::is_hub(v) {
            self.out.push(v.into());
            return Ok(());
        }
        let (files, _) = self.fetch(v)?;
        match files.as_slice() {
            [one] => self.out.push(one.clone().into()),
            many => anyhow::bail!(
                "{v} matches {} files, and {} takes one path",
                many.len(),
                flag.unwrap_or(what)
            ),
        }
        Ok(())
    }

    fn flag_values(&mut self, spec: &Spec<'_>, values: &[String]) -> anyhow::Result<()> {
        let mut expanded: Vec<String> = Vec::new();
        for v in values {
            let (prefix, uri) = if HubPath::is_hub(v) {
                ("", v.as_str())
            } else if spec.files_in_value
                && let Some(at) = v.find("=hf://")
            {
                (&v[..=at], &v[at + 1..])
            } else {
                expanded.push(v.clone());
                continue;
            };
            let (files, _) = self.fetch(uri)?;
            if files.len() > 1 && !spec.many_per_flag && !spec.repeatable {
                anyhow::bail!(
                    "{uri} matches {} files, and {} takes one path",
                    files.len(),
                    spec.flag
                );
            }
            expanded.extend(files.iter().map(|f| format!("{prefix}{}", f.display())));
        }
        if spec.many_per_flag {
            self.out.push(spec.flag.into());
            self.out.extend(expanded.into_iter().map(OsString::from));
        } else {
            for v in expanded {
                self.out.push(spec.flag.into());
                self.out.push(v.into());
            }
        }
        Ok(())
    }
}
