//! `valley serve`: an OpenAI-compatible server (`GET /v1/models`, `POST /v1/chat/completions`,
//! `POST /v1/completions`, whole or streamed as server-sent events) over a native model, with
//! continuous batching: concurrent requests decode together in one forward pass per token, each
//! sequence with its own cache and sampling settings, a finished sequence's slot refilled at once.
//!
//! - [`http`]: HTTP/1.1 on hyper with request limits; [`api`]: the request and answer formats.
//! - [`batch`]: the batcher and the [`batch::Decoder`]s (the CPU engine, or burn on CUDA).
//! - [`text`]: incremental detokenisation and stop strings.

pub mod api;
pub mod batch;
pub mod http;
pub mod text;

#[cfg(test)]
mod tests;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

pub use batch::BatchOptions;
pub use http::Limits;

use crate::quant::{GgmlType, Isa};

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Cpu,
    /// One NVIDIA GPU (needs the `cuda` feature).
    Cuda,
}

/// What `valley serve` serves, and how.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// An HF folder or a `.gguf` file.
    pub model: PathBuf,
    pub tokenizer: Option<PathBuf>,
    pub chat_template: Option<PathBuf>,
    /// The name `/v1/models` lists.
    pub name: String,
    pub device: DeviceKind,
    /// Threads of the CPU engine (0: one per core).
    pub threads: usize,
    pub batch: BatchOptions,
    pub limits: Limits,
    /// Requantise the projections to this type at load (an f32 checkpoint served with 8-bit
    /// weights); `None` keeps the file's own types.
    pub quantize: Option<GgmlType>,
    /// The dot-product kernels (`None`: the best this CPU runs).
    pub isa: Option<Isa>,
}

impl ServeOptions {
    /// Options with the defaults for everything but the model and its name.
    pub fn new(model: PathBuf, name: String) -> Self {
        Self {
            model,
            tokenizer: None,
            chat_template: None,
            name,
            device: DeviceKind::Cpu,
            threads: 0,
            batch: BatchOptions::default(),
            limits: Limits::default(),
            quantize: None,
            isa: None,
        }
    }
}

/// What was loaded, reported once before serving.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub family: crate::config::Family,
    pub parameters: usize,
    pub stop_ids: Vec<u32>,
    /// The CPU engine's weight types (`[(type, matrices)]`), kernels and threads; empty on CUDA.
    pub weight_types: Vec<(GgmlType, usize)>,
    pub isa: Option<Isa>,
    pub threads: usize,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot load the model")]
    Model(#[from] crate::weights::LoadModelError),
    #[error("cannot load the tokenizer")]
    Tokenizer(#[from] crate::chat::LoadChatError),
    #[error("this build has no CUDA backend (build with `--features cuda`)")]
    NoCuda,
    #[error("cannot start the engine's threads")]
    Threads(#[from] rayon::ThreadPoolBuildError),
    #[error("serving failed")]
    Io(#[from] std::io::Error),
}

/// Loads `opts.model` on its device and serves it on `listener` until the process ends.
pub fn run_server(
    opts: &ServeOptions,
    listener: TcpListener,
    on_ready: impl FnOnce(&ServerInfo),
    log: impl Fn(&str) + Send + Sync + 'static,
) -> Result<(), ServeError> {
    let tokenizer = Arc::new(crate::chat::load_chat_tokenizer(
        &opts.model,
        opts.tokenizer.as_deref(),
        opts.chat_template.as_deref(),
    )?);
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        opts.threads
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (config, info) = match opts.device {
        DeviceKind::Cpu => {
            let isa = opts.isa.unwrap_or_else(Isa::detect);
            let mut model = crate::engine::QuantLm::load(&opts.model, isa)?;
            if let Some(ty) = opts.quantize {
                model = model.requantize(ty);
            }
            let config = model.config.clone();
            let stop = crate::chat::stop_ids(&tokenizer, &config);
            let info = ServerInfo {
                family: config.model_type,
                parameters: config.parameter_count(),
                stop_ids: stop.clone(),
                weight_types: model.weight_types(),
                isa: Some(isa),
                threads,
            };
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            let (tok, batch) = (Arc::clone(&tokenizer), opts.batch);
            // the batcher runs inside the pool, so its matrix products start without a hand-off
            std::thread::spawn(move || {
                pool.install(|| {
                    batch::run(batch::EngineDecoder::new(model), tok.tokenizer(), &stop, batch, rx);
                });
            });
            (config, info)
        }
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => {
            let (config, host) = crate::weights::load_host(&opts.model)?;
            let device = Default::default();
            let model = crate::weights::to_device::<burn::backend::Cuda>(
                config.clone(),
                &host,
                &opts.model,
                &device,
            )?;
            drop(host);
            let stop = crate::chat::stop_ids(&tokenizer, &config);
            let info = ServerInfo {
                family: config.model_type,
                parameters: config.parameter_count(),
                stop_ids: stop.clone(),
                weight_types: Vec::new(),
                isa: None,
                threads,
            };
            let (tok, batch) = (Arc::clone(&tokenizer), opts.batch);
            std::thread::spawn(move || {
                batch::run(batch::BurnDecoder { model }, tok.tokenizer(), &stop, batch, rx);
            });
            (config, info)
        }
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => return Err(ServeError::NoCuda),
    };
    on_ready(&info);
    let app = http::App {
        name: opts.name.clone(),
        tokenizer,
        context: config.max_position_embeddings,
        vocab: config.vocab_size,
        jobs: std::sync::Mutex::new(tx),
        ids: std::sync::atomic::AtomicU64::new(0),
        limits: opts.limits,
        log: Box::new(log),
    };
    Ok(http::serve(app, listener)?)
}
