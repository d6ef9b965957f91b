//! Conversations rendered as torchtune's own tokenizers render them, not as transformers' chat
//! template does: what a model trained with torchtune (the paper's trainer) saw.
//!
//! Read from torchtune 0.6.1: `Qwen2_5Tokenizer.tokenize_messages`,
//! `Llama3Tokenizer.tokenize_messages`, `TikTokenBaseTokenizer.encode`, `data.truncate`,
//! `OpenAIToMessages` and `SFTTransform` (the labels). What differs from transformers' templates:
//!
//! - No default system prompt (Qwen2.5's template adds "You are Qwen, created by Alibaba
//!   Cloud…" when there is none; Llama-3.1's adds a dated system header).
//! - Each piece (a header, a message's text, a footer) is tokenized on its own, so no BPE merge
//!   crosses a piece boundary.
//! - Qwen2.5: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, the last assistant
//!   message without its footer, then the end-of-sequence token `<|im_end|>`; special tokens in
//!   a message's text are special. Llama 3: `<|begin_of_text|>`, then
//!   `<|start_header_id|>{role}<|end_header_id|>\n\n{content.strip()}<|eot_id|>` per message,
//!   then `<|end_of_text|>`; special tokens in a message's text are plain text, and the text is
//!   encoded in torchtune's chunks (400,000 characters, runs of at most 25,000 whitespace or
//!   non-whitespace characters).
//! - The loss falls on every token of a message that is not masked (the assistant's header
//!   included); user and system messages are masked unless training on the input. The final
//!   end-of-sequence token: Llama's is always masked; Qwen's carries the last message's mask,
//!   and when a maximum length is set the last token's mask is forced to masked (`truncate`
//!   sets it, whether or not anything was cut).
//! - Over the maximum length: the first `max` tokens are kept and the last one is replaced by
//!   the end-of-sequence token (`truncate`).

use tokenizers::Tokenizer;

use crate::chat::error::RenderError;
use crate::chat::template::Message;
use crate::chat::tokenizer::Rendered;

/// torchtune's message format of a model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TorchtuneFormat {
    /// `torchtune.models.qwen2_5.qwen2_5_tokenizer` (ChatML).
    Qwen2_5,
    /// `torchtune.models.llama3.llama3_tokenizer` (Llama 3, 3.1, 3.2, 3.3).
    Llama3,
}

impl TorchtuneFormat {
    /// The format of a tokenizer, from its special tokens; `None` for a family torchtune's
    /// format is not known here.
    pub fn detect(tokenizer: &Tokenizer) -> Option<Self> {
        let has = |t: &str| tokenizer.token_to_id(t).is_some();
        if has("<|im_start|>") && has("<|im_end|>") {
            Some(Self::Qwen2_5)
        } else if ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>"]
            .into_iter()
            .chain(["<|end_header_id|>", "<|eot_id|>"])
            .all(has)
        {
            Some(Self::Llama3)
        } else {
            None
        }
    }

    /// The name in messages (`qwen2.5`, `llama3`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Qwen2_5 => "qwen2.5",
            Self::Llama3 => "llama3",
        }
    }
}

/// A conversation as torchtune renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorchtuneRendered {
    /// Text, ids (after the truncation rule) and loss mask (1 where the token is a label).
    pub rendered: Rendered,
    /// Tokens before the truncation rule: over `max` means the row was cut.
    pub full_len: usize,
}

/// Python's `str.isspace`: Unicode White_Space plus the information separators U+001C-U+001F
/// (bidirectional class B or S), which `str.strip` also removes.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Renders and tokenizes conversations as torchtune does, with one family's format.
#[derive(Debug, Clone)]
pub struct TorchtuneRenderer {
    format: TorchtuneFormat,
    /// Special tokens are special in text (Qwen).
    tokenizer: Tokenizer,
    /// Special tokens are plain text (Llama's tiktoken `encode`).
    plain: Tokenizer,
    ids: SpecialIds,
}

#[derive(Debug, Clone, Copy)]
struct SpecialIds {
    /// `<|im_start|>` or `<|start_header_id|>`.
    start: u32,
    /// `<|im_end|>` or `<|end_header_id|>`.
    end: u32,
    /// Llama's `<|eot_id|>` (Qwen: `<|im_end|>`).
    eot: u32,
    /// `<|begin_of_text|>` (Llama only).
    bos: Option<u32>,
    /// The end-of-sequence token: Qwen2.5's `<|im_end|>`, Llama's `<|end_of_text|>`.
    eos: u32,
}

