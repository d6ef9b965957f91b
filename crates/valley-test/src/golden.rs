//! Golden files: a command's output compared byte for byte with a committed file.

use std::path::Path;

/// Set to `1` to rewrite the golden files with the current output instead of comparing.
pub const BLESS: &str = "VALLEY_BLESS";

/// Asserts that `actual` equals the file at `golden` byte for byte; with `VALLEY_BLESS=1`,
/// writes `actual` there instead.
pub fn assert_golden(golden: &Path, actual: &str) {
    if std::env::var(BLESS).is_ok_and(|v| v == "1") {
        std::fs::write(golden, actual)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", golden.display()));
        return;
    }
    let want = std::fs::read_to_string(golden).unwrap_or_else(|e| {
        panic!("cannot read {}: {e} (run with {BLESS}=1 to write it)", golden.display())
    });
    if want != actual {
        let line = want.lines().zip(actual.lines()).position(|(a, b)| a != b);
        panic!(
            "{} differs (first differing line: {}); if the change is meant, rerun with \
             {BLESS}=1 and commit the file\n--- got ---\n{actual}",
            golden.display(),
            line.map_or_else(|| "a missing or extra line".to_owned(), |l| (l + 1).to_string()),
        );
    }
}

/// `valley eval`'s `metrics.json` and `report.md` in `dir`, as one text, with what differs
/// from run to run blanked: the judge's wall time and the Python version.
pub fn eval_outputs(dir: &Path) -> String {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join(name).display()))
    };
    let mut out = String::from("== metrics.json ==\n");
    for line in read("metrics.json").lines() {
        let comma = if line.ends_with(',') { "," } else { "" };
        if line.starts_with("  \"judge_wall_s\": ") {
            out.push_str(&format!("  \"judge_wall_s\": 0.0{comma}\n"));
        } else if line.starts_with("  \"python\": ") {
            out.push_str(&format!("  \"python\": \"PYTHON\"{comma}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("== report.md ==\n");
    for line in read("report.md").lines() {
        match line.find("(python ") {
            Some(at) if line.starts_with("- judge profile: ") => {
                out.push_str(&line[..at]);
                out.push_str("(python PYTHON)\n");
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}
