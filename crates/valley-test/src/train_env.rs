//! The training engines' Python in tests: the venv `scripts/setup.d/65-train-engines.sh` makes
//! (`.cache/train-engines`, with torch, transformers and TRL), exported as `VALLEY_TRAIN_PYTHON`
//! in `.cache/env.sh`.

use std::path::Path;

/// The variable that names the training engines' interpreter.
pub const TRAIN_PYTHON_ENV: &str = "VALLEY_TRAIN_PYTHON";

/// The file in which the setup step records why an engine was not installed (too little disk,
/// a failed pip install), a line per engine.
const UNAVAILABLE: &str = ".cache/train-engines.unavailable";

/// `$VALLEY_TRAIN_PYTHON`, or a gated skip ([`crate::gate`]) that names the variable and, where
/// the setup step recorded one, why it did not install the engines.
pub fn train_python() -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    crate::gate::env(TRAIN_PYTHON_ENV, how(&root))
}

/// How to get the engines: the setup step, and what it said the last time it ran here.
fn how(root: &Path) -> String {
    let step = "scripts/setup.d/65-train-engines.sh, then source .cache/env.sh";
    match std::fs::read_to_string(root.join(UNAVAILABLE)) {
        Ok(why) if !why.trim().is_empty() => {
            format!(
                "{step} (its last run here did not install them: {})",
                why.trim().replace('\n', "; ")
            )
        }
        _ => step.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_steps_recorded_reason_is_part_of_how() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            how(dir.path()),
            "scripts/setup.d/65-train-engines.sh, then source .cache/env.sh"
        );
        std::fs::create_dir(dir.path().join(".cache")).unwrap();
        std::fs::write(
            dir.path().join(UNAVAILABLE),
            "all engines: only 9 GB free under .cache, the install needs 12 GB\n",
        )
        .unwrap();
        assert_eq!(
            how(dir.path()),
            "scripts/setup.d/65-train-engines.sh, then source .cache/env.sh (its last run here \
             did not install them: all engines: only 9 GB free under .cache, the install needs \
             12 GB)"
        );
    }
}
