//! The Linux implementation: `clone` into fresh namespaces, build a read-only root, drop to an
//! unprivileged user, apply rlimits, `execve`.
//!
//! - `probe`: what the kernel allows (namespaces, the unprivileged user) and the protections that
//!   follow.
//! - `mount`: the new root's mounts (system folders, devices, the caller's binds) and the plan of
//!   folders, binds and symlinks the child makes.
//! - `child`: the cloned child, which makes only raw system calls on data prepared before the
//!   clone (the judge is multi-threaded, so it may not allocate or take locks).
//! - `sandbox`: [`Sandbox`] itself: spawning, running to completion, collecting output.
//! - `spawner`: the one thread every program is cloned from.

mod child;
mod mount;
mod probe;
mod sandbox;
mod spawner;

pub use sandbox::Sandbox;
