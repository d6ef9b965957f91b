//! Teacher recipes: the sampling settings a teacher model is published with, and how its
//! responses are shaped, kept in one TOML file (`examples/teachers.toml`).
//!
//! ```toml
//! [teachers.deepseek-r1-0528]
//! model = "deepseek-ai/DeepSeek-R1-0528"
//! temperature = 0.6
//! top-p = 0.95
//! max-tokens = 65536
//! n = 4
//! response-format = "think"
//! ```
//!
//! `valley generate --recipe FILE --teacher NAME` samples with these settings (raw questions as
//! the user turn, optional `system`); `valley data traces` reads `response-format` to bring every
//! response to `<think>…</think>` then the answer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use valley_types::ResponseFormat;

/// A recipe file: teachers by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TeacherRecipe {
    /// The teachers, by the name traces carry.
    pub teachers: BTreeMap<String, Teacher>,
}

/// One teacher's published sampling settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Teacher {
    /// The model's hub id (what an engine loads; the endpoint may serve it under another name).
    pub model: String,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus mass.
    pub top_p: f64,
    /// Completion-token budget.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Samples per question.
    pub n: u32,
    /// A system turn before each question.
    #[serde(default)]
    pub system: Option<String>,
    /// Server-specific request fields (`top_k`, …).
    #[serde(default)]
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    /// How its responses are shaped.
    #[serde(default)]
    pub response_format: ResponseFormat,
    /// Where the settings come from (a model card, a paper), for the reader.
    #[serde(default)]
    pub reference: Option<String>,
}

/// Reading a recipe failed.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// The file could not be read.
    #[error("cannot read the teacher recipe")]
    Read(#[source] std::io::Error),
    /// The file is not a valid recipe.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The recipe.
        path: PathBuf,
        /// The 1-based line at fault, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The recipe has no teacher of that name.
    #[error("{}: no teacher `{name}` (it has: {})", path.display(), known.join(", "))]
    Unknown {
        /// The recipe.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The names it has.
        known: Vec<String>,
    },
}

impl TeacherRecipe {
    /// Reads a recipe file.
    pub fn load(path: &Path) -> Result<Self, RecipeError> {
        let text = fs_err::read_to_string(path).map_err(RecipeError::Read)?;
        Self::parse(path, &text)
    }

    /// Parses recipe text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, RecipeError> {
        let recipe: Self = toml::from_str(text).map_err(|e| RecipeError::Parse {
            path: path.to_path_buf(),
            line: e.span().map(|s| {
                text[..s.start.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
            }),
            message: e.message().trim().to_owned(),
        })?;
        for (name, t) in &recipe.teachers {
            let bad = |message: String| RecipeError::Parse {
                path: path.to_path_buf(),
                line: text.lines().position(|l| l.contains(name.as_str())).map(|i| i + 1),
                message: format!("teacher `{name}`: {message}"),
            };
            if !(t.temperature >= 0.0 && t.temperature.is_finite()) {
                return Err(bad(format!("temperature {} is not a number >= 0", t.temperature)));
            }
            if !(t.top_p > 0.0 && t.top_p <= 1.0) {
                return Err(bad(format!("top-p {} is not in (0, 1]", t.top_p)));
            }
            if t.n == 0 {
                return Err(bad("n must be at least 1".into()));
            }
            if name.is_empty() || name.contains(['/', '=', ' ']) {
                return Err(bad("a teacher name holds no `/`, `=` or space".into()));
            }
        }
        Ok(recipe)
    }

    /// The teacher `name`.
    pub fn teacher(&self, path: &Path, name: &str) -> Result<&Teacher, RecipeError> {
        self.teachers.get(name).ok_or_else(|| RecipeError::Unknown {
            path: path.to_path_buf(),
            name: name.to_owned(),
            known: self.teachers.keys().cloned().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_recipe_and_names_bad_lines() {
        let text = "[teachers.r1]\nmodel = \"m\"\ntemperature = 0.6\ntop-p = 0.95\nn = 4\n\n[teachers.kat]\nmodel = \"k\"\ntemperature = 0.6\ntop-p = 0.95\nn = 3\nresponse-format = \"kat-autothink\"\n";
        let r = TeacherRecipe::parse(Path::new("t.toml"), text).unwrap();
        assert_eq!(r.teachers["kat"].response_format, ResponseFormat::KatAutothink);
        assert_eq!(r.teachers["r1"].response_format, ResponseFormat::Think);
        assert!(
            r.teacher(Path::new("t.toml"), "nope")
                .unwrap_err()
                .to_string()
                .contains("it has: kat, r1")
        );
        let bad = text.replace("top-p = 0.95\nn = 3", "top-p = 0.95\nn = 3\ncolour = 1");
        let e = TeacherRecipe::parse(Path::new("t.toml"), &bad).unwrap_err().to_string();
        assert!(e.starts_with("t.toml:12:") && e.contains("colour"), "{e}");
        let zero = text.replace("n = 4", "n = 0");
        assert!(
            TeacherRecipe::parse(Path::new("t.toml"), &zero)
                .unwrap_err()
                .to_string()
                .contains("n must be")
        );
    }
}
