//! The CPU engine (quantised kernels, batched forward) against the burn model it replaces for
//! inference: identical arithmetic on f32 weights, the stated tolerance on quantised ones, and
//! batching that changes nothing.
//!
//! Tolerance (issue 17): with weights quantised to a type, the engine's logits are compared with
//! the f32 forward pass over the *same* weights dequantised (what valley ran before the
//! kernels), so the only difference is the 8-bit quantisation of activations that llama.cpp also
//! makes. Stated bound: max |Δ logit| ≤ 0.05 · std(logits) for the formats whose activations go
//! in blocks of 32 (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0; measured 0.037–0.041), ≤ 0.08 · std for the
//! K-quants (Q8_K activations in blocks of 256; measured 0.053–0.060), and the same argmax, on
//! every row.

use std::path::Path;

use valley_native::config::{Family, ModelConfig, parameter_shapes};
use valley_native::engine::{QuantLm, Step};
use valley_native::pack::{Example, pack};
use valley_native::quant::{ActKind, GgmlType, Isa};
use valley_native::rng::Rng;
use valley_native::tensors::HostTensors;
use valley_native::{Cpu, weights};

fn tiny(family: Family) -> ModelConfig {
    ModelConfig {
        model_type: family,
        vocab_size: 300,
        hidden_size: 256,
        intermediate_size: 512,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 64,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        rope_scaling: None,
        max_position_embeddings: 128,
        tie_word_embeddings: family == Family::Llama,
        attention_bias: family == Family::Qwen2,
        bos_token_id: None,
        eos_token_id: None,
    }
}

fn host(cfg: &ModelConfig, seed: u64) -> HostTensors {
    let mut rng = Rng::new(seed);
    parameter_shapes(cfg)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let base = if name.ends_with("norm.weight") { 1.0 } else { 0.0 };
            let sd = if name.contains("embed") { 1.0 } else { 0.06 };
            let values = (0..n).map(|_| base + sd * rng.normal() as f32).collect();
            (name, (shape, values))
        })
        .collect()
}

/// The burn model's logits of one sequence (every position).
fn burn_logits(cfg: &ModelConfig, host: &HostTensors, ids: &[u32]) -> Vec<Vec<f32>> {
    let model =
        weights::to_device::<Cpu>(cfg.clone(), host, Path::new("test"), &Default::default())
            .unwrap();
    let ex = Example { input_ids: ids.to_vec(), loss_mask: vec![1; ids.len()] };
    let packed = pack(&[&ex], ids.len());
    let logits = model.logits(model.hidden_states(&packed.batch));
    let v = logits.into_data().convert::<f32>().into_vec::<f32>().unwrap();
    v.chunks(cfg.vocab_size).map(<[f32]>::to_vec).collect()
}

/// The engine's logits at every position, one token per step after a prompt of one token.
fn engine_logits(model: &QuantLm, ids: &[u32]) -> Vec<Vec<f32>> {
    let (mut cache, mut ws, mut logits) = (model.new_cache(), model.workspace(), Vec::new());
    ids.iter()
        .map(|t| {
            model.forward(
                &mut [Step { cache: &mut cache, tokens: std::slice::from_ref(t) }],
                &mut ws,
                &mut logits,
            );
            logits.clone()
        })
        .collect()
}

fn ids(n: usize, vocab: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| (rng.uniform() * vocab as f64) as u32).collect()
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

/// (max |Δ|, std of the reference) over all rows.
fn compare(a: &[Vec<f32>], b: &[Vec<f32>]) -> (f32, f32) {
    let all: Vec<f32> = b.iter().flatten().copied().collect();
    let mean = all.iter().sum::<f32>() / all.len() as f32;
    let sd = (all.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / all.len() as f32).sqrt();
    let worst =
        a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    (worst, sd)
}

#[test]
fn f32_weights_give_the_burn_models_logits() {
    for family in [Family::Llama, Family::Qwen2] {
        let cfg = tiny(family);
        let h = host(&cfg, 3);
        let seq = ids(20, cfg.vocab_size, 5);
        let theirs = burn_logits(&cfg, &h, &seq);
        for isa in [Isa::Scalar, Isa::detect()] {
            let model = QuantLm::from_host(cfg.clone(), &h, Path::new("test"), isa).unwrap();
            let ours = engine_logits(&model, &seq);
            let (worst, sd) = compare(&ours, &theirs);
            assert!(worst <= 1e-4 * sd.max(1.0), "{family:?} {isa:?}: max |Δ| {worst} (std {sd})");
        }
    }
}

