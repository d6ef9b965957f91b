//! The model trains every parameter, its gradients are right, packing keeps examples apart and
//! the loss covers exactly the masked tokens.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use valley_native::config::{Family, ModelConfig};
use valley_native::config::{held_shape, parameter_shapes};
use valley_native::llama::CausalLm;
use valley_native::loss::sft_loss;
use valley_native::pack::{Example, pack};
use valley_native::rng::Rng;

type F64 = NdArray<f64>;
type F64Train = Autodiff<F64>;

fn tiny(family: Family, tied: bool) -> ModelConfig {
    ModelConfig {
        model_type: family,
        vocab_size: 23,
        hidden_size: 16,
        intermediate_size: 24,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 4,
        rms_norm_eps: 1e-6,
        rope_theta: 10000.0,
        rope_scaling: None,
        max_position_embeddings: 64,
        tie_word_embeddings: tied,
        attention_bias: family == Family::Qwen2,
        bos_token_id: None,
        eos_token_id: None,
    }
}

/// Random f64 weights; norm weights and biases are drawn too (not 1 and 0) so their gradients
/// are exercised in general position.
fn weights(cfg: &ModelConfig, seed: u64) -> Vec<(String, Vec<usize>, Vec<f64>)> {
    let mut rng = Rng::new(seed);
    parameter_shapes(cfg)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let base = if name.ends_with("norm.weight") { 1.0 } else { 0.0 };
            let values = (0..n).map(|_| base + 0.3 * rng.normal()).collect();
            (name, shape, values)
        })
        .collect()
}

fn build<B: burn::tensor::backend::Backend>(
    cfg: &ModelConfig,
    w: &[(String, Vec<usize>, Vec<f64>)],
    grad: bool,
) -> CausalLm<B> {
    let device = Default::default();
    CausalLm::build(cfg.clone(), |name, held| {
        let (_, _, values) = w.iter().find(|(n, _, _)| n == name).unwrap();
        let t = Tensor::<B, 2>::from_data(TensorData::new(values.clone(), held), &device);
        Ok::<_, ()>(if grad { t.require_grad() } else { t })
    })
    .unwrap()
}

fn examples() -> Vec<Example> {
    let mut rng = Rng::new(7);
    [9usize, 6, 11]
        .iter()
        .map(|&n| {
            let input_ids = (0..n).map(|_| (rng.next_u64() % 23) as u32).collect();
            // A prompt, then an assistant turn whose last token (end of turn) carries the loss.
            let loss_mask = (0..n).map(|i| u8::from(i >= n / 2)).collect();
            Example { input_ids, loss_mask }
        })
        .collect()
}

fn loss_f64(
    cfg: &ModelConfig,
    w: &[(String, Vec<usize>, Vec<f64>)],
    ex: &[Example],
    max_len: usize,
) -> f64 {
    let refs: Vec<&Example> = ex.iter().collect();
    let packed = pack(&refs, max_len);
    let model = build::<F64>(cfg, w, false);
    sft_loss(&model, &packed, packed.loss_tokens() as f64).into_scalar().elem::<f64>()
}

