//! Prompts: LiveCodeBench's code-generation prompt in each of its styles, built as its runner
//! builds it, and plain questions for teacher traces.
//!
//! The wording is LiveCodeBench's (`lcb_runner/prompts/code_generation.py` at 28fef95),
//! reproduced because a benchmark prompt is part of the benchmark: a student evaluated on other
//! words is evaluated on another task. The style is picked from the model's name by
//! LiveCodeBench's registry ([`PromptStyle::for_model`]) or set by the user; styles whose prompt
//! LiveCodeBench hands to vLLM as raw text (`CodeQwenInstruct`, `LLaMa3`, `DeepSeekR1`, …) come
//! out as [`PromptBody::Text`] for the `completions` endpoint, the others as chat turns.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
pub use valley_types::PromptStyle;

/// What one sample asks for: chat turns, or a rendered prompt for the completions endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptBody {
    /// Chat turns for `chat/completions`.
    Chat(Vec<Message>),
    /// Text for `completions`.
    Text(String),
}

/// LiveCodeBench's system message for chat models (`SYSTEM_MESSAGE_GENERIC`).
pub const LCB_SYSTEM_MESSAGE: &str = "You are an expert Python programmer. You will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests.";

/// The format instruction when the problem has starter code (LeetCode).
pub const LCB_FORMAT_WITH_STARTER_CODE: &str = "You will use the following starter code to write the solution to the problem and enclose your code within delimiters.";

/// The format instruction for stdin/stdout problems.
pub const LCB_FORMAT_WITHOUT_STARTER_CODE: &str = "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.";

/// `SYSTEM_MESSAGE_DEEPSEEK` (DeepSeek-Coder instruct).
const SYSTEM_DEEPSEEK: &str = "You are an AI programming assistant, utilizing the DeepSeek Coder model, developed by DeepSeek Company, and you answer questions related to computer science.";

/// `SYSTEM_MESSAGE_CODEQWEN`: an opened ChatML system turn and an opened user turn.
const SYSTEM_CODEQWEN: &str =
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user";

/// `SYSTEM_MESSAGE_QWEN_QWQ`.
const SYSTEM_QWQ: &str = "<|im_start|>system\nYou are a helpful and harmless assistant. You are Qwen developed by Alibaba. You should think step-by-step.<|im_end|>\n<|im_start|>user";

/// `SYSTEM_MESSAGE_DEEPSEEK_R1` (its special tokens use U+FF5C and U+2581).
const SYSTEM_DEEPSEEK_R1: &str = "<｜begin▁of▁sentence｜>A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>.<｜User｜>";

/// The opening sentence of the instruct templates (`get_codeqwen_…`, `get_deepseekcode_…`).
const INSTRUCTION: &str = "You will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests.";

/// `OpenAIReason`'s stdin format (its spelling kept).
const FORMAT_MAIN: &str = "Implement a function called `main()` which orchastrates the solution by reading inputs from stdin and writing the answer to stdout. Feel free to use additional functions as necessary. Next do NOT forget to call `main` function at the end of the program otherwise you will not be awarded any points.";

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

/// LiveCodeBench tests `if question.starter_code:`: an empty string is no starter code.
fn starter(starter_code: Option<&str>) -> Option<&str> {
    starter_code.filter(|s| !s.is_empty())
}

/// The format instruction of the instruct templates: starter code or stdin.
fn format_instruction(starter_code: Option<&str>) -> &'static str {
    match starter(starter_code) {
        Some(_) => LCB_FORMAT_WITH_STARTER_CODE,
        None => LCB_FORMAT_WITHOUT_STARTER_CODE,
    }
}

/// The fenced starter code, or the stdin placeholder, as every template writes it.
fn code_block(starter_code: Option<&str>) -> String {
    match starter(starter_code) {
        Some(s) => format!("```python\n{s}\n```\n\n"),
        None => "```python\n# YOUR CODE HERE\n```\n\n".to_owned(),
    }
}

/// LiveCodeBench's question template (`get_generic_question_template_answer`): the statement,
/// the format instruction with the starter code (or the stdin placeholder), and the answer cue.
pub fn lcb_question_template(question_content: &str, starter_code: Option<&str>) -> String {
    generic_template(question_content, starter_code, LCB_FORMAT_WITHOUT_STARTER_CODE)
}

