//! The servers a job sends to: one or more replicas of the same model, each `up`, `down` (its
//! server is being restarted) or `gone` (given up on). Requests go to the `up` replica with the
//! least outstanding work; whoever runs the servers (valley's engine supervisor, or nobody for
//! endpoints someone else runs) moves replicas between states and may say, after a failed
//! request, whether the replica's server has died.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

const UP: u8 = 0;
const DOWN: u8 = 1;
const GONE: u8 = 2;

/// A replica's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Takes requests.
    Up,
    /// Its server is down and being restarted: wait for it.
    Down,
    /// Given up on: its work goes to the others.
    Gone,
}

/// Whether replica `i`'s server has died (called after a transport failure; may block briefly
/// to find out).
pub type Probe = Box<dyn Fn(usize) -> bool + Send + Sync>;

/// A set of replicas serving the same model.
pub struct Pool {
    replicas: Vec<Replica>,
    probe: Option<Probe>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("urls", &(0..self.len()).map(|i| self.url(i)).collect::<Vec<_>>())
            .field("states", &self.states())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Replica {
    url: RwLock<String>,
    state: AtomicU8,
    /// Bumped each time the replica comes (back) up, so a failure seen on an older server does
    /// not take down its successor.
    epoch: AtomicU64,
    outstanding: AtomicUsize,
    sent: AtomicU64,
    completed: AtomicU64,
}

/// Where the next request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pick {
    /// Replica index, its base URL, its epoch.
    Replica(usize, String, u64),
    /// Every replica that is not gone is down: wait.
    Wait,
    /// Every replica is gone.
    Gone,
}

impl Pool {
    /// Replicas at these base URLs (`http://host:port/v1`), all up.
    pub fn new(urls: impl IntoIterator<Item = String>) -> Self {
        let replicas = urls
            .into_iter()
            .map(|u| Replica {
                url: RwLock::new(u.trim_end_matches('/').to_owned()),
                state: AtomicU8::new(UP),
                epoch: AtomicU64::new(0),
                outstanding: AtomicUsize::new(0),
                sent: AtomicU64::new(0),
                completed: AtomicU64::new(0),
            })
            .collect();
        Self { replicas, probe: None }
    }

