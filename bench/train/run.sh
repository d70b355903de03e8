#!/usr/bin/env bash
# Training-step throughput of scalelab against PyTorch (Debian's python3-torch, same libtorch 1.13
# underneath), and the largest MLP's FLOP/s against an sgemm of its biggest layer, all measured in
# this one run.
#   bench/train/run.sh                    # build dir: $SCALELAB_BUILD_DIR or build/
#   THREADS=2 SECONDS_EACH=5 REPEATS=5 bench/train/run.sh
# Models: the corners of the demo grid (widths 1/16 .. 1): MLP depth 2 and WRN depth 10 at width 1/16
# (smallest) and 1 (largest); batch 128, SGD momentum 0.9, weight decay 5e-4.
# Every figure is the best of REPEATS interleaved runs. Two clocks: examples per second of wall time,
# and per second of the process's own CPU time. With THREADS=1 (the default) the CPU-time figure is
# what a job gets with a core to itself, and stays steady when other work shares the machine; the wall
# figure is what this run saw. With more threads only the wall figure means anything (spinning
# OpenMP threads burn CPU time).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SCALELAB_BUILD_DIR:-$root/build}
bench=$build/bin/scalelab-bench-train
python=/usr/bin/python3
threads=${THREADS:-1}
seconds=${SECONDS_EACH:-3}
repeats=${REPEATS:-3}
batch=128
[[ -x $bench ]] || { echo "run.sh: $bench missing; build the scalelab-bench-train target" >&2; exit 2; }

best() { sort -g | tail -1; }  # of one column of numbers
calc() { awk "BEGIN { print $1 }"; }
# The demo grid's own corners first (MLP widths 1/64 and 1/2), then the families' wider ends.
models=("mlp 0.015625 2" "mlp 0.5 2" "mlp 0.0625 2" "wrn 0.0625 10" "mlp 1 2" "wrn 1 10")

echo "scalelab vs PyTorch training steps: batch $batch, $threads thread(s), best of $repeats x ${seconds}s," \
  "$(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "examples/s (per CPU-second | per wall-second); pytorch+m: PyTorch with scalelab's malloc setting"
printf '%-16s %8s %18s %18s %18s %8s %8s\n' model params scalelab pytorch pytorch+m "cpu x" "wall x"
for model in "${models[@]}"; do
  read -r family width depth <<<"$model"
  ours=() theirs=() tuned=()
  for ((r = 0; r < repeats; r++)); do
    ours+=("$("$bench" step "$family" "$width" "$depth" $batch "$threads" "$seconds")")
    theirs+=("$("$python" "$root/bench/train/step.py" step "$family" "$width" "$depth" $batch "$threads" "$seconds")")
    # PyTorch with the allocator setting scalelab makes in-process (keep_freed_memory), for reference.
    tuned+=("$(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \
      "$python" "$root/bench/train/step.py" step "$family" "$width" "$depth" $batch "$threads" "$seconds")")
  done
  col() { printf '%s\n' "${@:2}" | awk -v c="$1" '{ print $c }' | best; }
  a_cpu=$(col 2 "${ours[@]}") a_wall=$(col 1 "${ours[@]}")
  b_cpu=$(col 2 "${theirs[@]}") b_wall=$(col 1 "${theirs[@]}")
  c_cpu=$(col 2 "${tuned[@]}") c_wall=$(col 1 "${tuned[@]}")
  params=$("$python" -c "
import sys; sys.path.insert(0, '$root/bench/train'); from models import build
print(sum(p.numel() for p in build('$family', $width, $depth).parameters()))")
  printf '%-16s %8s %8.0f|%-9.0f %8.0f|%-9.0f %8.0f|%-9.0f %7.2fx %7.2fx\n' "$family w=$width d=$depth" "$params" \
    "$a_cpu" "$a_wall" "$b_cpu" "$b_wall" "$c_cpu" "$c_wall" "$(calc "$a_cpu / $b_cpu")" "$(calc "$a_wall / $b_wall")"
  if [[ $model == "mlp 1 2" ]]; then mlp_cpu=$a_cpu mlp_wall=$a_wall; fi
done

# Largest MLP (784-512-512-10): FLOPs of one training example, exactly: forward and weight gradients
# are one multiply-add per weight each; input gradients skip the first layer (the images need none).
forward=$((784 * 512 + 512 * 512 + 512 * 10))
input_grads=$((512 * 512 + 512 * 10))
flops_per_example=$((2 * (2 * forward + input_grads)))
peaks=()
for ((r = 0; r < repeats; r++)); do peaks+=("$("$bench" gemm $batch 784 512 "$threads" "$seconds")"); done
peak_cpu=$(col 2 "${peaks[@]}") peak_wall=$(col 1 "${peaks[@]}")
echo
for clock in cpu wall; do
  if [[ $clock == cpu ]]; then rate=$mlp_cpu peak=$peak_cpu; else rate=$mlp_wall peak=$peak_wall; fi
  achieved=$(calc "$rate * $flops_per_example / 1e9")
  printf 'per %-4s second: largest MLP %.1f GFLOP/s (%d FLOP/example x %.0f examples/s); sgemm %dx784 by 784x512 %.1f GFLOP/s; MLP at %.0f%% of sgemm\n' \
    "$clock" "$achieved" $flops_per_example "$rate" $batch "$peak" "$(calc "100 * $achieved / $peak")"
done
