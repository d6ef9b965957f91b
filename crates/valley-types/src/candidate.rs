//! A candidate solution to judge: code, or a model response to extract it from.

use serde::{Deserialize, Serialize};

/// A program submitted for a problem. When `code` is absent, the code is extracted from
/// `response` with [`crate::extract_code`]. A record with neither is refused when read: a
/// column under another name (`solution`) would otherwise make every candidate `NO_CODE`
/// (issue 14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCandidate")]
pub struct Candidate {
    /// Unique identifier of this candidate.
    pub candidate_id: String,
    /// The problem it answers.
    pub question_id: String,
    /// The program, already extracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The raw model output the program is extracted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

/// A candidate as written, before the check that it carries `code` or `response`.
#[derive(Deserialize)]
struct RawCandidate {
    candidate_id: String,
    question_id: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    response: Option<String>,
}

impl TryFrom<RawCandidate> for Candidate {
    type Error = String;

    fn try_from(r: RawCandidate) -> Result<Self, String> {
        if r.code.is_none() && r.response.is_none() {
            // worded as serde words a missing field, so readers name the field
            return Err(
                "missing field `code` (a candidate needs `code` or `response`; map another \
                        column with --field code=COLUMN)"
                    .into(),
            );
        }
        Ok(Self {
            candidate_id: r.candidate_id,
            question_id: r.question_id,
            code: r.code,
            response: r.response,
        })
    }
}

impl Candidate {
    /// The program to run: `code`, else the code `mode` extracts from `response`; `None` when
    /// there is none.
    pub fn program(&self, mode: crate::ExtractMode) -> Option<String> {
        match (&self.code, &self.response) {
            (Some(code), _) => Some(code.clone()),
            (None, Some(response)) => crate::extract_code(response, mode),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExtractMode;

    fn check(code: Option<&str>, response: Option<&str>, expect: Option<&str>) {
        let c = Candidate {
            candidate_id: "c".into(),
            question_id: "q".into(),
            code: code.map(Into::into),
            response: response.map(Into::into),
        };
        assert_eq!(c.program(ExtractMode::Lcb).as_deref(), expect);
    }

    #[test]
    fn code_wins_over_response_and_response_is_extracted() {
        check(Some("print(1)"), Some("```\nprint(2)\n```"), Some("print(1)"));
        check(None, Some("text\n```python\nprint(2)\n```\n"), Some("print(2)"));
        check(None, Some("no fence"), None);
        check(None, None, None);
    }

    #[test]
    fn a_record_with_neither_code_nor_response_is_refused() {
        let read = |v: serde_json::Value| serde_json::from_value::<Candidate>(v);
        let e = read(serde_json::json!({"candidate_id": "c", "question_id": "q", "solution": "x"}))
            .unwrap_err();
        assert!(e.to_string().starts_with("missing field `code`"), "{e}");
        assert!(
            read(serde_json::json!({"candidate_id": "c", "question_id": "q", "code": "x"})).is_ok()
        );
        let r = read(serde_json::json!({"candidate_id": "c", "question_id": "q", "response": "x"}));
        assert!(r.is_ok());
    }
}