    /// With a probe telling whether a replica's server has died.
    #[must_use]
    pub fn with_probe(mut self, probe: Probe) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Replicas.
    pub fn len(&self) -> usize {
        self.replicas.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// Replica `i`'s base URL.
    pub fn url(&self, i: usize) -> String {
        self.replicas[i].url.read().expect("pool lock poisoned").clone()
    }

    /// Every replica's state.
    pub fn states(&self) -> Vec<ReplicaState> {
        self.replicas
            .iter()
            .map(|r| match r.state.load(Ordering::SeqCst) {
                UP => ReplicaState::Up,
                DOWN => ReplicaState::Down,
                _ => ReplicaState::Gone,
            })
            .collect()
    }

    /// Requests in flight on each replica.
    pub fn outstanding(&self) -> Vec<usize> {
        self.replicas.iter().map(|r| r.outstanding.load(Ordering::SeqCst)).collect()
    }

    /// Completions each replica answered.
    pub fn completed(&self) -> Vec<u64> {
        self.replicas.iter().map(|r| r.completed.load(Ordering::SeqCst)).collect()
    }

    /// Replica `i` is up at `url` (after a restart, possibly on another port).
    pub fn set_up(&self, i: usize, url: &str) {
        let r = &self.replicas[i];
        *r.url.write().expect("pool lock poisoned") = url.trim_end_matches('/').to_owned();
        r.epoch.fetch_add(1, Ordering::SeqCst);
        r.state.store(UP, Ordering::SeqCst);
    }

    /// Replica `i` is down and being restarted.
    pub fn set_down(&self, i: usize) {
        let _ =
            self.replicas[i].state.compare_exchange(UP, DOWN, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Replica `i` is given up on.
    pub fn set_gone(&self, i: usize) {
        self.replicas[i].state.store(GONE, Ordering::SeqCst);
    }

    /// The up replica with the least outstanding requests (then the fewest sent), preferring any
    /// other than `avoid`.
    pub(crate) fn pick(&self, avoid: Option<usize>) -> Pick {
        let states: Vec<u8> =
            self.replicas.iter().map(|r| r.state.load(Ordering::SeqCst)).collect();
        let best = |skip: Option<usize>| {
            (0..self.replicas.len()).filter(|&i| states[i] == UP && Some(i) != skip).min_by_key(
                |&i| {
                    let r = &self.replicas[i];
                    (r.outstanding.load(Ordering::SeqCst), r.sent.load(Ordering::SeqCst), i)
                },
            )
        };
        match best(avoid).or_else(|| best(None)) {
            Some(i) => {
                let r = &self.replicas[i];
                // Read the epoch before the URL: a restart in between makes the failure check
                // compare against an older epoch, which is harmless.
                let epoch = r.epoch.load(Ordering::SeqCst);
                Pick::Replica(i, self.url(i), epoch)
            }
            None if states.contains(&DOWN) => Pick::Wait,
            None => Pick::Gone,
        }
    }

    pub(crate) fn begin(&self, i: usize) {
        let r = &self.replicas[i];
        r.outstanding.fetch_add(1, Ordering::SeqCst);
        r.sent.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn end(&self, i: usize, completed: bool) {
        let r = &self.replicas[i];
        r.outstanding.fetch_sub(1, Ordering::SeqCst);
        if completed {
            r.completed.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Whether a probe is there to ask.
    pub(crate) fn has_probe(&self) -> bool {
        self.probe.is_some()
    }

    /// After a transport failure on replica `i` (as of `epoch`): whether its server died, in
    /// which case the replica is marked down (until whoever runs it brings it back).
    pub(crate) fn died(&self, i: usize, epoch: u64) -> bool {
        let Some(probe) = &self.probe else { return false };
        if !probe(i) {
            return false;
        }
        let r = &self.replicas[i];
        if r.epoch.load(Ordering::SeqCst) == epoch {
            let _ = r.state.compare_exchange(UP, DOWN, Ordering::SeqCst, Ordering::SeqCst);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("http://127.0.0.1:{}/v1", 9000 + i)).collect()
    }

    fn index(p: Pick) -> Option<usize> {
        if let Pick::Replica(i, _, _) = p { Some(i) } else { None }
    }

    #[test]
    fn picks_the_least_loaded_up_replica() {
        let pool = Pool::new(urls(3));
        pool.begin(0);
        pool.begin(0);
        pool.begin(1);
        assert_eq!(index(pool.pick(None)), Some(2));
        pool.begin(2);
        pool.begin(2);
        assert_eq!(index(pool.pick(None)), Some(1));
        // avoided unless it is the only one
        assert_eq!(index(pool.pick(Some(1))), Some(0));
        pool.set_gone(0);
        pool.set_down(2);
        assert_eq!(index(pool.pick(Some(1))), Some(1));
        pool.set_gone(1);
        assert_eq!(pool.pick(None), Pick::Wait);
        pool.set_gone(2);
        assert_eq!(pool.pick(None), Pick::Gone);
        pool.set_up(2, "http://127.0.0.1:1/v1/");
        assert_eq!(pool.pick(None), Pick::Replica(2, "http://127.0.0.1:1/v1".into(), 1));
        pool.end(2, true);
        assert_eq!(pool.completed(), [0, 0, 1]);
    }

    #[test]
    fn a_death_seen_on_an_old_server_spares_its_successor() {
        let pool = Pool::new(urls(2)).with_probe(Box::new(|i| i == 0));
        assert!(!pool.died(1, 0));
        assert_eq!(pool.states(), [ReplicaState::Up, ReplicaState::Up]);
        assert!(pool.died(0, 0));
        assert_eq!(pool.states()[0], ReplicaState::Down);
        pool.set_up(0, "http://127.0.0.1:2/v1");
        // a request that failed on the previous server (epoch 0) reports late
        assert!(pool.died(0, 0));
        assert_eq!(pool.states()[0], ReplicaState::Up);
        assert!(Pool::new(urls(1)).pick(None) != Pick::Gone);
    }
}
