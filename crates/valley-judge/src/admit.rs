//! Checking a problem's tests against the profile before judging (issue 14): a grader handed
//! tests in a shape it cannot read fails every candidate (a TACO call-based row under
//! LiveCodeBench's grader gives correct code `RE`), which is the dataset's fault, not the
//! model's. [`Profile::admit`] refuses such a problem, naming the test and why, and reads
//! LiveCodeBench call-based rows under TACO's grader as TACO's grader reads the equivalent TACO
//! row.

use serde_json::Value;
use valley_types::{Problem, ProblemFormat, TestStyle};

use crate::Profile;

/// A problem the profile's grader cannot judge as it is stored.
#[derive(Debug, thiserror::Error)]
#[error("problem `{question_id}`{}: {message}", test.map(|t| format!(", test {t}")).unwrap_or_default())]
pub struct AdmitProblemError {
    /// The problem.
    pub question_id: String,
    /// The test at fault (from 0), when one is.
    pub test: Option<usize>,
    /// Why, and what to do.
    pub message: String,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// LiveCodeBench's call-based text: one JSON value per line of the input.
fn parse_lines(text: &str) -> Result<Vec<Value>, String> {
    text.split('\n')
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| format!("argument line {} is not JSON ({e}): {line:.60}", i + 1))
        })
        .collect()
}

