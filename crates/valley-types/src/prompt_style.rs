//! Prompt styles: how a benchmark problem becomes a request, named after LiveCodeBench's `LMStyle`,
//! and LiveCodeBench's model registry that picks a style from a model's name.
//!
//! The style is part of the benchmark: LiveCodeBench (`lcb_runner/lm_styles.py`, read at
//! 28fef95) gives Qwen2.5 instruct models a raw ChatML prompt (`CodeQwenInstruct`), Llama-3
//! instruct models the Llama-3 template applied to the generic messages (`LLaMa3`), reasoning
//! distillates DeepSeek-R1's raw prompt (`DeepSeekR1`), and base models a one-shot prompt
//! (`GenericBase`), and its extraction depends on the style too (`GenericBase`: the whole
//! output). Every generation record carries its style, so evaluation can apply LiveCodeBench's
//! rule for it. The prompt text itself is built in `valley-generate`.

use serde::{Deserialize, Serialize};

/// How a problem becomes a request. The serialized name is LiveCodeBench's `LMStyle` value
/// (valley's own `Raw` excepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PromptStyle {
    /// `OpenAIChat` (also LiveCodeBench's `DeepSeekAPI`, `TogetherAI`, `CohereCommand`,
    /// `MistralWeb`): the generic system message, then the question template as the user turn.
    #[default]
    OpenAIChat,
    /// `OpenAIReasonPreview` (also `Grok`): the system message, a blank line and the question
    /// template, all in one user turn.
    OpenAIReasonPreview,
    /// `OpenAIReason`: as `OpenAIReasonPreview`, with the stdin format asking for a `main()`.
    OpenAIReason,
    /// `GenericOAIServer` (NVIDIA's packaging of LiveCodeBench): the question template, trailing
    /// whitespace trimmed, as the only (user) turn.
    GenericOAIServer,
    /// `LLaMa3`: the generic messages rendered through Meta-Llama-3-8B-Instruct's chat template,
    /// sent as raw text.
    LLaMa3,
    /// `CodeQwenInstruct`: a raw ChatML prompt with Qwen's short system message.
    CodeQwenInstruct,
    /// `QwQ`: a raw ChatML prompt with QwQ's "think step-by-step" system message.
    QwQ,
    /// `DeepSeekR1`: DeepSeek-R1's raw prompt (`<｜User｜>` … `<｜Assistant｜>`).
    DeepSeekR1,
    /// `DeepSeekCodeInstruct`: DeepSeek-Coder's system message and `### Instruction` prompt, raw.
    DeepSeekCodeInstruct,
    /// `GenericBase`: a one-shot completion prompt for base models; LiveCodeBench grades the
    /// whole output.
    GenericBase,
    /// valley's own: the question text alone as the user turn (after an optional system turn),
    /// for sampling teacher traces rather than benchmark answers.
    Raw,
}

/// How the prompt of a style travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptShape {
    /// Chat turns, for `chat/completions` (or rendered through a tokenizer's chat template).
    Chat,
    /// Raw text, for `completions` (LiveCodeBench hands it to vLLM's `generate` as is).
    Text,
}

impl PromptStyle {
    /// Every style.
    pub const ALL: [PromptStyle; 11] = [
        Self::OpenAIChat,
        Self::OpenAIReasonPreview,
        Self::OpenAIReason,
        Self::GenericOAIServer,
        Self::LLaMa3,
        Self::CodeQwenInstruct,
        Self::QwQ,
        Self::DeepSeekR1,
        Self::DeepSeekCodeInstruct,
        Self::GenericBase,
        Self::Raw,
    ];

