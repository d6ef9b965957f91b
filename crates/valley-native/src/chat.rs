//! The tokenizer and chat template of a model: its HF folder's files, a given tokenizer folder,
//! or the metadata of a GGUF file; and the end-of-turn tokens generation stops at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use valley_data::chat::{ChatTemplate, ChatTokenizer, LoadTokenizerError};

use crate::config::ModelConfig;
use crate::gguf::{self, GgufError};

/// Why a model's tokenizer cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadChatError {
    #[error(transparent)]
    Folder(#[from] LoadTokenizerError),
    #[error("{path}")]
    Gguf {
        path: PathBuf,
        #[source]
        source: GgufError,
    },
    #[error("{path}: tokenizer metadata: {message}")]
    Metadata { path: PathBuf, message: String },
}

/// Loads the chat tokenizer of `model` (an HF folder or a `.gguf` file), or of `tokenizer` (a
/// folder) when given; `chat_template` overrides the template.
pub fn load_chat_tokenizer(
    model: &Path,
    tokenizer: Option<&Path>,
    chat_template: Option<&Path>,
) -> Result<ChatTokenizer, LoadChatError> {
    if let Some(dir) = tokenizer {
        return Ok(ChatTokenizer::load(dir, chat_template)?);
    }
    if model.extension().is_none_or(|e| e != "gguf") {
        return Ok(ChatTokenizer::load(model, chat_template)?);
    }
    let meta = |message: String| LoadChatError::Metadata { path: model.to_path_buf(), message };
    let header = gguf::read_header(model)
        .map_err(|source| LoadChatError::Gguf { path: model.to_path_buf(), source })?;
    let (tokenizer_json, config) = gguf::tokenizer_files(&header)
        .map_err(|source| LoadChatError::Gguf { path: model.to_path_buf(), source })?;
    let tok = tokenizers::Tokenizer::from_bytes(
        serde_json::to_vec(&tokenizer_json).expect("JSON serialises"),
    )
    .map_err(|e| meta(e.to_string()))?;
    let specials: BTreeMap<String, String> = ["bos_token", "eos_token", "unk_token", "pad_token"]
        .iter()
        .filter_map(|k| {
            config.get(*k).and_then(|v| v.as_str()).map(|v| ((*k).to_owned(), v.to_owned()))
        })
        .collect();
    let source = match chat_template {
        Some(p) => fs_err::read_to_string(p).map_err(|e| meta(e.to_string()))?,
        None => config
            .get("chat_template")
            .and_then(|v| v.as_str())
            .ok_or_else(|| meta("no tokenizer.chat_template".into()))?
            .to_owned(),
    };
    let template = ChatTemplate::new(source, &specials).map_err(|e| meta(e.to_string()))?;
    Ok(ChatTokenizer::from_parts(tok, template, specials.get("eos_token").cloned()))
}

/// The token ids that end a turn: the config's `eos_token_id`, the tokenizer's end-of-turn
/// token, and the usual end markers the vocabulary has (`<|im_end|>`, `<|eot_id|>`,
/// `<|endoftext|>`, `<|end_of_text|>`).
pub fn stop_ids(tokenizer: &ChatTokenizer, config: &ModelConfig) -> Vec<u32> {
    let t = tokenizer.tokenizer();
    let mut ids: Vec<u32> = config.eos_token_id.into_iter().collect();
    let names = tokenizer.end_of_turn().into_iter().chain([
        "<|im_end|>",
        "<|eot_id|>",
        "<|endoftext|>",
        "<|end_of_text|>",
    ]);
    for name in names {
        if let Some(id) = t.token_to_id(name)
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}
