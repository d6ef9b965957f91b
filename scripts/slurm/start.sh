#!/usr/bin/env bash
# Brings up a one-node Slurm cluster on this machine (Debian's slurm-wlm + munge, installed by
# scripts/setup.d/70-slurm.sh) for the Slurm tests of `valley train` and `valley study`.
# Idempotent: when the node already answers as idle or mixed, it only (re)writes the env line.
#
#   scripts/slurm/start.sh            # needs root (a container is fine)
#
# Configuration for containers: proctrack/linuxproc and task/none (no cgroups), auth/munge,
# one partition `debug` holding this host with all its CPUs and memory. On success it appends
# `export VALLEY_SLURM=1` to .cache/env.sh, which enables the gated tests.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
env_file="$repo/.cache/env.sh"

for bin in slurmctld slurmd munged sinfo; do
    if ! command -v "$bin" >/dev/null; then
        echo "skipped: $bin not found (scripts/setup.d/70-slurm.sh installs slurm-wlm and munge)" >&2
        exit 0
    fi
done
if [ "$(id -u)" != 0 ]; then
    echo "skipped: starting slurmctld/slurmd needs root" >&2
    exit 0
fi

mark_ready() {
    mkdir -p "$(dirname "$env_file")"
    touch "$env_file"
    # a file that does not end in a newline would glue our line onto its last one
    if [ -s "$env_file" ] && [ -n "$(tail -c 1 "$env_file")" ]; then echo >> "$env_file"; fi
    grep -qx 'export VALLEY_SLURM=1' "$env_file" || echo 'export VALLEY_SLURM=1' >> "$env_file"
}

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -n 1; }

case "$(node_state)" in
    idle|mixed|allocated|completing) mark_ready; echo "slurm: already up ($(node_state))" >&2; exit 0 ;;
esac

host="$(hostname -s)"
cpus="$(nproc)"
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /var/lib/munge /var/log/munge /etc/munge
cat > /etc/slurm/slurm.conf <<CONF
# written by valley's scripts/slurm/start.sh: one node, for tests
ClusterName=valley
SlurmctldHost=$host
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chmod 400 /etc/munge/munge.key
chown -R root:root /etc/munge /var/lib/munge /var/log/munge /run/munge
if ! munge -n >/dev/null 2>&1; then
    munged --force
fi

pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 1 30); do
    case "$(node_state)" in
        idle|mixed) mark_ready; echo "slurm: up, node $host $(node_state)" >&2; exit 0 ;;
        down*|drain*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
done
echo "error: the Slurm node did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
exit 1
