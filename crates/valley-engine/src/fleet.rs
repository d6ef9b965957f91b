//! R replicas of one server: where each runs (its GPUs, or its node under Slurm), starting them
//! all and waiting until each is ready, restarting one that died (a bounded number of times),
//! stopping them all.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::ServerSpec;
use crate::error::EngineError;
use crate::server::{NotReady, STOP_GRACE, Server};

/// Where one replica runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplicaPlan {
    /// Its index.
    pub index: usize,
    /// `CUDA_VISIBLE_DEVICES` of a local replica (empty: left as it is).
    pub gpus: Vec<String>,
    /// The Slurm node it runs on (through `srun`), if any.
    pub node: Option<String>,
    /// GPUs `srun` asks Slurm for (`--gres=gpu:N`), if any.
    pub gres: Option<u32>,
}

/// How servers are started: here, or as Slurm job steps from inside an allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launcher {
    /// Child processes on this machine.
    Local,
    /// `srun` job steps on the allocation's nodes.
    Srun {
        /// The allocation's nodes.
        nodes: Vec<String>,
        /// The node valley runs on.
        this_node: String,
        /// GPUs on each node, when the allocation has any.
        gpus_per_node: Option<u32>,
    },
}

/// Places `replicas` servers of `tp` GPUs each: on `gpus` in order (one group of `tp` per
/// replica) here, or spread over the Slurm nodes.
pub fn plan(
    replicas: u32,
    tp: u32,
    gpus: &[String],
    launcher: &Launcher,
) -> Result<Vec<ReplicaPlan>, EngineError> {
    if replicas == 0 {
        return Err(EngineError::Config("--replicas: expected at least 1".into()));
    }
    let (r, t) = (replicas as usize, tp.max(1) as usize);
    match launcher {
        Launcher::Local => {
            if gpus.is_empty() {
                if t > 1 {
                    return Err(EngineError::Config(format!(
                        "--tensor-parallel {t}: no GPU is visible (CUDA_VISIBLE_DEVICES, \
                         nvidia-smi); name them with --gpus"
                    )));
                }
                return Ok((0..r)
                    .map(|index| ReplicaPlan { index, gpus: vec![], node: None, gres: None })
                    .collect());
            }
            if r * t > gpus.len() {
                return Err(EngineError::Config(format!(
                    "--replicas {r} × --tensor-parallel {t} needs {} GPUs; {} available ({})",
                    r * t,
                    gpus.len(),
                    gpus.join(",")
                )));
            }
            Ok((0..r)
                .map(|index| ReplicaPlan {
                    index,
                    gpus: gpus[index * t..(index + 1) * t].to_vec(),
                    node: None,
                    gres: None,
                })
                .collect())
        }
        Launcher::Srun { nodes, gpus_per_node, .. } => {
            if nodes.is_empty() {
                return Err(EngineError::Config("the Slurm allocation lists no node".into()));
            }
            if !gpus.is_empty() {
                return Err(EngineError::Config(
                    "--gpus: under Slurm each replica's GPUs are Slurm's to assign \
                     (--launcher local to place them by hand)"
                        .into(),
                ));
            }
            let gres = match gpus_per_node {
                Some(g) if *g > 0 => {
                    let per_node = *g as usize / t;
                    if r > per_node * nodes.len() {
                        return Err(EngineError::Config(format!(
                            "--replicas {r} × --tensor-parallel {t} does not fit {} node(s) of \
                             {g} GPUs",
                            nodes.len()
                        )));
                    }
                    Some(tp.max(1))
                }
                _ if t > 1 => {
                    return Err(EngineError::Config(format!(
                        "--tensor-parallel {t}: the Slurm allocation has no GPUs (--gres=gpu:N)"
                    )));
                }
                _ => None,
            };
            Ok((0..r)
                .map(|index| ReplicaPlan {
                    index,
                    gpus: vec![],
                    node: Some(nodes[index % nodes.len()].clone()),
                    gres,
                })
                .collect())
        }
    }
}

