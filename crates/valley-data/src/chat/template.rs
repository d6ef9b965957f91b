//! A model's Jinja chat template, rendered as HF transformers' `apply_chat_template` renders it.
//!
//! transformers compiles the template in a jinja2 sandbox with `trim_blocks` and
//! `lstrip_blocks`, the `loopcontrols` extension, its own `tojson` filter, and the globals
//! `raise_exception` and `strftime_now`; it passes `messages`, `tools` (None),
//! `documents` (None), `add_generation_prompt` and every special token of the tokenizer
//! (`bos_token`, `eos_token`, …) as variables. [`ChatTemplate`] sets minijinja up the same way.

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Serde};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};

use crate::chat::error::{TemplateError, TemplateErrorKind};
use crate::chat::python;

const TEMPLATE_NAME: &str = "chat_template";

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant` (templates may know other roles).
    pub role: String,
    /// The turn's text.
    pub content: String,
}

impl Message {
    /// A message with the given role and content.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self { role: role.into(), content: content.into() }
    }
}

/// The conversation the student sees for one trace: an optional system turn, the question as
/// the user turn and the response as the assistant turn.
pub fn trace_conversation(system: Option<&str>, question: &str, response: &str) -> Vec<Message> {
    let mut messages = Vec::with_capacity(3);
    if let Some(system) = system {
        messages.push(Message::new("system", system));
    }
    messages.push(Message::new("user", question));
    messages.push(Message::new("assistant", response));
    messages
}

/// A compiled chat template and the variables it is always rendered with.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    variables: BTreeMap<String, Value>,
}

impl ChatTemplate {
    /// Compiles `source` with the transformers environment. `special_tokens` are passed to every
    /// render as variables (`bos_token` → `<|begin_of_text|>`, …).
    pub fn new(
        source: impl Into<String>,
        special_tokens: &BTreeMap<String, String>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(false)
            .build()
            .map_err(|e| TemplateError::new(TemplateErrorKind::Compile, e))?;
        env.set_syntax(syntax);
        // jinja2's defaults, as transformers leaves them: no autoescape, the final newline of the
        // source dropped, printing an undefined value prints nothing.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_unknown_method_callback(python::unknown_method);
        env.add_filter("tojson", |v: &Value, kwargs: Kwargs| python::tojson_filter(v, kwargs));
        env.add_filter("trim", |v: &Value, chars: Option<String>| {
            python::trim_filter(v, chars.as_deref())
        });
        env.add_function("raise_exception", |message: String| -> Result<Value, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_function("strftime_now", |format: String| python::strftime_now(&format));
        env.add_template_owned(TEMPLATE_NAME, source.into())
            .map_err(|e| TemplateError::new(TemplateErrorKind::Compile, e))?;
        let variables =
            special_tokens.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        Ok(Self { env, variables })
    }

    /// Adds a variable passed to every render (as `apply_chat_template(**kwargs)` does), such as
    /// `date_string` for the Llama-3.1 template.
    pub fn set_variable(&mut self, name: impl Into<String>, value: &serde_json::Value) {
        self.variables.insert(name.into(), Value::from(Serde(value)));
    }

    /// Renders `messages`; with `add_generation_prompt` the template opens an assistant turn.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        let mut ctx = self.variables.clone();
        ctx.insert("messages".into(), Value::from(Serde(messages)));
        ctx.insert("tools".into(), Value::from(()));
        ctx.insert("documents".into(), Value::from(()));
        ctx.insert("add_generation_prompt".into(), Value::from(add_generation_prompt));
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| TemplateError::new(TemplateErrorKind::Compile, e))?;
        template
            .render(Value::from(ctx))
            .map_err(|e| TemplateError::new(TemplateErrorKind::Render, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specials() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("bos_token".to_owned(), "<s>".to_owned()),
            ("eos_token".to_owned(), "</s>".to_owned()),
        ])
    }

    /// Renders `source` over `messages` (JSON) and compares with `expect` (outputs checked
    /// with Python's jinja2 configured as transformers configures it).
    fn check(source: &str, messages: &str, add_generation_prompt: bool, expect: &str) {
        let template = ChatTemplate::new(source, &specials()).unwrap();
        let messages: Vec<Message> = serde_json::from_str(messages).unwrap();
        assert_eq!(template.render(&messages, add_generation_prompt).unwrap(), expect);
    }

    const CHATML: &str = "{% for m in messages %}\n  {{- '<|' + m.role + '|>' + m.content | trim + eos_token }}\n{% endfor %}\n{% if add_generation_prompt %}<|assistant|>{% endif %}\n";

    #[test]
    fn blocks_are_trimmed_and_specials_passed() {
        check(
            CHATML,
            r#"[{"role":"user","content":" hi\u001c "},{"role":"assistant","content":"yo"}]"#,
            false,
            "<|user|>hi</s>\n<|assistant|>yo</s>\n",
        );
        check(CHATML, r#"[{"role":"user","content":"x"}]"#, true, "<|user|>x</s>\n<|assistant|>");
    }

    #[test]
    fn undefined_special_token_prints_nothing() {
        let template =
            ChatTemplate::new("{{ bos_token }}{{ messages[0].content }}", &BTreeMap::new())
                .unwrap();
        assert_eq!(template.render(&[Message::new("user", "a")], false).unwrap(), "a");
    }

    #[test]
    fn raise_exception_fails_the_render() {
        let template =
            ChatTemplate::new("{{ raise_exception('only user turns') }}", &specials()).unwrap();
        let err = template.render(&[Message::new("user", "a")], false).unwrap_err();
        assert_eq!(err.kind(), TemplateErrorKind::Render);
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("only user turns"), "{source}");
    }

    #[test]
    fn tojson_matches_python_json_dumps() {
        let src = r#"{{ {"a": "<b>&'é\n", "n": [1, 2.5, none, true]} | tojson }}|{{ {"k": {"x": 1}, "e": []} | tojson(indent=2) }}|{{ "é" | tojson(ensure_ascii=true) }}|{{ {"b": 1, "a": 2} | tojson(sort_keys=true, separators=[",", ":"]) }}"#;
        let template = ChatTemplate::new(src, &specials()).unwrap();
        let out = template.render(&[], false).unwrap();
        // json.dumps outputs, checked with CPython 3.
        assert_eq!(
            out,
            "{\"a\": \"<b>&'é\\n\", \"n\": [1, 2.5, null, true]}|{\n  \"k\": {\n    \"x\": 1\n  },\n  \"e\": []\n}|\"\\u00e9\"|{\"a\":2,\"b\":1}"
        );
    }

    #[test]
    fn python_string_methods() {
        let src = "{{ messages[0].content.strip() }}|{{ messages[0].content.split() | join(',') }}|{{ messages[0].content.split('</think>')[-1] }}|{{ messages[0].content.startswith(' ') }}";
        check(
            src,
            r#"[{"role":"user","content":" a\u001fb</think> c "}]"#,
            false,
            "a\u{1f}b</think> c|a,b</think>,c| c |True",
        );
    }

    #[test]
    fn syntax_errors_are_compile_errors() {
        let err = ChatTemplate::new("{% if %}", &specials()).unwrap_err();
        assert!(matches!(err.kind(), TemplateErrorKind::Compile));
    }

    #[test]
    fn trace_conversation_adds_optional_system() {
        let m = trace_conversation(Some("s"), "q", "r");
        assert_eq!(
            m.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(),
            ["system", "user", "assistant"]
        );
        assert_eq!(trace_conversation(None, "q", "r").len(), 2);
    }
}