fn generic_template(question: &str, starter_code: Option<&str>, stdin_format: &str) -> String {
    let format = match starter(starter_code) {
        Some(_) => LCB_FORMAT_WITH_STARTER_CODE,
        None => stdin_format,
    };
    format!(
        "### Question:\n{question}\n\n### Format: {format}\n{}### Answer: (use the provided format with backticks)\n\n",
        code_block(starter_code)
    )
}

/// The ChatML instruct templates (`get_codeqwen_…`, `get_qwen_qwq_…`): `first` then the
/// question, the format, the code block closed by `<|im_end|>`, and the opened assistant turn.
fn chatml_template(first: &str, question: &str, starter_code: Option<&str>) -> String {
    let format = format_instruction(starter_code);
    let block = code_block(starter_code);
    format!(
        "{first}\n\nQuestion: {question}\n\n{format}\n{block}<|im_end|>\n<|im_start|>assistant\n"
    )
}

/// Meta-Llama-3-8B-Instruct's chat template, which LiveCodeBench applies for every `LLaMa3`
/// model: BOS, then each turn's header and its content stripped (Jinja's `trim`), then the
/// assistant header.
fn llama3_text(messages: &[Message]) -> String {
    let mut s = String::from("<|begin_of_text|>");
    for m in messages {
        s.push_str(&format!(
            "<|start_header_id|>{}<|end_header_id|>\n\n{}<|eot_id|>",
            m.role,
            valley_types::python_strip(&m.content)
        ));
    }
    s.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
    s
}

/// The first few-shot example of LiveCodeBench's `func.json` and `stdin.json`
/// (`assets/lcb-few-shot.json`; provenance beside it).
#[derive(Deserialize)]
struct FewShot {
    func: Example,
    stdin: Example,
}

#[derive(Deserialize)]
struct Example {
    question: String,
    #[serde(default)]
    sample_code: String,
    answer: String,
}

fn few_shot() -> &'static FewShot {
    static SHOTS: OnceLock<FewShot> = OnceLock::new();
    SHOTS.get_or_init(|| {
        serde_json::from_str(include_str!("../assets/lcb-few-shot.json"))
            .expect("bug: the embedded few-shot examples must parse")
    })
}

/// `get_base_model_question_template_answer`: one solved example, then the question.
fn base_model_text(question: &str, starter_code: Option<&str>) -> String {
    let with_starter = starter(starter_code).is_some();
    let example = |q: &str, sample: &str, answer: &str| {
        let mut p = format!("### Question\n{q}\n\n");
        if with_starter {
            p.push_str(&format!("### Starter Code\n{sample}\n\n"));
        }
        p.push_str("### Answer\n\n");
        p.push_str(answer);
        if !answer.is_empty() {
            p.push_str("\n\n");
        }
        p
    };
    let shots = few_shot();
    let shot = if with_starter { &shots.func } else { &shots.stdin };
    let mut p = example(&shot.question, &shot.sample_code, &shot.answer);
    p.push_str(&example(question, starter_code.unwrap_or_default(), ""));
    p
}

/// The request LiveCodeBench's runner makes for a problem in `style`
/// (`format_prompt_generation`): chat turns, or raw text for the `completions` endpoint.
/// `PromptStyle::Raw` is not a LiveCodeBench style: it gives the statement alone as the user turn.
pub fn lcb_prompt(
    question_content: &str,
    starter_code: Option<&str>,
    style: PromptStyle,
) -> PromptBody {
    let q = question_content;
    let generic = || lcb_question_template(q, starter_code);
    let chat_generic =
        || vec![Message::new("system", LCB_SYSTEM_MESSAGE), Message::new("user", generic())];
    match style {
        PromptStyle::OpenAIChat => PromptBody::Chat(chat_generic()),
        PromptStyle::OpenAIReasonPreview => PromptBody::Chat(vec![Message::new(
            "user",
            format!("{LCB_SYSTEM_MESSAGE}\n\n{}", generic()),
        )]),
        PromptStyle::OpenAIReason => PromptBody::Chat(vec![Message::new(
            "user",
            format!("{LCB_SYSTEM_MESSAGE}\n\n{}", generic_template(q, starter_code, FORMAT_MAIN)),
        )]),
        PromptStyle::GenericOAIServer => {
            PromptBody::Chat(vec![Message::new("user", generic().trim_end())])
        }
        PromptStyle::Raw => PromptBody::Chat(question_messages(q, None)),
        PromptStyle::LLaMa3 => PromptBody::Text(llama3_text(&chat_generic())),
        PromptStyle::CodeQwenInstruct => PromptBody::Text(format!(
            "{SYSTEM_CODEQWEN}\n\n{}",
            chatml_template(
                &format!("{INSTRUCTION} You will NOT return anything except for the program."),
                q,
                starter_code
            )
        )),
        PromptStyle::QwQ => PromptBody::Text(format!(
            "{SYSTEM_QWQ}\n\n{}",
            chatml_template(INSTRUCTION, q, starter_code)
        )),
        PromptStyle::DeepSeekR1 => {
            let format = format_instruction(starter_code);
            PromptBody::Text(format!(
                "{SYSTEM_DEEPSEEK_R1}{INSTRUCTION}\n\nQuestion: {q}\n\n{format}\n{}<｜Assistant｜>",
                code_block(starter_code)
            ))
        }
        PromptStyle::DeepSeekCodeInstruct => {
            let format = format_instruction(starter_code);
            PromptBody::Text(format!(
                "{SYSTEM_DEEPSEEK}\n\n### Instruction: {INSTRUCTION} You will NOT return anything except for the program.\n\nQuestion:\n{q}\n\n### Instruction: {format}\n{}### Response:\n\n",
                code_block(starter_code)
            ))
        }
        PromptStyle::GenericBase => PromptBody::Text(base_model_text(q, starter_code)),
    }
}