impl Profile {
    /// The problem as this profile's grader must receive it, or why it cannot judge it:
    /// - `lcb`: every input and expected output is text (LiveCodeBench reads call arguments as
    ///   one JSON value per line, and parses them; a TACO call-based row's argument lists are
    ///   refused);
    /// - `taco`: a LiveCodeBench call-based row becomes the equivalent TACO row (each test's
    ///   arguments as a list, the expected value wrapped in a list as TACO stores it), so
    ///   TACO's comparison sees `6`, not the text `"6"`;
    /// - `taco-strict`, `strict`: both encodings are read as they are; text must parse.
    ///
    /// Stdin tests must be text (TACO also takes a list of lines). Assert-style rows pass.
    pub fn admit(self, mut problem: Problem) -> Result<Problem, AdmitProblemError> {
        let fail = |test: Option<usize>, message: String| AdmitProblemError {
            question_id: problem.question_id.clone(),
            test,
            message,
        };
        match &problem.style {
            TestStyle::Assert { .. } => {}
            TestStyle::Stdin => {
                let lines_ok = matches!(self, Self::Taco | Self::TacoStrict);
                for (i, t) in problem.tests.iter().enumerate() {
                    for (side, v) in [("input", &t.input), ("expected output", &t.output)] {
                        let ok = match v {
                            Value::String(_) => true,
                            Value::Array(a) => lines_ok && a.iter().all(Value::is_string),
                            _ => false,
                        };
                        if !ok {
                            return Err(fail(
                                Some(i),
                                format!(
                                    "a stdin test's {side} is a JSON {}, not text; the {self} grader \
                                     cannot run it",
                                    kind(v)
                                ),
                            ));
                        }
                    }
                }
            }
            TestStyle::Call { .. } => {
                let mut converted = Vec::new();
                for (i, t) in problem.tests.iter().enumerate() {
                    match (&t.input, self) {
                        (Value::String(text), _) => {
                            let args = parse_lines(text).map_err(|m| fail(Some(i), m))?;
                            let Value::String(out) = &t.output else {
                                return Err(fail(
                                    Some(i),
                                    format!(
                                        "the arguments are text (LiveCodeBench's encoding) but the \
                                         expected value is a JSON {}",
                                        kind(&t.output)
                                    ),
                                ));
                            };
                            let want: Value = serde_json::from_str(out).map_err(|e| {
                                fail(
                                    Some(i),
                                    format!("the expected value is not JSON ({e}): {out:.60}"),
                                )
                            })?;
                            converted.push((Value::Array(args), Value::Array(vec![want])));
                        }
                        (Value::Array(_), Self::Lcb) => {
                            return Err(fail(
                                Some(i),
                                "the arguments are a JSON list (TACO's call-based encoding); \
                                 LiveCodeBench's grader reads each argument from a line of text and \
                                 would fail every candidate: judge this row with --profile taco or \
                                 strict"
                                    .into(),
                            ));
                        }
                        (Value::Array(_), _) => {}
                        (other, _) => {
                            return Err(fail(
                                Some(i),
                                format!(
                                    "a call-based test's arguments are a JSON {}, neither text nor a \
                                     list",
                                    kind(other)
                                ),
                            ));
                        }
                    }
                }
                // Only TACO's lenient grader needs the conversion: it compares the returned value
                // with the stored one (or its first element) and never parses text.
                if self == Self::Taco && problem.format == ProblemFormat::Lcb {
                    for (t, (args, want)) in problem.tests.iter_mut().zip(converted) {
                        t.input = args;
                        t.output = want;
                    }
                }
            }
        }
        Ok(problem)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use valley_types::TestCase;

    use super::*;

    fn problem(style: TestStyle, format: ProblemFormat, tests: &[(Value, Value)]) -> Problem {
        Problem {
            question_id: "q".into(),
            style,
            tests: tests
                .iter()
                .map(|(i, o)| TestCase { input: i.clone(), output: o.clone() })
                .collect(),
            difficulty: None,
            platform: None,
            contest_date: None,
            format,
        }
    }

    fn call() -> TestStyle {
        TestStyle::Call { fn_name: "f".into() }
    }

    #[test]
    fn lcb_call_rows_become_taco_rows_under_taco_only() {
        let lcb = problem(call(), ProblemFormat::Lcb, &[(json!("[1, 2]\n3"), json!("6"))]);
        let taco = Profile::Taco.admit(lcb.clone()).unwrap();
        assert_eq!(taco.tests[0].input, json!([[1, 2], 3]));
        assert_eq!(taco.tests[0].output, json!([6]), "wrapped, as TACO stores outputs");
        for p in [Profile::Lcb, Profile::TacoStrict, Profile::Strict] {
            assert_eq!(p.admit(lcb.clone()).unwrap(), lcb, "{p}");
        }
    }

    #[test]
    fn taco_call_rows_are_refused_under_lcb() {
        let taco = problem(call(), ProblemFormat::Taco, &[(json!([[1, 2]]), json!([3]))]);
        let e = Profile::Lcb.admit(taco.clone()).unwrap_err();
        assert_eq!(e.test, Some(0));
        assert!(e.to_string().contains("--profile taco"), "{e}");
        for p in [Profile::Taco, Profile::TacoStrict, Profile::Strict] {
            assert_eq!(p.admit(taco.clone()).unwrap(), taco, "{p}");
        }
    }

    #[test]
    fn tests_no_grader_can_read_are_refused_under_every_profile() {
        let bad = [
            problem(
                call(),
                ProblemFormat::Lcb,
                &[(json!("1"), json!("2")), (json!("x y"), json!("2"))],
            ),
            problem(call(), ProblemFormat::Lcb, &[(json!("1"), json!("not json"))]),
            problem(call(), ProblemFormat::Lcb, &[(json!("1"), json!(2))]),
            problem(call(), ProblemFormat::Taco, &[(json!({"a": 1}), json!(2))]),
            problem(TestStyle::Stdin, ProblemFormat::Lcb, &[(json!("1\n"), json!(1))]),
        ];
        for p in Profile::ALL {
            for b in &bad {
                assert!(p.admit(b.clone()).is_err(), "{p}: {b:?}");
            }
        }
        let lines =
            problem(TestStyle::Stdin, ProblemFormat::Taco, &[(json!(["1", "2"]), json!("3"))]);
        assert!(Profile::Taco.admit(lines.clone()).is_ok());
        assert!(Profile::Lcb.admit(lines).is_err());
    }
}
