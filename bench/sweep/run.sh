#!/usr/bin/env bash
# The demo sweep against its FLOP bound: wall time of `scalelab sweep SPEC`, against the time its
# training and validation FLOPs would take at the single-thread sgemm peak on every core it uses;
# and each run's overhead (worker process wall time minus the trainer's own), all measured in this run.
#   bench/sweep/run.sh [BUILD_DIR]                 # build dir: $SCALELAB_BUILD_DIR or build/
#   JOBS=2 SPEC=examples/demo.yaml KEEP=1 bench/sweep/run.sh
# JOBS: the sweep's --jobs (default 2). SPEC: default examples/demo.yaml (minutes: measure on a quiet
# machine). KEEP=1 keeps the sweep directory and its log. SECONDS_EACH: per sgemm size (default 2).
# Needs scalelab, scalelab-worker, scalelab-bench-sweep and scalelab-bench-train (the sgemm, libtorch's).
# A measurement: exits 0 whether the targets are met or not, and says which.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${SCALELAB_BUILD_DIR:-$root/build}}
jobs=${JOBS:-2}
spec=${SPEC:-$root/examples/demo.yaml}
seconds=${SECONDS_EACH:-2}
scalelab=$build/bin/scalelab
bench=$build/bin/scalelab-bench-sweep
gemm=$build/bin/scalelab-bench-train
for exe in "$scalelab" "$build/bin/scalelab-worker" "$bench" "$gemm"; do
  [[ -x $exe ]] || { echo "run.sh: $exe missing; build the $(basename "$exe") target" >&2; exit 2; }
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: JOBS=$jobs is not a positive whole number" >&2; exit 2; }
[[ -f $spec ]] || { echo "run.sh: spec $spec not found" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scalelab-bench-sweep.XXXXXX")
cleanup() { if [[ ${KEEP:-0} == 1 ]]; then echo "kept $tmp (sweep/, sweep.log)"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

calc() { awk "BEGIN { print ($1) }"; }
cores=$(nproc)
# The cores the sweep's workers use: JOBS workers of max(1, cores / JOBS) threads each, at most all.
per_job=$((cores / jobs > 1 ? cores / jobs : 1))
busy=$((jobs * per_job < cores ? jobs * per_job : cores))

# Single-thread sgemm, square sizes, best of them: "per-wall per-CPU" GFLOP/s. Per CPU second is what a
# core gives a thread it has to itself (the peak used below); per wall second shows the load.
sgemm_peak() {
  for n in 512 1024; do "$gemm" gemm $n $n $n 1 "$seconds"; done |
    awk '$1 > w { w = $1 } $2 > c { c = $2 } END { print w, c }'
}

echo "scalelab sweep vs its FLOP bound: $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$cores cores, JOBS=$jobs, spec $spec"
before=$(sgemm_peak)  # an assignment, so a failing sgemm stops the script (set -e)
read -r before_wall before_cpu <<<"$before"
start=$(date +%s.%N)
if ! "$scalelab" sweep "$spec" --dir "$tmp/sweep" --jobs "$jobs" >"$tmp/sweep.log" 2>&1; then
  echo "run.sh: scalelab sweep failed; the end of its log:" >&2
  tail -20 "$tmp/sweep.log" >&2
  exit 1
fi
end=$(date +%s.%N)
after=$(sgemm_peak)
read -r after_wall after_cpu <<<"$after"
"$bench" flops "$tmp/sweep" >"$tmp/flops.txt"
get() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/flops.txt"; }
[[ $(get runs) -gt 0 ]] || { echo "run.sh: the sweep finished no run; the end of its log:" >&2; tail -20 "$tmp/sweep.log" >&2; exit 1; }

wall=$(calc "$end - $start")
peak=$(calc "$before_cpu > $after_cpu ? $before_cpu : $after_cpu")
train=$(get train_flop) val=$(get val_flop) test=$(get test_flop)
bound=$(calc "($train + $val) / ($peak * 1e9 * $busy)")
ratio=$(calc "$wall / $bound")
smallest=$(get overhead_smallest_ms)
verdict() { if [[ $(calc "$1 ? 1 : 0") == 1 ]]; then echo "target met"; else echo "target missed"; fi; }

row() { printf '%-34s %s\n' "$1" "$2"; }
echo
row "sweep wall time" "$(printf '%.1f s (%s runs, %s not finished)' "$wall" "$(get runs)" "$(get skipped)")"
row "training FLOPs" "$(printf '%.4f TFLOP' "$(calc "$train / 1e12")")"
row "validation FLOPs" "$(printf '%.4f TFLOP' "$(calc "$val / 1e12")")"
row "test FLOPs (not in the bound)" "$(printf '%.4f TFLOP, %s test evaluation per run' \
  "$(calc "$test / 1e12")" "$(get test_evaluations_per_run)")"
row "sgemm peak, 1 thread, GFLOP/s" "$(printf 'before %.1f (wall %.1f), after %.1f (wall %.1f): %.1f per core' \
  "$before_cpu" "$before_wall" "$after_cpu" "$after_wall" "$peak")"
row "FLOP bound" "$(printf '%.2f s = (train + val) / (%.1f GFLOP/s x %s cores)' "$bound" "$peak" "$busy")"
row "wall / bound" "$(printf '%.2f  (target <= 2.0: %s)' "$ratio" "$(verdict "$ratio <= 2.0")")"
row "overhead, smallest run" "$(printf '%.1f ms  (target < 50 ms: %s)' "$smallest" "$(verdict "$smallest < 50")")"
row "overhead, median / max" "$(printf '%.1f / %.1f ms' "$(get overhead_median_ms)" "$(get overhead_max_ms)")"
row "process / training wall, summed" "$(printf '%.1f / %.1f s' "$(get process_wall_s)" "$(get training_wall_s)")"
