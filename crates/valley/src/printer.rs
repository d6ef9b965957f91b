//! Printing summaries: a JSON object on stdout with `--json`, readable lines otherwise.

use std::io::Write;

use serde::Serialize;

/// Prints `summary` as one JSON object (with `--json`) or as the `human` text.
pub(crate) fn summary<T: Serialize>(json: bool, summary: &T, human: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, summary)?;
        out.write_all(b"\n")?;
    } else {
        out.write_all(human.as_bytes())?;
        if !human.ends_with('\n') {
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}
