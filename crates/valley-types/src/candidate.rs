//! A candidate solution to judge: code, or a model response to extract it from.

use serde::{Deserialize, Serialize};

/// A program submitted for a problem. When `code` is absent, the code is extracted from
/// `response` with [`crate::extract_code`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}
