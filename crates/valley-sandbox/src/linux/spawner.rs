//! The one long-lived thread every sandboxed program is cloned from: a child's parent-death
//! signal fires when the *thread* that cloned it exits, so no clone may happen on a thread that
//! ends before the process does.

use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

/// Runs `f` on the spawner thread and returns its result.
pub(super) fn run<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("valley-sandbox-spawner".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .expect("cannot start the sandbox spawner thread");
        Mutex::new(tx)
    });
    let (tx, rx) = channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    queue.lock().expect("spawner queue lock").send(job).expect("spawner thread is alive");
    rx.recv().expect("spawner thread answers")
}
