#!/usr/bin/env bash
# The language-model example end to end, as docs/language-models.md runs it (label slow: about 10-20
# minutes on 2 shared cores): sweep examples/lm-bytes.yaml, list it, fit rosenfeld2020, chinchilla and
# kaplan2020 on the small cells, plan a budget 10x the largest run's 6ND, and write the report.
# Checks what must hold whatever the noise: every run done with its loss in the laws' units, each fit
# with 12 fitted and 12 held-out cells, a plan answer with finite sizes and intervals.
#   tests/train/lm_example_sweep_test.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: lm_example_sweep_test.sh BUILD_DIR}
scalelab=$build/bin/scalelab
if [[ ! -f /usr/share/dictd/gcide.dict.dz ]]; then
  echo "lm_example_sweep_test: dict-gcide is not installed (scripts/setup installs it): skipped"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scalelab-lm-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "lm_example_sweep_test: $*" >&2; exit 1; }

start=$(date +%s)
"$scalelab" sweep "$root/examples/lm-bytes.yaml" --dir "$tmp/sweep" --jobs 2 >"$tmp/sweep.log" 2>&1 ||
  { tail -20 "$tmp/sweep.log" >&2; fail "the sweep failed"; }
echo "sweep: $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$scalelab" results "$tmp/sweep" --per-cell --metric test_loss,test_bits_per_byte --csv "$tmp/cells.csv" >/dev/null ||
  fail "results failed"
"$scalelab" fit --sweep "$tmp/sweep" --bootstrap 100 --json "$tmp/rosenfeld.json" >"$tmp/rosenfeld.txt" 2>&1 ||
  { cat "$tmp/rosenfeld.txt" >&2; fail "fit rosenfeld2020 failed"; }
for law in chinchilla kaplan2020; do
  "$scalelab" fit --sweep "$tmp/sweep" --law $law --x N=params,D=samples --bootstrap 100 --json "$tmp/$law.json" \
    >"$tmp/$law.txt" 2>&1 || { cat "$tmp/$law.txt" >&2; fail "fit $law failed"; }
done
grep -h -A3 '^divergence' "$tmp/rosenfeld.txt" "$tmp/chinchilla.txt" "$tmp/kaplan2020.txt"
# 10x the largest run's compute: width 2 (396,800 non-embedding parameters) on 2,048,000 tokens.
budget=$(awk 'BEGIN { printf "%.6g", 10 * 6 * 396800 * 2048000 }')
"$scalelab" plan --fit "$tmp/chinchilla.json" --compute "$budget" | tee "$tmp/plan.txt" || fail "plan failed"
"$scalelab" report "$tmp/sweep" "$tmp/rosenfeld.json" >/dev/null 2>&1 || fail "report failed"
[[ -s $tmp/sweep/report.html ]] || fail "no report.html"

/usr/bin/python3 - "$tmp" <<'PY'
import json, math, os, sys
tmp = sys.argv[1]
runs = os.path.join(tmp, "sweep", "runs")
ids = os.listdir(runs)
assert len(ids) == 24, f"{len(ids)} runs, expected 24"
for run in ids:
    r = json.load(open(os.path.join(runs, run, "result.json")))
    assert r["status"] == "done", (run, r["status"])
    assert r["train_tokens"] == 64 * r["hparams"]["data_count"], run
    assert 0 < r["test_loss"] < math.log(256), (run, r["test_loss"])
    assert abs(r["test_bits_per_byte"] - r["test_loss"] / math.log(2)) < 1e-9, run
for law in ["rosenfeld", "chinchilla", "kaplan2020"]:
    fit = json.load(open(os.path.join(tmp, law + ".json")))
    s = fit["summary"]
    assert s["fitted"]["count"] == 12 and s["held_out"]["count"] == 12, (law, s)
    print("%-11s fitted mean|d| %.2f%%, held-out mean|d| %.2f%%" % (law, 100 * s["fitted"]["mean_abs"],
                                                                    100 * s["held_out"]["mean_abs"]))
plan = open(os.path.join(tmp, "plan.txt")).read()
assert "5-95%" in plan and "tokens/param" in plan, plan
PY
