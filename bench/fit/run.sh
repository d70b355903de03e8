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

# Wall time of one run of a command, in milliseconds, appended to the array named by $1. With
# --keep after the name, the run's output is kept in $work/NAME.out (the scipy runs print their
# objectives); otherwise it goes to /dev/null. $EPOCHREALTIME (bash 5) reads the clock without
# starting a process, so the timer adds nothing to what it measures.
time_into() {
  local -n into=$1
  local out=/dev/null t0 t1
  if [[ $2 == --keep ]]; then out=$work/$1.out; shift; fi
  shift
  t0=$EPOCHREALTIME
  "$@" >"$out"
  t1=$EPOCHREALTIME
  into+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) * 1000}')")
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(uname -m); $(date -u +%FT%TZ); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "scalelab: $scalelab"
echo "shared libraries scalelab loads (ldd):"
if ldd "$scalelab" >/dev/null 2>&1; then ldd "$scalelab" | awk '{print "  " $1}'; else echo "  none (statically linked)"; fi
echo

# Interleaved rounds: every round times each command, so a burst of load from elsewhere on this
# shared machine slows both sides of a ratio alike instead of one of them. Per round: scalelab 3x
# (--json, report only), startup-only and /bin/true 3x, each scipy method once.
rounds=$(( (repeats + 2) / 3 ))
sl=() sl_report=() laws=() floor=() nat=() tr=()
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < 3; k++)); do
    time_into sl "${fit[@]}" --json "$work/fit.json"
    time_into sl_report "${fit[@]}"
    time_into laws "$scalelab" laws
    time_into floor /bin/true
  done
  time_into nat --keep $python "$root/bench/fit/scipy_fit.py" "$work/grid.csv" "$work/starts.json" natural
  time_into tr --keep $python "$root/bench/fit/scipy_fit.py" "$work/grid.csv" "$work/starts.json" transformed
done
sl_ms=$(median "${sl[@]}") sl_report_ms=$(median "${sl_report[@]}") laws_ms=$(median "${laws[@]}")
true_ms=$(median "${floor[@]}") nat_ms=$(median "${nat[@]}") tr_ms=$(median "${tr[@]}")
sl_obj=$($python -c 'import json,sys; j=json.load(open(sys.argv[1])); print("objective %.10g starts_at_best %d of %d" % (j["objective"], j["starts_at_best"], j["starts"]))' "$work/fit.json")
nat_obj=$(<"$work/nat.out") tr_obj=$(<"$work/tr.out")
imports=()
for ((r = 0; r < 5; r++)); do time_into imports $python -c 'import numpy, scipy.optimize'; done
import_ms=$(median "${imports[@]}")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%-44s %10s  %s\n' "whole process, median" "ms" "best objective (sum of squared divergences)"
printf '%-44s %10s  %s\n' "scalelab fit --json (${#sl[@]} runs)" "$sl_ms" "$sl_obj"
printf '%-44s %10s\n' "scalelab fit, report only (no --json)" "$sl_report_ms"
printf '%-44s %10s  %s\n' "scipy least_squares trf, bounds (${#nat[@]} runs)" "$nat_ms" "$nat_obj"
printf '%-44s %10s  %s\n' "scipy least_squares lm, same transform" "$tr_ms" "$tr_obj"
printf '%-44s %10s\n' "scalelab laws (startup only)" "$laws_ms"
printf '%-44s %10s\n' "/bin/true (process start floor)" "$true_ms"
printf '%-44s %10s\n' "python3 -c 'import numpy, scipy.optimize'" "$import_ms"
echo
awk -v s="$sl_ms" -v r="$sl_report_ms" -v n="$nat_ms" -v t="$tr_ms" \
  'BEGIN {printf "time ratio scipy/scalelab: %.0fx (trf, bounds), %.0fx (lm, same transform); target >= 100x\n", n/s, t/s;
          printf "  report only, no --json file: %.0fx (trf), %.0fx (lm)\n", n/r, t/r}'