    /// LiveCodeBench's name (`Raw` for valley's own).
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAIChat => "OpenAIChat",
            Self::OpenAIReasonPreview => "OpenAIReasonPreview",
            Self::OpenAIReason => "OpenAIReason",
            Self::GenericOAIServer => "GenericOAIServer",
            Self::LLaMa3 => "LLaMa3",
            Self::CodeQwenInstruct => "CodeQwenInstruct",
            Self::QwQ => "QwQ",
            Self::DeepSeekR1 => "DeepSeekR1",
            Self::DeepSeekCodeInstruct => "DeepSeekCodeInstruct",
            Self::GenericBase => "GenericBase",
            Self::Raw => "Raw",
        }
    }

    /// Older valley names still accepted on the command line and in specs.
    fn alias(self) -> Option<&'static str> {
        match self {
            Self::OpenAIChat => Some("openai-chat"),
            Self::OpenAIReasonPreview => Some("system-in-user"),
            Self::GenericOAIServer => Some("user-only"),
            Self::Raw => Some("raw"),
            _ => None,
        }
    }

    /// Chat turns or raw text.
    pub fn shape(self) -> PromptShape {
        match self {
            Self::OpenAIChat
            | Self::OpenAIReasonPreview
            | Self::OpenAIReason
            | Self::GenericOAIServer
            | Self::Raw => PromptShape::Chat,
            Self::LLaMa3
            | Self::CodeQwenInstruct
            | Self::QwQ
            | Self::DeepSeekR1
            | Self::DeepSeekCodeInstruct
            | Self::GenericBase => PromptShape::Text,
        }
    }

    /// The extraction LiveCodeBench applies to outputs of this style
    /// (`lcb_runner/utils/extraction_utils.py`): the whole output for `GenericBase`, the fenced
    /// rule otherwise.
    pub fn lcb_extract_mode(self) -> crate::ExtractMode {
        match self {
            Self::GenericBase => crate::ExtractMode::LcbBase,
            _ => crate::ExtractMode::Lcb,
        }
    }

    /// The style LiveCodeBench's registry gives `model`: an exact registry name
    /// (`Qwen/Qwen2.5-7B-Instruct`), else the same name without its organisation or folder
    /// (`Qwen2.5-7B-Instruct`, `/models/Qwen2.5-7B-Instruct`), compared case-insensitively.
    /// `None`: not in the registry (LiveCodeBench refuses such a model; valley's callers fall
    /// back to `OpenAIChat` and say so).
    pub fn for_model(model: &str) -> Option<PromptStyle> {
        if let Some((_, s)) = LCB_MODELS.iter().find(|(name, _)| *name == model) {
            return Some(*s);
        }
        let tail = |s: &str| s.trim_end_matches('/').rsplit('/').next().unwrap_or(s).to_lowercase();
        let wanted = tail(model);
        LCB_MODELS.iter().find(|(name, _)| tail(name) == wanted).map(|(_, s)| *s)
    }
}

impl std::fmt::Display for PromptStyle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PromptStyle {
    type Err = String;
    /// LiveCodeBench's name in any case (`CodeQwenInstruct`, `codeqweninstruct`), or an alias
    /// (`openai-chat`, `user-only`, `system-in-user`, `raw`).
    fn from_str(s: &str) -> Result<Self, String> {
        let folded: String = s.chars().filter(|c| *c != '-' && *c != '_').collect();
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(&folded) || m.alias() == Some(s))
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|m| m.name()).collect();
                format!("unknown prompt style `{s}` (expected one of: {})", names.join(", "))
            })
    }
}

