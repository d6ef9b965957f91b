//! No-code rate: the share of responses from which the extraction policy finds no program.
//!
//! *Definition.* Over all responses, those for which `valley_types::extract_code` returns
//! nothing under the chosen `ExtractMode` (by default: no complete fenced block after
//! `</think>`, or reasoning that never closes). These are graded as failures (`NO_CODE`).
//!
//! *Why it matters.* It separates "wrote wrong code" from "never submitted": a student that
//! loops in its reasoning has a high no-code rate and a low completion rate.
//!
//! *Example.* Under `after-think`, `["<think>x</think>\n```py\n1\n```", "<think>\n```py\n1\n```"]`
//! → 1/2 (the second response's only block is a draft inside unclosed reasoning).
//!
//! *Pitfalls.* The rate depends on the extraction mode; report which one ran.

use valley_types::{ExtractMode, extract_code};

use crate::Rate;

/// The share of responses with no extractable code under `mode`.
pub fn no_code_rate<'a>(responses: impl IntoIterator<Item = &'a str>, mode: ExtractMode) -> Rate {
    Rate::of(responses.into_iter().map(|r| extract_code(r, mode).is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_the_mode() {
        let rs = ["<think>x</think>\n```py\n1\n```", "<think>\n```py\n1\n```", "plain"];
        assert_eq!(no_code_rate(rs, ExtractMode::AfterThink), Rate { count: 2, total: 3 });
        assert_eq!(no_code_rate(rs, ExtractMode::LastBlock), Rate { count: 1, total: 3 });
    }
}
