#!/usr/bin/env bash
# A one-node Slurm cluster for the Slurm tests (valley train's slurm launcher, valley study's
# slurm backend): installs Debian's slurm-wlm and munge when missing (root and apt-get needed),
# then starts the cluster with scripts/slurm/start.sh, which writes VALLEY_SLURM=1 into
# .cache/env.sh. Without root or apt the tests print why they skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v slurmctld >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null; } \
            || { echo "warning: installing slurm-wlm failed; the Slurm tests will skip" >&2; exit 0; }
    else
        echo "skipped: slurm-wlm is not installed and apt-get as root is not available" >&2
        exit 0
    fi
fi
bash scripts/slurm/start.sh || echo "warning: the Slurm cluster did not start; the Slurm tests will skip" >&2