/// Everything a fleet needs.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// What each server serves.
    pub spec: ServerSpec,
    /// Where each replica runs.
    pub replicas: Vec<ReplicaPlan>,
    /// How they are started.
    pub launcher: Launcher,
    /// Folder of the logs (`replica-<i>.log`).
    pub log_dir: PathBuf,
    /// How long a server may take to become ready.
    pub start_timeout: Duration,
    /// Restarts of each replica at most.
    pub max_restarts: u32,
}

impl FleetConfig {
    /// Where replica `i` listens: (host, whether the port is chosen here).
    fn host(&self, i: usize) -> (String, bool) {
        match (&self.launcher, &self.replicas[i].node) {
            (Launcher::Srun { this_node, .. }, Some(node)) if node != this_node => {
                (node.clone(), false)
            }
            _ => ("127.0.0.1".into(), true),
        }
    }

    /// Replica `i`'s full command line (with the `srun` prefix under Slurm) and environment.
    pub fn command(&self, i: usize, port: &str) -> (Vec<String>, Vec<(String, String)>) {
        let plan = &self.replicas[i];
        let (host, _) = self.host(i);
        let server = self.spec.command_line(&host, port);
        let mut env = Vec::new();
        let command = match (&self.launcher, &plan.node) {
            (Launcher::Srun { .. }, Some(node)) => {
                let mut c: Vec<String> = vec![
                    "srun".into(),
                    "--nodes=1".into(),
                    "--ntasks=1".into(),
                    format!("--nodelist={node}"),
                    format!("--job-name=valley-engine-{i}"),
                    "--kill-on-bad-exit=1".into(),
                ];
                match plan.gres {
                    Some(g) => c.extend([format!("--gres=gpu:{g}"), "--exact".into()]),
                    None => c.push("--overlap".into()),
                }
                c.extend(server);
                c
            }
            _ => {
                if !plan.gpus.is_empty() {
                    env.push(("CUDA_VISIBLE_DEVICES".into(), plan.gpus.join(",")));
                }
                server
            }
        };
        (command, env)
    }

    /// Replica `i`'s log file.
    pub fn log(&self, i: usize) -> PathBuf {
        self.log_dir.join(format!("replica-{i}.log"))
    }
}

/// A started set of replicas; dropping it stops them all.
#[derive(Debug)]
pub struct Fleet {
    config: FleetConfig,
    slots: Vec<Mutex<Slot>>,
    stopping: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Slot {
    server: Option<Server>,
    restarts: u32,
    /// Ports this replica was started on (to pick another after a clash).
    tried: Vec<u16>,
}

/// Port choices per start at most (a clash is retried on another port).
const PORT_TRIES: usize = 4;

impl Fleet {
    /// Starts every replica at once and waits until each is ready; on any failure stops the
    /// others and returns the failure (with the end of that replica's log). Raising `stop` (a
    /// signal handler's flag) interrupts the wait, and later restarts; it is also what
    /// [`Fleet::stop`] raises.
    pub fn start(config: FleetConfig, stop: Arc<AtomicBool>) -> Result<Fleet, EngineError> {
        fs_err::create_dir_all(&config.log_dir)
            .map_err(|source| EngineError::Log { path: config.log_dir.clone(), source })?;
        let slots = (0..config.replicas.len())
            .map(|_| Mutex::new(Slot { server: None, restarts: 0, tried: vec![] }))
            .collect();
        let fleet = Fleet { config, slots, stopping: stop };
        // Spawn all first, so they load their weights side by side; then wait for each.
        for i in 0..fleet.slots.len() {
            let mut slot = fleet.slot(i);
            let server = fleet.spawn(i, &mut slot, "start")?;
            slot.server = Some(server);
        }
        let deadline = Instant::now() + fleet.config.start_timeout;
        for i in 0..fleet.slots.len() {
            let mut slot = fleet.slot(i);
            fleet.wait(i, &mut slot, deadline)?;
        }
        Ok(fleet)
    }

