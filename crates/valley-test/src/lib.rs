//! Test support shared by valley's crates. Not published.
//!
//! - [`gate`]: the one way a test that needs something outside the repository (a tool, a model,
//!   a server) skips, saying what is missing and how to get it; with `VALLEY_REQUIRE_GATED=1`
//!   (CI) a skip is a failure.
//!
//! - [`FakeOpenAi`]: an OpenAI-compatible HTTP server on 127.0.0.1 whose answers are a pure
//!   function of the prompt ([`fake_response`]), with configurable latency and injected 500s and
//!   429s, bounded in requests and lifetime so a test can never leave it running.
//!
//! - [`FakeHub`]: the Hugging Face Hub's download routes for test repositories held in memory
//!   (`hf-hub` and `huggingface_hub` fetch from it as from the real Hub), counting requests.
//!
//! - [`run_bin`], [`write_jsonl`], [`read_jsonl`]: run the built binary in a temp folder and
//!   read and write its JSON Lines;
//!
//! - [`assert_golden`]: output compared byte for byte with a committed file (`VALLEY_BLESS=1`
//!   rewrites it), and [`eval_outputs`], `valley eval`'s files with run-to-run noise blanked.
//!
//! - [`install_fake_engine`]: a stand-in inference engine on `PATH` (`vllm`, …) that records its
//!   command line and serves a fake OpenAI API with a fixed per-token latency and batch size;
//!   [`processes_mentioning`] finds what a test left running.
//!
//! - [`judge_python`]: the judge's declared Python environment that setup made, or a skip;
//!   [`python_without_numpy`]: one the judge must refuse.
//!
//! - [`train_python`]: the training engines' Python that setup made, or a skip that says why the
//!   setup did not make it.
//!
//! ```
//! use valley_test::{FakeOpenAi, FakeConfig};
//! let server = FakeOpenAi::start(FakeConfig::default())?;
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//! # Ok::<(), std::io::Error>(())
//! ```

mod cli;
mod engine;
mod fake_hub;
mod fake_openai;
pub mod gate;
mod golden;
mod judge_env;
mod train_env;

pub use cli::{read_jsonl, run_bin, write_jsonl};
pub use engine::{
    FAKE_ENGINE, assert_nothing_left, install_fake_engine, processes_mentioning, sample_keys, which,
};
pub use golden::{BLESS, assert_golden, eval_outputs};
pub use judge_env::{JUDGE_PYTHON_ENV, judge_python, python_without_numpy};
pub use train_env::{TRAIN_PYTHON_ENV, train_python};

pub use fake_hub::{FakeHub, FakeRepo};
pub use fake_openai::{FakeConfig, FakeOpenAi, fake_response};
