//! Starting an engine's processes: `torchrun` or `accelerate launch` on this machine, or an
//! `sbatch` script whose one task per node runs `torchrun` joined by a c10d rendezvous on the
//! first node of the allocation.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::spec::{Device, Launcher, TrainSpec};

/// The port of the c10d rendezvous on the first node.
pub const RENDEZVOUS_PORT: u16 = 29_500;

/// A program and its arguments, run in the run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchCommand {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

impl LaunchCommand {
    /// The command as one shell line (arguments quoted).
    pub fn shell_line(&self) -> String {
        let mut line = String::new();
        for (k, v) in &self.env {
            let _ = write!(line, "{k}={} ", shell_quote(v));
        }
        line.push_str(&shell_quote(&self.program));
        for a in &self.args {
            line.push(' ');
            line.push_str(&shell_quote(a));
        }
        line
    }
}

/// Quotes `s` for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%$".contains(&b))
        && !s.contains('$')
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn processes_per_node(spec: &TrainSpec) -> u32 {
    match spec.compute.device {
        Device::Cpu => 1,
        Device::Cuda => spec.compute.gpus_per_node,
    }
}

/// The single-node launch of `entry` (a Python script and its arguments) with the spec's
/// launcher; for `slurm`, the command each node's task runs (its rendezvous variables come
/// from the sbatch script).
pub fn node_command(spec: &TrainSpec, entry: &[String], env: &[(String, String)]) -> LaunchCommand {
    let python = spec.compute.python.clone();
    let nproc = processes_per_node(spec).to_string();
    let mut args: Vec<String> = Vec::new();
    match spec.compute.launcher {
        Launcher::Torchrun => {
            args.extend(
                ["-m", "torch.distributed.run", "--standalone", "--nnodes=1"].map(str::to_owned),
            );
            args.push(format!("--nproc-per-node={nproc}"));
        }
        Launcher::Accelerate => {
            args.extend(
                ["-m", "accelerate.commands.launch", "--num_machines=1"].map(str::to_owned),
            );
            args.push(format!("--num_processes={nproc}"));
            if spec.compute.device == Device::Cpu {
                args.push("--cpu".to_owned());
            } else if nproc != "1" {
                args.push("--multi_gpu".to_owned());
            }
            args.push("--mixed_precision=no".to_owned());
            args.push("--dynamo_backend=no".to_owned());
        }
        Launcher::Slurm => {
            args.extend(["-m", "torch.distributed.run"].map(str::to_owned));
            args.push("--nnodes=${SLURM_NNODES}".to_owned());
            args.push(format!("--nproc-per-node={nproc}"));
            args.push("--rdzv-id=${SLURM_JOB_ID}".to_owned());
            args.push("--rdzv-backend=c10d".to_owned());
            args.push(format!("--rdzv-endpoint=${{head_node}}:{RENDEZVOUS_PORT}"));
        }
    }
    args.extend(entry.iter().cloned());
    let mut all = vec![("PYTHONUNBUFFERED".to_owned(), "1".to_owned())];
    all.extend(env.iter().cloned());
    LaunchCommand { program: python, args, env: all }
}

