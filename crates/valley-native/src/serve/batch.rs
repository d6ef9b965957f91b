//! Continuous batching: one thread owns the model and every active sequence; each iteration runs
//! one forward pass over all of them together — the next token of every decoding sequence plus a
//! chunk of any prompt being read — samples each sequence's token with its own settings, streams
//! the text, and refills a finished sequence's slot from the queue before the next pass. The
//! `n` choices of one request read their prompt once and fork its cache.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::backend::Backend;
use tokenizers::Tokenizer;

use super::api::Choice;
use super::text::TextStream;
use crate::engine::{QuantLm, SeqCache, Step, Workspace};
use crate::generate::{FinishReason, SamplingParams, sample};
use crate::llama::{CausalLm, KvCache};
use crate::rng::Rng;

/// A model that runs forward passes over several sequences, each with its own cache.
pub trait Decoder {
    type Cache: Clone;
    fn new_cache(&self) -> Self::Cache;
    fn cache_len(&self, cache: &Self::Cache) -> usize;
    /// Empties a cache for reuse.
    fn reset(&self, cache: &mut Self::Cache);
    /// Longest sequence (prompt and completion).
    fn context(&self) -> usize;
    fn vocab(&self) -> usize;
    /// Runs each step's tokens after its cache and writes each step's last-token logits.
    fn forward(&mut self, steps: &mut [(&mut Self::Cache, &[u32])], logits: &mut Vec<f32>);
}

/// The CPU engine (quantised kernels, one pass over the weights for the whole batch).
pub struct EngineDecoder {
    pub model: QuantLm,
    ws: Workspace,
}

impl EngineDecoder {
    pub fn new(model: QuantLm) -> Self {
        let ws = model.workspace();
        Self { model, ws }
    }
}

impl Decoder for EngineDecoder {
    type Cache = SeqCache;
    fn new_cache(&self) -> SeqCache {
        self.model.new_cache()
    }
    fn cache_len(&self, cache: &SeqCache) -> usize {
        cache.len()
    }
    fn reset(&self, cache: &mut SeqCache) {
        cache.clear();
    }
    fn context(&self) -> usize {
        self.model.config.max_position_embeddings
    }
    fn vocab(&self) -> usize {
        self.model.head().rows
    }
    fn forward(&mut self, steps: &mut [(&mut SeqCache, &[u32])], logits: &mut Vec<f32>) {
        let mut s: Vec<Step<'_>> =
            steps.iter_mut().map(|(cache, tokens)| Step { cache, tokens }).collect();
        self.model.forward(&mut s, &mut self.ws, logits);
    }
}

/// The burn model (the CUDA backend): sequences run one after another.
pub struct BurnDecoder<B: Backend> {
    pub model: CausalLm<B>,
}

impl<B: Backend> Decoder for BurnDecoder<B> {
    type Cache = KvCache<B>;
    fn new_cache(&self) -> KvCache<B> {
        KvCache::new(self.model.config.num_hidden_layers)
    }
    fn cache_len(&self, cache: &KvCache<B>) -> usize {
        cache.len()
    }
    fn reset(&self, cache: &mut KvCache<B>) {
        *cache = self.new_cache();
    }
    fn context(&self) -> usize {
        self.model.config.max_position_embeddings
    }
    fn vocab(&self) -> usize {
        self.model.config.vocab_size
    }
    fn forward(&mut self, steps: &mut [(&mut KvCache<B>, &[u32])], logits: &mut Vec<f32>) {
        logits.clear();
        for (cache, tokens) in steps.iter_mut() {
            let row = self.model.forward_cached(tokens, cache);
            logits.extend(row.into_data().convert::<f32>().into_vec::<f32>().expect("f32 logits"));
        }
    }
}

/// What a request's receiver hears.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Choice `index` has more text (streamed requests only).
    Text { index: usize, text: String },
    /// Choice `index` ended.
    Done { index: usize, choice: Choice },
}

