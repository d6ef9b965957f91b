//! Killing a run after a checkpoint and resuming it reproduces the uninterrupted loss curve,
//! mid-epoch; the schedule follows warmup then decay; checkpoints are HF folders.

use std::path::Path;

use valley_native::autodiff::Autodiff;
use valley_native::backprop::Backprop;
use valley_native::config::{Family, ModelConfig};
use valley_native::pack::Example;
use valley_native::rng::Rng;
use valley_native::sft::{Engine, ExtraFiles, RunDirs, Schedule, Sft, SftConfig};
use valley_native::{CpuTrain, weights};

fn tiny() -> ModelConfig {
    ModelConfig {
        model_type: Family::Qwen2,
        vocab_size: 40,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 8,
        rms_norm_eps: 1e-6,
        rope_theta: 10000.0,
        rope_scaling: None,
        max_position_embeddings: 64,
        tie_word_embeddings: false,
        attention_bias: true,
        bos_token_id: None,
        eos_token_id: None,
    }
}

fn data() -> Vec<Example> {
    let mut rng = Rng::new(11);
    (0..20)
        .map(|i| {
            let n = 6 + i % 9;
            // A learnable pattern: each token is the previous plus one.
            let start = rng.next_u64() % 30;
            let input_ids = (0..n).map(|k| ((start + k as u64) % 40) as u32).collect();
            let loss_mask = (0..n).map(|k| u8::from(k >= 2)).collect();
            Example { input_ids, loss_mask }
        })
        .collect()
}

fn config() -> SftConfig {
    SftConfig {
        epochs: 2,
        global_batch: 6, // 4 steps per epoch, the last one smaller
        micro_batch: 4,  // accumulation over 2 micro-batches
        learning_rate: 1e-2,
        warmup_steps: 2,
        schedule: Schedule::Linear,
        weight_decay: 0.01,
        betas: [0.9, 0.999],
        eps: 1e-8,
        max_grad_norm: 1.0,
        max_seq_len: 24,
        seed: 5,
        save_every_steps: 3,
    }
}

fn losses<E: Engine>(
    dir: &Path,
    stop_after: Option<u64>,
    resume: bool,
    device: E::Device,
) -> (Vec<f64>, u64) {
    let cfg = tiny();
    let host = weights::init_host(&cfg, 1);
    let ex = data();
    let dirs = RunDirs { dir: dir.to_path_buf() };
    let mut sft =
        Sft::<E>::new(config(), cfg, &host, Path::new("init"), &ex, &dirs, resume, device).unwrap();
    let start = sft.step();
    let mut seen = 0;
    let summary = sft
        .run(&ex, &dirs, &ExtraFiles::default(), &mut |_| {
            seen += 1;
            stop_after != Some(seen)
        })
        .unwrap();
    (summary.history.iter().map(|r| r.loss).collect(), start)
}

/// Both engines: the hand-written CPU pass and burn's autodiff.
#[test]
fn resume_mid_epoch_reproduces_the_loss_curve() {
    check_resume::<Backprop>(|| ());
    check_resume::<Autodiff<CpuTrain>>(Default::default);
}

/// The two engines train the same curve (f32 arithmetic in a different order).
#[test]
fn both_engines_train_the_same_curve() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ours, _) = losses::<Backprop>(a.path(), None, false, ());
    let (burn, _) = losses::<Autodiff<CpuTrain>>(b.path(), None, false, Default::default());
    assert!(!ours.is_empty() && ours.len() == burn.len(), "{} vs {} steps", ours.len(), burn.len());
    for (k, (x, y)) in ours.iter().zip(&burn).enumerate() {
        assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "step {}: {x} vs {y}", k + 1);
    }
}

fn check_resume<E: Engine>(device: impl Fn() -> E::Device) {
    let full_dir = tempfile::tempdir().unwrap();
    let (full, _) = losses::<E>(full_dir.path(), None, false, device());
    assert_eq!(full.len(), 8);
    assert!(full[7] < full[0], "loss falls: {full:?}");
    assert!(full_dir.path().join("model/model.safetensors").is_file());
    assert!(full_dir.path().join("model/config.json").is_file());

    // "Killed" after step 5: the last checkpoint is step 3, inside epoch 0 (4 steps per epoch).
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = losses::<E>(dir.path(), Some(5), false, device());
    assert_eq!(first.len(), 5);
    assert!(dir.path().join("checkpoint-3/optimizer.safetensors").is_file());
    assert!(!dir.path().join("model").exists(), "no final model from an interrupted run");
    // Without resume, an existing checkpoint is refused.
    let cfg = tiny();
    let err = Sft::<E>::new(
        config(),
        cfg.clone(),
        &weights::init_host(&cfg, 1),
        Path::new("init"),
        &data(),
        &RunDirs { dir: dir.path().to_path_buf() },
        false,
        device(),
    );
    assert!(err.is_err());
    let (resumed, start) = losses::<E>(dir.path(), None, true, device());
    assert_eq!(start, 3);
    assert_eq!(resumed.len(), 8, "the history of the first 3 steps comes from the checkpoint");
    for (k, (a, b)) in full.iter().zip(&resumed).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6 * a.abs().max(1.0),
            "step {}: uninterrupted {a} vs resumed {b}",
            k + 1
        );
    }
    // The resumed run's final weights equal the uninterrupted run's.
    let (_, a) = weights::load_host(&full_dir.path().join("model")).unwrap();
    let (_, b) = weights::load_host(&dir.path().join("model")).unwrap();
    for (name, (_, va)) in &a {
        let vb = &b[name].1;
        let worst = va.iter().zip(vb).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-5, "{name}: max |diff| {worst}");
    }
}

#[test]
fn schedule_warms_up_linearly_then_decays_to_zero() {
    let c =
        SftConfig { warmup_steps: 4, learning_rate: 1.0, schedule: Schedule::Linear, ..config() };
    let lr: Vec<f64> = (0..12).map(|k| c.lr_at(k, 12)).collect();
    assert_eq!(&lr[..5], &[0.0, 0.25, 0.5, 0.75, 1.0]);
    assert!(lr.windows(2).skip(4).all(|w| w[1] < w[0]));
    assert!((lr[11] - 0.125).abs() < 1e-12);
    let c = SftConfig { schedule: Schedule::Cosine, ..c };
    assert!((c.lr_at(8, 12) - 0.5).abs() < 1e-12, "cosine is halfway at the midpoint of decay");
}
