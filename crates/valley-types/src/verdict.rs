//! The judge's verdict on one candidate, and the record `valley judge` writes for it.

use serde::{Deserialize, Serialize};

/// How a candidate fared. A failing program is a verdict; `JudgeError` is reserved for faults of
/// the judge itself.
///
/// *Definition*: the outcome of the first failing test (profiles that run every test still
/// report the first failure), or `AC` when every test passes.
/// *Why it matters*: `AC` is what pass@k and the `correct` label count.
/// *Example*: a program printing `6.0` where `6` is expected is `AC` under `lcb` (numeric
/// comparison) and `WA` under `taco`.
/// *Pitfalls*: `NO_CODE` and `CE` are failures, like `WA`; verdicts depend on the profile and on
/// the Python version, both recorded next to every verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    /// Accepted: every test passed.
    #[serde(rename = "AC")]
    Accepted,
    /// Wrong answer.
    #[serde(rename = "WA")]
    WrongAnswer,
    /// Time limit exceeded (a test's limit, or the whole record's deadline).
    #[serde(rename = "TLE")]
    TimeLimit,
    /// Memory limit exceeded.
    #[serde(rename = "MLE")]
    MemoryLimit,
    /// Output limit exceeded.
    #[serde(rename = "OLE")]
    OutputLimit,
    /// Runtime error: an exception, a non-zero exit or a signal.
    #[serde(rename = "RE")]
    RuntimeError,
    /// The program does not compile.
    #[serde(rename = "CE")]
    CompileError,
    /// No code could be extracted from the response.
    #[serde(rename = "NO_CODE")]
    NoCode,
    /// The judge failed (never the candidate's fault).
    #[serde(rename = "JUDGE_ERROR")]
    JudgeError,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 9] = [
        Self::Accepted,
        Self::WrongAnswer,
        Self::TimeLimit,
        Self::MemoryLimit,
        Self::OutputLimit,
        Self::RuntimeError,
        Self::CompileError,
        Self::NoCode,
        Self::JudgeError,
    ];

    /// The verdict's short name (`AC`, `WA`, …), as written in records.
    pub fn code(self) -> &'static str {
        match self {
            Self::Accepted => "AC",
            Self::WrongAnswer => "WA",
            Self::TimeLimit => "TLE",
            Self::MemoryLimit => "MLE",
            Self::OutputLimit => "OLE",
            Self::RuntimeError => "RE",
            Self::CompileError => "CE",
            Self::NoCode => "NO_CODE",
            Self::JudgeError => "JUDGE_ERROR",
        }
    }

    /// Parses a short name.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.code() == code)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Where and why a candidate first failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstFailure {
    /// Index of the failing test; `None` when the failure happened before any test (compile or
    /// setup error, the whole interpreter dying).
    pub test: Option<usize>,
    /// What happened. Failures of the grading process itself (record deadline, interpreter
    /// killed) start with `harness:`.
    pub reason: String,
}

/// The verdict record `valley judge` writes, one per candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRecord {
    /// The candidate judged.
    pub candidate_id: String,
    /// Its problem.
    pub question_id: String,
    /// The outcome.
    pub verdict: Verdict,
    /// Tests passed.
    pub passed: usize,
    /// Tests the problem defines.
    pub total: usize,
    /// The first failure, or `None` when accepted.
    pub first_failure: Option<FirstFailure>,
    /// CPU time of the grading process, milliseconds.
    pub cpu_ms: u64,
    /// Wall time of the grading process, milliseconds.
    pub wall_ms: u64,
    /// The judge profile (`lcb`, `taco`, `taco-strict`, `strict`).
    pub profile: String,
    /// Tests actually run (profiles that stop at the first failure run fewer than `total`).
    pub tests_run: usize,
    /// Python version of the interpreter that ran the program.
    pub python: String,
}

impl VerdictRecord {
    /// Whether the candidate is correct (`AC`).
    pub fn correct(&self) -> bool {
        self.verdict == Verdict::Accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_codes_round_trip_through_json_and_names() {
        for v in Verdict::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.code()));
            assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
            assert_eq!(Verdict::from_code(v.code()), Some(v));
        }
        assert_eq!(Verdict::from_code("PE"), None);
    }
}
