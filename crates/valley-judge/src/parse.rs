//! Reading problem rows: LiveCodeBench `code_generation_lite`, TACO `input_output`, and
//! assert-style HumanEval/MBPP rows, into [`Problem`].

use std::io::Read;

use base64::Engine;
use serde_json::Value;
use valley_types::{Problem, ProblemFormat, TestCase, TestStyle};

use crate::ParseProblemError;

/// Detects a row's format (or uses `format`) and reads it.
pub fn parse_problem(
    row: &Value,
    format: Option<ProblemFormat>,
) -> Result<Problem, ParseProblemError> {
    let format = match format {
        Some(f) => f,
        None => detect(row).ok_or(ParseProblemError::UnknownFormat)?,
    };
    match format {
        ProblemFormat::Lcb => lcb(row),
        ProblemFormat::Taco => taco(row),
        ProblemFormat::Assert => assert_style(row),
    }
}

fn detect(row: &Value) -> Option<ProblemFormat> {
    let has = |k: &str| row.get(k).is_some_and(|v| !v.is_null());
    if has("public_test_cases") || has("private_test_cases") {
        Some(ProblemFormat::Lcb)
    } else if has("input_output") {
        Some(ProblemFormat::Taco)
    } else if has("test") || has("test_list") {
        Some(ProblemFormat::Assert)
    } else {
        None
    }
}

fn text(row: &Value, field: &'static str) -> Result<Option<String>, ParseProblemError> {
    match row.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ParseProblemError::Invalid { field, message: "expected a string".into() }),
    }
}

/// A problem row's id as [`parse_problem`] reads it: its `question_id`, else `task_id`,
/// `problem_id` or `id`; without reading (or decoding) its tests.
pub fn problem_id(row: &Value) -> Result<String, ParseProblemError> {
    for field in ["question_id", "task_id", "problem_id", "id"] {
        if let Some(s) = text(row, field)? {
            return Ok(s);
        }
    }
    Err(ParseProblemError::Missing("question_id"))
}

/// A JSON value that may be stored as a JSON string (as on the Hugging Face hub).
fn json_field(row: &Value, field: &'static str) -> Result<Option<Value>, ParseProblemError> {
    match row.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|e| {
            ParseProblemError::Invalid { field, message: format!("invalid JSON: {e}") }
        }),
        Some(v) => Ok(Some(v.clone())),
    }
}

/// Decodes an LCB test list: a JSON array, a JSON string of one, or LCB's
/// base64(zlib(pickle(JSON string))) encoding of the private tests.
pub fn decode_test_list(value: &Value) -> Result<Vec<TestCase>, String> {
    decode_tests(value).map(|(tests, _)| tests)
}

/// The tests, and whether any is marked `"testtype": "functional"`.
fn decode_tests(value: &Value) -> Result<(Vec<TestCase>, bool), String> {
    let list = match value {
        Value::Null => return Ok((Vec::new(), false)),
        Value::Array(_) => value.clone(),
        Value::String(s) if s.trim().is_empty() => return Ok((Vec::new(), false)),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v) => v,
            Err(_) => serde_json::from_str(&unpack_lcb(s)?)
                .map_err(|e| format!("decoded private tests are not JSON: {e}"))?,
        },
        _ => return Err("expected a list of tests or a string".into()),
    };
    let Value::Array(items) = list else { return Err("expected a list of tests".into()) };
    let functional =
        items.iter().any(|t| t.get("testtype").and_then(Value::as_str) == Some("functional"));
    let tests = items
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let input =
                t.get("input").cloned().ok_or_else(|| format!("test {i} has no `input`"))?;
            let output =
                t.get("output").cloned().ok_or_else(|| format!("test {i} has no `output`"))?;
            Ok(TestCase { input, output })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((tests, functional))
}

fn unpack_lcb(s: &str) -> Result<String, String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(s.trim().as_bytes())
        .map_err(|e| format!("neither JSON nor base64: {e}"))?;
    let mut pickled = Vec::new();
    flate2::read::ZlibDecoder::new(&raw[..])
        .read_to_end(&mut pickled)
        .map_err(|e| format!("base64 payload is not zlib data: {e}"))?;
    crate::pickle::unpickle_str(&pickled).map_err(|e| e.to_string())
}

fn lcb(row: &Value) -> Result<Problem, ParseProblemError> {
    let mut tests = Vec::new();
    let mut functional = false;
    for field in ["public_test_cases", "private_test_cases"] {
        if let Some(v) = row.get(field) {
            let (list, f) =
                decode_tests(v).map_err(|message| ParseProblemError::Invalid { field, message })?;
            tests.extend(list);
            functional |= f;
        }
    }
    let fn_name = match json_field(row, "metadata")? {
        Some(Value::Object(m)) => match m.get("func_name") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    };
    if functional && fn_name.is_none() {
        // run as stdin programs, every candidate would fail (issue 14)
        return Err(ParseProblemError::Invalid {
            field: "metadata",
            message: "the tests are functional (`testtype`) but there is no `func_name` to call"
                .into(),
        });
    }
    Ok(Problem {
        question_id: problem_id(row)?,
        style: fn_name.map_or(TestStyle::Stdin, |fn_name| TestStyle::Call { fn_name }),
        tests,
        difficulty: text(row, "difficulty")?,
        platform: text(row, "platform")?,
        contest_date: text(row, "contest_date")?,
        format: ProblemFormat::Lcb,
    })
}

