#!/usr/bin/env bash
# Whole-process timing: `scalelab fit` against scipy.optimize.least_squares (Debian's python3-scipy)
# on the same 6x6 rosenfeld2020 grid from the same 100 starts. Prints objectives and time ratios.
#
#   bench/fit/run.sh [BUILD_DIR]     (default build/; set REPEATS=N to change the repetitions)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${SCALELAB_BUILD_DIR:-$root/build}}
scalelab=$build/bin/scalelab
python=/usr/bin/python3
repeats=${REPEATS:-21}
starts=100
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[[ -x $scalelab ]] || { echo "no $scalelab: build first (scripts/build)" >&2; exit 1; }
$python -c 'import scipy' 2>/dev/null || { echo "$python has no scipy (apt-get install python3-scipy)" >&2; exit 1; }

# 6x6 grid, data and model as fractions 2^-5..1 (the paper's units), CIFAR-10-like parameters with a
# stronger model term, 1% multiplicative noise, fixed seed.
$python - "$work/grid.csv" <<'PY'
import math, random, sys
random.seed(1)
alpha, b, beta, c_inf, eta, eps0 = 0.66, 0.5, 0.53, 0.05, 19.77, 0.9
with open(sys.argv[1], "w") as f:
    f.write("m,n,error\n")
    for i in range(6):
        for j in range(6):
            m, n = 2.0 ** (i - 5), 2.0 ** (j - 5)
            t = m ** -alpha + b * n ** -beta + c_inf
            eps = eps0 * t / math.sqrt(t * t + eta * eta) * (1 + 0.01 * random.gauss(0, 1))
            f.write(f"{m!r},{n!r},{eps!r}\n")
PY

fit=("$scalelab" fit --law rosenfeld2020 --data "$work/grid.csv" --x m=m,n=n --y error --eps0 0.9
     --starts $starts --seed 1)
"${fit[@]}" --record-starts --json "$work/starts.json" >/dev/null

# Median wall time of a command over N runs, in milliseconds. $EPOCHREALTIME (bash 5) reads the
# clock without starting a process, so the timer adds nothing to what it measures.
median_ms() {
  local n=$1; shift
  local times=() t0 t1
  for ((i = 0; i < n; i++)); do
    t0=$EPOCHREALTIME
    "$@" >/dev/null
    t1=$EPOCHREALTIME
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) * 1000}')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'
}

echo "machine: $(nproc) cores, $(uname -m); $(date -u +%FT%TZ); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "scalelab: $scalelab"
echo "shared libraries scalelab loads (ldd):"
if ldd "$scalelab" >/dev/null 2>&1; then ldd "$scalelab" | awk '{print "  " $1}'; else echo "  none (statically linked)"; fi
echo
sl_ms=$(median_ms "$repeats" "${fit[@]}" --json "$work/fit.json")
# The same without --json: the JSON is written with write_file_atomic, whose fsync waits for the
# disk (milliseconds when other builds are writing).
sl_report_ms=$(median_ms "$repeats" "${fit[@]}")
true_ms=$(median_ms "$repeats" /bin/true)
laws_ms=$(median_ms "$repeats" "$scalelab" laws)
sl_obj=$($python -c 'import json,sys; j=json.load(open(sys.argv[1])); print("objective %.10g starts_at_best %d of %d" % (j["objective"], j["starts_at_best"], j["starts"]))' "$work/fit.json")
py_repeats=$(( repeats < 5 ? repeats : 5 ))
nat_ms=$(median_ms "$py_repeats" $python "$root/bench/fit/scipy_fit.py" "$work/grid.csv" "$work/starts.json" natural)
nat_obj=$($python "$root/bench/fit/scipy_fit.py" "$work/grid.csv" "$work/starts.json" natural)
tr_ms=$(median_ms "$py_repeats" $python "$root/bench/fit/scipy_fit.py" "$work/grid.csv" "$work/starts.json" transformed)
tr_obj=$($python "$root/bench/fit/scipy_fit.py" "$work/grid.csv" "$work/starts.json" transformed)
import_ms=$(median_ms "$py_repeats" $python -c 'import numpy, scipy.optimize')

printf '%-44s %10s  %s\n' "whole process, median" "ms" "best objective (sum of squared divergences)"
printf '%-44s %10s  %s\n' "scalelab fit --json (${repeats} runs)" "$sl_ms" "$sl_obj"
printf '%-44s %10s\n' "scalelab fit, report only (no --json)" "$sl_report_ms"
printf '%-44s %10s  %s\n' "scipy least_squares trf, bounds (${py_repeats} runs)" "$nat_ms" "$nat_obj"
printf '%-44s %10s  %s\n' "scipy least_squares lm, same transform" "$tr_ms" "$tr_obj"
printf '%-44s %10s\n' "scalelab laws (startup only)" "$laws_ms"
printf '%-44s %10s\n' "/bin/true (process start floor)" "$true_ms"
printf '%-44s %10s\n' "python3 -c 'import numpy, scipy.optimize'" "$import_ms"
echo
awk -v s="$sl_ms" -v r="$sl_report_ms" -v n="$nat_ms" -v t="$tr_ms" \
  'BEGIN {printf "time ratio scipy/scalelab: %.0fx (trf, bounds), %.0fx (lm, same transform); target >= 100x\n", n/s, t/s;
          printf "  without --json (no fsync): %.0fx (trf), %.0fx (lm)\n", n/r, t/r}'