#[test]
fn quantised_weights_stay_within_the_stated_tolerance_of_f32() {
    let cfg = tiny(Family::Llama);
    let h = host(&cfg, 4);
    let seq = ids(24, cfg.vocab_size, 6);
    for ty in [
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q4K,
        GgmlType::Q5K,
        GgmlType::Q6K,
    ] {
        let model = QuantLm::from_host(cfg.clone(), &h, Path::new("test"), Isa::detect())
            .unwrap()
            .requantize(ty);
        assert!(model.weight_types().iter().any(|(t, _)| *t == ty), "{}", ty.name());
        // the reference: the same (quantised) weights, dequantised, through the f32 path
        let mut deq = h.clone();
        for (i, l) in model.layers.iter().enumerate() {
            for (name, m) in [
                ("self_attn.q_proj", &l.q_proj),
                ("self_attn.k_proj", &l.k_proj),
                ("self_attn.v_proj", &l.v_proj),
                ("self_attn.o_proj", &l.o_proj),
                ("mlp.gate_proj", &l.gate_proj),
                ("mlp.up_proj", &l.up_proj),
                ("mlp.down_proj", &l.down_proj),
            ] {
                let mut values = Vec::new();
                for r in 0..m.rows {
                    m.row_f32(r, &mut values);
                }
                deq.get_mut(&format!("model.layers.{i}.{name}.weight")).unwrap().1 = values;
            }
        }
        let theirs = burn_logits(&cfg, &deq, &seq);
        let ours = engine_logits(&model, &seq);
        let (worst, sd) = compare(&ours, &theirs);
        // activations in blocks of 32 (Q8_0, Q8_1) or, for the K-quants, of 256 (Q8_K: one
        // scale for 8× as many values, so a larger rounding error, as in llama.cpp)
        let bound = if ty.dot_partner() == ActKind::Q8K { 0.08 } else { 0.05 };
        assert!(worst <= bound * sd, "{}: max |Δ| {worst} > {bound} · std {sd}", ty.name());
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(argmax(a), argmax(b), "{}", ty.name());
        }
    }
}

/// Three sequences decoded together — one prefilling a prompt while two decode — give each the
/// logits it gets alone.
#[test]
fn batching_sequences_changes_nothing() {
    let cfg = tiny(Family::Qwen2);
    let h = host(&cfg, 8);
    let model = QuantLm::from_host(cfg.clone(), &h, Path::new("test"), Isa::detect())
        .unwrap()
        .requantize(GgmlType::Q8_0);
    let seqs = [ids(9, cfg.vocab_size, 1), ids(5, cfg.vocab_size, 2), ids(23, cfg.vocab_size, 3)];
    let alone: Vec<Vec<Vec<f32>>> = seqs.iter().map(|s| engine_logits(&model, s)).collect();
    let mut caches: Vec<_> = seqs.iter().map(|_| model.new_cache()).collect();
    let (mut ws, mut logits) = (model.workspace(), Vec::new());
    let v = cfg.vocab_size;
    // sequence 2 starts with its first 6 tokens as one prompt, the others one token at a time
    let mut at = [0usize, 0, 0];
    let mut got: Vec<Vec<Vec<f32>>> = vec![Vec::new(); 3];
    let mut read: Vec<Vec<usize>> = vec![Vec::new(); 3];
    while at.iter().zip(&seqs).any(|(a, s)| *a < s.len()) {
        let mut idx = Vec::new();
        let mut steps = Vec::new();
        for (s, cache) in caches.iter_mut().enumerate() {
            if at[s] >= seqs[s].len() {
                continue;
            }
            // sequence 2 reads two chunks, the second across a 16-position key tile
            let take = match (s, at[s]) {
                (2, 0) => 6,
                (2, 12) => 7,
                _ => 1,
            };
            steps.push(Step { cache, tokens: &seqs[s][at[s]..at[s] + take] });
            idx.push((s, take));
        }
        model.forward(&mut steps, &mut ws, &mut logits);
        for (k, (s, take)) in idx.into_iter().enumerate() {
            at[s] += take;
            got[s].push(logits[k * v..(k + 1) * v].to_vec());
            read[s].push(at[s] - 1);
        }
    }
    for s in 0..3 {
        // a chunk gives the logits of its last position
        let expect: Vec<Vec<f32>> = read[s].iter().map(|&p| alone[s][p].clone()).collect();
        let (worst, sd) = compare(&got[s], &expect);
        assert!(worst <= 1e-5 * sd.max(1.0), "sequence {s}: max |Δ| {worst}");
    }
}
