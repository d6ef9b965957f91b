//! Test support shared by valley's crates. Not published.
//!
//! - [`FakeOpenAi`]: an OpenAI-compatible HTTP server on 127.0.0.1 whose answers are a pure
//!   function of the prompt ([`fake_response`]), with configurable latency and injected 500s and
//!   429s, bounded in requests and lifetime so a test can never leave it running.
//!
//! - [`run_bin`], [`write_jsonl`], [`read_jsonl`]: run the built binary in a temp folder and
//!   read and write its JSON Lines.
//!
//! ```
//! use valley_test::{FakeOpenAi, FakeConfig};
//! let server = FakeOpenAi::start(FakeConfig::default())?;
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//! # Ok::<(), std::io::Error>(())
//! ```

mod cli;
mod fake_openai;

pub use cli::{read_jsonl, run_bin, write_jsonl};

pub use fake_openai::{FakeConfig, FakeOpenAi, fake_response};
