#!/usr/bin/env bash
# A single-node Slurm cluster on localhost for tests (../shared/docs/operations.md): slurmctld and
# slurmd under a scratch ROOT, on ports of its own, no munge (auth/none), no systemd, no cgroups.
#
#   tests/slurm/cluster.sh COMMAND [ARGS...]   starts the cluster, runs COMMAND with SLURM_CONF set
#                                             (and SCALELAB_SLURM_ROOT), shuts it down on exit
# Exits 77 (CTest's skip status) when Slurm's daemons are not installed (scripts/setup installs
# slurm-wlm) or cannot start here, saying why; otherwise COMMAND's status.
set -uo pipefail

skip() {
  echo "SKIPPED: $*" >&2
  exit 77
}
for program in slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
  command -v "$program" >/dev/null || skip "$program not found: the Slurm tests need Debian's slurm-wlm (scripts/setup installs it)"
done
[[ $(id -u) -eq 0 ]] || skip "slurmd must run as root to start jobs as their users (this test runs as $(id -un))"
(($# > 0)) || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/scalelab-slurm.XXXXXX")
mkdir -p "$ROOT/state" "$ROOT/spool/localnode" "$ROOT/log"

# Two clusters on one machine (parallel CTest, other users) need their own ports: take two free ones.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 20000))
    if port_free "$p" && [[ $p != "${1:-}" ]]; then echo "$p"; return; fi
  done
  skip "no free TCP port found for slurmctld/slurmd"
}
ctld_port=$(pick_port)
slurmd_port=$(pick_port "$ctld_port")
cpus=$(nproc)

cat >"$ROOT/slurm.conf" <<CONF
ClusterName=scalelabci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$ROOT/state
SlurmdSpoolDir=$ROOT/spool/%n
SlurmctldPidFile=$ROOT/slurmctld.pid
SlurmdPidFile=$ROOT/slurmd.pid
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=sched_interval=1
ReturnToService=2
MinJobAge=300
KillWait=2
NodeName=localnode NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localnode Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$ROOT/slurm.conf SCALELAB_SLURM_ROOT=$ROOT

pids=()
shutdown() {
  local status=$?
  scontrol shutdown >/dev/null 2>&1
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  if [[ -n ${SCALELAB_SLURM_KEEP:-} ]]; then echo "kept $ROOT" >&2; else rm -rf "$ROOT"; fi
  exit "$status"
}
trap shutdown EXIT
trap 'exit 130' INT TERM

wait_for() {  # wait_for SECONDS DESCRIPTION TEST...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do "$@" && return 0; sleep 0.1; done
  echo "--- slurmctld.log" >&2; tail -n 20 "$ROOT/log/slurmctld.log" >&2 2>/dev/null
  echo "--- slurmd.log" >&2; tail -n 20 "$ROOT/log/slurmd.log" >&2 2>/dev/null
  skip "Slurm did not start here: $what within ${seconds}s (logs above)"
}
pid_file_ready() { [[ -s $1 ]]; }
node_idle() { [[ $(sinfo -h -n localnode -o %t 2>/dev/null) == idle ]]; }

slurmctld -c || skip "slurmctld -c failed (exit $?)"
wait_for 20 "slurmctld's pid file" pid_file_ready "$ROOT/slurmctld.pid"
pids+=("$(cat "$ROOT/slurmctld.pid")")
slurmd -N localnode || skip "slurmd -N localnode failed (exit $?)"
wait_for 20 "slurmd's pid file" pid_file_ready "$ROOT/slurmd.pid"
pids+=("$(cat "$ROOT/slurmd.pid")")
wait_for 30 "node localnode idle" node_idle

"$@"