impl TorchtuneRenderer {
    /// A renderer for `tokenizer` in `format` (see [`TorchtuneFormat::detect`]).
    pub fn new(tokenizer: &Tokenizer, format: TorchtuneFormat) -> Result<Self, RenderError> {
        let id = |t: &str| {
            tokenizer.token_to_id(t).ok_or_else(|| RenderError::MissingToken {
                token: t.to_owned(),
                format: format.name(),
            })
        };
        let ids = match format {
            TorchtuneFormat::Qwen2_5 => {
                let im_end = id("<|im_end|>")?;
                SpecialIds {
                    start: id("<|im_start|>")?,
                    end: im_end,
                    eot: im_end,
                    bos: None,
                    eos: im_end,
                }
            }
            TorchtuneFormat::Llama3 => SpecialIds {
                start: id("<|start_header_id|>")?,
                end: id("<|end_header_id|>")?,
                eot: id("<|eot_id|>")?,
                bos: Some(id("<|begin_of_text|>")?),
                eos: id("<|end_of_text|>")?,
            },
        };
        let mut plain = tokenizer.clone();
        plain.set_encode_special_tokens(true);
        Ok(Self { format, tokenizer: tokenizer.clone(), plain, ids })
    }

    /// The format.
    pub fn format(&self) -> TorchtuneFormat {
        self.format
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>, RenderError> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        match self.format {
            TorchtuneFormat::Qwen2_5 => {
                let enc = self.tokenizer.encode_fast(text, false).map_err(RenderError::Tokenize)?;
                Ok(enc.get_ids().to_vec())
            }
            TorchtuneFormat::Llama3 => {
                let mut ids = Vec::new();
                for chunk in tiktoken_chunks(text) {
                    let enc =
                        self.plain.encode_fast(chunk, false).map_err(RenderError::Tokenize)?;
                    ids.extend_from_slice(enc.get_ids());
                }
                Ok(ids)
            }
        }
    }

    /// Renders `messages` as torchtune's tokenizer does for training (`tokenize_messages` with
    /// its end tokens), with the labels torchtune's SFT dataset makes: user and system messages
    /// are masked unless `train_on_input` (a system message is masked either way, as
    /// `new_system_prompt` makes it), `max_seq_len` as the tokenizer's `max_seq_len`.
    pub fn render(
        &self,
        messages: &[Message],
        train_on_input: bool,
        max_seq_len: Option<usize>,
    ) -> Result<TorchtuneRendered, RenderError> {
        let ids = self.ids;
        let mut text = String::new();
        let mut tokens: Vec<u32> = Vec::new();
        // torchtune's mask: true where the token is *not* a label.
        let mut masked: Vec<bool> = Vec::new();
        if let Some(bos) = ids.bos {
            text.push_str("<|begin_of_text|>");
            tokens.push(bos);
            masked.push(true);
        }
        for (i, m) in messages.iter().enumerate() {
            let is_masked = match m.role.as_str() {
                "assistant" => false,
                "system" => true,
                _ => !train_on_input,
            };
            match self.format {
                TorchtuneFormat::Qwen2_5 => {
                    let header = format!("{}\n", m.role);
                    text.push_str("<|im_start|>");
                    text.push_str(&header);
                    text.push_str(&m.content);
                    tokens.push(ids.start);
                    tokens.extend(self.encode(&header)?);
                    tokens.extend(self.encode(&m.content)?);
                    if m.role != "assistant" || i + 1 != messages.len() {
                        text.push_str("<|im_end|>\n");
                        tokens.push(ids.end);
                        tokens.extend(self.encode("\n")?);
                    }
                }
                TorchtuneFormat::Llama3 => {
                    let role = m.role.trim_matches(py_isspace);
                    let content = m.content.trim_matches(py_isspace);
                    text.push_str("<|start_header_id|>");
                    text.push_str(role);
                    text.push_str("<|end_header_id|>\n\n");
                    text.push_str(content);
                    text.push_str("<|eot_id|>");
                    tokens.push(ids.start);
                    tokens.extend(self.encode(role)?);
                    tokens.push(ids.end);
                    tokens.extend(self.encode("\n\n")?);
                    tokens.extend(self.encode(content)?);
                    tokens.push(ids.eot);
                }
            }
            // torchtune stops adding messages once `max_seq_len` is reached; the first `max`
            // tokens are the same either way, and rendering them all gives the full length.
            masked.resize(tokens.len(), is_masked);
        }
        tokens.push(ids.eos);
        let eos_masked = match self.format {
            TorchtuneFormat::Qwen2_5 => masked.last().copied().unwrap_or(true),
            TorchtuneFormat::Llama3 => true,
        };
        masked.push(eos_masked);
        text.push_str(match self.format {
            TorchtuneFormat::Qwen2_5 => "<|im_end|>",
            TorchtuneFormat::Llama3 => "<|end_of_text|>",
        });
        let full_len = tokens.len();
        if let Some(max) = max_seq_len {
            tokens.truncate(max);
            masked.truncate(max);
            if let Some(last) = tokens.last_mut() {
                *last = ids.eos;
            }
            if let Some(last) = masked.last_mut() {
                *last = true;
            }
            if full_len > max {
                text = self.tokenizer.decode(&tokens, false).map_err(RenderError::Tokenize)?;
            }
        }
        let loss_mask = masked.iter().map(|&m| u8::from(!m)).collect();
        Ok(TorchtuneRendered {
            rendered: Rendered { text, input_ids: tokens, loss_mask },
            full_len,
        })
    }
}

