//! Loading a model's tokenizer folder and turning conversations into text, token ids and masks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use tokenizers::Tokenizer;

use crate::chat::error::{LoadTokenizerError, LoadTokenizerErrorKind as Kind, RenderError};
use crate::chat::mask::{assistant_spans, loss_mask};
use crate::chat::template::{ChatTemplate, Message};

/// The special tokens transformers passes to chat templates (its `special_tokens_map`).
const SPECIAL_TOKEN_KEYS: [&str; 7] =
    ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

/// A conversation as the student sees it in training.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// The chat template's output, as `apply_chat_template(tokenize=False)` returns it.
    pub text: String,
    /// `text` tokenized without adding special tokens, as `apply_chat_template` tokenizes it.
    pub input_ids: Vec<u32>,
    /// 1 on the assistant turns' tokens (end-of-turn token included), 0 elsewhere.
    pub loss_mask: Vec<u8>,
}

/// A model's tokenizer and chat template.
///
/// ```no_run
/// use valley_data::chat::{ChatTokenizer, trace_conversation};
/// let tok = ChatTokenizer::load("models/Qwen2.5-7B-Instruct".as_ref(), None)?;
/// let rendered = tok.render(&trace_conversation(None, "Add 2 and 3.", "<think>…</think>5"))?;
/// assert_eq!(rendered.input_ids.len(), rendered.loss_mask.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ChatTokenizer {
    tokenizer: Tokenizer,
    template: ChatTemplate,
    end_of_turn: Option<String>,
}

