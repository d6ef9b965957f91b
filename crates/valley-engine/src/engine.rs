//! The engines and their command lines: the one place where each engine's flags are written.
//!
//! Checked against the engines' own argument parsers (`scripts/engine_flags.py` lists them from
//! the published wheels into `fixtures/engines/`; the tests below compare): vLLM 0.33.0
//! (`vllm serve`), SGLang 0.5.23 (`python3 -m sglang.launch_server`), llama-cpp-python 0.3.36
//! (`python3 -m llama_cpp.server`; its flags are its settings' field names) and llama.cpp's own
//! `llama-server`.

use std::path::{Path, PathBuf};

use crate::error::EngineError;

/// An inference engine valley can launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum EngineKind {
    /// vLLM's OpenAI-compatible server (`vllm serve`).
    Vllm,
    /// SGLang's server (`python3 -m sglang.launch_server`).
    Sglang,
    /// llama.cpp's server: llama-cpp-python's `python3 -m llama_cpp.server`, or `llama-server`.
    LlamaCpp,
    /// `valley serve`.
    Valley,
}

impl EngineKind {
    /// Every engine, by name.
    pub const ALL: [EngineKind; 4] =
        [EngineKind::Vllm, EngineKind::Sglang, EngineKind::LlamaCpp, EngineKind::Valley];

    /// The engine's name on valley's command line.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Vllm => "vllm",
            EngineKind::Sglang => "sglang",
            EngineKind::LlamaCpp => "llama.cpp",
            EngineKind::Valley => "valley",
        }
    }

    /// The route that answers 200 once the server can take requests (each is then also asked
    /// for `/v1/models`, which must list the served name).
    pub fn health_path(self) -> &'static str {
        match self {
            // vLLM: /health is up once the engine is; SGLang: 503 while starting.
            EngineKind::Vllm | EngineKind::Sglang => "/health",
            EngineKind::LlamaCpp | EngineKind::Valley => "/v1/models",
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "vllm" => Ok(EngineKind::Vllm),
            "sglang" => Ok(EngineKind::Sglang),
            "llama.cpp" | "llama-cpp" | "llamacpp" => Ok(EngineKind::LlamaCpp),
            "valley" => Ok(EngineKind::Valley),
            other => Err(format!(
                "unknown engine `{other}` (expected vllm, sglang, llama.cpp or valley)"
            )),
        }
    }
}

/// How an engine's server is started: the executable and the words before valley's flags.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Program {
    /// The executable (a name looked up on `PATH`, or a path).
    pub bin: PathBuf,
    /// Arguments before the flags (`serve`, `-m sglang.launch_server`).
    pub prefix: Vec<String>,
    /// Which flag dialect it speaks.
    pub dialect: Dialect,
}

/// The flag dialect of a server program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// `vllm serve MODEL --tensor-parallel-size …`.
    Vllm,
    /// `--model-path … --tp-size …`.
    Sglang,
    /// llama-cpp-python: `--model … --model_alias … --n_ctx …`.
    LlamaCppPython,
    /// llama.cpp's `llama-server`: `--model … --alias … --ctx-size …`.
    LlamaServer,
    /// `valley serve --model … --name …`.
    Valley,
}

fn is_python(bin: &Path) -> bool {
    bin.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("python"))
}

