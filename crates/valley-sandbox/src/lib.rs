//! Runs one untrusted process under limits and measures it.
//!
//! A [`Sandbox`] is built from a [`SandboxConfig`]: it probes what the kernel allows, and refuses
//! to run with weaker isolation than asked for unless [`Policy::AllowWeak`] is chosen. Each
//! [`Command`] it spawns runs as pid 1 of fresh PID, network, mount, IPC and UTS namespaces, in a
//! read-only root that holds only the system folders and the paths the caller binds, with a
//! private size-capped `/tmp`, an unprivileged user, a clean environment, rlimits (CPU, address
//! space, processes, file size, open files, no core dumps), `no_new_privs`, and death with its
//! parent. Killing the namespace's pid 1 kills every process the program started, daemons
//! included. [`Protections`] says which of these applied.
//!
//! The main types: [`Sandbox`], [`Command`], [`Child`], [`Output`], [`ExitStatus`], [`Limits`].
//!
//! ```no_run
//! use std::time::Duration;
//! use valley_sandbox::{Command, Policy, Sandbox, SandboxConfig};
//! let sandbox = Sandbox::new(SandboxConfig { policy: Policy::AllowWeak, ..Default::default() })?;
//! let out = sandbox.run(&Command::new("/bin/echo").arg("hi"), b"", Duration::from_secs(5))?;
//! assert_eq!(out.stdout, b"hi\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![expect(unsafe_code, reason = "namespaces, mounts and rlimits need raw system calls")]

mod child;
mod command;
mod config;
mod error;
mod linux;
mod protections;

pub use child::{Child, ExitStatus, Output};
pub use command::Command;
pub use config::{Limits, Policy, SandboxConfig};
pub use error::{SandboxError, SpawnError};
pub use linux::Sandbox;
pub use protections::{Protection, Protections};