/// The `sbatch` script that runs `entry` on the spec's nodes: one task per node, each a
/// `torchrun` with `nproc-per-node` = GPUs per node, meeting at a c10d rendezvous on the
/// allocation's first host. Its output goes to `log`.
pub fn sbatch_script(
    spec: &TrainSpec,
    entry: &[String],
    env: &[(String, String)],
    workdir: &Path,
    log: &Path,
) -> String {
    let c = &spec.compute;
    let node = node_command(spec, entry, env);
    // the rendezvous variables must expand on each node, inside srun's shell
    let mut inner = String::new();
    for (k, v) in &node.env {
        let _ = write!(inner, "{k}={} ", shell_quote(v));
    }
    inner.push_str(&shell_quote(&node.program));
    for a in &node.args {
        inner.push(' ');
        if a.contains("${") {
            inner.push_str(&format!("\"{a}\""));
        } else {
            inner.push_str(&shell_quote(a));
        }
    }
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    let _ = writeln!(s, "#SBATCH --job-name=valley-train-{}", sanitize(&spec.model.name));
    let _ = writeln!(s, "#SBATCH --nodes={}", c.nodes);
    s.push_str("#SBATCH --ntasks-per-node=1\n");
    if c.device == Device::Cuda {
        let _ = writeln!(s, "#SBATCH --gpus-per-node={}", c.gpus_per_node);
    }
    let _ = writeln!(s, "#SBATCH --output={}", log.display());
    let _ = writeln!(s, "#SBATCH --chdir={}", workdir.display());
    for opt in &c.sbatch_options {
        let _ = writeln!(s, "#SBATCH {opt}");
    }
    s.push_str(
        "# written by `valley train`; one srun task per node, each a torchrun that joins the\n\
         # c10d rendezvous on the first node of the allocation\n\
         set -euo pipefail\n\
         head_node=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\n\
         export head_node\n",
    );
    let _ = writeln!(
        s,
        "echo \"valley: rendezvous on $head_node:{RENDEZVOUS_PORT}, $SLURM_NNODES node(s)\""
    );
    let _ = writeln!(
        s,
        "srun --kill-on-bad-exit=1 --ntasks-per-node=1 bash -c {}",
        shell_quote(&inner)
    );
    s
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' })
        .collect()
}

/// Where a run folder keeps its engine files.
pub fn engine_dir(out_dir: &Path) -> PathBuf {
    out_dir.join("engine")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(compute: &str) -> TrainSpec {
        let text = format!(
            "[model]\nname = \"m 1\"\npath = \"m\"\n[data]\ntrain = \"d.jsonl\"\n[output]\ndir = \"o\"\n[compute]\n{compute}"
        );
        TrainSpec::parse(Path::new("s.toml"), &text).unwrap()
    }

    #[test]
    fn torchrun_runs_one_process_per_gpu() {
        let cmd =
            node_command(&spec("gpus-per-node = 4"), &["train.py".into(), "cfg.json".into()], &[]);
        assert_eq!(
            cmd.shell_line(),
            "PYTHONUNBUFFERED=1 python3 -m torch.distributed.run --standalone --nnodes=1 --nproc-per-node=4 train.py cfg.json"
        );
    }

    #[test]
    fn accelerate_on_cpu() {
        let cmd = node_command(
            &spec("launcher = \"accelerate\"\ndevice = \"cpu\""),
            &["t.py".into()],
            &[],
        );
        assert!(
            cmd.shell_line()
                .contains("accelerate.commands.launch --num_machines=1 --num_processes=1 --cpu")
        );
    }

    #[test]
    fn sbatch_uses_one_task_per_node_and_a_c10d_rendezvous() {
        let s = spec(
            "launcher = \"slurm\"\nnodes = 4\ngpus-per-node = 8\nsbatch-options = [\"--time=48:00:00\"]",
        );
        let script = sbatch_script(
            &s,
            &["t.py".into(), "c.json".into()],
            &[],
            Path::new("/r"),
            Path::new("/r/log"),
        );
        for want in [
            "#SBATCH --nodes=4\n",
            "#SBATCH --ntasks-per-node=1\n",
            "#SBATCH --gpus-per-node=8\n",
            "#SBATCH --time=48:00:00\n",
            "#SBATCH --job-name=valley-train-m-1\n",
            "head_node=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)",
            "srun --kill-on-bad-exit=1 --ntasks-per-node=1 bash -c '",
            "\"--nnodes=${SLURM_NNODES}\" --nproc-per-node=8 \"--rdzv-id=${SLURM_JOB_ID}\" --rdzv-backend=c10d \"--rdzv-endpoint=${head_node}:29500\" t.py c.json'",
        ] {
            assert!(script.contains(want), "missing {want:?} in\n{script}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("/x/y.py"), "/x/y.py");
    }
}