impl Program {
    /// The program for `engine`: `bin` when given (a `python*` interpreter runs the engine's
    /// module), else the engine's usual executable on `PATH`; `valley` is this very binary.
    /// `on_path` says whether a name is on `PATH` (to choose llama.cpp's server).
    pub fn resolve(
        engine: EngineKind,
        bin: Option<&Path>,
        valley: &Path,
        on_path: impl Fn(&str) -> bool,
    ) -> Program {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let named = |name: &str| bin.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
        match engine {
            EngineKind::Vllm => {
                let bin = named("vllm");
                let prefix = if is_python(&bin) {
                    words(&["-m", "vllm.entrypoints.cli.main", "serve"])
                } else {
                    words(&["serve"])
                };
                Program { bin, prefix, dialect: Dialect::Vllm }
            }
            EngineKind::Sglang => {
                let bin = named("python3");
                let own_cli = bin.file_name().is_some_and(|n| n == "sglang");
                let prefix = if own_cli {
                    words(&["serve"])
                } else {
                    words(&["-m", "sglang.launch_server"])
                };
                Program { bin, prefix, dialect: Dialect::Sglang }
            }
            EngineKind::LlamaCpp => {
                let bin = match bin {
                    Some(b) => b.to_path_buf(),
                    None if on_path("llama-server") => PathBuf::from("llama-server"),
                    None => PathBuf::from("python3"),
                };
                if is_python(&bin) {
                    Program {
                        bin,
                        prefix: words(&["-m", "llama_cpp.server"]),
                        dialect: Dialect::LlamaCppPython,
                    }
                } else {
                    Program { bin, prefix: vec![], dialect: Dialect::LlamaServer }
                }
            }
            EngineKind::Valley => Program {
                bin: named(&valley.to_string_lossy()),
                prefix: words(&["serve"]),
                dialect: Dialect::Valley,
            },
        }
    }
}

/// What one server serves and how: everything but where it listens.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServerSpec {
    /// The engine.
    pub engine: EngineKind,
    /// How it is started.
    pub program: Program,
    /// The checkpoint: a folder (HF), a `.gguf` file, or a hub id for engines that fetch.
    pub model: String,
    /// The name `/v1/models` lists and requests carry.
    pub served_name: String,
    /// GPUs per server (tensor parallelism).
    pub tensor_parallel: u32,
    /// Tokenizer folder, when not the model's own.
    pub tokenizer: Option<PathBuf>,
    /// Chat template replacing the tokenizer's.
    pub chat_template: Option<PathBuf>,
    /// Context window (prompt + completion tokens) [default: the engine's].
    pub context_length: Option<u32>,
    /// More flags, verbatim, after valley's.
    pub extra_args: Vec<String>,
}