/// A request for the batcher: a prompt and one sampling setting per choice.
#[derive(Debug)]
pub struct Job {
    pub prompt: Vec<u32>,
    pub choices: Vec<SamplingParams>,
    pub stop: Vec<String>,
    pub stream: bool,
    pub events: tokio::sync::mpsc::UnboundedSender<Event>,
}

struct Shared {
    job: Job,
    /// The receiver went away (client disconnected): drop the job's sequences.
    cancelled: AtomicBool,
}

impl Shared {
    fn send(&self, e: Event) {
        if self.job.events.send(e).is_err() {
            self.cancelled.store(true, Ordering::Relaxed);
        }
    }
}

enum Phase {
    /// Reading the prompt; `done` tokens are in the cache.
    Prefill { done: usize },
    /// Waits for the choice in slot `leader` to read the shared prompt, then copies its cache.
    Follow { leader: usize },
    /// The next token to feed.
    Decode { next: u32 },
}

struct Seq<C> {
    shared: Arc<Shared>,
    index: usize,
    params: SamplingParams,
    rng: Rng,
    cache: C,
    text: TextStream,
    phase: Phase,
}

/// Settings of the batcher.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Sequences decoded together at most.
    pub max_sequences: usize,
    /// Prompt tokens read per forward pass at most (a long prompt is read in chunks, so the
    /// sequences already decoding are not stalled by it).
    pub prefill_chunk: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self { max_sequences: 16, prefill_chunk: 256 }
    }
}

/// Runs the batcher until every sender of `jobs` is gone.
pub fn run<D: Decoder>(
    mut decoder: D,
    tokenizer: &Tokenizer,
    stop_ids: &[u32],
    options: BatchOptions,
    jobs: std::sync::mpsc::Receiver<Job>,
) {
    let max = options.max_sequences.max(1);
    let mut slots: Vec<Option<Seq<D::Cache>>> = (0..max).map(|_| None).collect();
    let mut spare: Vec<D::Cache> = Vec::new();
    // choices waiting for a slot: the job and its remaining choice indices
    let mut queue: VecDeque<(Arc<Shared>, VecDeque<usize>)> = VecDeque::new();
    let mut logits = Vec::new();
    loop {
        let active = slots.iter().filter(|s| s.is_some()).count();
        if active == 0 && queue.is_empty() {
            match jobs.recv() {
                Ok(job) => queue.push_back(admit_job(job)),
                Err(_) => return,
            }
        }
        while let Ok(job) = jobs.try_recv() {
            queue.push_back(admit_job(job));
        }
        // fill free slots, a job's admitted choices sharing one prompt read
        while let Some((shared, rest)) = queue.front_mut() {
            if shared.cancelled.load(Ordering::Relaxed) {
                queue.pop_front();
                continue;
            }
            let mut leader = None;
            while let Some(&index) = rest.front() {
                let params = shared.job.choices[index].clone();
                if params.max_tokens == 0 {
                    rest.pop_front();
                    let choice = Choice {
                        text: String::new(),
                        finish_reason: FinishReason::Length,
                        completion_tokens: 0,
                    };
                    shared.send(Event::Done { index, choice });
                    continue;
                }
                let Some(free) = slots.iter().position(Option::is_none) else { break };
                rest.pop_front();
                let mut cache = spare.pop().unwrap_or_else(|| decoder.new_cache());
                decoder.reset(&mut cache);
                let phase = match leader {
                    None => {
                        leader = Some(free);
                        Phase::Prefill { done: 0 }
                    }
                    Some(l) => Phase::Follow { leader: l },
                };
                slots[free] = Some(Seq {
                    shared: Arc::clone(shared),
                    index,
                    rng: Rng::new(params.seed),
                    params,
                    cache,
                    text: TextStream::new(shared.job.stop.clone()),
                    phase,
                });
            }
            if rest.is_empty() {
                queue.pop_front();
            } else {
                break;
            }
        }
        // one forward pass over every decoding sequence and a budget of prompt tokens
        let mut budget = options.prefill_chunk.max(1);
        let mut stepped: Vec<(usize, usize)> = Vec::new(); // (slot, tokens fed)
        let mut steps: Vec<(&mut D::Cache, &[u32])> = Vec::new();
        for (i, slot) in slots.iter_mut().enumerate() {
            let Some(seq) = slot else { continue };
            if seq.shared.cancelled.load(Ordering::Relaxed) {
                continue;
            }
            match &seq.phase {
                Phase::Decode { next } => {
                    steps.push((&mut seq.cache, std::slice::from_ref(next)));
                    stepped.push((i, 1));
                }
                Phase::Prefill { done } if budget > 0 => {
                    let prompt = &seq.shared.job.prompt;
                    let take = (prompt.len() - done).min(budget);
                    budget -= take;
                    steps.push((&mut seq.cache, &prompt[*done..done + take]));
                    stepped.push((i, take));
                }
                _ => {}
            }
        }
        if !steps.is_empty() {
            decoder.forward(&mut steps, &mut logits);
        }
        drop(steps);
        let vocab = decoder.vocab();
        for (k, (i, fed)) in stepped.into_iter().enumerate() {
            let row = &logits[k * vocab..(k + 1) * vocab];
            let Some(seq) = slots[i].as_mut() else { continue };
            if let Phase::Prefill { done } = &mut seq.phase {
                *done += fed;
                if *done < seq.shared.job.prompt.len() {
                    continue;
                }
                // the prompt is read: its followers copy the cache and sample from these logits
                let cache = seq.cache.clone();
                for slot in &mut slots {
                    if let Some(f) = slot
                        .as_mut()
                        .filter(|s| matches!(s.phase, Phase::Follow { leader } if leader == i))
                    {
                        f.cache = cache.clone();
                        step_token(slot, row, &decoder, tokenizer, stop_ids, &mut spare);
                    }
                }
            }
            step_token(&mut slots[i], row, &decoder, tokenizer, stop_ids, &mut spare);
        }
        // drop the sequences of requests whose client went away
        for slot in &mut slots {
            if slot.as_ref().is_some_and(|s| s.shared.cancelled.load(Ordering::Relaxed)) {
                let seq = slot.take().expect("checked");
                spare.push(seq.cache);
            }
        }
    }
}

