//! Decoding throughput of the serving engine without HTTP: B sequences, each after a prompt of
//! P tokens, decoded together one token per forward pass (as `valley serve`'s batcher does), for
//! each B given; prints one JSON object per B with the forward passes' tokens/s. bench/native.sh
//! runs it beside the server measurements, to tell the engine's scaling from the server's.
//!
//! Usage: decode MODEL(.gguf or HF folder) PROMPT_TOKENS DECODE_STEPS B [B ...]

use std::path::Path;
use std::time::Instant;

use valley_native::engine::{QuantLm, Step};
use valley_native::quant::Isa;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        return Err("usage: decode MODEL PROMPT_TOKENS DECODE_STEPS B [B ...]".into());
    }
    let model = QuantLm::load(Path::new(&a[1]), Isa::detect())?;
    let (prompt, steps): (usize, usize) = (a[2].parse()?, a[3].parse()?);
    let sizes = a[4..].iter().map(|b| b.parse()).collect::<Result<Vec<usize>, _>>()?;
    // inside the pool, as `valley serve`'s batcher runs: each product starts on a worker instead
    // of being handed over from an outside thread (about half the time of a decoding step here)
    let pool = rayon::ThreadPoolBuilder::new().build()?;
    pool.install(|| measure(&model, prompt, steps, &sizes));
    Ok(())
}

#[expect(clippy::print_stdout, reason = "a measurement tool's output")]
fn measure(model: &QuantLm, prompt: usize, steps: usize, sizes: &[usize]) {
    let vocab = model.config.vocab_size as u32;
    for &b in sizes {
        let mut caches: Vec<_> = (0..b).map(|_| model.new_cache()).collect();
        let (mut ws, mut logits) = (model.workspace(), Vec::new());
        // distinct prompts, read one sequence at a time, timed apart from decoding
        let p0 = Instant::now();
        for (s, cache) in caches.iter_mut().enumerate() {
            let ids: Vec<u32> =
                (0..prompt as u32).map(|i| (i * 7919 + s as u32 * 104_729) % vocab).collect();
            model.forward(&mut [Step { cache, tokens: &ids }], &mut ws, &mut logits);
        }
        let prompt_rate = (b * prompt) as f64 / p0.elapsed().as_secs_f64();
        let mut next: Vec<u32> = (0..b as u32).collect();
        let t0 = Instant::now();
        for _ in 0..steps {
            let mut batch: Vec<Step<'_>> = caches
                .iter_mut()
                .zip(&next)
                .map(|(cache, t)| Step { cache, tokens: std::slice::from_ref(t) })
                .collect();
            model.forward(&mut batch, &mut ws, &mut logits);
            drop(batch);
            for (s, t) in next.iter_mut().enumerate() {
                let row = &logits[s * vocab as usize..(s + 1) * vocab as usize];
                *t = (0..row.len()).fold(0, |m, i| if row[i] > row[m] { i } else { m }) as u32;
            }
        }
        let seconds = t0.elapsed().as_secs_f64();
        let tokens = (b * steps) as f64;
        println!(
            "{{\"sequences\": {b}, \"prompt_tokens\": {prompt}, \"prompt_tokens_per_s\": {prompt_rate:.1}, \"steps\": {steps}, \"seconds\": {seconds:.3}, \"tokens_per_s\": {:.1}, \"threads\": {}}}",
            tokens / seconds,
            rayon::current_num_threads()
        );
    }
}
