//! `valley train`: loads a training spec, renders its data through valley-data's chat template
//! (the `valley data render` path), resolves the plan, and with `--dry-run` prints it; otherwise
//! writes the pre-tokenised data and trains with the spec's backend, recording the run.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;
use valley_data::io::{ClaimOutputs, OutputKind, OutputSet};
use valley_train::data::{self, DataSummary};
use valley_train::engine::{EngineInputs, EngineTrainer, write_engine_files};
use valley_train::memory::{self, MemoryEstimate};
use valley_train::spec::{Backend, TEMPLATE};
use valley_train::{Plan, Progress, TrainContext, TrainOutcome, TrainSpec, Trainer};

use crate::args::{TrainArgs, TrainCheckArgs, TrainCommand};
use crate::{exit, printer};

#[derive(Serialize)]
struct DryRun<'a> {
    dry_run: bool,
    #[serde(flatten)]
    plan: &'a Plan,
    data: &'a DataSummary,
    out_dir: String,
    /// The engine files written (none for the native backend).
    engine_files: Vec<String>,
    /// The command `valley train` would run.
    launch: Option<String>,
    /// Where the engine departs from the plan in ways valley cannot remove.
    notes: Vec<String>,
    /// The memory pre-flight (null when the model's shape is unknown or the device is the CPU).
    memory: Option<MemoryEstimate>,
}

/// The memory pre-flight of `spec` on GPUs, when its model's shape is known.
fn preflight(spec: &TrainSpec) -> anyhow::Result<Option<MemoryEstimate>> {
    if spec.compute.device != valley_train::spec::Device::Cuda {
        return Ok(None);
    }
    Ok(memory::shape(spec, tokenizer_vocab(spec)?).map(|s| memory::estimate(spec, &s)))
}

#[derive(Serialize)]
struct RunRecord<'a> {
    spec: &'a TrainSpec,
    plan: &'a Plan,
    data: &'a DataSummary,
    outcome: &'a TrainOutcome,
}

pub(crate) fn run(args: TrainArgs) -> anyhow::Result<u8> {
    if let Some(TrainCommand::Check(check)) = args.command {
        return run_check(check);
    }
    if args.print_template {
        let mut out = std::io::stdout().lock();
        out.write_all(TEMPLATE.as_bytes())?;
        out.flush()?;
        return Ok(exit::SUCCESS);
    }
    let Some(config) = args.config.as_deref() else {
        anyhow::bail!("--config is required");
    };
    let spec = TrainSpec::load(config)?;
    // The run folder is this run's alone, and none of what it reads lies inside it.
    let _claim = ClaimOutputs::new()
        .input("--config", config)
        .input("data.train", &spec.data.train)
        .input_opt("model.path", spec.model.path.as_deref())
        .input_opt("model.tokenizer", spec.model.tokenizer.as_deref())
        .input_opt("model.chat-template", spec.model.chat_template.as_deref())
        .output("output.dir", &spec.output.dir, OutputKind::Folder)
        .claim()?;
    if args.dry_run {
        let summary = data::prepare(&spec, config, None)
            .with_context(|| format!("cannot prepare the data of {}", config.display()))?;
        let plan = Plan::resolve(&spec, &summary);
        let (mut engine_files, mut launch, mut notes) = (Vec::new(), None, Vec::new());
        if spec.compute.backend != Backend::Native {
            let tokens = data::tokens_path(&spec.output.dir);
            let inputs = EngineInputs {
                data: &tokens,
                out_dir: &spec.output.dir,
                resume: args.resume,
                tokenizer_vocab: tokenizer_vocab(&spec)?,
            };
            let files = write_engine_files(&spec, &plan, &inputs).with_context(|| {
                format!("cannot write the engine files of {}", config.display())
            })?;
            engine_files = files.files.iter().map(|p| p.display().to_string()).collect();
            launch = Some(files.command.shell_line());
            notes = files.notes;
        }
        let mem = preflight(&spec)?;
        let mut human = plan.describe();
        if let Some(m) = &mem {
            human.push_str(&format!(
                "\nmemory per GPU: {:.1} GiB of {:.0} ({:.1} states, {:.1} activations, {:.1} logits){}",
                m.total_gib,
                m.device_gib,
                m.states_gib,
                m.activations_gib,
                m.logits_gib,
                m.advice.as_ref().map_or(String::new(), |a| format!("; will not fit: {a}"))
            ));
        }
        for f in &engine_files {
            human.push_str(&format!("\nwrote {f}"));
        }
        if let Some(l) = &launch {
            human.push_str(&format!("\nlaunch: {l}"));
        }
        for n in &notes {
            human.push_str(&format!("\nnote: {n}"));
        }
        let report = DryRun {
            dry_run: true,
            plan: &plan,
            data: &summary,
            out_dir: spec.output.dir.display().to_string(),
            engine_files,
            launch,
            notes,
            memory: mem,
        };
        printer::summary(args.json, &report, &human)?;
        return Ok(exit::SUCCESS);
    }

    if let Some(m) = preflight(&spec)?
        && !m.fits
        && !args.ignore_memory_check
    {
        anyhow::bail!(
            "{}: the memory pre-flight predicts {:.1} GiB per GPU, over compute.gpu-memory-gib {:.0}; {} (--ignore-memory-check launches anyway)",
            config.display(),
            m.total_gib,
            m.device_gib,
            m.advice.unwrap_or_default()
        );
    }
    let trainer = trainer_for(&spec)?;
    let out_dir = &spec.output.dir;
    fs_err::create_dir_all(out_dir)?;
    let tokens = data::tokens_path(out_dir);
    fs_err::create_dir_all(tokens.parent().unwrap_or(out_dir))?;
    let start = Instant::now();
    let summary = data::prepare(&spec, config, Some(&tokens))
        .with_context(|| format!("cannot prepare the data of {}", config.display()))?;
    let plan = Plan::resolve(&spec, &summary);
    tracing::info!("{}", plan.describe());
    let mut progress = |p: &Progress| report_progress(p);
    let mut ctx = TrainContext {
        out_dir: out_dir.clone(),
        data: tokens,
        resume: args.resume,
        progress: &mut progress,
    };
    let outcome = trainer.train(&spec, &plan, &mut ctx)?;
    let record = RunRecord { spec: &spec, plan: &plan, data: &summary, outcome: &outcome };
    let record_path = out_dir.join("run.json");
    let mut staged = OutputSet::new();
    staged.write(&record_path, &serde_json::to_vec_pretty(&record)?)?;
    staged.commit()?;
    let human = format!(
        "trained {} steps in {:.0}s; loss {} -> {}; checkpoint {}; record {}",
        outcome.steps,
        start.elapsed().as_secs_f64(),
        outcome.first_loss.map_or("?".into(), |l| format!("{l:.4}")),
        outcome.final_loss.map_or("?".into(), |l| format!("{l:.4}")),
        outcome.final_checkpoint.display(),
        record_path.display()
    );
    // The summary is the run record with the headline numbers at the top level.
    let mut summary_json = serde_json::to_value(&record)?;
    if let Some(m) = summary_json.as_object_mut() {
        m.insert("first_loss".into(), serde_json::json!(outcome.first_loss));
        m.insert("final_loss".into(), serde_json::json!(outcome.final_loss));
        m.insert("steps".into(), serde_json::json!(outcome.steps));
        m.insert("final_checkpoint".into(), serde_json::json!(outcome.final_checkpoint));
        m.insert("run_record".into(), serde_json::json!(record_path));
    }
    printer::summary(args.json, &summary_json, &human)?;
    Ok(exit::SUCCESS)
}