impl ChatTokenizer {
    /// Loads `path`: a folder holding `tokenizer.json` and optionally `tokenizer_config.json`
    /// and `chat_template.jinja`, or the path of `tokenizer.json` (or `tokenizer_config.json`)
    /// in such a folder. The chat template is, in this order: `chat_template` (a Jinja file),
    /// `chat_template.jinja` beside the tokenizer, the `chat_template` of
    /// `tokenizer_config.json` (its `default` entry when it holds several).
    pub fn load(path: &Path, chat_template: Option<&Path>) -> Result<Self, LoadTokenizerError> {
        let (dir, tokenizer_json) = if path.is_dir() {
            (path.to_path_buf(), path.join("tokenizer.json"))
        } else {
            let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            if path.file_name().is_some_and(|n| n == "tokenizer_config.json") {
                (dir.clone(), dir.join("tokenizer.json"))
            } else {
                (dir, path.to_path_buf())
            }
        };
        let tokenizer = Tokenizer::from_file(&tokenizer_json).map_err(|e| {
            let kind = match e.downcast::<std::io::Error>() {
                Ok(io) => Kind::Io(*io),
                Err(e) => Kind::Tokenizer(e),
            };
            LoadTokenizerError::new(&tokenizer_json, kind)
        })?;

        let config_path = dir.join("tokenizer_config.json");
        let config = match fs_err::read_to_string(&config_path) {
            Ok(text) => serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| LoadTokenizerError::new(&config_path, Kind::Config(e.to_string())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Value::Null,
            Err(e) => return Err(LoadTokenizerError::new(&config_path, Kind::Io(e))),
        };
        let special_tokens = special_tokens(&config)
            .map_err(|m| LoadTokenizerError::new(&config_path, Kind::Config(m)))?;

        let jinja_beside = dir.join("chat_template.jinja");
        let (source, source_path) = if let Some(file) = chat_template {
            (read(file)?, file.to_path_buf())
        } else if jinja_beside.is_file() {
            (read(&jinja_beside)?, jinja_beside)
        } else {
            let source = config_template(&config)
                .map_err(|m| LoadTokenizerError::new(&config_path, Kind::Config(m)))?
                .ok_or_else(|| LoadTokenizerError::new(&config_path, Kind::NoChatTemplate))?;
            (source, config_path)
        };
        let template = ChatTemplate::new(source, &special_tokens)
            .map_err(|e| LoadTokenizerError::new(&source_path, Kind::Template(e)))?;
        let end_of_turn = special_tokens.get("eos_token").cloned();
        Ok(Self { tokenizer, template, end_of_turn })
    }

    /// Builds one from parts (a tokenizer made in memory, a template from a string).
    pub fn from_parts(
        tokenizer: Tokenizer,
        template: ChatTemplate,
        end_of_turn: Option<String>,
    ) -> Self {
        Self { tokenizer, template, end_of_turn }
    }

    /// The end-of-turn token that closes an assistant span (the config's `eos_token`).
    pub fn end_of_turn(&self) -> Option<&str> {
        self.end_of_turn.as_deref()
    }

    /// Sets the end-of-turn token that closes an assistant span; `None` ends spans where the
    /// template's rendering of the turn ends.
    pub fn set_end_of_turn(&mut self, token: Option<String>) {
        self.end_of_turn = token;
    }

    /// The chat template.
    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    /// The chat template, to add render variables.
    pub fn template_mut(&mut self) -> &mut ChatTemplate {
        &mut self.template
    }

    /// The underlying `tokenizers` tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The chat template's text for `messages` (`apply_chat_template(tokenize=False)`).
    pub fn render_text(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, RenderError> {
        Ok(self.template.render(messages, add_generation_prompt)?)
    }

    /// Token ids of `text` without added special tokens: the template already wrote them (the
    /// Llama template starts with `bos_token`; adding it again would double it).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, RenderError> {
        let enc = self.tokenizer.encode_fast(text, false).map_err(RenderError::Tokenize)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Renders `messages` (no generation prompt) with token ids and the loss mask.
    pub fn render(&self, messages: &[Message]) -> Result<Rendered, RenderError> {
        let text = self.template.render(messages, false)?;
        let spans = assistant_spans(&self.template, messages, &text, self.end_of_turn())?;
        let enc = self.tokenizer.encode(text.as_str(), false).map_err(RenderError::Tokenize)?;
        let loss_mask = loss_mask(enc.get_offsets(), &spans);
        Ok(Rendered { text, input_ids: enc.get_ids().to_vec(), loss_mask })
    }

    /// Number of tokens of `messages` rendered without a generation prompt.
    pub fn count_tokens(&self, messages: &[Message]) -> Result<usize, RenderError> {
        let text = self.template.render(messages, false)?;
        let enc =
            self.tokenizer.encode_fast(text.as_str(), false).map_err(RenderError::Tokenize)?;
        Ok(enc.len())
    }

    /// [`count_tokens`](Self::count_tokens) for many conversations, in parallel over the
    /// current rayon pool; results are in input order.
    pub fn count_tokens_batch(&self, batch: &[Vec<Message>]) -> Vec<Result<usize, RenderError>> {
        batch.par_iter().map(|m| self.count_tokens(m)).collect()
    }

    /// [`render`](Self::render) for many conversations, in parallel; results in input order.
    pub fn render_batch(&self, batch: &[Vec<Message>]) -> Vec<Result<Rendered, RenderError>> {
        batch.par_iter().map(|m| self.render(m)).collect()
    }
}

fn read(path: &Path) -> Result<String, LoadTokenizerError> {
    fs_err::read_to_string(path).map_err(|e| LoadTokenizerError::new(path, Kind::Io(e)))
}

/// The special tokens of a `tokenizer_config.json`: each a string or an `AddedToken` object
/// with `content`; null or absent ones are left out, as transformers leaves them out.
fn special_tokens(config: &serde_json::Value) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for key in SPECIAL_TOKEN_KEYS {
        match config.get(key) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(s)) => {
                out.insert(key.to_owned(), s.clone());
            }
            Some(obj) => match obj.get("content").and_then(|c| c.as_str()) {
                Some(s) => {
                    out.insert(key.to_owned(), s.to_owned());
                }
                None => {
                    return Err(format!(
                        "`{key}` is neither a string nor an object with `content`"
                    ));
                }
            },
        }
    }
    Ok(out)
}

