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

/// The serving engine on the real Q4_1 file (its blocks used as stored, activations quantised to
/// 8 bits as llama.cpp does) against the f32 path over the dequantised weights, on a chat prompt:
/// stated tolerance, at every position: logits equal up to a constant shift within 0.5 · their
/// standard deviation, KL(f32 ‖ engine) ≤ 0.1 nats (measured 0.40 and 0.040); the same argmax at ≥ 95% of positions (the
/// rest near-ties); and the greedy answer still names Paris.
#[test]
fn engine_logits_stay_close_to_the_f32_path() {
    let Some((gguf, _)) = paths() else { return };
    let tok = load_chat_tokenizer(&gguf, None, None).unwrap();
    let msgs =
        [valley_data::chat::Message::new("user", "Write a Python function that adds two numbers.")];
    let ids = tok.encode(&tok.render_text(&msgs, true).unwrap()).unwrap();
    let (ours, vocab) = valley_native::engine::cpu_logits(&gguf, &ids).unwrap();
    let (theirs, v2) = weights::cpu_logits(&gguf, &ids).unwrap();
    assert_eq!(vocab, v2);
    let (mut agree, mut worst, mut near_ties, mut kl_max) = (0, 0f32, true, 0f64);
    for (a, b) in ours.chunks(vocab).zip(theirs.chunks(vocab)) {
        // logits up to a constant shift (which changes no probability): centred rows
        let (ma, mb) = (a.iter().sum::<f32>() / vocab as f32, b.iter().sum::<f32>() / vocab as f32);
        let sd = (b.iter().map(|v| (v - mb).powi(2)).sum::<f32>() / vocab as f32).sqrt();
        let d = a.iter().zip(b).map(|(x, y)| ((x - ma) - (y - mb)).abs()).fold(0f32, f32::max);
        worst = worst.max(d / sd);
        // KL(f32 ‖ engine) of the next-token distributions
        let lse = |r: &[f32]| {
            let m = r.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            f64::from(m) + r.iter().map(|&v| f64::from(v - m).exp()).sum::<f64>().ln()
        };
        let (la, lb) = (lse(a), lse(b));
        let kl: f64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| {
                let (lpa, lpb) = (f64::from(x) - la, f64::from(y) - lb);
                lpb.exp() * (lpb - lpa)
            })
            .sum();
        kl_max = kl_max.max(kl);
        let arg = |r: &[f32]| (0..r.len()).fold(0, |m, i| if r[i] > r[m] { i } else { m });
        if arg(a) == arg(b) {
            agree += 1;
        } else {
            // a disagreement must be a near-tie in the f32 path
            near_ties &= b[arg(b)] - b[arg(a)] < 0.5;
        }
    }
    let share = agree as f64 / ids.len() as f64;
    #[expect(clippy::print_stderr, reason = "the measured agreement, for the record")]
    {
        eprintln!(
            "engine vs f32: argmax agreement {share:.3} over {} positions, max |Δ centred logit| / std {worst:.3}, max KL {kl_max:.4}",
            ids.len()
        );
    }
    assert!(worst <= 0.5 && kl_max <= 0.1, "max |Δ| / std {worst}, KL {kl_max}");
    assert!(share >= 0.95 && near_ties, "agreement {share}");
    // Greedy decoding one token at a time against the KV cache gives, at every step, the argmax
    // that one pass over prompt + answer gives; and the answer names Paris. (With SmolLM2's
    // default system prompt the first token is a near-tie — "The" vs "L" by 0.08 nats in f32 —
    // that the engine resolves as llama.cpp does, into a French digression: no system prompt here.)
    let model =
        valley_native::engine::QuantLm::load(&gguf, valley_native::quant::Isa::detect()).unwrap();
    let (mut cache, mut ws, mut logits) = (model.new_cache(), model.workspace(), Vec::new());
    let prompt = tok
        .encode(
            "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
        )
        .unwrap();
    let mut feed = prompt.clone();
    let mut out = Vec::new();
    let stop = stop_ids(&tok, &model.config);
    let argmax = |r: &[f32]| (0..r.len()).fold(0, |m, i| if r[i] > r[m] { i } else { m }) as u32;
    for _ in 0..24 {
        model.forward(
            &mut [valley_native::engine::Step { cache: &mut cache, tokens: &feed }],
            &mut ws,
            &mut logits,
        );
        let next = argmax(&logits);
        if stop.contains(&next) {
            break;
        }
        out.push(next);
        feed = vec![next];
    }
    let text = tok.tokenizer().decode(&out, true).unwrap();
    assert!(text.contains("Paris"), "{text:?}");
    let all: Vec<u32> = prompt.iter().chain(&out).copied().collect();
    let one_pass = model.logits_of(&all);
    for (k, &t) in out.iter().enumerate() {
        let row = &one_pass[(prompt.len() - 1 + k) * vocab..(prompt.len() + k) * vocab];
        assert_eq!(argmax(row), t, "step {k} of {text:?}");
    }
}
