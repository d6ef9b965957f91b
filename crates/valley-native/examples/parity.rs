//! The native side of the GPU parity check (scripts/gpu/native-parity.sh): on one batch, the
//! loss, every gradient and the logits of valley's model, a checkpoint after one optimizer
//! step, and training throughput; the script compares them with HF transformers.
//!
//! Usage: parity MODEL_DIR BATCH_JSON OUT_DIR cpu|cpu-autodiff|cuda STEPS (`cpu`: the hand-written
//! CPU trainer valley uses; `cpu-autodiff`: burn's autodiff on the CPU, for comparison)
//! BATCH_JSON: {"input_ids": [[...], ...], "loss_mask": [[...], ...]} (equal-length rows).

use std::path::Path;
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use valley_native::autodiff::Autodiff;
use valley_native::backprop::Backprop;
use valley_native::llama::CausalLm;
use valley_native::loss::sft_loss;
use valley_native::pack::{Example, pack};
use valley_native::sft::{Engine, ExtraFiles, RunDirs, Schedule, Sft, SftConfig};
use valley_native::weights;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 6 {
        return Err("usage: parity MODEL_DIR BATCH_JSON OUT_DIR cpu|cpu-autodiff|cuda STEPS".into());
    }
    let steps: u64 = a[5].parse()?;
    match a[4].as_str() {
        "cpu" => run::<valley_native::CpuTrain, Backprop>(
            &a[1],
            &a[2],
            &a[3],
            steps,
            Default::default(),
            (),
        ),
        // burn's autodiff on the CPU, the trainer before issue 17 (for comparison)
        "cpu-autodiff" => run::<valley_native::CpuTrain, Autodiff<valley_native::CpuTrain>>(
            &a[1],
            &a[2],
            &a[3],
            steps,
            Default::default(),
            Default::default(),
        ),
        #[cfg(feature = "cuda")]
        "cuda" => run::<
            burn::backend::Autodiff<burn::backend::Cuda>,
            Autodiff<burn::backend::Autodiff<burn::backend::Cuda>>,
        >(&a[1], &a[2], &a[3], steps, Default::default(), Default::default()),
        other => Err(format!("device {other:?} not available in this build").into()),
    }
}

#[expect(clippy::print_stdout, reason = "the report is the tool's output")]
/// `B`: the burn backend of the gradient dump; `E`: the training engine measured.
fn run<B: AutodiffBackend, E: Engine>(
    model_dir: &str,
    batch: &str,
    out: &str,
    steps: u64,
    device: B::Device,
    engine: E::Device,
) -> Res<()> {
    let out = Path::new(out);
    fs_err::create_dir_all(out)?;
    let (config, host) = weights::load_host(Path::new(model_dir))?;
    let batch: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(batch)?)?;
    let rows = |k: &str| -> Vec<Vec<u64>> {
        batch[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect())
            .collect()
    };
    let examples: Vec<Example> = rows("input_ids")
        .into_iter()
        .zip(rows("loss_mask"))
        .map(|(ids, mask)| Example {
            input_ids: ids.into_iter().map(|v| v as u32).collect(),
            loss_mask: mask.into_iter().map(|v| v as u8).collect(),
        })
        .collect();
    let seq = examples[0].input_ids.len();
    // One example per row, exactly as transformers sees the batch.
    let refs: Vec<&Example> = examples.iter().collect();
    let packed = pack(&refs, seq);
    assert_eq!(packed.batch.batch, examples.len(), "rows must be full length, one example each");
    let model: CausalLm<B> =
        weights::to_device::<B>(config.clone(), &host, Path::new(model_dir), &device)?;
    let params: Vec<(String, Tensor<B, 2>)> =
        model.parameters().into_iter().map(|(n, t)| (n, t.require_grad())).collect();
    let mut it = params.iter();
    let model: CausalLm<B> =
        CausalLm::build(config.clone(), |_, _| Ok::<_, ()>(it.next().unwrap().1.clone())).unwrap();
    let t0 = Instant::now();
    let loss = sft_loss(&model, &packed, packed.loss_tokens() as f64);
    let loss_value: f64 = loss.clone().into_scalar().elem();
    let grads = loss.backward();
    let mut g = weights::HostTensors::new();
    let shapes: std::collections::HashMap<_, _> =
        valley_native::config::parameter_shapes(&config).into_iter().collect();
    for (name, p) in &params {
        let grad = p.grad(&grads).ok_or(format!("{name}: no gradient"))?;
        g.insert(
            name.clone(),
            (shapes[name].clone(), grad.into_data().convert::<f32>().into_vec::<f32>().unwrap()),
        );
    }
    weights::write_safetensors(&out.join("grads.safetensors"), &g)?;
    let first = t0.elapsed().as_secs_f64();

    // Training throughput: full optimizer steps (forward, backward, AdamW) on the same batch.
    let sft_config = SftConfig {
        epochs: 1,
        global_batch: examples.len(),
        micro_batch: examples.len(),
        learning_rate: 1e-5,
        warmup_steps: 0,
        schedule: Schedule::Constant,
        weight_decay: 0.0,
        betas: [0.9, 0.999],
        eps: 1e-8,
        max_grad_norm: 1.0,
        max_seq_len: seq,
        seed: 0,
        save_every_steps: 0,
    };
    let dirs = RunDirs { dir: out.join("run") };
    let mut sft = Sft::<E>::new(
        sft_config,
        config.clone(),
        &host,
        Path::new(model_dir),
        &examples,
        &dirs,
        false,
        engine,
    )?;
    let mut step_seconds = Vec::new();
    let mut tokens = 0;
    for _ in 0..steps.max(1) {
        let t = Instant::now();
        let r = sft.train_step(&refs, 0)?;
        step_seconds.push(t.elapsed().as_secs_f64());
        tokens = r.tokens;
    }
    // The checkpoint after those steps, and its logits on the batch, for transformers to match.
    let ckpt = out.join("checkpoint");
    sft.save_checkpoint(&RunDirs { dir: ckpt.clone() }, &ExtraFiles::default())?;
    let (trained, _, _) = sft.engine().host();
    let trained = weights::to_device::<B::InnerBackend>(
        config.clone(),
        &trained,
        Path::new(model_dir),
        &device,
    )?;
    let logits = trained.logits(trained.hidden_states(&packed.batch));
    let [n, v] = logits.dims();
    let mut l = weights::HostTensors::new();
    l.insert(
        "logits".into(),
        (vec![n, v], logits.into_data().convert::<f32>().into_vec::<f32>().unwrap()),
    );
    weights::write_safetensors(&out.join("logits.safetensors"), &l)?;
    // Steady state: the median step after the first (which includes kernel compilation on CUDA).
    let mut steady: Vec<f64> = step_seconds.iter().skip(1).copied().collect();
    steady.sort_by(f64::total_cmp);
    let median = steady.get(steady.len() / 2).copied().unwrap_or(step_seconds[0]);
    let report = serde_json::json!({
        "loss": loss_value,
        "loss_tokens": packed.loss_tokens(),
        "first_forward_backward_seconds": first,
        "step_seconds": step_seconds,
        "tokens_per_step": tokens,
        "train_tokens_per_second": tokens as f64 / median,
        "checkpoint": ckpt.join(format!("checkpoint-{}", sft.step())),
    });
    fs_err::write(out.join("native.json"), serde_json::to_string_pretty(&report)?)?;
    println!("{report}");
    Ok(())
}
