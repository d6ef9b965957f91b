//! Inference engines as launchable servers: vLLM, SGLang, llama.cpp (llama-cpp-python's server
//! or `llama-server`) and `valley serve`, each started on a checkpoint as its own
//! OpenAI-compatible server.
//!
//! - [`EngineKind`], [`Program`], [`ServerSpec`]: each engine's command line, built in one place
//!   ([`ServerSpec::command_line`]) and checked against the engines' own flags;
//! - [`plan`]: R replicas of T GPUs each, on the given GPUs here or over a Slurm allocation's
//!   nodes (`srun` job steps, Slurm assigning GPUs);
//! - [`Fleet`]: starts the replicas on free ports of 127.0.0.1 (each in its own process group,
//!   output appended to `replica-<i>.log`), waits until each answers its health route and lists
//!   the model, restarts one that died (bounded), retries a port clash on another port, and
//!   stops them all — SIGTERM, a grace period, SIGKILL to the whole group — when stopped or
//!   dropped.
//!
//! ```no_run
//! use std::path::Path;
//! use std::time::Duration;
//! use valley_engine::{EngineKind, Fleet, FleetConfig, Launcher, Program, ServerSpec, plan};
//! let engine = EngineKind::Vllm;
//! let spec = ServerSpec {
//!     engine,
//!     program: Program::resolve(engine, None, Path::new("valley"), |_| true),
//!     model: "/models/Qwen2.5-7B-Instruct".into(),
//!     served_name: "qwen".into(),
//!     tensor_parallel: 2,
//!     tokenizer: None,
//!     chat_template: None,
//!     context_length: Some(40960),
//!     extra_args: vec![],
//! };
//! let gpus: Vec<String> = (0..8).map(|g| g.to_string()).collect();
//! let replicas = plan(4, 2, &gpus, &Launcher::Local)?;
//! let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
//! let fleet = Fleet::start(FleetConfig {
//!     spec,
//!     replicas,
//!     launcher: Launcher::Local,
//!     log_dir: "logs".into(),
//!     start_timeout: Duration::from_secs(1800),
//!     max_restarts: 2,
//! }, stop)?;
//! println!("{:?}", fleet.urls()); // four servers, stopped when `fleet` is dropped
//! # Ok::<(), valley_engine::EngineError>(())
//! ```

mod engine;
mod error;
mod fleet;
mod server;

pub use engine::{Dialect, EngineKind, Program, ServerSpec};
pub use error::EngineError;
pub use fleet::{Fleet, FleetConfig, Launcher, ReplicaPlan, plan};
pub use server::{STOP_GRACE, Server};