    fn slot(&self, i: usize) -> std::sync::MutexGuard<'_, Slot> {
        self.slots[i].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The settings.
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// Replicas.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Each replica's base URL (`http://host:port/v1`), as started.
    pub fn urls(&self) -> Vec<String> {
        (0..self.len())
            .map(|i| self.slot(i).server.as_ref().map_or_else(String::new, Server::url))
            .collect()
    }

    /// Each replica's process id (that of `srun` under Slurm), for tests and the log.
    pub fn pids(&self) -> Vec<Option<u32>> {
        (0..self.len()).map(|i| self.slot(i).server.as_ref().map(Server::pid)).collect()
    }

    /// Whether replica `i`'s server has exited (it is then cleaned up: its group killed and
    /// reaped). Waits up to `within` for a dying one to go.
    pub fn died(&self, i: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let mut slot = self.slot(i);
            let dead = slot.server.as_ref().is_none_or(Server::exited);
            if dead {
                if let Some(s) = slot.server.as_mut() {
                    s.stop(Duration::ZERO);
                }
                return true;
            }
            drop(slot);
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How replica `i`'s server ended and the end of its log (after [`Fleet::died`]).
    pub fn last_words(&self, i: usize, lines: usize) -> (String, String) {
        let slot = self.slot(i);
        slot.server.as_ref().map_or_else(
            || ("not started".into(), String::new()),
            |s| (s.status().unwrap_or("running").to_owned(), s.tail(lines)),
        )
    }

    /// Restarts replica `i` (after it died) and waits until it is ready; its new base URL.
    /// Every try counts, a failed one too; [`EngineError::GaveUp`] once `max_restarts` are
    /// spent.
    pub fn restart(&self, i: usize) -> Result<String, EngineError> {
        let mut slot = self.slot(i);
        if slot.restarts >= self.config.max_restarts {
            return Err(EngineError::GaveUp { replica: i, restarts: slot.restarts });
        }
        slot.restarts += 1;
        if let Some(mut old) = slot.server.take() {
            old.stop(Duration::ZERO);
        }
        let label = format!("restart {}", slot.restarts);
        let server = self.spawn(i, &mut slot, &label)?;
        slot.server = Some(server);
        self.wait(i, &mut slot, Instant::now() + self.config.start_timeout)?;
        Ok(slot.server.as_ref().map_or_else(String::new, Server::url))
    }

    fn spawn(&self, i: usize, slot: &mut Slot, label: &str) -> Result<Server, EngineError> {
        let (host, local) = self.config.host(i);
        let port = if local { free_port(&slot.tried) } else { node_port(i, &slot.tried) };
        slot.tried.push(port);
        let (command, env) = self.config.command(i, &port.to_string());
        let header = format!("replica {i}, {label} (port {port}, attempt {})", slot.tried.len());
        Server::spawn(&command, &env, &self.config.log(i), &header, &host, port).map_err(|source| {
            EngineError::Spawn { replica: i, program: command[0].clone(), source }
        })
    }

    /// Waits for replica `i`'s server; a port clash is retried on another port.
    fn wait(&self, i: usize, slot: &mut Slot, deadline: Instant) -> Result<(), EngineError> {
        let spec = &self.config.spec;
        for _ in 0..PORT_TRIES {
            let server = slot.server.as_mut().expect("bug: waiting for a replica never started");
            match server.wait_ready(
                spec.engine.health_path(),
                &spec.served_name,
                deadline,
                &self.stopping,
            ) {
                Ok(()) => return Ok(()),
                Err(NotReady::Exited { clash: true, .. }) => {
                    let next = self.spawn(i, slot, "port taken, new port")?;
                    slot.server = Some(next);
                }
                Err(NotReady::Exited { status, clash: false }) => {
                    return Err(EngineError::Exited {
                        engine: spec.engine.to_string(),
                        replica: i,
                        status,
                        log: self.config.log(i),
                        tail: server.tail(20),
                    });
                }
                Err(NotReady::Timeout) => {
                    let tail = server.tail(20);
                    server.stop(STOP_GRACE);
                    return Err(EngineError::Timeout {
                        engine: spec.engine.to_string(),
                        replica: i,
                        route: spec.engine.health_path().into(),
                        seconds: self.config.start_timeout.as_secs_f64(),
                        log: self.config.log(i),
                        tail,
                    });
                }
                Err(NotReady::Interrupted) => return Err(EngineError::Interrupted),
            }
        }
        let server = slot.server.as_ref().expect("bug: a replica without a server");
        Err(EngineError::Exited {
            engine: spec.engine.to_string(),
            replica: i,
            status: format!("its port was taken {PORT_TRIES} times"),
            log: self.config.log(i),
            tail: server.tail(20),
        })
    }

    /// Stops every server (SIGTERM, a grace period, SIGKILL), those restarting included.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        std::thread::scope(|s| {
            for i in 0..self.slots.len() {
                s.spawn(move || {
                    if let Some(server) = self.slot(i).server.as_mut() {
                        server.stop(STOP_GRACE);
                    }
                });
            }
        });
    }

    /// Whether [`Fleet::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nobody listens on now (the OS's choice), not one tried before.