/// torchtune's `TikTokenBaseTokenizer.encode` cuts its input into chunks of 400,000 characters,
/// then each into runs of at most 25,000 consecutive whitespace or non-whitespace characters
/// (tiktoken#195), and encodes each on its own.
fn tiktoken_chunks(text: &str) -> Vec<&str> {
    const MAX_ENCODE_CHARS: usize = 400_000;
    const MAX_NO_WHITESPACE_CHARS: usize = 25_000;
    let mut out = Vec::new();
    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let mut start = 0;
    while start < bounds.len() {
        let end = (start + MAX_ENCODE_CHARS).min(bounds.len());
        let lo = bounds[start];
        let hi = bounds.get(end).copied().unwrap_or(text.len());
        split_long_repetitions(&text[lo..hi], MAX_NO_WHITESPACE_CHARS, &mut out);
        start = end;
    }
    out
}

fn split_long_repetitions<'a>(s: &'a str, max_run: usize, out: &mut Vec<&'a str>) {
    let mut run = 0usize;
    let mut run_is_space = s.chars().next().is_some_and(py_isspace);
    let mut slice_start = 0;
    for (i, c) in s.char_indices() {
        let is_space = py_isspace(c);
        if run_is_space ^ is_space {
            run = 1;
            run_is_space = is_space;
        } else {
            run += 1;
            if run > max_run {
                out.push(&s[slice_start..i]);
                slice_start = i;
                run = 1;
            }
        }
    }
    out.push(&s[slice_start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::test_support::tiny_tokenizer;

    fn b(s: &str) -> Vec<u32> {
        s.bytes().map(u32::from).collect()
    }

    fn conv(turns: &[(&str, &str)]) -> Vec<Message> {
        turns.iter().map(|(r, c)| Message::new(*r, *c)).collect()
    }

    /// Ids and loss mask of one rendering.
    fn check(r: &TorchtuneRendered, ids: &[Vec<u32>], mask: &[(usize, u8)], full_len: usize) {
        let ids: Vec<u32> = ids.concat();
        assert_eq!(r.rendered.input_ids, ids);
        let mask: Vec<u8> = mask.iter().flat_map(|&(n, m)| std::iter::repeat_n(m, n)).collect();
        assert_eq!(r.rendered.loss_mask, mask);
        assert_eq!(r.full_len, full_len);
    }

    #[test]
    fn qwen_pieces_masks_and_truncation_follow_torchtune() {
        let tok = tiny_tokenizer(&["<|im_start|>", "<|im_end|>"]);
        assert_eq!(TorchtuneFormat::detect(&tok), Some(TorchtuneFormat::Qwen2_5));
        let r = TorchtuneRenderer::new(&tok, TorchtuneFormat::Qwen2_5).unwrap();
        let (start, end) = (257, 258);
        // The content's leading newline is tokenized apart from the header's: no `\n\n` (256).
        let c = conv(&[("user", "q"), ("assistant", "\nz")]);
        let ids = [
            vec![start],
            b("user\n"),
            b("q"),
            vec![end],
            b("\n"),
            vec![start],
            b("assistant\n"),
            b("\nz"),
            vec![end],
        ];
        // No maximum: the final <|im_end|> carries the assistant's mask (trained).
        let out = r.render(&c, false, None).unwrap();
        check(&out, &ids, &[(9, 0), (13, 1), (1, 1)], 23);
        assert_eq!(
            out.rendered.text,
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n\nz<|im_end|>"
        );
        // A maximum, even one not reached, masks the last token (torchtune's truncate).
        check(&r.render(&c, false, Some(100)).unwrap(), &ids, &[(9, 0), (13, 1), (1, 0)], 23);
        // Cut: the first 5 tokens, the last replaced by the end-of-sequence token.
        let cut = r.render(&c, false, Some(5)).unwrap();
        check(&cut, &[vec![start], b("use"), vec![end]], &[(5, 0)], 23);
        // Training on the input unmasks the user turn.
        check(&r.render(&c, true, None).unwrap(), &ids, &[(23, 1)], 23);
        // Special tokens in a message's text stay special.
        let s =
            r.render(&conv(&[("user", "<|im_end|>"), ("assistant", "a")]), false, None).unwrap();
        assert_eq!(s.rendered.input_ids[6], end);
    }

    #[test]
    fn llama_strips_content_encodes_specials_as_text_and_masks_bos_and_eos() {
        let names = [
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|eot_id|>",
        ];
        let tok = tiny_tokenizer(&names);
        assert_eq!(TorchtuneFormat::detect(&tok), Some(TorchtuneFormat::Llama3));
        let r = TorchtuneRenderer::new(&tok, TorchtuneFormat::Llama3).unwrap();
        let (bos, eos, sh, eh, eot) = (257, 258, 259, 260, 261);
        let c = conv(&[("system", "s"), ("user", " q\u{1c}"), ("assistant", "<|eot_id|>")]);
        let out = r.render(&c, true, None).unwrap();
        let ids = [
            vec![bos],
            vec![sh],
            b("system"),
            vec![eh, 256],
            b("s"),
            vec![eot],
            vec![sh],
            b("user"),
            vec![eh, 256],
            b("q"),
            vec![eot],
            vec![sh],
            b("assistant"),
            vec![eh, 256],
            b("<|eot_id|>"),
            vec![eot],
            vec![eos],
        ];
        // bos and the system turn masked (even training on the input), user trained, eos masked.
        check(&out, &ids, &[(1, 0), (11, 0), (9, 1), (23, 1), (1, 0)], 45);
        assert!(
            out.rendered.text.ends_with("<|eot_id|><|eot_id|><|end_of_text|>"),
            "{}",
            out.rendered.text
        );
        let masked = r.render(&c, false, Some(45)).unwrap();
        check(&masked, &ids, &[(1, 0), (11, 0), (9, 0), (23, 1), (1, 0)], 45);
        let cut = r.render(&c, false, Some(3)).unwrap();
        check(&cut, &[vec![bos, sh, eos]], &[(3, 0)], 45);
        assert!(TorchtuneFormat::detect(&tiny_tokenizer(&["<s>"])).is_none());
    }

    #[test]
    fn python_whitespace_includes_the_information_separators() {
        let py: Vec<u32> = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| py_isspace(*c))
            .map(u32::from)
            .collect();
        // CPython 3.11: [c for c in range(0x110000) if chr(c).isspace()]
        let expect = [
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000,
            0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
            0x2029, 0x202f, 0x205f, 0x3000,
        ];
        assert_eq!(py, expect);
        assert_eq!("\u{1c} a \u{3000}".trim_matches(py_isspace), "a");
    }

    #[test]
    fn long_runs_are_cut_as_torchtune_cuts_them() {
        let mut out = Vec::new();
        split_long_repetitions("aaaaa  bbb", 2, &mut out);
        // torchtune's _split_long_repetitions("aaaaa  bbb", 2)
        assert_eq!(out, ["aa", "aa", "a  bb", "b"]);
        let mut out = Vec::new();
        split_long_repetitions("", 2, &mut out);
        assert_eq!(out, [""]);
        assert_eq!(tiktoken_chunks("ab cd"), ["ab cd"]);
        let long = "é".repeat(400_001);
        let chunks = tiktoken_chunks(&long);
        assert_eq!(chunks.iter().map(|c| c.chars().count()).sum::<usize>(), 400_001);
        assert_eq!(chunks.last().map(|c| c.chars().count()), Some(1));
    }
}
