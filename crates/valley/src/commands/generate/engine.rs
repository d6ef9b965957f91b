//! `valley generate --engine`: the servers valley starts for a job — their settings from the
//! flags and the environment (GPUs, Slurm), `--dry-run`, and the watchers that restart a
//! replica whose server died and stop them all on a signal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use valley_engine::{EngineError, EngineKind, Fleet, FleetConfig, Launcher, Program, ServerSpec};
use valley_generate::{Pool, ReplicaState};

use crate::args::{GenerateArgs, LauncherArg};

/// The servers a job will start.
pub(super) struct Plan {
    pub(super) config: FleetConfig,
}

impl Plan {
    /// Reads the flags (and, for GPUs and Slurm, the environment) into a fleet's settings.
    pub(super) fn from_args(args: &GenerateArgs, engine: &str) -> anyhow::Result<Plan> {
        let engine: EngineKind =
            engine.parse().map_err(|e: String| anyhow::anyhow!("--engine: {e}"))?;
        if !(args.engine_timeout > 0.0 && args.engine_timeout.is_finite()) {
            bail!(
                "--engine-timeout: expected a positive number of seconds, got {}",
                args.engine_timeout
            );
        }
        let valley = std::env::current_exe().context("cannot find the valley binary itself")?;
        let program = Program::resolve(engine, args.engine_bin.as_deref(), &valley, |name| {
            valley_path_lookup(name).is_some()
        });
        let served_name = match &args.served_model_name {
            Some(n) => n.clone(),
            None => Path::new(args.model.trim_end_matches('/'))
                .file_name()
                .map_or_else(|| args.model.clone(), |n| n.to_string_lossy().into_owned()),
        };
        let spec = ServerSpec {
            engine,
            program,
            model: args.model.clone(),
            served_name,
            tensor_parallel: args.tensor_parallel,
            tokenizer: args.tokenizer.clone(),
            chat_template: args.chat_template.clone(),
            context_length: args.context_length,
            extra_args: args.engine_arg.clone(),
        };
        spec.check()?;
        let launcher = launcher(args.launcher)?;
        let gpus: Vec<String> = match &args.gpus {
            Some(list) => {
                let g: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).collect();
                if g.iter().any(String::is_empty) {
                    bail!("--gpus: expected GPU ids separated by commas, got `{list}`");
                }
                g
            }
            None if launcher == Launcher::Local => visible_gpus(),
            None => vec![],
        };
        let replicas = valley_engine::plan(args.replicas, args.tensor_parallel, &gpus, &launcher)?;
        let log_dir = match &args.engine_logs {
            Some(d) => d.clone(),
            None => {
                let stem = args
                    .out
                    .file_stem()
                    .map_or_else(|| "generations".to_owned(), |s| s.to_string_lossy().into_owned());
                args.out.with_file_name(format!("{stem}.engine"))
            }
        };
        Ok(Plan {
            config: FleetConfig {
                spec,
                replicas,
                launcher,
                log_dir,
                start_timeout: Duration::from_secs_f64(args.engine_timeout),
                max_restarts: args.engine_restarts,
            },
        })
    }

    /// The name requests carry.
    pub(super) fn served_name(&self) -> &str {
        &self.config.spec.served_name
    }

    /// What `--dry-run` prints: each replica's GPUs or node, environment and command line.
    pub(super) fn describe(&self) -> (Value, String) {
        let c = &self.config;
        let mut human = format!(
            "{} replica(s) of {} serving {} as `{}` (logs in {}):\n",
            c.replicas.len(),
            c.spec.engine,
            c.spec.model,
            c.spec.served_name,
            c.log_dir.display()
        );
        let mut replicas = Vec::new();
        for r in &c.replicas {
            let (command, env) = c.command(r.index, "{port}");
            let env_text: String = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
            human.push_str(&format!(
                "  replica {}: {env_text}{}\n",
                r.index,
                command.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
            ));
            replicas.push(json!({
                "index": r.index,
                "gpus": r.gpus,
                "node": r.node,
                "gres": r.gres,
                "env": env.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<String, Value>>(),
                "command": command,
                "log": c.log(r.index),
            }));
        }
        let value = json!({
            "engine": c.spec.engine.as_str(),
            "model": c.spec.model,
            "served_model_name": c.spec.served_name,
            "tensor_parallel": c.spec.tensor_parallel,
            "launcher": match c.launcher { Launcher::Local => "local", Launcher::Srun { .. } => "srun" },
            "health": c.spec.engine.health_path(),
            "log_dir": c.log_dir,
            "replicas": replicas,
        });
        (value, human)
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,{}@%+".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn valley_path_lookup(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// The GPUs this process may use: CUDA_VISIBLE_DEVICES, else every GPU nvidia-smi lists.
fn visible_gpus() -> Vec<String> {
    if let Ok(v) = std::env::var("CUDA_VISIBLE_DEVICES") {
        return v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    }
    let Ok(out) = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=index", "--format=csv,noheader"])
        .output()
    else {
        return vec![];
    };
    if !out.status.success() {
        return vec![];
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Local, or srun inside a Slurm job (the allocation's nodes and GPUs from its environment).
fn launcher(arg: LauncherArg) -> anyhow::Result<Launcher> {
    let in_job = std::env::var_os("SLURM_JOB_ID").is_some();
    let use_srun = match arg {
        LauncherArg::Local => false,
        LauncherArg::Srun => {
            if !in_job {
                bail!("--launcher srun: not inside a Slurm job (SLURM_JOB_ID is not set)");
            }
            true
        }
        LauncherArg::Auto => in_job && valley_path_lookup("srun").is_some(),
    };
    if !use_srun {
        return Ok(Launcher::Local);
    }
    let list = std::env::var("SLURM_JOB_NODELIST")
        .or_else(|_| std::env::var("SLURM_NODELIST"))
        .context("inside a Slurm job without SLURM_JOB_NODELIST")?;
    let out = std::process::Command::new("scontrol")
        .args(["show", "hostnames", &list])
        .output()
        .context("cannot run `scontrol show hostnames` to list the job's nodes")?;
    if !out.status.success() {
        bail!(
            "`scontrol show hostnames {list}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let nodes: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_owned()).collect();
    let this_node = match std::env::var("SLURMD_NODENAME") {
        Ok(n) => n,
        Err(_) => String::from_utf8_lossy(
            &std::process::Command::new("hostname").arg("-s").output().context("hostname")?.stdout,
        )
        .trim()
        .to_owned(),
    };
    let gpus_per_node = std::env::var("SLURM_GPUS_ON_NODE")
        .ok()
        .and_then(|g| g.trim().parse().ok())
        .or_else(|| {
            let v = std::env::var("CUDA_VISIBLE_DEVICES").ok()?;
            u32::try_from(v.split(',').filter(|s| !s.trim().is_empty()).count()).ok()
        })
        .filter(|&g| g > 0);
    Ok(Launcher::Srun { nodes, this_node, gpus_per_node })
}

/// Started servers with a pool over them and a watcher per replica.
pub(super) struct Running {
    pub(super) fleet: Arc<Fleet>,
    pub(super) pool: Arc<Pool>,
    finished: Arc<AtomicBool>,
    watchers: Vec<std::thread::JoinHandle<()>>,
    pub(super) stop: Arc<AtomicBool>,
}

impl Running {
    /// Starts the servers (stopping all of them on a failure) and the watchers.
    pub(super) fn start(plan: Plan, stop: Arc<AtomicBool>) -> anyhow::Result<Running> {
        let c = &plan.config;
        note(&format!(
            "starting {} {} server(s) for {} (logs in {})",
            c.replicas.len(),
            c.spec.engine,
            c.spec.model,
            c.log_dir.display()
        ));
        let fleet = Arc::new(
            Fleet::start(plan.config, stop.clone()).context("cannot start the engine's servers")?,
        );
        let urls = fleet.urls();
        note(&format!("servers ready: {}", urls.join(" ")));
        let probe_fleet = fleet.clone();
        let pool = Arc::new(
            Pool::new(urls)
                .with_probe(Box::new(move |i| probe_fleet.died(i, Duration::from_secs(1)))),
        );
        let finished = Arc::new(AtomicBool::new(false));
        let watchers = (0..fleet.len())
            .map(|i| {
                let (fleet, pool, finished, stop) =
                    (fleet.clone(), pool.clone(), finished.clone(), stop.clone());
                std::thread::spawn(move || watch(i, &fleet, &pool, &finished, &stop))
            })
            .collect();
        Ok(Running { fleet, pool, finished, watchers, stop })
    }

    /// Stops every server and the watchers.
    pub(super) fn shut_down(self) {
        self.fleet.stop();
        self.finished.store(true, Ordering::SeqCst);
        for w in self.watchers {
            let _ = w.join();
        }
    }
}

/// Watches replica `i`: when its server dies, restarts it (bounded) or gives up on it; on a
/// signal, stops every server so the job ends.
fn watch(i: usize, fleet: &Fleet, pool: &Pool, finished: &AtomicBool, stop: &AtomicBool) {
    loop {
        if finished.load(Ordering::SeqCst) {
            return;
        }
        if stop.load(Ordering::SeqCst) {
            fleet.stop();
            pool.set_gone(i);
            return;
        }
        if pool.states()[i] == ReplicaState::Gone {
            return;
        }
        if fleet.died(i, Duration::ZERO) && !fleet.is_stopping() {
            pool.set_down(i);
            let (status, tail) = fleet.last_words(i, 10);
            tracing::warn!(
                "replica {i}'s server exited ({status}); restarting it. The end of {}:\n{tail}",
                fleet.config().log(i).display()
            );
            match fleet.restart(i) {
                Ok(url) => {
                    note(&format!("replica {i} is back at {url}"));
                    pool.set_up(i, &url);
                }
                Err(e) if fleet.is_stopping() || matches!(e, EngineError::GaveUp { .. }) => {
                    if !fleet.is_stopping() {
                        tracing::warn!("{e}; its work goes to the others");
                    }
                    pool.set_gone(i);
                    return;
                }
                // Dead again: the next round tries again while restarts are left.
                Err(e) => tracing::warn!("replica {i} did not come back: {e}"),
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A flag raised by SIGINT, SIGTERM or SIGHUP: the servers run in process groups of their own,
/// which a terminal's Ctrl-C does not reach, so valley stops them itself.
pub(super) fn stop_on_signal() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    if let Err(e) = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst)) {
        tracing::warn!("cannot catch Ctrl-C ({e}); an interrupted run may leave servers running");
    }
    flag
}

#[expect(clippy::print_stderr, reason = "the servers' lifecycle is told on stderr")]
fn note(message: &str) {
    eprintln!("valley: {message}");
}
