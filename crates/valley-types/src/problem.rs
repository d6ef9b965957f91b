//! A programming problem with its tests, in one shape for every benchmark format.

use serde::{Deserialize, Serialize};

/// A problem and how candidates are tested on it. Parsing dataset rows (LiveCodeBench, TACO,
/// HumanEval/MBPP) into this shape is done by `valley-judge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Benchmark identifier (`abc350_c`, `two-sum`, `HumanEval/0`…).
    pub question_id: String,
    /// How a program is run on the tests.
    pub style: TestStyle,
    /// The test cases, in grading order (for LiveCodeBench: public, then private).
    pub tests: Vec<TestCase>,
    /// Difficulty label, when the row has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<String>,
    /// `atcoder`, `codeforces`, `leetcode`… when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Contest date (ISO 8601), for benchmark windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contest_date: Option<String>,
    /// The record format the problem was read from.
    pub format: ProblemFormat,
}

/// Dataset row formats the judge reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemFormat {
    /// LiveCodeBench `code_generation_lite` rows.
    Lcb,
    /// TACO/APPS rows with an `input_output` JSON.
    Taco,
    /// HumanEval/MBPP rows: test code with asserts.
    Assert,
}

impl ProblemFormat {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lcb => "lcb",
            Self::Taco => "taco",
            Self::Assert => "assert",
        }
    }
}

impl std::str::FromStr for ProblemFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lcb" => Ok(Self::Lcb),
            "taco" => Ok(Self::Taco),
            "assert" => Ok(Self::Assert),
            _ => Err(format!("unknown problem format `{s}` (expected lcb, taco or assert)")),
        }
    }
}

/// How a candidate program meets its tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TestStyle {
    /// A whole program: each test's input on stdin, expected text on stdout.
    Stdin,
    /// A function (or `Solution` method) called with each test's arguments.
    Call {
        /// The function or method name.
        fn_name: String,
    },
    /// Test code (asserts, or a `check` function) appended to the candidate and run once.
    Assert {
        /// The test code.
        test: String,
        /// The function `check` is called on (HumanEval); empty when the asserts call it.
        entry_point: String,
        /// The prompt, prepended when a candidate completes only the function body.
        prompt: String,
    },
}

/// One test: an input and the expected output. LiveCodeBench tests hold text on both sides
/// (call-based inputs are one JSON value per line); TACO call-based tests hold JSON values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// Stdin text, or the call's arguments.
    pub input: serde_json::Value,
    /// Expected stdout text, or the expected return value.
    pub output: serde_json::Value,
}
