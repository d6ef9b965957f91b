//! Prompts: LiveCodeBench's code-generation prompt, built as its runner builds it, and plain
//! questions for teacher traces.
//!
//! The wording is LiveCodeBench's (`lcb_runner/prompts/code_generation.py`), reproduced because a
//! benchmark prompt is part of the benchmark: a student evaluated on other words is evaluated on
//! another task.

use serde::{Deserialize, Serialize};

/// LiveCodeBench's system message for chat models.
pub const LCB_SYSTEM_MESSAGE: &str = "You are an expert Python programmer. You will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests.";

/// The format instruction when the problem has starter code (LeetCode).
pub const LCB_FORMAT_WITH_STARTER_CODE: &str = "You will use the following starter code to write the solution to the problem and enclose your code within delimiters.";

/// The format instruction for stdin/stdout problems.
pub const LCB_FORMAT_WITHOUT_STARTER_CODE: &str = "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.";

/// One chat turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The turn's text.
    pub content: String,
}

impl Message {
    /// A turn with `role` and `content`.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self { role: role.to_owned(), content: content.into() }
    }
}

/// How a problem becomes chat turns; the names follow LiveCodeBench's `LMStyle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromptStyle {
    /// `OpenAIChat`: LiveCodeBench's system message, then the question template as the user turn.
    #[default]
    OpenaiChat,
    /// `GenericOAIServer`: the question template alone (trailing whitespace trimmed) as the user
    /// turn, no system turn; for chat templates that add their own system prompt.
    UserOnly,
    /// `OpenAIReasonPreview`: system message, a blank line and the template, all in the user turn.
    SystemInUser,
}

impl PromptStyle {
    /// Every style, for help texts and tests.
    pub const ALL: [PromptStyle; 3] = [Self::OpenaiChat, Self::UserOnly, Self::SystemInUser];

    /// The style's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenaiChat => "openai-chat",
            Self::UserOnly => "user-only",
            Self::SystemInUser => "system-in-user",
        }
    }
}

impl std::str::FromStr for PromptStyle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|m| m.name()).collect();
            format!("unknown prompt style `{s}` (expected one of: {})", names.join(", "))
        })
    }
}

/// LiveCodeBench's question template (`get_generic_question_template_answer`): the statement,
/// the format instruction with the starter code (or the stdin placeholder), and the answer cue.
pub fn lcb_question_template(question_content: &str, starter_code: Option<&str>) -> String {
    let mut p = format!("### Question:\n{question_content}\n\n");
    match starter_code.filter(|s| !s.is_empty()) {
        Some(starter) => {
            p.push_str(&format!("### Format: {LCB_FORMAT_WITH_STARTER_CODE}\n"));
            p.push_str(&format!("```python\n{starter}\n```\n\n"));
        }
        None => {
            p.push_str(&format!("### Format: {LCB_FORMAT_WITHOUT_STARTER_CODE}\n"));
            p.push_str("```python\n# YOUR CODE HERE\n```\n\n");
        }
    }
    p.push_str("### Answer: (use the provided format with backticks)\n\n");
    p
}

/// The chat turns LiveCodeBench's runner sends for a problem in `style`.
pub fn lcb_messages(
    question_content: &str,
    starter_code: Option<&str>,
    style: PromptStyle,
) -> Vec<Message> {
    let template = lcb_question_template(question_content, starter_code);
    match style {
        PromptStyle::OpenaiChat => {
            vec![Message::new("system", LCB_SYSTEM_MESSAGE), Message::new("user", template)]
        }
        PromptStyle::UserOnly => vec![Message::new("user", template.trim_end())],
        PromptStyle::SystemInUser => {
            vec![Message::new("user", format!("{LCB_SYSTEM_MESSAGE}\n\n{template}"))]
        }
    }
}

/// A plain question as one user turn (teacher traces for a training set), after an optional
/// system turn.
pub fn question_messages(question: &str, system: Option<&str>) -> Vec<Message> {
    let mut m = Vec::with_capacity(2);
    if let Some(s) = system {
        m.push(Message::new("system", s));
    }
    m.push(Message::new("user", question));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_problem_template() {
        let p = lcb_question_template("Add two numbers.", None);
        let expect = "### Question:\nAdd two numbers.\n\n### Format: Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.\n```python\n# YOUR CODE HERE\n```\n\n### Answer: (use the provided format with backticks)\n\n";
        assert_eq!(p, expect);
        // LCB tests `if question.starter_code:`: an empty string is no starter code
        assert_eq!(lcb_question_template("Add two numbers.", Some("")), expect);
    }

    #[test]
    fn starter_code_template_and_styles() {
        let starter = "class Solution:\n    def f(self, x: int) -> int:\n        ";
        let m = lcb_messages("Return x.", Some(starter), PromptStyle::OpenaiChat);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0], Message::new("system", LCB_SYSTEM_MESSAGE));
        assert_eq!(
            m[1].content,
            format!(
                "### Question:\nReturn x.\n\n### Format: {LCB_FORMAT_WITH_STARTER_CODE}\n```python\n{starter}\n```\n\n### Answer: (use the provided format with backticks)\n\n"
            )
        );
        let u = lcb_messages("Return x.", Some(starter), PromptStyle::UserOnly);
        assert_eq!(u.len(), 1);
        assert!(u[0].content.ends_with("backticks)"));
        let s = lcb_messages("Return x.", Some(starter), PromptStyle::SystemInUser);
        assert_eq!(s[0].content, format!("{LCB_SYSTEM_MESSAGE}\n\n{}", m[1].content));
    }

    #[test]
    fn styles_round_trip_and_questions() {
        for s in PromptStyle::ALL {
            assert_eq!(s.name().parse::<PromptStyle>(), Ok(s));
        }
        assert!("x".parse::<PromptStyle>().is_err());
        assert_eq!(question_messages("q", None), vec![Message::new("user", "q")]);
        assert_eq!(question_messages("q", Some("s")).len(), 2);
    }
}
