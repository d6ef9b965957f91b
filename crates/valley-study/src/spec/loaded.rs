//! A spec read from disk: parsed, its paths resolved against its folder, and checked for what
//! serde cannot see (names that must exist, exactly one of two fields, …), each refusal naming
//! the line and field.

use std::path::{Path, PathBuf};

use super::distill::{DistillOutput, DistillSpec, source_file};
use super::grid::DatasetSpec;
use super::stages::ENGINES;
use super::study::StudySpec;
use crate::error::SpecError;

/// A spec read from disk: the parsed file, its folder, its text's hash.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The file.
    pub path: PathBuf,
    /// Its folder, which relative paths are resolved against.
    pub dir: PathBuf,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The parsed spec.
    pub spec: StudySpec,
    /// The study's output folder.
    pub out: PathBuf,
}

impl LoadedSpec {
    /// Reads and checks a spec file.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = fs_err::read_to_string(path).map_err(|source| SpecError::Read { source })?;
        Self::parse(path, &text)
    }

    /// Parses spec text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SpecError> {
        let spec: StudySpec = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            SpecError::Parse {
                file: path.to_path_buf(),
                line,
                message: e.message().trim().to_owned(),
            }
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let stem = path.file_stem().map_or("study".into(), |s| s.to_string_lossy().into_owned());
        let out = normalize(&match &spec.study.out {
            Some(o) => dir.join(o),
            None => dir.join(format!("{stem}-out")),
        });
        let loaded = Self {
            path: path.to_path_buf(),
            dir,
            sha256: crate::hash::sha256_hex(text.as_bytes()),
            spec,
            out,
        };
        loaded.check(text)?;
        Ok(loaded)
    }

    /// A path from the spec, resolved against its folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        self.dir.join(p)
    }

    fn invalid(&self, text: &str, key: &str, message: String) -> SpecError {
        SpecError::Invalid {
            file: self.path.clone(),
            line: find_key_line(text, key),
            field: key.to_owned(),
            message,
        }
    }

    /// Cross-references the spec holds (names that must exist, exactly one of two fields, …).
    fn check(&self, text: &str) -> Result<(), SpecError> {
        let s = &self.spec;
        if s.study.jobs == 0 {
            return Err(self.invalid(text, "jobs", "expected at least 1".into()));
        }
        if s.students.is_empty() {
            return Err(self.invalid(
                text,
                "students",
                "a study needs at least one student".into(),
            ));
        }
        for (name, st) in &s.students {
            check_name(name).map_err(|m| self.invalid(text, name, m))?;
            let given = usize::from(st.path.is_some())
                + usize::from(st.hub.is_some())
                + usize::from(st.init.is_some());
            if given != 1 {
                return Err(self.invalid(
                    text,
                    name,
                    format!("student `{name}`: give exactly one of `path`, `hub` and `init`"),
                ));
            }
            if st.init.is_some() && st.tokenizer.is_none() {
                return Err(self.invalid(
                    text,
                    name,
                    format!("student `{name}`: a randomly initialised student needs a `tokenizer`"),
                ));
            }
        }
        if let Some(dist) = &s.distill {
            self.check_distill(text, dist)?;
        }
        for (name, d) in &s.datasets {
            check_name(name).map_err(|m| self.invalid(text, name, m))?;
            self.check_distill_refs(text, name, d)?;
            match (d.sizes.is_empty(), d.split) {
                (false, None) => {
                    if d.sizes.contains(&0) {
                        return Err(self.invalid(text, "sizes", "sizes must be positive".into()));
                    }
                    if d.per_group.is_some() {
                        return Err(self.invalid(
                            text,
                            "per-group",
                            format!("dataset `{name}`: `per-group` goes with `split`"),
                        ));
                    }
                }
                (true, Some(_)) => {
                    if d.per_group.unwrap_or(0) == 0 {
                        return Err(self.invalid(
                            text,
                            name,
                            format!("dataset `{name}`: `split` needs a positive `per-group`"),
                        ));
                    }
                }
                _ => {
                    return Err(self.invalid(
                        text,
                        name,
                        format!("dataset `{name}`: give exactly one of `sizes` and `split`"),
                    ));
                }
            }
        }
        for b in &s.baselines {
            match s.students.get(b) {
                None => {
                    return Err(self.invalid(text, "baselines", format!("no student named `{b}`")));
                }
                Some(st) if st.init.is_some() => {
                    return Err(self.invalid(
                        text,
                        "baselines",
                        format!("student `{b}` has no weights to evaluate untrained (`init`)"),
                    ));
                }
                Some(_) => {}
            }
        }
        for grid in &s.runs {
            for st in &grid.students {
                if !s.students.contains_key(st) {
                    return Err(self.invalid(text, "students", format!("no student named `{st}`")));
                }
            }
            for part in &grid.data {
                if self.part(part).is_none() {
                    return Err(self.invalid(
                        text,
                        "data",
                        format!("`{part}` is no dataset part (`<dataset>/<size or group>`)"),
                    ));
                }
            }
            if grid.from.is_empty() {
                return Err(self.invalid(text, "from", "give at least one starting point".into()));
            }
        }
        let g = &s.generate;
        let ways = usize::from(g.endpoint.is_some())
            + usize::from(g.serve)
            + usize::from(g.engine.is_some());
        if ways == 0 {
            return Err(self.invalid(
                text,
                "generate",
                "say how runs are sampled: `engine = \"vllm\"` (or sglang, llama.cpp, valley), \
                 `serve = true` or `endpoint = \"http://…/v1\"`"
                    .into(),
            ));
        }
        if ways > 1 {
            let key = if g.engine.is_some() { "engine" } else { "serve" };
            return Err(self.invalid(
                text,
                key,
                "give one of `engine`, `serve = true` and `endpoint`".into(),
            ));
        }
        if let Some(e) = &g.engine
            && !ENGINES.contains(&e.as_str())
        {
            return Err(self.invalid(
                text,
                "engine",
                format!("unknown engine `{e}` (expected {})", ENGINES.join(", ")),
            ));
        }
        if g.engine.is_none() && !g.serve {
            for (key, set) in [
                ("engine-args", !g.engine_args.is_empty()),
                ("replicas", g.replicas != 1),
                ("tensor-parallel", g.tensor_parallel != 1),
                ("context-length", g.context_length.is_some()),
            ] {
                if set {
                    return Err(self.invalid(text, key, "goes with `engine`".into()));
                }
            }
        }
        if g.replicas == 0 || g.tensor_parallel == 0 {
            let key = if g.replicas == 0 { "replicas" } else { "tensor-parallel" };
            return Err(self.invalid(text, key, "expected at least 1".into()));
        }
        if s.generate.n == 0 {
            return Err(self.invalid(text, "n", "expected at least 1".into()));
        }
        if let Some(style) = &g.prompt_style
            && style != "auto"
        {
            style
                .parse::<valley_types::PromptStyle>()
                .map_err(|m| self.invalid(text, "prompt-style", m))?;
        }
        self.check_benchmark(text)
    }

    /// The benchmark's release and window parse, and the window is not empty by construction.
    fn check_benchmark(&self, text: &str) -> Result<(), SpecError> {
        let b = &self.spec.benchmark;
        if let Some(r) = &b.release {
            r.parse::<valley_types::LcbRelease>().map_err(|m| self.invalid(text, "release", m))?;
        }
        let mut days = [None, None];
        for (slot, (key, v)) in
            days.iter_mut().zip([("start-date", &b.start_date), ("end-date", &b.end_date)])
        {
            if let Some(v) = v {
                let d = v
                    .parse::<valley_types::Day>()
                    .map_err(|m| self.invalid(text, key, format!("`{v}`: {m}")))?;
                *slot = Some(d);
            }
        }
        if let [Some(start), Some(end)] = days
            && start > end
        {
            return Err(self.invalid(
                text,
                "start-date",
                format!("{start} is after end-date {end}: no problem could match"),
            ));
        }
        Ok(())
    }

    /// A dataset's `distill:` values name outputs `[distill]` makes.
    fn check_distill_refs(&self, text: &str, name: &str, d: &DatasetSpec) -> Result<(), SpecError> {
        let refs =
            [Some(("traces", &d.traces)), d.label.as_ref().map(|l| ("problems", &l.problems))];
        for (field, value) in refs.into_iter().flatten() {
            match DistillOutput::of(value) {
                None => {}
                Some(Err(m)) => return Err(self.invalid(text, field, m)),
                Some(Ok(o)) => {
                    let Some(dist) = &self.spec.distill else {
                        return Err(self.invalid(
                            text,
                            field,
                            format!(
                                "dataset `{name}` uses `{}` but the spec has no [distill]",
                                value.display()
                            ),
                        ));
                    };
                    if o == DistillOutput::TacoProblems && dist.taco.is_empty() {
                        return Err(self.invalid(
                            text,
                            field,
                            "`distill:taco-problems` needs TACO's files in [distill] `taco`".into(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn check_distill(&self, text: &str, d: &DistillSpec) -> Result<(), SpecError> {
        if d.ocr2.is_empty() {
            return Err(self.invalid(text, "ocr2", "name OpenCodeReasoning-2's files".into()));
        }
        if d.teachers.is_empty() {
            return Err(self.invalid(text, "teachers", "name at least one teacher".into()));
        }
        for name in d.teachers.keys() {
            check_name(name).map_err(|m| self.invalid(text, name, m))?;
        }
        for src in &d.sources {
            let ok = source_file(src)
                .and_then(|(key, file)| key.rsplit_once(':').map(|(n, sp)| (n, sp, file)))
                .is_some_and(|(n, sp, f)| !n.is_empty() && !sp.is_empty() && !f.is_empty());
            if !ok {
                return Err(self.invalid(
                    text,
                    "sources",
                    format!("`{src}` is not NAME:SPLIT=FILE (e.g. taco:train=F)"),
                ));
            }
        }
        if !matches!(d.taco_split.as_str(), "train" | "test") {
            return Err(self.invalid(text, "taco-split", "expected `train` or `test`".into()));
        }
        Ok(())
    }

    /// The dataset and part a `<dataset>/<part>` reference names, if it exists.
    pub fn part(&self, reference: &str) -> Option<(&str, &DatasetSpec, String)> {
        let (name, part) = reference.split_once('/')?;
        let (key, d) = self.spec.datasets.get_key_value(name)?;
        let ok = match d.split {
            Some(by) => by.parts().contains(&part),
            None => part.parse::<u64>().is_ok_and(|n| d.sizes.contains(&n)),
        };
        ok.then(|| (key.as_str(), d, part.to_owned()))
    }
}

/// `a/b/../c` -> `a/c`, without touching the file system (symlinks are not resolved).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}`: names use letters, digits, `-`, `_` and `.` only"))
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The first line that sets `key` or opens a table named by it (best effort, for messages).
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            let bare = t.trim_start_matches('[').trim_start_matches('"');
            (t.starts_with(key) && t[key.len()..].trim_start().starts_with('='))
                || (t.starts_with('[')
                    && (bare.ends_with(&format!("{key}]")) || bare.contains(&format!(".{key}"))))
                || (t.starts_with(&format!("\"{key}\"")) || t.starts_with(&format!("{key}.")))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[study]
name = "t"
[benchmark]
problems = "p.jsonl"
[students.s]
path = "model"
[generate]
endpoint = "http://127.0.0.1:1/v1"
"#;

    fn check(extra: &str, expect: Result<(), &str>) {
        let text = format!("{MINIMAL}{extra}");
        let got = LoadedSpec::parse(Path::new("/x/study.toml"), &text)
            .map(|_| ())
            .map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(want)) => assert!(e.contains(want), "{e} does not contain {want}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn engine_settings_are_checked() {
        for (generate, want) in [
            ("engine = \"tgi\"", "unknown engine `tgi`"),
            ("engine = \"vllm\"\nendpoint = \"http://h/v1\"", "give one of"),
            ("endpoint = \"http://h/v1\"\nreplicas = 2", "goes with `engine`"),
            ("engine = \"vllm\"\nreplicas = 0", "expected at least 1"),
            ("n = 1", "say how runs are sampled"),
        ] {
            let text = format!(
                "[study]\nname = \"t\"\n[benchmark]\nproblems = \"p\"\n[students.s]\npath = \"m\"\n[generate]\n{generate}\n"
            );
            let e = LoadedSpec::parse(Path::new("/x/s.toml"), &text).unwrap_err().to_string();
            assert!(e.contains(want), "{generate}: {e}");
        }
    }

    #[test]
    fn minimal_spec_loads_with_defaults() {
        let s = LoadedSpec::parse(Path::new("/x/study.toml"), MINIMAL).unwrap();
        assert_eq!(s.out, PathBuf::from("/x/study-out"));
        let g = &s.spec.generate;
        // LiveCodeBench's runner defaults
        assert_eq!((g.n, g.temperature, g.top_p), (10, 0.2, 0.95));
        assert_eq!(s.spec.eval.profile, "lcb");
        assert!(s.spec.report.enabled);
        assert_eq!(s.resolve(Path::new("p.jsonl")), PathBuf::from("/x/p.jsonl"));
    }

    #[test]
    fn bad_specs_name_the_line_and_field() {
        check("", Ok(()));
        check("[datasets.d]\ntraces = \"t\"\nsizes = [1]\nbogus = 1\n", Err("study.toml:13"));
        check("[datasets.d]\ntraces = \"t\"\n", Err("exactly one of `sizes` and `split`"));
        check(
            "[datasets.d]\ntraces = \"t\"\nsplit = \"correctness\"\n",
            Err("positive `per-group`"),
        );
        check("[[runs]]\nstudents = [\"x\"]\ndata = []\n", Err("no student named `x`"));
        check("[[runs]]\nstudents = [\"s\"]\ndata = [\"d/1\"]\n", Err("`d/1` is no dataset part"));
        check("baselines = 1\n", Err("study.toml"));
    }

    /// Issue 13: the benchmark window and the prompt style are checked when the spec loads,
    /// each refusal naming its line and field.
    #[test]
    fn bad_windows_and_styles_name_their_field() {
        let with = |bench: &str, generate: &str| {
            MINIMAL
                .replace("problems = \"p.jsonl\"\n", &format!("problems = \"p\"\n{bench}"))
                .replace("[generate]\n", &format!("[generate]\n{generate}"))
        };
        let parse = |text: String| {
            LoadedSpec::parse(Path::new("/x/study.toml"), &text)
                .map(|s| s.spec.benchmark)
                .map_err(|e| e.to_string())
        };
        let window =
            "release = \"release_v5\"\nstart-date = \"2024-08-01\"\nend-date = \"2025-02-01\"\n";
        let b = parse(with(window, "prompt-style = \"CodeQwenInstruct\"\n")).unwrap();
        assert_eq!(b.lcb_release().map(|r| r.tag()).as_deref(), Some("release_v5"));
        assert_eq!(b.selection().describe(), "contest_date in [2024-08-01, 2025-02-01]");
        assert!(parse(with("", "prompt-style = \"auto\"\n")).is_ok());
        for (bench, generate, want) in [
            ("release = \"v9\"\n", "", "study.toml:6: field `release`"),
            ("start-date = \"2024-13-01\"\n", "", "study.toml:6: field `start-date`"),
            ("start-date = \"2025-01-01\"\nend-date = \"2024-01-01\"\n", "", "after end-date"),
            ("", "prompt-style = \"Claude3\"\n", "field `prompt-style`"),
        ] {
            let e = parse(with(bench, generate)).unwrap_err();
            assert!(e.contains(want), "{e} does not contain {want}");
        }
    }
}