/// The backend that trains `spec`.
fn trainer_for(spec: &TrainSpec) -> anyhow::Result<Box<dyn Trainer>> {
    match spec.compute.backend {
        Backend::Native => Ok(Box::new(valley_native::trainer::NativeTrainer)),
        Backend::Trl | Backend::Torchtune | Backend::Axolotl | Backend::LlamaFactory => {
            Ok(Box::new(EngineTrainer { tokenizer_vocab: tokenizer_vocab(spec)? }))
        }
    }
}

/// The tokenizer's vocabulary (added tokens included), needed only by `[model.init]`.
fn tokenizer_vocab(spec: &TrainSpec) -> anyhow::Result<u32> {
    if spec.model.init.is_none() {
        return Ok(0);
    }
    let tok = data::load_tokenizer(spec)?;
    Ok(u32::try_from(tok.tokenizer().get_vocab_size(true))?)
}

#[expect(clippy::print_stderr, reason = "progress goes to stderr")]
fn report_progress(p: &Progress) {
    let eta = p.eta_seconds.map_or(String::new(), |s| format!(", eta {}", fmt_secs(s)));
    let speed = p.tokens_per_second.map_or(String::new(), |t| format!(", {t:.0} tok/s"));
    eprintln!(
        "step {}/{} (epoch {:.2}): loss {:.4}, lr {:.3e}{speed}{eta}",
        p.step, p.total_steps, p.epoch, p.loss, p.learning_rate
    );
}

fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0) as u64;
    format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
}

/// `valley train check`.
fn run_check(args: TrainCheckArgs) -> anyhow::Result<u8> {
    let spec = TrainSpec::load(&args.config)?;
    let engine = match args.engine.as_deref() {
        None => spec.compute.backend,
        Some(name) => {
            let quoted = format!("\"{name}\"");
            serde_json::from_str::<Backend>(&quoted)
                .map_err(|_| anyhow::anyhow!("--engine: `{name}` is not one of trl, torchtune, axolotl, llama-factory, native"))?
        }
    };
    let python = args.python.clone().unwrap_or_else(|| spec.compute.python.clone());
    let temp;
    let work = match &args.work {
        Some(w) => w.clone(),
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let report = valley_train::check::run(&spec, engine, args.sample, &python, &work)
        .with_context(|| {
            format!("cannot check {} against {}", engine.as_str(), args.config.display())
        })?;
    let mut human = format!(
        "{}: {} traces, {} tokens: {} identical, {} differ",
        report.engine, report.rows, report.tokens, report.identical, report.mismatched
    );
    for m in report.mismatches.iter().take(20) {
        human.push_str(&format!(
            "\n  {}: {} differs at token {} (valley {} tokens, engine {})",
            m.id,
            m.what,
            m.position.map_or("-".into(), |p| p.to_string()),
            m.valley_len,
            m.engine_len
        ));
    }
    printer::summary(args.json, &report, &human)?;
    Ok(if report.mismatched == 0 { exit::SUCCESS } else { exit::CHECK_FAILED })
}
