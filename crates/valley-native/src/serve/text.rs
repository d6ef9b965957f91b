//! Text of a generation as it grows, token by token: incremental detokenisation that never
//! emits half a character (byte-level BPE splits UTF-8 across tokens), stop strings found across
//! token boundaries, and the tail that might still become a stop string held back from a stream.

use tokenizers::Tokenizer;

/// One generation's text.
#[derive(Debug, Clone, Default)]
pub struct TextStream {
    tokens: Vec<u32>,
    /// Tokens `prefix..read` were last decoded as the context of the next piece.
    prefix: usize,
    read: usize,
    /// The text decoded so far, stop strings not cut.
    text: String,
    /// Bytes of `text` already handed out.
    sent: usize,
    stop: Vec<String>,
    /// Where a stop string was found (the text ends there).
    stopped_at: Option<usize>,
}

impl TextStream {
    pub fn new(stop: Vec<String>) -> Self {
        Self { stop: stop.into_iter().filter(|s| !s.is_empty()).collect(), ..Self::default() }
    }

    /// The tokens so far.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Adds a token; `true` when the text now contains a stop string (generation ends).
    pub fn push(&mut self, tok: &Tokenizer, token: u32) -> bool {
        self.tokens.push(token);
        let decode = |ids: &[u32]| tok.decode(ids, true).unwrap_or_default();
        let before = decode(&self.tokens[self.prefix..self.read]);
        let after = decode(&self.tokens[self.prefix..]);
        if after.len() > before.len() && !after.ends_with('\u{fffd}') && after.starts_with(&before)
        {
            let from = self.text.len();
            self.text.push_str(&after[before.len()..]);
            self.prefix = self.read;
            self.read = self.tokens.len();
            // a stop string may start in earlier text and end in the new piece
            let longest = self.stop.iter().map(String::len).max().unwrap_or(0);
            let mut start = from.saturating_sub(longest);
            while !self.text.is_char_boundary(start) {
                start -= 1;
            }
            let hit = self.stop.iter().filter_map(|s| self.text[start..].find(s.as_str())).min();
            if let Some(at) = hit {
                self.stopped_at = Some(start + at);
                return true;
            }
        }
        false
    }

    /// The new text safe to stream: everything not sent yet, except a tail that a stop string
    /// could still complete (and nothing past a stop string).
    pub fn take_ready(&mut self) -> String {
        let end = match self.stopped_at {
            Some(at) => at,
            None => self.text.len() - self.partial_stop_len(),
        };
        if end <= self.sent {
            return String::new();
        }
        let out = self.text[self.sent..end].to_owned();
        self.sent = end;
        out
    }

    /// The final text: the whole generation decoded at once (as a non-streamed answer gives
    /// it), cut before the first stop string.
    pub fn final_text(&self, tok: &Tokenizer) -> String {
        let text = tok.decode(&self.tokens, true).unwrap_or_default();
        match self.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
            Some(at) => text[..at].to_owned(),
            None => text,
        }
    }

    /// What a stream still owes at the end: the final text past what was sent.
    pub fn take_rest(&mut self, tok: &Tokenizer) -> String {
        let full = self.final_text(tok);
        let rest = if full.len() >= self.sent
            && full.is_char_boundary(self.sent)
            && full[..self.sent] == self.text[..self.sent]
        {
            full[self.sent..].to_owned()
        } else {
            String::new()
        };
        self.sent = self.sent.max(full.len());
        rest
    }

    /// Bytes at the end of the text that are a proper prefix of some stop string.
    fn partial_stop_len(&self) -> usize {
        let mut best = 0;
        for s in &self.stop {
            for (i, _) in s.char_indices().skip(1) {
                if i > best && self.text.ends_with(&s[..i]) {
                    best = i;
                }
            }
        }
        best
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A byte-level BPE whose vocabulary is single bytes, so `ü` (two bytes) spans two tokens.
    pub(crate) fn bytes_tokenizer() -> Tokenizer {
        let vocab: serde_json::Map<String, serde_json::Value> = (0u8..=255)
            .map(|b| (byte_char(b).to_string(), serde_json::Value::from(u64::from(b))))
            .collect();
        let json = serde_json::json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
            "normalizer": null,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
            "post_processor": null,
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": []},
        });
        Tokenizer::from_bytes(serde_json::to_vec(&json).unwrap()).unwrap()
    }

    /// GPT-2's printable stand-in for a byte.
    fn byte_char(b: u8) -> char {
        let printable = |b: u8| {
            (b'!'..=b'~').contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
        };
        if printable(b) {
            return char::from(b);
        }
        let offset = (0u8..b).filter(|&x| !printable(x)).count() as u32;
        char::from_u32(256 + offset).unwrap()
    }

    fn run(text: &str, stop: &[&str]) -> (Vec<String>, String, bool) {
        let tok = bytes_tokenizer();
        let mut s = TextStream::new(stop.iter().map(|s| (*s).to_owned()).collect());
        let mut pieces = Vec::new();
        let mut stopped = false;
        for b in text.bytes() {
            stopped = s.push(&tok, u32::from(b));
            pieces.push(s.take_ready());
            if stopped {
                break;
            }
        }
        pieces.push(s.take_rest(&tok));
        (pieces, s.final_text(&tok), stopped)
    }

    #[test]
    fn never_splits_a_character_and_streams_what_the_whole_decode_gives() {
        let (pieces, full, stopped) = run("añb ü!", &[]);
        assert!(!stopped);
        assert_eq!(pieces.concat(), "añb ü!");
        assert_eq!(full, "añb ü!");
        // the first byte of ñ alone produced nothing
        assert_eq!(pieces[1], "");
        assert_eq!(pieces[2], "ñ");
    }

    #[test]
    fn stop_strings_across_tokens_cut_the_text_and_are_held_back_while_partial() {
        let (pieces, full, stopped) = run("code```\nmore", &["```\n"]);
        assert!(stopped);
        assert_eq!(full, "code");
        assert_eq!(pieces.concat(), "code");
        // "`" and "``" were held back as a possible stop string
        assert_eq!(pieces[4..7].concat(), "");
        // a partial match that does not complete is released
        let (pieces, full, stopped) = run("a`b", &["```"]);
        assert!(!stopped);
        assert_eq!((pieces.concat(), full), ("a`b".to_owned(), "a`b".to_owned()));
    }
}