fn taco(row: &Value) -> Result<Problem, ParseProblemError> {
    let field = "input_output";
    let io = json_field(row, field)?.ok_or(ParseProblemError::Missing(field))?;
    let list = |k: &str| match io.get(k) {
        Some(Value::Array(a)) => Ok(a.clone()),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => {
            Err(ParseProblemError::Invalid { field, message: format!("`{k}` is not a list") })
        }
    };
    let (inputs, outputs) = (list("inputs")?, list("outputs")?);
    if inputs.len() != outputs.len() {
        return Err(ParseProblemError::Invalid {
            field,
            message: format!("{} inputs but {} outputs", inputs.len(), outputs.len()),
        });
    }
    let style = match io.get("fn_name") {
        Some(Value::String(s)) if !s.is_empty() => TestStyle::Call { fn_name: s.clone() },
        _ => TestStyle::Stdin,
    };
    Ok(Problem {
        question_id: problem_id(row)?,
        style,
        tests: inputs
            .into_iter()
            .zip(outputs)
            .map(|(input, output)| TestCase { input, output })
            .collect(),
        difficulty: text(row, "difficulty")?,
        platform: text(row, "source")?,
        contest_date: None,
        format: ProblemFormat::Taco,
    })
}

fn assert_style(row: &Value) -> Result<Problem, ParseProblemError> {
    let test = match (text(row, "test")?, row.get("test_list")) {
        (Some(t), _) => t,
        (None, Some(Value::Array(asserts))) => {
            let mut lines: Vec<String> = text(row, "test_setup_code")?.into_iter().collect();
            for a in asserts {
                let Value::String(s) = a else {
                    return Err(ParseProblemError::Invalid {
                        field: "test_list",
                        message: "expected strings".into(),
                    });
                };
                lines.push(s.clone());
            }
            lines.join("\n")
        }
        _ => return Err(ParseProblemError::Missing("test")),
    };
    Ok(Problem {
        question_id: problem_id(row)?,
        style: TestStyle::Assert {
            test,
            entry_point: text(row, "entry_point")?.unwrap_or_default(),
            prompt: text(row, "prompt")?.unwrap_or_default(),
        },
        tests: Vec::new(),
        difficulty: text(row, "difficulty")?,
        platform: None,
        contest_date: None,
        format: ProblemFormat::Assert,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(row: Value, expect_style: TestStyle, expect_tests: usize) {
        let p = parse_problem(&row, None).unwrap();
        assert_eq!(p.style, expect_style);
        assert_eq!(p.tests.len(), expect_tests);
    }

    #[test]
    fn reads_each_format() {
        let public = r#"[{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]"#;
        check(
            json!({"question_id": "a", "public_test_cases": public, "private_test_cases": "", "metadata": "{}"}),
            TestStyle::Stdin,
            1,
        );
        check(
            json!({"question_id": "b", "public_test_cases": [], "metadata": {"func_name": "f"}}),
            TestStyle::Call { fn_name: "f".into() },
            0,
        );
        check(
            json!({"id": 3, "input_output": r#"{"inputs": [[1, 2]], "outputs": [3], "fn_name": "add"}"#}),
            TestStyle::Call { fn_name: "add".into() },
            1,
        );
        check(
            json!({"task_id": 11, "test_list": ["assert f(1) == 1"], "test_setup_code": ""}),
            TestStyle::Assert {
                test: "\nassert f(1) == 1".into(),
                entry_point: String::new(),
                prompt: String::new(),
            },
            0,
        );
        let functional = r#"[{"input": "1", "output": "2", "testtype": "functional"}]"#;
        let e = parse_problem(
            &json!({"question_id": "c", "public_test_cases": functional, "metadata": "{}"}),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("func_name"), "{e}");
        assert!(matches!(
            parse_problem(&json!({"x": 1}), None),
            Err(ParseProblemError::UnknownFormat)
        ));
    }

    #[test]
    fn decodes_lcb_compressed_private_tests() {
        // base64(zlib(pickle.dumps('[{"input": "1", "output": "2"}]', protocol=4)))
        let packed = "eJxrYJmqzAABPfLR1UqZeQWlJUpWCkqGSjoKSvmlJVCukVJt7BQ9APfMC64=";
        let tests = decode_test_list(&Value::String(packed.into())).unwrap();
        assert_eq!(tests, vec![TestCase { input: json!("1"), output: json!("2") }]);
        assert!(decode_test_list(&json!("not base64 !!")).is_err());
    }
}
