//! The real SmolLM2-135M-Instruct GGUF (Q4_1): its tokenizer rebuilt from the metadata agrees with
//! the HF folder scripts/gguf_tokenizer.py writes, and the dequantised, un-permuted weights answer
//! sensibly (a wrong q/k permutation or dequantisation gives gibberish). Runs when
//! `VALLEY_SMOLLM2_GGUF` and `VALLEY_SMOLLM2_TOKENIZER` are set (scripts/setup.d/70-smollm2.sh).

use std::path::PathBuf;

use valley_data::chat::{ChatTokenizer, trace_conversation};
use valley_native::chat::{load_chat_tokenizer, stop_ids};
use valley_native::generate::{FinishReason, SamplingParams, generate};
use valley_native::{Cpu, weights};

fn paths() -> Option<(PathBuf, PathBuf)> {
    let how = "scripts/setup.d/70-smollm2.sh, then source .cache/env.sh";
    let gguf = valley_test::gate::env("VALLEY_SMOLLM2_GGUF", how)?;
    let tokenizer = valley_test::gate::env("VALLEY_SMOLLM2_TOKENIZER", how)?;
    Some((gguf.into(), tokenizer.into()))
}

#[test]
fn gguf_tokenizer_matches_the_exported_folder() {
    let Some((gguf, folder)) = paths() else { return };
    let ours = load_chat_tokenizer(&gguf, None, None).unwrap();
    let theirs = ChatTokenizer::load(&folder, None).unwrap();
    let texts = [
        "def f(x):\n    return x ** 2  # 12345 squares",
        "  Leading spaces, ünïcödé, emoji 🙂 and tabs\t\tend.\n\n\n",
        "<|im_start|>user\nHi<|im_end|>\n",
    ];
    for t in texts {
        assert_eq!(ours.encode(t).unwrap(), theirs.encode(t).unwrap(), "{t:?}");
    }
    let conv = trace_conversation(None, "Add 2 and 3.", "<think>2+3</think>5");
    let (a, b) = (ours.render(&conv).unwrap(), theirs.render(&conv).unwrap());
    assert_eq!(a, b);
    // The mask covers the assistant turn and its end-of-turn token.
    let im_end = ours.tokenizer().token_to_id("<|im_end|>").unwrap();
    let last_masked = a.loss_mask.iter().rposition(|&m| m == 1).unwrap();
    assert_eq!(a.input_ids[last_masked], im_end);
}

#[test]
fn greedy_answer_is_sensible() {
    let Some((gguf, _)) = paths() else { return };
    let (config, host) = weights::load_host(&gguf).unwrap();
    assert!(config.tie_word_embeddings);
    assert_eq!(
        (config.num_hidden_layers, config.hidden_size, config.num_key_value_heads),
        (30, 576, 3)
    );
    let model =
        weights::to_device::<Cpu>(config.clone(), &host, &gguf, &Default::default()).unwrap();
    let tok = load_chat_tokenizer(&gguf, None, None).unwrap();
    let stop = stop_ids(&tok, &config);
    let msgs = [valley_data::chat::Message::new("user", "What is the capital of France?")];
    let prompt = tok.encode(&tok.render_text(&msgs, true).unwrap()).unwrap();
    let params = SamplingParams { temperature: 0.0, max_tokens: 24, ..Default::default() };
    let g = generate(&model, &prompt, &params, &stop, |_| false);
    let text = tok.tokenizer().decode(&g.tokens, true).unwrap();
    assert!(text.contains("Paris"), "{text:?}");
    assert_eq!(g.finish_reason, FinishReason::Stop, "{text:?}");
}

/// The GGUF exported as an HF folder holds exactly the weights the native loader reads from the
/// GGUF, a config that loads back to the same architecture, and a tokenizer that encodes as the
/// GGUF's own does; a second export into the same folder is refused.
#[test]
fn gguf_exports_to_an_equivalent_hf_folder() {
    let Some((gguf, _)) = paths() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smollm2-hf");
    let summary = valley_native::export::export_gguf_to_hf(&gguf, &out).unwrap();
    assert_eq!(summary.model_type, "llama");
    assert!(summary.parameters > 100_000_000, "{summary:?}");
    let (cfg_a, a) = weights::load_host(&gguf).unwrap();
    let (cfg_b, b) = weights::load_host(&out).unwrap();
    assert_eq!(cfg_a.to_hf_json(), cfg_b.to_hf_json());
    assert_eq!(a.len(), b.len());
    for (name, (shape, values)) in &a {
        let (shape_b, values_b) = &b[name];
        assert_eq!(shape, shape_b, "{name}");
        assert!(values == values_b, "{name}: values differ");
    }
    let ours = load_chat_tokenizer(&gguf, None, None).unwrap();
    let exported = ChatTokenizer::load(&out, None).unwrap();
    let text = "def f(x):\n    return x ** 2  # ünïcödé 🙂\n<|im_end|>";
    assert_eq!(ours.encode(text).unwrap(), exported.encode(text).unwrap());
    assert!(!dir.path().join(".smollm2-hf.partial").exists());
    assert!(matches!(
        valley_native::export::export_gguf_to_hf(&gguf, &out),
        Err(valley_native::export::ExportError::Exists(_))
    ));
}
