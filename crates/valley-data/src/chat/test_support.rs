//! Tokenizers made in memory for the chat module's tests.

use serde_json::json;

/// GPT-2's byte → printable character map, which byte-level BPE vocabularies are written in.
fn byte_char(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return char::from(b);
    }
    let n = (0..b).filter(|x| !printable(*x)).count();
    char::from_u32(256 + u32::try_from(n).unwrap()).unwrap()
}

/// A byte-level BPE over single bytes (ids 0-255) plus the merge `\n\n` (256), with `added` as
/// special added tokens (257, 258, …) and a post-processor that prepends the first of them.
pub(crate) fn tiny_tokenizer_json(added: &[&str]) -> serde_json::Value {
    let mut vocab = serde_json::Map::new();
    for b in 0..=255u8 {
        vocab.insert(byte_char(b).to_string(), json!(u32::from(b)));
    }
    let nl = byte_char(b'\n').to_string();
    vocab.insert(format!("{nl}{nl}"), json!(256));
    let added_tokens: Vec<_> = added
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": i + 257, "content": t, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let first = added.first().copied().unwrap_or("<s>");
    json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": added_tokens,
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": first, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {first: {"id": first, "ids": [257], "tokens": [first]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": [[nl, nl]]}
    })
}

/// The tokenizer of [`tiny_tokenizer_json`].
pub(crate) fn tiny_tokenizer(added: &[&str]) -> tokenizers::Tokenizer {
    tiny_tokenizer_json(added).to_string().parse().expect("a valid tokenizer.json")
}