impl ServerSpec {
    /// Refuses what the engine cannot do.
    pub fn check(&self) -> Result<(), EngineError> {
        let bad = |m: String| Err(EngineError::Config(m));
        if self.tensor_parallel == 0 {
            return bad("--tensor-parallel: expected at least 1".into());
        }
        if self.engine == EngineKind::Valley && self.tensor_parallel > 1 {
            return bad(
                "--tensor-parallel: `valley serve` runs a model on one device; use replicas".into(),
            );
        }
        if matches!(self.program.dialect, Dialect::LlamaCppPython | Dialect::LlamaServer)
            && (self.tokenizer.is_some() || self.chat_template.is_some())
        {
            return bad("llama.cpp's server takes its tokenizer and chat template from the GGUF \
                        file; give a --chat-template only with --api completions and another \
                        engine, or pass the server's own flag with --engine-arg"
                .into());
        }
        for (flag, owned) in self.owned_flags() {
            if self.extra_args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}="))) {
                return bad(format!("--engine-arg {flag}: valley sets it itself ({owned})"));
            }
        }
        Ok(())
    }

    /// The flags valley sets, which `extra_args` may not repeat, with the option that sets them.
    fn owned_flags(&self) -> Vec<(&'static str, &'static str)> {
        match self.program.dialect {
            Dialect::Vllm => vec![
                ("--host", "where it listens"),
                ("--port", "where it listens"),
                ("--served-model-name", "--served-model-name"),
                ("--tensor-parallel-size", "--tensor-parallel"),
                ("-tp", "--tensor-parallel"),
            ],
            Dialect::Sglang => vec![
                ("--host", "where it listens"),
                ("--port", "where it listens"),
                ("--model-path", "--model"),
                ("--served-model-name", "--served-model-name"),
                ("--tp-size", "--tensor-parallel"),
                ("--tensor-parallel-size", "--tensor-parallel"),
            ],
            Dialect::LlamaCppPython => vec![
                ("--host", "where it listens"),
                ("--port", "where it listens"),
                ("--model", "--model"),
                ("--model_alias", "--served-model-name"),
            ],
            Dialect::LlamaServer => vec![
                ("--host", "where it listens"),
                ("--port", "where it listens"),
                ("--model", "--model"),
                ("--alias", "--served-model-name"),
            ],
            Dialect::Valley => vec![
                ("--host", "where it listens"),
                ("--port", "where it listens"),
                ("--model", "--model"),
                ("--name", "--served-model-name"),
            ],
        }
    }

    /// The server's full command line (executable first) listening on `host:port` (`port` is
    /// a number, or a placeholder for `--dry-run`).
    pub fn command_line(&self, host: &str, port: &str) -> Vec<String> {
        let mut c: Vec<String> = vec![self.program.bin.to_string_lossy().into_owned()];
        c.extend(self.program.prefix.iter().cloned());
        if self.program.dialect == Dialect::Vllm {
            // `vllm serve MODEL`: the model is the first word after the subcommand.
            c.push(self.model.clone());
        }
        let mut flag = |k: &str, v: String| {
            c.push(k.to_owned());
            c.push(v);
        };
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        match self.program.dialect {
            Dialect::Vllm => {
                flag("--host", host.to_owned());
                flag("--port", port.to_owned());
                flag("--served-model-name", self.served_name.clone());
                flag("--tensor-parallel-size", self.tensor_parallel.to_string());
                if let Some(t) = path(&self.tokenizer) {
                    flag("--tokenizer", t);
                }
                if let Some(t) = path(&self.chat_template) {
                    flag("--chat-template", t);
                }
                if let Some(n) = self.context_length {
                    flag("--max-model-len", n.to_string());
                }
            }
            Dialect::Sglang => {
                flag("--model-path", self.model.clone());
                flag("--host", host.to_owned());
                flag("--port", port.to_owned());
                flag("--served-model-name", self.served_name.clone());
                flag("--tp-size", self.tensor_parallel.to_string());
                if let Some(t) = path(&self.tokenizer) {
                    flag("--tokenizer-path", t);
                }
                if let Some(t) = path(&self.chat_template) {
                    flag("--chat-template", t);
                }
                if let Some(n) = self.context_length {
                    flag("--context-length", n.to_string());
                }
            }
            Dialect::LlamaCppPython => {
                flag("--model", self.model.clone());
                flag("--model_alias", self.served_name.clone());
                flag("--host", host.to_owned());
                flag("--port", port.to_owned());
                if let Some(n) = self.context_length {
                    flag("--n_ctx", n.to_string());
                }
            }
            Dialect::LlamaServer => {
                flag("--model", self.model.clone());
                flag("--alias", self.served_name.clone());
                flag("--host", host.to_owned());
                flag("--port", port.to_owned());
                if let Some(n) = self.context_length {
                    flag("--ctx-size", n.to_string());
                }
            }
            Dialect::Valley => {
                flag("--model", self.model.clone());
                flag("--name", self.served_name.clone());
                flag("--host", host.to_owned());
                flag("--port", port.to_owned());
                if let Some(t) = path(&self.tokenizer) {
                    flag("--tokenizer", t);
                }
                if let Some(t) = path(&self.chat_template) {
                    flag("--chat-template", t);
                }
            }
        }
        c.extend(self.extra_args.iter().cloned());
        c
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn spec(engine: EngineKind, bin: Option<&str>) -> ServerSpec {
        let program =
            Program::resolve(engine, bin.map(Path::new), Path::new("/usr/bin/valley"), |_| false);
        ServerSpec {
            engine,
            program,
            model: "/models/qwen".into(),
            served_name: "qwen/run-1".into(),
            tensor_parallel: 2,
            tokenizer: Some("/tok".into()),
            chat_template: Some("/t.jinja".into()),
            context_length: Some(40960),
            extra_args: vec!["--gpu-memory-utilization".into(), "0.9".into()],
        }
    }

    fn flags_of(command: &[String]) -> Vec<&str> {
        command.iter().filter(|a| a.starts_with("--")).map(String::as_str).collect()
    }

    fn documented(file: &str) -> HashSet<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/engines").join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn vllm_command_line_uses_only_vllm_0_33_flags() {
        let s = spec(EngineKind::Vllm, None);
        let c = s.command_line("127.0.0.1", "8001");
        assert_eq!(&c[..3], ["vllm", "serve", "/models/qwen"]);
        let known = documented("vllm-0.33.0.flags");
        for f in flags_of(&c) {
            assert!(known.contains(f), "vllm 0.33.0 has no flag {f}");
        }
        let text = c.join(" ");
        assert!(
            text.contains("--tensor-parallel-size 2") && text.contains("--port 8001"),
            "{text}"
        );
        assert!(text.ends_with("--max-model-len 40960 --gpu-memory-utilization 0.9"), "{text}");
        let py = spec(EngineKind::Vllm, Some("/venv/bin/python3")).command_line("h", "1");
        assert_eq!(&py[..4], ["/venv/bin/python3", "-m", "vllm.entrypoints.cli.main", "serve"]);
    }

    #[test]
    fn sglang_command_line_uses_only_sglang_0_5_23_flags() {
        let s = ServerSpec { extra_args: vec![], ..spec(EngineKind::Sglang, None) };
        let c = s.command_line("127.0.0.1", "8002");
        assert_eq!(&c[..3], ["python3", "-m", "sglang.launch_server"]);
        let known = documented("sglang-0.5.23.flags");
        for f in flags_of(&c) {
            assert!(known.contains(f), "sglang 0.5.23 has no flag {f}");
        }
        assert!(c.join(" ").contains("--model-path /models/qwen --host 127.0.0.1 --port 8002"));
        let own = spec(EngineKind::Sglang, Some("/venv/bin/sglang")).command_line("h", "1");
        assert_eq!(&own[..2], ["/venv/bin/sglang", "serve"]);
    }

    #[test]
    fn llama_cpp_speaks_python_or_llama_server() {
        let mut s = spec(EngineKind::LlamaCpp, Some("/venv/bin/python"));
        s.tokenizer = None;
        s.chat_template = None;
        s.tensor_parallel = 1;
        let c = s.command_line("127.0.0.1", "9");
        assert_eq!(
            c.join(" "),
            "/venv/bin/python -m llama_cpp.server --model /models/qwen --model_alias qwen/run-1 \
             --host 127.0.0.1 --port 9 --n_ctx 40960 --gpu-memory-utilization 0.9"
        );
        let p =
            Program::resolve(EngineKind::LlamaCpp, None, Path::new("v"), |n| n == "llama-server");
        assert_eq!((p.bin.to_str(), p.dialect), (Some("llama-server"), Dialect::LlamaServer));
        let p = Program::resolve(EngineKind::LlamaCpp, None, Path::new("v"), |_| false);
        assert_eq!((p.bin.to_str(), p.dialect), (Some("python3"), Dialect::LlamaCppPython));
        // a template the server would not use is refused rather than ignored
        assert!(spec(EngineKind::LlamaCpp, None).check().is_err());
    }

    #[test]
    fn refuses_what_valley_sets_itself_and_what_the_engine_cannot_do() {
        let mut s = spec(EngineKind::Vllm, None);
        assert!(s.check().is_ok());
        s.extra_args.push("--port=9000".into());
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("--port"), "{e}");
        let s = spec(EngineKind::Valley, None);
        assert!(s.check().unwrap_err().to_string().contains("one device"));
        let c = ServerSpec { tensor_parallel: 1, ..s }.command_line("127.0.0.1", "5");
        assert_eq!(&c[..2], ["/usr/bin/valley", "serve"]);
        for e in EngineKind::ALL {
            assert_eq!(e.as_str().parse::<EngineKind>(), Ok(e));
        }
        assert!("tgi".parse::<EngineKind>().is_err());
    }
}