/// LiveCodeBench's model registry (`LanguageModelList` in `lcb_runner/lm_styles.py` at 28fef95),
/// the models whose style valley renders for an OpenAI-compatible server: the API-only Claude
/// and Gemini entries are left out. LiveCodeBench's own aliases are folded into the style that
/// builds the same messages (`DeepSeekAPI`, `TogetherAI`, `MistralWeb` → `OpenAIChat`; `Grok` →
/// `OpenAIReasonPreview`).
pub const LCB_MODELS: &[(&str, PromptStyle)] = &[
    ("meta-llama/Meta-Llama-3-8B", PromptStyle::GenericBase),
    ("meta-llama/Meta-Llama-3-70B", PromptStyle::GenericBase),
    ("meta-llama/Meta-Llama-3-8B-Instruct", PromptStyle::LLaMa3),
    ("meta-llama/Meta-Llama-3-70B-Instruct", PromptStyle::LLaMa3),
    ("meta-llama/Llama-3.1-8B", PromptStyle::GenericBase),
    ("meta-llama/Llama-3.1-70B", PromptStyle::GenericBase),
    ("meta-llama/Llama-3.1-405B-FP8", PromptStyle::GenericBase),
    ("meta-llama/Llama-3.1-8B-Instruct", PromptStyle::LLaMa3),
    ("meta-llama/Llama-3.1-70B-Instruct", PromptStyle::LLaMa3),
    ("meta-llama/Llama-3.1-405B-Instruct-FP8", PromptStyle::LLaMa3),
    ("meta-llama/Llama-3.3-70B-Instruct", PromptStyle::LLaMa3),
    ("deepseek-ai/deepseek-coder-33b-base", PromptStyle::GenericBase),
    ("deepseek-ai/deepseek-coder-6.7b-base", PromptStyle::GenericBase),
    ("deepseek-ai/deepseek-coder-1.3b-base", PromptStyle::GenericBase),
    ("deepseek-ai/deepseek-coder-33b-instruct", PromptStyle::DeepSeekCodeInstruct),
    ("deepseek-ai/deepseek-coder-6.7b-instruct", PromptStyle::DeepSeekCodeInstruct),
    ("deepseek-ai/deepseek-coder-1.3b-instruct", PromptStyle::DeepSeekCodeInstruct),
    ("01-ai/Yi-Coder-9B-Chat", PromptStyle::OpenAIChat),
    ("deepseek-r1-preview", PromptStyle::OpenAIChat),
    ("deepseek-r1-lite-preview", PromptStyle::OpenAIChat),
    ("deepseek-chat", PromptStyle::OpenAIChat),
    ("deepseek-coder", PromptStyle::OpenAIChat),
    ("gpt-3.5-turbo-0301", PromptStyle::OpenAIChat),
    ("gpt-3.5-turbo-0125", PromptStyle::OpenAIChat),
    ("gpt-4-0613", PromptStyle::OpenAIChat),
    ("gpt-4-1106-preview", PromptStyle::OpenAIChat),
    ("gpt-4-turbo-2024-04-09", PromptStyle::OpenAIChat),
    ("gpt-4o-2024-05-13", PromptStyle::OpenAIChat),
    ("gpt-4o-2024-08-06", PromptStyle::OpenAIChat),
    ("gpt-4o-mini-2024-07-18", PromptStyle::OpenAIChat),
    ("o1-preview-2024-09-12", PromptStyle::OpenAIReasonPreview),
    ("o1-mini-2024-09-12", PromptStyle::OpenAIReasonPreview),
    ("o1-2024-12-17__low", PromptStyle::OpenAIReason),
    ("o1-2024-12-17__medium", PromptStyle::OpenAIReason),
    ("o1-2024-12-17__high", PromptStyle::OpenAIReason),
    ("o3-mini-2025-01-31__low", PromptStyle::OpenAIReason),
    ("o3-mini-2025-01-31__medium", PromptStyle::OpenAIReason),
    ("o3-mini-2025-01-31__high", PromptStyle::OpenAIReason),
    ("o4-mini__high", PromptStyle::OpenAIReason),
    ("o4-mini__medium", PromptStyle::OpenAIReason),
    ("o4-mini__low", PromptStyle::OpenAIReason),
    ("o3__high", PromptStyle::OpenAIReason),
    ("bigcode/starcoder2-3b", PromptStyle::GenericBase),
    ("bigcode/starcoder2-7b", PromptStyle::GenericBase),
    ("bigcode/starcoder2-15b", PromptStyle::GenericBase),
    ("google/codegemma-7b", PromptStyle::GenericBase),
    ("google/codegemma-2b", PromptStyle::GenericBase),
    ("google/gemma-7b", PromptStyle::GenericBase),
    ("google/gemma-2b", PromptStyle::GenericBase),
    ("mistral-large-latest", PromptStyle::OpenAIChat),
    ("open-mixtral-8x22b", PromptStyle::OpenAIChat),
    ("open-mixtral-8x7b", PromptStyle::OpenAIChat),
    ("codestral-latest", PromptStyle::OpenAIChat),
    ("Qwen/QwQ-32B-Preview", PromptStyle::QwQ),
    ("Qwen/QwQ-32B", PromptStyle::QwQ),
    ("Qwen/Qwen2-72B-Instruct", PromptStyle::CodeQwenInstruct),
    ("Qwen/Qwen2.5-7B-Instruct", PromptStyle::CodeQwenInstruct),
    ("Qwen/Qwen2.5-32B-Instruct", PromptStyle::CodeQwenInstruct),
    ("Qwen/Qwen2.5-72B-Instruct", PromptStyle::CodeQwenInstruct),
    ("Qwen/Qwen2.5-Coder-7B-Instruct", PromptStyle::CodeQwenInstruct),
    ("Qwen/Qwen2.5-Coder-32B-Instruct", PromptStyle::CodeQwenInstruct),
    ("Qwen/Qwen3-235B-A22B", PromptStyle::CodeQwenInstruct),
    ("azerogpt", PromptStyle::CodeQwenInstruct),
    ("Kimi-k1.6-IOI-high", PromptStyle::CodeQwenInstruct),
    ("Kimi-k1.6-IOI", PromptStyle::CodeQwenInstruct),
    ("Qwen/QwQ-Max-Preview", PromptStyle::QwQ),
    ("accounts/fireworks/models/deepseek-r1", PromptStyle::DeepSeekR1),
    ("deepseek-reasoner", PromptStyle::DeepSeekR1),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", PromptStyle::DeepSeekR1),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", PromptStyle::DeepSeekR1),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", PromptStyle::DeepSeekR1),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", PromptStyle::DeepSeekR1),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", PromptStyle::DeepSeekR1),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", PromptStyle::DeepSeekR1),
    ("MetaStone-L1-7B", PromptStyle::DeepSeekR1),
    ("grok-3-mini-beta", PromptStyle::OpenAIReasonPreview),
    ("grok-3-mini-beta_high", PromptStyle::OpenAIReasonPreview),
    ("nvidia/Llama-3_1-Nemotron-Ultra-253B-v1", PromptStyle::DeepSeekR1),
    ("nvidia/Llama-3_1-Nemotron-Nano-8B-v1", PromptStyle::DeepSeekR1),
    ("agentica-org/DeepCoder-14B-Preview", PromptStyle::DeepSeekR1),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn check(model: &str, expect: Option<PromptStyle>) {
        assert_eq!(PromptStyle::for_model(model), expect, "{model}");
    }

    #[test]
    fn registry_picks_styles_as_lcb_does() {
        check("Qwen/Qwen2.5-7B-Instruct", Some(PromptStyle::CodeQwenInstruct));
        check("meta-llama/Llama-3.1-8B-Instruct", Some(PromptStyle::LLaMa3));
        check("meta-llama/Llama-3.1-8B", Some(PromptStyle::GenericBase));
        check("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", Some(PromptStyle::DeepSeekR1));
        check("Qwen/QwQ-32B", Some(PromptStyle::QwQ));
        check("gpt-4o-2024-08-06", Some(PromptStyle::OpenAIChat));
        check("o3-mini-2025-01-31__high", Some(PromptStyle::OpenAIReason));
        // a served name or a local folder finds its registry entry by its last component
        check("qwen2.5-7b-instruct", Some(PromptStyle::CodeQwenInstruct));
        check("/models/Llama-3.1-8B-Instruct/", Some(PromptStyle::LLaMa3));
        // a model LCB does not know
        check("my-student", None);
        check("Qwen2.5-7B-Instruct-sft", None);
    }

    #[test]
    fn names_and_aliases_parse() {
        for s in PromptStyle::ALL {
            assert_eq!(s.name().parse::<PromptStyle>(), Ok(s));
            assert_eq!(s.name().to_lowercase().parse::<PromptStyle>(), Ok(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
        }
        assert_eq!("openai-chat".parse(), Ok(PromptStyle::OpenAIChat));
        assert_eq!("user-only".parse(), Ok(PromptStyle::GenericOAIServer));
        assert_eq!("system-in-user".parse(), Ok(PromptStyle::OpenAIReasonPreview));
        assert_eq!("raw".parse(), Ok(PromptStyle::Raw));
        assert_eq!("deepseek-r1".parse(), Ok(PromptStyle::DeepSeekR1));
        assert!("claude3".parse::<PromptStyle>().is_err());
    }

    #[test]
    fn base_models_grade_the_whole_output() {
        assert_eq!(PromptStyle::GenericBase.lcb_extract_mode(), crate::ExtractMode::LcbBase);
        assert_eq!(PromptStyle::CodeQwenInstruct.lcb_extract_mode(), crate::ExtractMode::Lcb);
        assert_eq!(PromptStyle::LLaMa3.shape(), PromptShape::Text);
        assert_eq!(PromptStyle::OpenAIChat.shape(), PromptShape::Chat);
    }
}