#[test]
fn every_parameter_receives_a_gradient() {
    for (family, tied) in [(Family::Qwen2, false), (Family::Llama, true), (Family::Llama, false)] {
        let cfg = tiny(family, tied);
        let w = weights(&cfg, 1);
        let ex = examples();
        let refs: Vec<&Example> = ex.iter().collect();
        let packed = pack(&refs, 32);
        let model = build::<F64Train>(&cfg, &w, true);
        let grads = sft_loss(&model, &packed, packed.loss_tokens() as f64).backward();
        let params = model.parameters();
        assert_eq!(params.len(), parameter_shapes(&cfg).len());
        for (name, p) in params {
            let g = p
                .grad(&grads)
                .unwrap_or_else(|| panic!("{family:?} tied={tied}: {name} got no gradient"));
            let norm: f64 = g.powi_scalar(2).sum().into_scalar().elem();
            assert!(norm > 0.0, "{family:?} tied={tied}: {name} has a zero gradient");
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    for (family, tied) in [(Family::Qwen2, false), (Family::Llama, true)] {
        let cfg = tiny(family, tied);
        let w = weights(&cfg, 2);
        let ex = examples();
        let refs: Vec<&Example> = ex.iter().collect();
        let packed = pack(&refs, 20);
        let model = build::<F64Train>(&cfg, &w, true);
        let grads = sft_loss(&model, &packed, packed.loss_tokens() as f64).backward();
        let analytic: Vec<(String, Vec<f64>)> = model
            .parameters()
            .into_iter()
            .map(|(n, p)| {
                (n, p.grad(&grads).unwrap().into_data().convert::<f64>().into_vec::<f64>().unwrap())
            })
            .collect();
        let mut rng = Rng::new(3);
        let mut worst = 0f64;
        for (pi, (name, shape, values)) in w.iter().enumerate() {
            // Two entries of every parameter.
            for _ in 0..2 {
                let i = (rng.next_u64() % values.len() as u64) as usize;
                let h = 1e-5;
                let mut plus = w.clone();
                plus[pi].2[i] += h;
                let mut minus = w.clone();
                minus[pi].2[i] -= h;
                let numeric =
                    (loss_f64(&cfg, &plus, &ex, 20) - loss_f64(&cfg, &minus, &ex, 20)) / (2.0 * h);
                let a = analytic.iter().find(|(n, _)| n == name).unwrap().1[i];
                let err = (a - numeric).abs() / (a.abs() + numeric.abs()).max(1e-6);
                worst = worst.max(err);
                assert!(
                    err < 1e-5,
                    "{family:?}: {name}{shape:?}[{i}]: autograd {a:e} vs finite difference {numeric:e} (rel err {err:e})"
                );
            }
        }
        #[expect(clippy::print_stderr, reason = "the measured error, for the record")]
        {
            eprintln!("{family:?} tied={tied}: worst relative error {worst:e}");
        }
    }
}

#[test]
fn packed_loss_equals_separate_losses() {
    let cfg = tiny(Family::Qwen2, false);
    let w = weights(&cfg, 4);
    let ex = examples();
    // Packed: all three share rows of 20 tokens (9 + 11, then 6). Separate: one row each.
    let refs: Vec<&Example> = ex.iter().collect();
    let packed = pack(&refs, 20);
    assert!(packed.batch.batch < ex.len(), "the test must actually pack");
    let model = build::<F64>(&cfg, &w, false);
    let total = packed.loss_tokens() as f64;
    let together: f64 = sft_loss(&model, &packed, total).into_scalar().elem();
    let apart: f64 = ex
        .iter()
        .map(|e| {
            let p = pack(&[e], 20);
            sft_loss(&model, &p, total).into_scalar().elem::<f64>()
        })
        .sum();
    assert!(
        (together - apart).abs() < 1e-12 * apart.abs().max(1.0),
        "packed {together} vs separate {apart}"
    );
}

#[test]
fn loss_counts_exactly_the_masked_targets() {
    // The loss is the mean of -log p(next) over the tokens whose mask is 1, the last token (the
    // end of turn) included; computed here from the logits on the host.
    let cfg = tiny(Family::Llama, true);
    let w = weights(&cfg, 5);
    let e = Example {
        input_ids: vec![3, 1, 4, 1, 5, 9, 2, 6],
        loss_mask: vec![0, 0, 0, 1, 1, 1, 1, 1],
    };
    let packed = pack(&[&e], 16);
    let model = build::<F64>(&cfg, &w, false);
    let loss: f64 = sft_loss(&model, &packed, packed.loss_tokens() as f64).into_scalar().elem();
    let logits = model
        .logits(model.hidden_states(&packed.batch))
        .into_data()
        .convert::<f64>()
        .into_vec::<f64>()
        .unwrap();
    let v = cfg.vocab_size;
    let mut sum = 0.0;
    let mut count = 0;
    for t in 1..e.input_ids.len() {
        if e.loss_mask[t] == 1 {
            let row = &logits[(t - 1) * v..t * v];
            let max = row.iter().cloned().fold(f64::MIN, f64::max);
            let lse = max + row.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
            sum += lse - row[e.input_ids[t] as usize];
            count += 1;
        }
    }
    assert_eq!(count, 5, "targets 3..=7, the end-of-turn token included");
    assert_eq!(packed.loss_tokens(), 5);
    assert!((loss - sum / count as f64).abs() < 1e-12, "{loss} vs {}", sum / count as f64);
    let _ = held_shape(&[3]);
}

/// The hand-written CPU training pass (`backprop`, f32) gives the loss and every gradient that
/// burn's autodiff gives in f64 (checked above against finite differences), on packed rows of
/// several examples, for Qwen2 (biases, untied head) and Llama (tied embeddings).
#[test]
fn backprop_gradients_match_autodiff() {
    use valley_native::backprop::Backprop;
    use valley_native::sft::Engine;
    use valley_native::tensors::HostTensors;
    for (family, tied) in [(Family::Qwen2, false), (Family::Llama, true)] {
        let cfg = tiny(family, tied);
        let w = weights(&cfg, 6);
        let ex = examples();
        let refs: Vec<&Example> = ex.iter().collect();
        let packed = pack(&refs, 20);
        assert!(packed.batch.batch < ex.len(), "the test must pack");
        let model = build::<F64Train>(&cfg, &w, true);
        let loss = sft_loss(&model, &packed, packed.loss_tokens() as f64);
        let expect_loss: f64 = loss.clone().into_scalar().elem();
        let grads = loss.backward();
        let host: HostTensors = w
            .iter()
            .map(|(n, s, v)| (n.clone(), (s.clone(), v.iter().map(|&x| x as f32).collect())))
            .collect();
        let mut engine = Backprop::new(&cfg, &host, std::path::Path::new("test"), ()).unwrap();
        let (ours, got) = engine.loss_and_gradients(&packed, packed.loss_tokens() as f64);
        assert!(
            (ours - expect_loss).abs() < 1e-5 * expect_loss.abs(),
            "{family:?}: loss {ours} vs {expect_loss}"
        );
        for (name, p) in model.parameters() {
            let want: Vec<f64> =
                p.grad(&grads).unwrap().into_data().convert::<f64>().into_vec::<f64>().unwrap();
            let have = &got[&name].1;
            let diff: f64 =
                want.iter().zip(have).map(|(a, b)| (a - f64::from(*b)).powi(2)).sum::<f64>().sqrt();
            let norm: f64 = want.iter().map(|a| a * a).sum::<f64>().sqrt();
            assert!(
                diff <= 1e-4 * norm.max(1e-8),
                "{family:?} tied={tied}: {name}: |Δ| {diff:e} vs |∇| {norm:e}"
            );
        }
    }
}
