#!/usr/bin/env bash
# Training throughput of scalelab's transformer against the same model in PyTorch (Debian's
# python3-torch, libtorch 1.13 underneath both): tokens per second of a training step (AdamW, batch 8
# blocks of 64 bytes), the smallest and the largest model of examples/lm-bytes.yaml, measured in this
# one run, best of REPEATS interleaved runs, per CPU-second and per wall-second (see run.sh).
#   bench/train/lm.sh
#   THREADS=1 SECONDS_EACH=5 REPEATS=5 bench/train/lm.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SCALELAB_BUILD_DIR:-$root/build}
bench=$build/bin/scalelab-bench-train
python=/usr/bin/python3
threads=${THREADS:-1}
seconds=${SECONDS_EACH:-3}
repeats=${REPEATS:-3}
batch=${BATCH:-8}
[[ -x $bench ]] || { echo "lm.sh: $bench missing; build the scalelab-bench-train target" >&2; exit 2; }

best() { sort -g | tail -1; }
calc() { awk "BEGIN { print $1 }"; }
col() { printf '%s\n' "${@:2}" | awk -v c="$1" '{ print $c }' | best; }

echo "scalelab vs PyTorch transformer training steps: batch $batch x 64 tokens, $threads thread(s)," \
  "best of $repeats x ${seconds}s, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tokens/s (per CPU-second | per wall-second); pytorch+m: PyTorch with scalelab's malloc setting"
printf '%-22s %8s %18s %18s %18s %8s %8s\n' model params scalelab pytorch pytorch+m "cpu x" "wall x"
for model in "0.5 2" "2 2"; do
  read -r width depth <<<"$model"
  ours=() theirs=() tuned=()
  for ((r = 0; r < repeats; r++)); do
    ours+=("$("$bench" lm "$width" "$depth" $batch "$threads" "$seconds")")
    theirs+=("$("$python" "$root/bench/train/step.py" lm "$width" "$depth" $batch "$threads" "$seconds")")
    # PyTorch with the allocator setting scalelab makes in-process (keep_freed_memory), for reference.
    tuned+=("$(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \
      "$python" "$root/bench/train/step.py" lm "$width" "$depth" $batch "$threads" "$seconds")")
  done
  a_cpu=$(col 2 "${ours[@]}") a_wall=$(col 1 "${ours[@]}")
  b_cpu=$(col 2 "${theirs[@]}") b_wall=$(col 1 "${theirs[@]}")
  c_cpu=$(col 2 "${tuned[@]}") c_wall=$(col 1 "${tuned[@]}")
  params=$("$python" -c "
import sys; sys.path.insert(0, '$root/bench/train'); from models import build
print(sum(p.numel() for p in build('transformer', $width, $depth).parameters()))")
  printf '%-22s %8s %8.0f|%-9.0f %8.0f|%-9.0f %8.0f|%-9.0f %7.2fx %7.2fx\n' "transformer w=$width d=$depth" "$params" \
    "$a_cpu" "$a_wall" "$b_cpu" "$b_wall" "$c_cpu" "$c_wall" "$(calc "$a_cpu / $b_cpu")" "$(calc "$a_wall / $b_wall")"
done