fn free_port(tried: &[u16]) -> u16 {
    for _ in 0..16 {
        if let Ok(p) = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr())
            && !tried.contains(&p.port())
        {
            return p.port();
        }
    }
    20000 + (std::process::id() % 20000) as u16
}

/// A port on another node, which cannot be checked from here: spread by process, replica and
/// attempt over 20000–59999 (a clash is retried).
fn node_port(i: usize, tried: &[u16]) -> u16 {
    let seed =
        u64::from(std::process::id()) * 7919 + i as u64 * 104_729 + tried.len() as u64 * 15_485_863;
    20000 + (seed % 40000) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpus(list: &str) -> Vec<String> {
        list.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    #[test]
    fn local_replicas_take_their_gpus_in_order() {
        let p = plan(2, 2, &gpus("4,5,6,7"), &Launcher::Local).unwrap();
        assert_eq!((p[0].gpus.join(","), p[1].gpus.join(",")), ("4,5".into(), "6,7".into()));
        let e = plan(3, 2, &gpus("0,1,2,3"), &Launcher::Local).unwrap_err().to_string();
        assert!(e.contains("needs 6 GPUs; 4 available"), "{e}");
        // CPU engines: no GPU to hand out
        assert!(plan(2, 1, &[], &Launcher::Local).unwrap().iter().all(|r| r.gpus.is_empty()));
        assert!(plan(1, 2, &[], &Launcher::Local).is_err());
        assert!(plan(0, 1, &[], &Launcher::Local).is_err());
    }

    #[test]
    fn slurm_replicas_spread_over_the_nodes() {
        let srun = |g| Launcher::Srun {
            nodes: vec!["n1".into(), "n2".into()],
            this_node: "n1".into(),
            gpus_per_node: g,
        };
        let p = plan(4, 4, &[], &srun(Some(8))).unwrap();
        let nodes: Vec<_> = p.iter().map(|r| r.node.clone().unwrap()).collect();
        assert_eq!(nodes, ["n1", "n2", "n1", "n2"]);
        assert!(p.iter().all(|r| r.gres == Some(4)));
        assert!(plan(5, 4, &[], &srun(Some(8))).is_err());
        assert!(plan(2, 1, &[], &srun(None)).unwrap().iter().all(|r| r.gres.is_none()));
        assert!(plan(1, 1, &gpus("0"), &srun(None)).is_err());
    }
}
