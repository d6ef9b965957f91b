//! Real Qwen2.5 and Llama-3.1 tokenizers: renderings pinned to what HF transformers 5.24 produced,
//! and in torchtune's format to what torchtune 0.6.1's own tokenizers produced.
//!
//! The tokenizer folders are fetched by `scripts/fetch-tokenizers.sh` into `.cache/tokenizers/`
//! (or `$VALLEY_TOKENIZERS_DIR`); without them each test is a gated skip (`valley_test::gate`). The
//! full comparison on 1,000 conversations per model is `scripts/check-templates.sh`.

use std::path::PathBuf;

use valley_data::chat::{ChatTokenizer, Message, TorchtuneFormat, TorchtuneRenderer};

fn tokenizer(name: &str) -> Option<ChatTokenizer> {
    let root = std::env::var_os("VALLEY_TOKENIZERS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/tokenizers"),
        PathBuf::from,
    );
    let file = valley_test::gate::path(
        root.join(name).join("tokenizer.json"),
        "scripts/fetch-tokenizers.sh (npm)",
    )?;
    Some(ChatTokenizer::load(file.parent().unwrap(), None).expect("load tokenizer"))
}

fn conversation() -> Vec<Message> {
    vec![
        Message::new("system", "Be brief."),
        Message::new("user", "Add 2 and 3. <think>"),
        Message::new("assistant", "<think>\n2+3=5\n</think>\n\n5"),
    ]
}

/// Renders the conversation and compares with transformers' text and ids; checks that the
/// masked tokens decode to the response and its end-of-turn token.
fn check(name: &str, text: &str, ids: &[u32], prompt: &str, trained: &str) {
    let Some(tok) = tokenizer(name) else { return };
    let messages = conversation();
    let r = tok.render(&messages).unwrap();
    assert_eq!(r.text, text);
    assert_eq!(r.input_ids, ids);
    assert_eq!(tok.render_text(&messages[1..2], true).unwrap(), prompt);
    let masked: Vec<u32> =
        r.input_ids.iter().zip(&r.loss_mask).filter(|(_, m)| **m == 1).map(|(i, _)| *i).collect();
    assert_eq!(tok.tokenizer().decode(&masked, false).unwrap(), trained);
    // The ones are one contiguous run.
    let first = r.loss_mask.iter().position(|m| *m == 1).unwrap();
    assert!(r.loss_mask[first..first + masked.len()].iter().all(|m| *m == 1));
    assert_eq!(tok.count_tokens(&messages).unwrap(), ids.len());
}

#[test]
fn qwen25_matches_transformers() {
    check(
        "qwen2.5",
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nAdd 2 and 3. <think><|im_end|>\n<|im_start|>assistant\n<think>\n2+3=5\n</think>\n\n5<|im_end|>\n",
        &[
            151644, 8948, 198, 3430, 9814, 13, 151645, 198, 151644, 872, 198, 2212, 220, 17, 323,
            220, 18, 13, 366, 26865, 29, 151645, 198, 151644, 77091, 198, 13708, 766, 397, 17, 10,
            18, 28, 20, 198, 522, 26865, 1339, 20, 151645, 198,
        ],
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nAdd 2 and 3. <think><|im_end|>\n<|im_start|>assistant\n",
        "<think>\n2+3=5\n</think>\n\n5<|im_end|>",
    );
}

#[test]
fn llama31_matches_transformers() {
    check(
        "llama3.1",
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAdd 2 and 3. <think><|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<think>\n2+3=5\n</think>\n\n5<|eot_id|>",
        &[
            128000, 128006, 9125, 128007, 271, 38766, 1303, 33025, 2696, 25, 6790, 220, 2366, 18,
            198, 15724, 2696, 25, 220, 1627, 10263, 220, 2366, 19, 271, 3513, 10015, 13, 128009,
            128006, 882, 128007, 271, 2261, 220, 17, 323, 220, 18, 13, 366, 27963, 29, 128009,
            128006, 78191, 128007, 271, 14023, 771, 397, 17, 10, 18, 28, 20, 198, 524, 27963, 1363,
            20, 128009,
        ],
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAdd 2 and 3. <think><|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        "<think>\n2+3=5\n</think>\n\n5<|eot_id|>",
    );
}

#[test]
fn llama_bos_appears_once() {
    let Some(tok) = tokenizer("llama3.1") else { return };
    let r = tok.render(&conversation()).unwrap();
    assert_eq!(r.input_ids.iter().filter(|i| **i == 128_000).count(), 1);
}

/// valley's rendering in torchtune's format against torchtune's own tokenizers: the renderings
/// of `fixtures/torchtune/expected.jsonl` were made by torchtune 0.6.1's `Qwen2_5Tokenizer` and
/// `Llama3Tokenizer` (scripts/make-torchtune-fixture.py): headers and pieces tokenized apart,
/// special tokens in text (special for Qwen, plain text for Llama), Llama's stripped content and
/// cut long runs, the loss masks, the final token's mask under a maximum length, truncation.
/// The comparison on 1,000 traces against torchtune itself is `scripts/check-train-parity.sh`.
#[test]
fn torchtune_format_equals_torchtunes_own_tokenizers() {
    let fixture = include_str!("../../../fixtures/torchtune/expected.jsonl");
    let renderer = |t: ChatTokenizer| {
        let format = TorchtuneFormat::detect(t.tokenizer()).expect("a torchtune family");
        TorchtuneRenderer::new(t.tokenizer(), format).unwrap()
    };
    let (Some(qwen), Some(llama)) = (tokenizer("qwen2.5"), tokenizer("llama3.1")) else { return };
    let (qwen, llama) = (renderer(qwen), renderer(llama));
    let mut checked = 0;
    for line in fixture.lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let r = match case["tokenizer"].as_str().unwrap() {
            "qwen2.5" => &qwen,
            _ => &llama,
        };
        let mut messages = Vec::new();
        if let Some(system) = case["system"].as_str() {
            messages.push(Message::new("system", system));
        }
        messages.push(Message::new("user", case["user"].as_str().unwrap()));
        messages.push(Message::new("assistant", case["assistant"].as_str().unwrap()));
        let max = case["max_seq_len"].as_u64().map(|m| m as usize);
        let out = r.render(&messages, case["train_on_input"].as_bool().unwrap(), max).unwrap();
        let ids: Vec<u32> = serde_json::from_value(case["input_ids"].clone()).unwrap();
        let mask: Vec<u8> = serde_json::from_value(case["loss_mask"].clone()).unwrap();
        let name = format!("{} {}", case["tokenizer"], case["case"]);
        let first = out.rendered.input_ids.iter().zip(&ids).position(|(a, b)| a != b);
        assert_eq!(out.rendered.input_ids, ids, "{name}: first difference at {first:?}");
        assert_eq!(out.rendered.loss_mask, mask, "{name}");
        assert!(out.full_len >= ids.len(), "{name}");
        checked += 1;
    }
    assert_eq!(checked, 9);
}
