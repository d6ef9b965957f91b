//! The loss mask: which tokens of a rendered conversation the student is trained on.
//!
//! An assistant turn is located from the template itself: the conversation rendered up to the
//! turn with `add_generation_prompt=True` ends where the turn's content starts, and the
//! conversation rendered through the turn ends after it. The span runs from that start to the
//! end of the last end-of-turn token (`eos_token`, e.g. `<|im_end|>` or `<|eot_id|>`) in the
//! turn, so the end-of-turn token is trained on and text the template puts after it (Qwen's
//! `\n`) is not. A token is masked 1 when its characters overlap a span, as transformers'
//! `return_assistant_tokens_mask` does: a token that straddles the start (the BPE merged the
//! header's last newline with the content's first) is trained on.

use std::ops::Range;

use crate::chat::error::RenderError;
use crate::chat::template::{ChatTemplate, Message};

/// Byte ranges of `full` (all of `messages` rendered without a generation prompt) holding each
/// assistant turn, from its first content byte to the end of its end-of-turn token.
pub fn assistant_spans(
    template: &ChatTemplate,
    messages: &[Message],
    full: &str,
    end_of_turn: Option<&str>,
) -> Result<Vec<Range<usize>>, RenderError> {
    let mut spans = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        if message.role != "assistant" {
            continue;
        }
        let before = template.render(&messages[..i], true)?;
        if !full.starts_with(&before) {
            return Err(RenderError::NotPrefix { message_index: i });
        }
        let through = if i + 1 == messages.len() {
            full.len()
        } else {
            let through = template.render(&messages[..=i], false)?;
            if !full.starts_with(&through) {
                return Err(RenderError::NotPrefix { message_index: i + 1 });
            }
            through.len()
        };
        let start = before.len();
        let through = through.max(start);
        let end = match end_of_turn {
            Some(eot) if !eot.is_empty() => {
                full[start..through].rfind(eot).map_or(through, |p| start + p + eot.len())
            }
            _ => through,
        };
        spans.push(start..end);
    }
    Ok(spans)
}

/// 1 for each token whose `offsets` (byte ranges in the text) overlap one of `spans`, else 0.
/// Both must be sorted by position, as a tokenizer's offsets and [`assistant_spans`] are.
pub fn loss_mask(offsets: &[(usize, usize)], spans: &[Range<usize>]) -> Vec<u8> {
    let mut mask = vec![0u8; offsets.len()];
    let mut s = 0;
    for (m, &(start, end)) in mask.iter_mut().zip(offsets) {
        while s < spans.len() && start >= spans[s].end {
            s += 1;
        }
        let Some(span) = spans.get(s) else { break };
        let overlaps = if start == end {
            span.start <= start && start < span.end
        } else {
            end > span.start && start < span.end
        };
        *m = u8::from(overlaps);
    }
    mask
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const CHATML: &str = "{% for m in messages %}{{ '<|im_start|>' + m.role + '\n' + m.content + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    fn spans(source: &str, messages: &[(&str, &str)]) -> (String, Vec<Range<usize>>) {
        let template = ChatTemplate::new(source, &BTreeMap::new()).unwrap();
        let messages: Vec<Message> = messages.iter().map(|(r, c)| Message::new(*r, *c)).collect();
        let full = template.render(&messages, false).unwrap();
        let spans = assistant_spans(&template, &messages, &full, Some("<|im_end|>")).unwrap();
        (full, spans)
    }

    #[test]
    fn span_covers_content_and_end_of_turn_not_trailing_newline() {
        let (full, s) = spans(CHATML, &[("user", "q"), ("assistant", "a<|im_end|>b")]);
        assert_eq!(s.len(), 1);
        assert_eq!(&full[s[0].clone()], "a<|im_end|>b<|im_end|>");
        assert!(full[s[0].end..] == *"\n");
    }

    #[test]
    fn every_assistant_turn_gets_a_span() {
        let (full, s) = spans(
            CHATML,
            &[
                ("system", "s"),
                ("user", "q1"),
                ("assistant", "a1"),
                ("user", "q2"),
                ("assistant", ""),
            ],
        );
        let texts: Vec<&str> = s.iter().map(|r| &full[r.clone()]).collect();
        assert_eq!(texts, ["a1<|im_end|>", "<|im_end|>"]);
    }

    #[test]
    fn template_rewriting_history_is_refused() {
        // Drops the reasoning of the final assistant turn only when a generation prompt follows.
        let src = "{% for m in messages %}{{ m.content if add_generation_prompt or not loop.last else m.content.split('</think>')[-1] }}|{% endfor %}";
        let template = ChatTemplate::new(src, &BTreeMap::new()).unwrap();
        let messages = [
            Message::new("user", "q"),
            Message::new("assistant", "<think>r</think>a"),
            Message::new("user", "x"),
            Message::new("assistant", "b"),
        ];
        let full = template.render(&messages, false).unwrap();
        let err = assistant_spans(&template, &messages, &full, None).unwrap_err();
        assert!(matches!(err, RenderError::NotPrefix { message_index: 2 }), "{err}");
    }

    /// Spans are given as `(start, end)` pairs.
    fn check_mask(offsets: &[(usize, usize)], spans: &[(usize, usize)], expect: &[u8]) {
        let spans: Vec<Range<usize>> = spans.iter().map(|&(s, e)| s..e).collect();
        assert_eq!(loss_mask(offsets, &spans), expect);
    }

    #[test]
    fn mask_marks_overlapping_tokens() {
        // Tokens: [0,3) [3,5) [5,8) [8,8) [8,10) [10,12); span [4,10).
        check_mask(
            &[(0, 3), (3, 5), (5, 8), (8, 8), (8, 10), (10, 12)],
            &[(4, 10)],
            &[0, 1, 1, 1, 1, 0],
        );
        // Two spans, a token exactly between them.
        check_mask(&[(0, 2), (2, 4), (4, 6), (6, 8)], &[(2, 4), (6, 8)], &[0, 1, 0, 1]);
        check_mask(&[(0, 2)], &[], &[0]);
        check_mask(&[], &[(0, 1)], &[]);
        // A zero-width token at a span's end is outside it.
        check_mask(&[(0, 2), (2, 2)], &[(0, 2)], &[1, 0]);
    }
}
