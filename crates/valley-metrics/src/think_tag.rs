//! Think-tag rate and closed-think rate: how often a response has the teacher's reasoning shape.
//!
//! *Definition.* Think-tag rate: the share of responses that begin (after leading whitespace)
//! with `<think>` (the paper's "`<think>` tag occurrence rate"). Closed-think rate: the share of
//! responses that begin with `<think>` and also close it with `</think>`, i.e. whose answer can be
//! graded under the default extraction policy.
//!
//! *Why it matters.* The tag rate tracks how far a student has taken on the teacher's format; the
//! gap between the two rates is the share of reasoning that never ends.
//!
//! *Example.* `["<think>a</think>b", "<think>a", "b"]` → think-tag 2/3, closed-think 1/3.
//!
//! *Pitfalls.* A chat template that puts `<think>` in the prompt makes responses start inside the
//! reasoning: they show `</think>` without `<think>` and count for neither rate.

use valley_types::{ThinkStatus, parse_response};

use crate::Rate;

/// The share of responses that begin with `<think>`.
pub fn think_tag_rate<'a>(responses: impl IntoIterator<Item = &'a str>) -> Rate {
    Rate::of(responses.into_iter().map(|r| parse_response(r).think.begins_with_think()))
}

/// The share of responses that begin with `<think>` and close it.
pub fn closed_think_rate<'a>(responses: impl IntoIterator<Item = &'a str>) -> Rate {
    Rate::of(responses.into_iter().map(|r| parse_response(r).think == ThinkStatus::WellFormed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(responses: &[&str], tag: u64, closed: u64) {
        let n = responses.len() as u64;
        assert_eq!(think_tag_rate(responses.iter().copied()), Rate { count: tag, total: n });
        assert_eq!(closed_think_rate(responses.iter().copied()), Rate { count: closed, total: n });
    }

    #[test]
    fn shapes() {
        check(&["<think>a</think>b", "<think>a", "b"], 2, 1);
        check(&["  \n<think>a</think>", "x<think>a</think>", "a</think>b"], 1, 1);
        check(&[], 0, 0);
    }

    proptest::proptest! {
        #[test]
        fn closed_never_exceeds_tagged(rs in proptest::collection::vec("(<think>|</think>| |a){0,6}", 0..20)) {
            let tag = think_tag_rate(rs.iter().map(String::as_str));
            let closed = closed_think_rate(rs.iter().map(String::as_str));
            proptest::prop_assert!(closed.count <= tag.count && tag.count <= tag.total);
        }
    }
}
