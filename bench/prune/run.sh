#!/usr/bin/env bash
# The mask's overhead: a pruning level against an unpruned run of the same model and schedule, timed in
# one run. Each repeat trains (a) the model unpruned and (b) a 1-level IMP trajectory rewound to
# initialisation (prune_rewind 0), so its level 1 trains the same schedule as (a), masked at 80%
# density. Reported: the trainer's own wall_s (result.json, data loading excluded), medians over the
# repeats, and the ratio level 1 / unpruned (the mask's cost: the masked SGD step; the dense matmuls are
# the same size). Interleaved, so load from elsewhere slows both sides alike.
#   bench/prune/run.sh [BUILD_DIR]                # build dir: $SCALELAB_BUILD_DIR or build/
#   REPEATS=5 MODEL="mlp 0.5 2" FRACTION=0.125 EPOCHS=2 bench/prune/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${SCALELAB_BUILD_DIR:-$root/build}}
worker=$build/bin/scalelab-worker
repeats=${REPEATS:-3}
read -r family width depth <<<"${MODEL:-mlp 0.5 2}"
fraction=${FRACTION:-0.125}
epochs=${EPOCHS:-2}
[[ -x $worker ]] || { echo "run.sh: $worker missing; build the scalelab-worker target" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scalelab-bench-prune.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

train() {  # OUT [extra flags]: the trainer's own wall_s figures, as "key value" lines
  local out=$1; shift
  "$worker" train --quiet --threads 1 --model "$family" --width "$width" --depth "$depth" \
    --data-fraction "$fraction" --epochs "$epochs" --seed 1 --out "$out" "$@"
  /usr/bin/python3 -c "
import json, sys
r = json.load(open('$out/result.json'))
print('dense', r['wall_s'])
for level in r.get('levels', []):
    print('level%d' % level['level'], level['wall_s'])"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "scalelab IMP level vs unpruned run: $family width $width depth $depth, data fraction $fraction," \
  "$epochs epochs, 1 thread, $repeats repeats, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$tmp/unpruned" && : >"$tmp/level0" && : >"$tmp/level1"
for ((r = 0; r < repeats; r++)); do
  train "$tmp/u$r" | awk '$1 == "dense" { print $2 }' >>"$tmp/unpruned"
  train "$tmp/p$r" --prune-levels 1 --prune-rewind 0 >"$tmp/p$r.txt"
  awk '$1 == "level0" { print $2 }' "$tmp/p$r.txt" >>"$tmp/level0"
  awk '$1 == "level1" { print $2 }' "$tmp/p$r.txt" >>"$tmp/level1"
done
u=$(median <"$tmp/unpruned") l0=$(median <"$tmp/level0") l1=$(median <"$tmp/level1")
printf '%-44s %8.3f s\n' "unpruned run (median)" "$u"
printf '%-44s %8.3f s  (x%.3f: snapshots and final weights saved)\n' "IMP level 0, dense (median)" "$l0" \
  "$(awk "BEGIN { print $l0 / $u }")"
printf '%-44s %8.3f s  (x%.3f: the mask overhead)\n' "IMP level 1, masked to density 0.8 (median)" "$l1" \
  "$(awk "BEGIN { print $l1 / $u }")"
