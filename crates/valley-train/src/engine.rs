//! Existing training engines driven from the spec: each backend writes its engine's own files
//! into `<output.dir>/engine/`, then [`EngineTrainer`] launches them (torchrun, accelerate or
//! Slurm) and follows their output.

mod axolotl;
mod files;
mod hf_dataset;
pub mod launch;
mod llama_factory;
pub mod monitor;
pub mod protocol;
mod torchtune;
pub mod trl;
mod yaml;

use std::path::{Path, PathBuf};

use crate::error::TrainError;
use crate::plan::Plan;
use crate::spec::{Backend, Launcher, TrainSpec};
use crate::trainer::{TrainContext, TrainOutcome, Trainer};

pub use files::{EngineFiles, EngineInputs};
pub use hf_dataset::TOKENS_TO_HF;
use launch::{LaunchCommand, engine_dir};
pub use torchtune::{TORCHTUNE_HELPER, torchtune_steps_per_epoch};

fn write(path: &Path, text: &str, files: &mut Vec<PathBuf>) -> Result<(), TrainError> {
    let io = |source| TrainError::Io { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir).map_err(io)?;
    }
    let mut staged = valley_data::io::OutputSet::new();
    staged.write(path, text.as_bytes()).and_then(|()| staged.commit()).map_err(|e| io(e.source))?;
    files.push(path.to_path_buf());
    Ok(())
}

/// Writes the engine files of `spec`'s backend (not `native`, which needs none).
pub fn write_engine_files(
    spec: &TrainSpec,
    plan: &Plan,
    inputs: &EngineInputs<'_>,
) -> Result<EngineFiles, TrainError> {
    let dir = engine_dir(inputs.out_dir);
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let mut env = Vec::new();
    let mut prepare = None;
    let entry: Vec<String> = match spec.compute.backend {
        Backend::Native => {
            return Err(TrainError::Unsupported {
                backend: "native".into(),
                message: "writes no engine files".into(),
            });
        }
        Backend::Trl => {
            let cfg = trl::launch_config(
                spec,
                plan,
                inputs.data,
                inputs.out_dir,
                inputs.resume,
                inputs.tokenizer_vocab,
            );
            let script = dir.join("valley_hf_train.py");
            let config = dir.join("trl.json");
            write(&script, protocol::HF_LAUNCHER, &mut files)?;
            let text = serde_json::to_string_pretty(&cfg).map_err(|e| TrainError::Io {
                path: config.clone(),
                source: std::io::Error::other(e),
            })?;
            write(&config, &text, &mut files)?;
            vec![script.display().to_string(), config.display().to_string()]
        }
        backend => {
            let out = match backend {
                Backend::Torchtune => torchtune::write(spec, plan, inputs, &dir)?,
                Backend::Axolotl => axolotl::write(spec, plan, inputs, &dir)?,
                Backend::LlamaFactory => llama_factory::write(spec, plan, inputs, &dir)?,
                Backend::Native | Backend::Trl => {
                    return Err(yaml::unsupported(
                        backend,
                        "has no YAML config writer (bug: please report it)",
                    ));
                }
            };
            for (path, text) in &out.files {
                write(path, text, &mut files)?;
            }
            notes.extend(out.notes);
            env = out.env;
            prepare = out.prepare.map(|args| LaunchCommand {
                program: spec.compute.python.clone(),
                args,
                env: Vec::new(),
            });
            out.entry
        }
    };
    let log = inputs.out_dir.join("logs").join("train.log");
    let (command, sbatch) = if spec.compute.launcher == Launcher::Slurm {
        let script = dir.join("train.sbatch");
        write(
            &script,
            &launch::sbatch_script(spec, &entry, &env, inputs.out_dir, &log),
            &mut files,
        )?;
        let command = LaunchCommand {
            program: "sbatch".into(),
            args: vec!["--parsable".into(), script.display().to_string()],
            env: Vec::new(),
        };
        (command, Some(script))
    } else {
        (launch::node_command(spec, &entry, &env), None)
    };
    let mut sh = format!(
        "#!/bin/sh\n# written by `valley train`: what it runs to train\nset -e\ncd {}\n",
        launch::shell_quote(&inputs.out_dir.display().to_string())
    );
    if let Some(p) = &prepare {
        sh.push_str(&p.shell_line());
        sh.push('\n');
    }
    sh.push_str(&command.shell_line());
    sh.push('\n');
    write(&dir.join("launch.sh"), &sh, &mut files)?;
    Ok(EngineFiles { files, command, sbatch, prepare, log, notes })
}

/// Trains with an existing engine: writes its files, launches it, follows its log.
#[derive(Debug, Clone, Copy)]
pub struct EngineTrainer {
    /// The tokenizer's vocabulary size (for `[model.init]`).
    pub tokenizer_vocab: u32,
}

impl Trainer for EngineTrainer {
    fn name(&self) -> &str {
        "engine"
    }

    fn train(
        &self,
        spec: &TrainSpec,
        plan: &Plan,
        ctx: &mut TrainContext<'_>,
    ) -> Result<TrainOutcome, TrainError> {
        let inputs = EngineInputs {
            data: &ctx.data,
            out_dir: &ctx.out_dir,
            resume: ctx.resume,
            tokenizer_vocab: self.tokenizer_vocab,
        };
        let files = write_engine_files(spec, plan, &inputs)?;
        monitor::run(spec, plan, &files, ctx)
    }
}
