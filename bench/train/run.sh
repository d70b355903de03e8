#!/usr/bin/env bash
# Training-step throughput of scalelab against PyTorch (Debian's python3-torch, same libtorch 1.13
# underneath), and the largest MLP's FLOP/s against an sgemm of its biggest layer, all measured in
# this one run. Every figure is the best of REPEATS interleaved runs, which damps noise from other
# processes on a shared machine.
#   bench/train/run.sh                    # build dir: $SCALELAB_BUILD_DIR or build/
#   THREADS=1 SECONDS_EACH=5 REPEATS=5 bench/train/run.sh
# Models: the corners of the demo grid (widths 1/16 .. 1): MLP depth 2 and WRN depth 10 at width 1/16
# (smallest) and 1 (largest); batch 128, SGD momentum 0.9, weight decay 5e-4.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SCALELAB_BUILD_DIR:-$root/build}
bench=$build/bin/scalelab-bench-train
python=/usr/bin/python3
threads=${THREADS:-$(nproc)}
seconds=${SECONDS_EACH:-3}
repeats=${REPEATS:-3}
batch=128
[[ -x $bench ]] || { echo "run.sh: $bench missing; build the scalelab-bench-train target" >&2; exit 2; }

best() { sort -g | tail -1; }
calc() { awk "BEGIN { print $1 }"; }
models=("mlp 0.0625 2" "wrn 0.0625 10" "mlp 1 2" "wrn 1 10")

echo "scalelab vs PyTorch training steps: batch $batch, $threads thread(s), best of $repeats x ${seconds}s, $(date -u +%FT%TZ)"
printf '%-16s %12s %12s %12s %12s %8s\n' model params "scalelab/s" "pytorch/s" "pytorch+m/s" ratio
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
  a=$(printf '%s\n' "${ours[@]}" | best)
  b=$(printf '%s\n' "${theirs[@]}" | best)
  c=$(printf '%s\n' "${tuned[@]}" | best)
  params=$("$python" -c "
import sys; sys.path.insert(0, '$root/bench/train'); from models import build
print(sum(p.numel() for p in build('$family', $width, $depth).parameters()))")
  printf '%-16s %12s %12.0f %12.0f %12.0f %7.2fx\n' "$family w=$width d=$depth" "$params" "$a" "$b" "$c" \
    "$(calc "$a / $b")"
  [[ $model == "mlp 1 2" ]] && mlp_rate=$a
done

# Largest MLP (784-512-512-10): FLOPs of one training example, exactly: forward and weight gradients
# are one multiply-add per weight each; input gradients skip the first layer (the images need none).
forward=$((784 * 512 + 512 * 512 + 512 * 10))
input_grads=$((512 * 512 + 512 * 10))
flops_per_example=$((2 * (2 * forward + input_grads)))
peaks=()
for ((r = 0; r < repeats; r++)); do peaks+=("$("$bench" gemm $batch 784 512 "$threads" "$seconds")"); done
peak=$(printf '%s\n' "${peaks[@]}" | best)
achieved=$(calc "$mlp_rate * $flops_per_example / 1e9")
echo
printf 'largest MLP: %.1f GFLOP/s achieved (%d FLOP/example x %.0f examples/s)\n' "$achieved" $flops_per_example "$mlp_rate"
printf 'sgemm %dx784 by 784x512 through libtorch: %.1f GFLOP/s peak\n' $batch "$peak"
printf 'largest MLP at %.0f%% of the sgemm peak\n' "$(calc "100 * $achieved / $peak")"