fn admit_job(job: Job) -> (Arc<Shared>, VecDeque<usize>) {
    let indices = (0..job.choices.len()).collect();
    (Arc::new(Shared { job, cancelled: AtomicBool::new(false) }), indices)
}

/// Samples the slot's next token from `row` and streams it; frees the slot when it finishes.
fn step_token<D: Decoder>(
    slot: &mut Option<Seq<D::Cache>>,
    row: &[f32],
    decoder: &D,
    tokenizer: &Tokenizer,
    stop_ids: &[u32],
    spare: &mut Vec<D::Cache>,
) {
    let Some(seq) = slot.as_mut() else { return };
    let next = sample(row, &seq.params, &mut seq.rng);
    // a stop id ends the sequence without becoming text; a stop string is cut from the text
    let finish = if stop_ids.contains(&next) || seq.text.push(tokenizer, next) {
        Some(FinishReason::Stop)
    } else if seq.text.tokens().len() >= seq.params.max_tokens
        || decoder.cache_len(&seq.cache) + 1 >= decoder.context()
    {
        Some(FinishReason::Length)
    } else {
        None
    };
    let stream = seq.shared.job.stream;
    if stream {
        let text = seq.text.take_ready();
        if !text.is_empty() {
            seq.shared.send(Event::Text { index: seq.index, text });
        }
    }
    match finish {
        None => seq.phase = Phase::Decode { next },
        Some(finish_reason) => {
            let mut seq = slot.take().expect("checked");
            if stream {
                let rest = seq.text.take_rest(tokenizer);
                if !rest.is_empty() {
                    seq.shared.send(Event::Text { index: seq.index, text: rest });
                }
            }
            let choice = Choice {
                text: seq.text.final_text(tokenizer),
                finish_reason,
                completion_tokens: seq.text.tokens().len(),
            };
            seq.shared.send(Event::Done { index: seq.index, choice });
            spare.push(seq.cache);
        }
    }
}