/// The `chat_template` of a `tokenizer_config.json`: a string, or a list of `{name, template}`
/// of which the `default` one is used.
fn config_template(config: &serde_json::Value) -> Result<Option<String>, String> {
    match config.get("chat_template") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(serde_json::Value::Array(items)) => {
            for item in items {
                if item.get("name").and_then(|n| n.as_str()) == Some("default") {
                    return match item.get("template").and_then(|t| t.as_str()) {
                        Some(t) => Ok(Some(t.to_owned())),
                        None => {
                            Err("`chat_template` entry `default` has no string `template`".into())
                        }
                    };
                }
            }
            Err("`chat_template` is a list without a `default` entry; pass --chat-template".into())
        }
        Some(_) => Err("`chat_template` is neither a string nor a list".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tiny_tokenizer_json() -> serde_json::Value {
        crate::chat::test_support::tiny_tokenizer_json(&["<s>", "<|im_start|>", "<|im_end|>"])
    }

    const TEMPLATE: &str = "{{ bos_token }}{% for m in messages %}{{ '<|im_start|>' + m.role + '\n' + m.content + eos_token + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    fn folder(config: &serde_json::Value) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("tokenizer.json"), tiny_tokenizer_json().to_string())
            .unwrap();
        fs_err::write(dir.path().join("tokenizer_config.json"), config.to_string()).unwrap();
        dir
    }

    fn tiny() -> (tempfile::TempDir, ChatTokenizer) {
        let dir = folder(&json!({
            "bos_token": "<s>",
            "eos_token": {"content": "<|im_end|>", "__type": "AddedToken"},
            "pad_token": null,
            "chat_template": TEMPLATE,
        }));
        let tok = ChatTokenizer::load(dir.path(), None).unwrap();
        (dir, tok)
    }

    /// Renders user `q` and assistant `a`; returns the tokens (as text) with their mask bits.
    fn check(q: &str, a: &str, expect: &[(&str, u8)]) {
        let (_dir, tok) = tiny();
        let r = tok.render(&[Message::new("user", q), Message::new("assistant", a)]).unwrap();
        assert_eq!(r.input_ids.len(), r.loss_mask.len());
        let pieces: Vec<(String, u8)> = r
            .input_ids
            .iter()
            .zip(&r.loss_mask)
            .map(|(id, m)| (tok.tokenizer().decode(&[*id], false).unwrap(), *m))
            .collect();
        let expect: Vec<(String, u8)> = expect.iter().map(|(t, m)| ((*t).to_owned(), *m)).collect();
        assert_eq!(pieces, expect, "{}", r.text);
    }

    #[test]
    fn mask_covers_the_response_and_its_end_of_turn_token() {
        check(
            "q",
            "ab",
            &[
                ("<s>", 0),
                ("<|im_start|>", 0),
                ("u", 0),
                ("s", 0),
                ("e", 0),
                ("r", 0),
                ("\n", 0),
                ("q", 0),
                ("<|im_end|>", 0),
                ("\n", 0),
                ("<|im_start|>", 0),
                ("a", 0),
                ("s", 0),
                ("s", 0),
                ("i", 0),
                ("s", 0),
                ("t", 0),
                ("a", 0),
                ("n", 0),
                ("t", 0),
                ("\n", 0),
                ("a", 1),
                ("b", 1),
                ("<|im_end|>", 1),
                ("\n", 0),
            ],
        );
    }

    #[test]
    fn token_straddling_the_turn_start_is_trained_on() {
        // The header's "\n" and the response's leading "\n" merge into one token.
        let (_dir, tok) = tiny();
        let r = tok.render(&[Message::new("user", "q"), Message::new("assistant", "\nz")]).unwrap();
        let masked: Vec<String> = r
            .input_ids
            .iter()
            .zip(&r.loss_mask)
            .filter(|(_, m)| **m == 1)
            .map(|(id, _)| tok.tokenizer().decode(&[*id], false).unwrap())
            .collect();
        assert_eq!(masked, ["\n\n", "z", "<|im_end|>"]);
    }

    #[test]
    fn bos_is_not_doubled_and_specials_in_text_stay_whole() {
        let (_dir, tok) = tiny();
        let r = tok.render(&[Message::new("user", "<s>"), Message::new("assistant", "")]).unwrap();
        assert!(r.text.starts_with("<s><|im_start|>user\n<s><|im_end|>"), "{}", r.text);
        assert_eq!(r.input_ids[..2], [257, 258]);
        assert_eq!(r.input_ids.iter().filter(|i| **i == 257).count(), 2);
        assert_eq!(
            tok.count_tokens(&[Message::new("user", "<s>"), Message::new("assistant", "")])
                .unwrap(),
            r.input_ids.len()
        );
        // The empty response still trains on its end-of-turn token.
        assert_eq!(r.loss_mask.iter().map(|m| u32::from(*m)).sum::<u32>(), 1);
    }

    #[test]
    fn batches_keep_input_order() {
        let (_dir, tok) = tiny();
        let batch: Vec<Vec<Message>> = (0..20)
            .map(|i| vec![Message::new("user", "x".repeat(i)), Message::new("assistant", "y")])
            .collect();
        let counts: Vec<usize> =
            tok.count_tokens_batch(&batch).into_iter().map(Result::unwrap).collect();
        let rendered: Vec<usize> =
            tok.render_batch(&batch).into_iter().map(|r| r.unwrap().input_ids.len()).collect();
        assert_eq!(counts, rendered);
        assert!(counts.windows(2).all(|w| w[1] == w[0] + 1));
    }

    #[test]
    fn template_sources_in_order_of_precedence() {
        let list = json!({"eos_token": "<|im_end|>", "chat_template": [
            {"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ eos_token }}"}]});
        let dir = folder(&list);
        let m = [Message::new("user", "q")];
        let tok = ChatTokenizer::load(dir.path(), None).unwrap();
        assert_eq!(tok.render_text(&m, false).unwrap(), "D<|im_end|>");
        fs_err::write(dir.path().join("chat_template.jinja"), "J").unwrap();
        let tok = ChatTokenizer::load(&dir.path().join("tokenizer.json"), None).unwrap();
        assert_eq!(tok.render_text(&m, false).unwrap(), "J");
        let file = dir.path().join("override.jinja");
        fs_err::write(&file, "O{{ messages[0].content }}").unwrap();
        let tok =
            ChatTokenizer::load(&dir.path().join("tokenizer_config.json"), Some(&file)).unwrap();
        assert_eq!(tok.render_text(&m, false).unwrap(), "Oq");
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = folder(&json!({"eos_token": "x"}));
        let err = ChatTokenizer::load(dir.path(), None).unwrap_err();
        assert!(matches!(err.kind(), Kind::NoChatTemplate));
        assert_eq!(err.path(), dir.path().join("tokenizer_config.json"));

        let dir = folder(&json!({"eos_token": 3, "chat_template": "x"}));
        let err = ChatTokenizer::load(dir.path(), None).unwrap_err();
        assert!(matches!(err.kind(), Kind::Config(m) if m.contains("eos_token")), "{err:?}");

        let dir = folder(&json!({"chat_template": "{% if %}"}));
        let err = ChatTokenizer::load(dir.path(), None).unwrap_err();
        assert!(matches!(err.kind(), Kind::Template(_)));

        let missing = dir.path().join("nope");
        let err = ChatTokenizer::load(&missing, None).unwrap_err();
        assert!(matches!(err.kind(), Kind::Io(_)), "{err:?}");

        fs_err::write(dir.path().join("tokenizer.json"), "{").unwrap();
        let err = ChatTokenizer::load(dir.path(), None).unwrap_err();
        assert!(matches!(err.kind(), Kind::Tokenizer(_)), "{err:?}");
    }
}
