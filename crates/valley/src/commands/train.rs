//! `valley train`: loads a training spec, renders its data through valley-data's chat template
//! (the `valley data render` path), resolves the plan, and with `--dry-run` prints it; otherwise
//! writes the pre-tokenised data and trains with the spec's backend, recording the run.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;
use valley_train::data::{self, DataSummary};
use valley_train::spec::{Backend, TEMPLATE};
use valley_train::{Plan, Progress, TrainContext, TrainOutcome, TrainSpec, Trainer};

use crate::args::TrainArgs;
use crate::{exit, printer};

#[derive(Serialize)]
struct DryRun<'a> {
    dry_run: bool,
    #[serde(flatten)]
    plan: &'a Plan,
    data: &'a DataSummary,
    out_dir: String,
}

#[derive(Serialize)]
struct RunRecord<'a> {
    spec: &'a TrainSpec,
    plan: &'a Plan,
    data: &'a DataSummary,
    outcome: &'a TrainOutcome,
}

pub(crate) fn run(args: TrainArgs) -> anyhow::Result<u8> {
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
    if args.dry_run {
        let summary = data::prepare(&spec, config, None)
            .with_context(|| format!("cannot prepare the data of {}", config.display()))?;
        let plan = Plan::resolve(&spec, &summary);
        let report = DryRun {
            dry_run: true,
            plan: &plan,
            data: &summary,
            out_dir: spec.output.dir.display().to_string(),
        };
        printer::summary(args.json, &report, &plan.describe())?;
        return Ok(exit::SUCCESS);
    }

    let trainer = trainer_for(spec.compute.backend)?;
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
    let tmp = out_dir.join(".run.json.tmp");
    fs_err::write(&tmp, serde_json::to_vec_pretty(&record)?)?;
    fs_err::rename(&tmp, &record_path)?;
    let human = format!(
        "trained {} steps in {:.0}s; loss {} -> {}; checkpoint {}; record {}",
        outcome.steps,
        start.elapsed().as_secs_f64(),
        outcome.first_loss.map_or("?".into(), |l| format!("{l:.4}")),
        outcome.final_loss.map_or("?".into(), |l| format!("{l:.4}")),
        outcome.final_checkpoint.display(),
        record_path.display()
    );
    printer::summary(args.json, &record, &human)?;
    Ok(exit::SUCCESS)
}

/// The backend that trains `backend` specs.
fn trainer_for(backend: Backend) -> anyhow::Result<Box<dyn Trainer>> {
    match backend {
        Backend::Native => Ok(Box::new(valley_native::trainer::NativeTrainer)),
        other => anyhow::bail!(
            "compute.backend `{}`: training is not wired into this build yet; use --dry-run",
            other.as_str()
        ),
    }
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