/// The chat turns of a chat-shaped style (`None` for a text-shaped one), for callers that render
/// them through a chat template themselves.
pub fn lcb_messages(
    question_content: &str,
    starter_code: Option<&str>,
    style: PromptStyle,
) -> Option<Vec<Message>> {
    match lcb_prompt(question_content, starter_code, style) {
        PromptBody::Chat(m) => Some(m),
        PromptBody::Text(_) => None,
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
    //! Every expected string below is written out from LiveCodeBench's
    //! `lcb_runner/prompts/code_generation.py` at 28fef95 (its constants and f-strings, applied by
    //! hand to the problem), so a change to valley's wording fails here.
    use super::*;

    const STARTER: &str = "class Solution:\n    def f(self, x: int) -> int:\n        ";

    fn text(style: PromptStyle, starter_code: Option<&str>) -> String {
        match lcb_prompt("Q?", starter_code, style) {
            PromptBody::Text(t) => t,
            PromptBody::Chat(m) => panic!("{style}: chat turns {m:?}"),
        }
    }

    fn chat(style: PromptStyle, starter_code: Option<&str>) -> Vec<(String, String)> {
        match lcb_prompt("Q?", starter_code, style) {
            PromptBody::Chat(m) => m.into_iter().map(|m| (m.role, m.content)).collect(),
            PromptBody::Text(t) => panic!("{style}: text {t:?}"),
        }
    }

    const GENERIC_STDIN: &str = "### Question:\nQ?\n\n### Format: Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.\n```python\n# YOUR CODE HERE\n```\n\n### Answer: (use the provided format with backticks)\n\n";
    const GENERIC_STARTER: &str = "### Question:\nQ?\n\n### Format: You will use the following starter code to write the solution to the problem and enclose your code within delimiters.\n```python\nclass Solution:\n    def f(self, x: int) -> int:\n        \n```\n\n### Answer: (use the provided format with backticks)\n\n";
    const SYSTEM: &str = "You are an expert Python programmer. You will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests.";

    #[test]
    fn openai_chat_and_its_variants() {
        assert_eq!(lcb_question_template("Q?", None), GENERIC_STDIN);
        assert_eq!(lcb_question_template("Q?", Some("")), GENERIC_STDIN);
        assert_eq!(
            chat(PromptStyle::OpenAIChat, Some(STARTER)),
            [("system".into(), SYSTEM.into()), ("user".into(), GENERIC_STARTER.into())]
        );
        assert_eq!(
            chat(PromptStyle::OpenAIReasonPreview, None),
            [("user".into(), format!("{SYSTEM}\n\n{GENERIC_STDIN}"))]
        );
        assert_eq!(
            chat(PromptStyle::GenericOAIServer, None),
            [("user".into(), GENERIC_STDIN.trim_end().to_owned())]
        );
        let reason = chat(PromptStyle::OpenAIReason, None);
        assert_eq!(
            reason[0].1,
            format!(
                "{SYSTEM}\n\n### Question:\nQ?\n\n### Format: Implement a function called `main()` which orchastrates the solution by reading inputs from stdin and writing the answer to stdout. Feel free to use additional functions as necessary. Next do NOT forget to call `main` function at the end of the program otherwise you will not be awarded any points.\n```python\n# YOUR CODE HERE\n```\n\n### Answer: (use the provided format with backticks)\n\n"
            )
        );
        assert_eq!(
            chat(PromptStyle::OpenAIReason, Some(STARTER)),
            [("user".into(), format!("{SYSTEM}\n\n{GENERIC_STARTER}"))]
        );
        assert_eq!(chat(PromptStyle::Raw, Some(STARTER)), [("user".into(), "Q?".into())]);
    }

    #[test]
    fn code_qwen_instruct() {
        assert_eq!(
            text(PromptStyle::CodeQwenInstruct, None),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n\nYou will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests. You will NOT return anything except for the program.\n\nQuestion: Q?\n\nRead the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.\n```python\n# YOUR CODE HERE\n```\n\n<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            text(PromptStyle::CodeQwenInstruct, Some(STARTER)),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n\nYou will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests. You will NOT return anything except for the program.\n\nQuestion: Q?\n\nYou will use the following starter code to write the solution to the problem and enclose your code within delimiters.\n```python\nclass Solution:\n    def f(self, x: int) -> int:\n        \n```\n\n<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn qwq() {
        assert_eq!(
            text(PromptStyle::QwQ, None),
            "<|im_start|>system\nYou are a helpful and harmless assistant. You are Qwen developed by Alibaba. You should think step-by-step.<|im_end|>\n<|im_start|>user\n\nYou will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests.\n\nQuestion: Q?\n\nRead the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.\n```python\n# YOUR CODE HERE\n```\n\n<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn llama3() {
        assert_eq!(
            text(PromptStyle::LLaMa3, Some(STARTER)),
            format!(
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{SYSTEM}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                GENERIC_STARTER.trim()
            )
        );
    }

    #[test]
    fn deepseek_r1() {
        assert_eq!(
            text(PromptStyle::DeepSeekR1, None),
            "<｜begin▁of▁sentence｜>A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>.<｜User｜>You will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests.\n\nQuestion: Q?\n\nRead the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.\n```python\n# YOUR CODE HERE\n```\n\n<｜Assistant｜>"
        );
        assert!(text(PromptStyle::DeepSeekR1, Some(STARTER)).ends_with(
            "You will use the following starter code to write the solution to the problem and enclose your code within delimiters.\n```python\nclass Solution:\n    def f(self, x: int) -> int:\n        \n```\n\n<｜Assistant｜>"
        ));
    }

    #[test]
    fn deepseek_code_instruct() {
        assert_eq!(
            text(PromptStyle::DeepSeekCodeInstruct, Some(STARTER)),
            "You are an AI programming assistant, utilizing the DeepSeek Coder model, developed by DeepSeek Company, and you answer questions related to computer science.\n\n### Instruction: You will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests. You will NOT return anything except for the program.\n\nQuestion:\nQ?\n\n### Instruction: You will use the following starter code to write the solution to the problem and enclose your code within delimiters.\n```python\nclass Solution:\n    def f(self, x: int) -> int:\n        \n```\n\n### Response:\n\n"
        );
    }

    #[test]
    fn generic_base_is_one_shot() {
        let shots = few_shot();
        let stdin = text(PromptStyle::GenericBase, None);
        assert_eq!(
            stdin,
            format!(
                "### Question\n{}\n\n### Answer\n\n{}\n\n### Question\nQ?\n\n### Answer\n\n",
                shots.stdin.question, shots.stdin.answer
            )
        );
        let func = text(PromptStyle::GenericBase, Some(STARTER));
        assert_eq!(
            func,
            format!(
                "### Question\n{}\n\n### Starter Code\n{}\n\n### Answer\n\n{}\n\n### Question\nQ?\n\n### Starter Code\n{STARTER}\n\n### Answer\n\n",
                shots.func.question, shots.func.sample_code, shots.func.answer
            )
        );
        assert!(shots.func.question.starts_with("You are given a 0-indexed array"));
        assert!(shots.stdin.question.starts_with("You have $n$ gifts"));
    }

    #[test]
    fn every_style_renders_in_its_shape() {
        for s in PromptStyle::ALL {
            let body = lcb_prompt("Q?", None, s);
            let is_text = matches!(body, PromptBody::Text(_));
            assert_eq!(is_text, s.shape() == valley_types::PromptShape::Text, "{s}");
            assert_eq!(lcb_messages("Q?", None, s).is_some(), !is_text, "{s}");
        }
        assert_eq!(question_messages("q", None), vec![Message::new("user", "q")]);
        assert_eq!(question_messages("q", Some("s")).len(), 2);
    }
}
