#!/usr/bin/env bash
# The pruning example end to end, as the README runs it (label slow: about 8 minutes on 2 cores):
# sweep examples/prune-mlp.yaml, fit the joint pruning law, ask the design question and verify it.
# Checks what must hold whatever the noise: every trajectory done with all its levels, the joint fit's
# five constants with bootstrap intervals, a held-out divergence printed, a design answer whose
# verification measured it.
#   tests/prune/example_sweep_test.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: example_sweep_test.sh BUILD_DIR}
scalelab=$build/bin/scalelab
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scalelab-prune-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "example_sweep_test: $*" >&2; exit 1; }

start=$(date +%s)
"$scalelab" sweep "$root/examples/prune-mlp.yaml" --dir "$tmp/sweep" --jobs 2 >"$tmp/sweep.log" 2>&1 ||
  { tail -20 "$tmp/sweep.log" >&2; fail "the sweep failed"; }
echo "sweep: $(( $(date +%s) - start )) s"
"$scalelab" fit --sweep "$tmp/sweep" --bootstrap 100 --json "$tmp/fit.json" >"$tmp/fit.txt" 2>&1 ||
  { cat "$tmp/fit.txt" >&2; fail "fit --sweep failed"; }
cat "$tmp/fit.txt"
"$scalelab" design --sweep "$tmp/sweep" --max-error 0.2 --fit "$tmp/fit.json" --verify --jobs 2 \
  --json "$tmp/design.json" >"$tmp/design.txt" 2>&1 || { tail -30 "$tmp/design.txt" >&2; fail "design failed"; }
grep -v '^\[' "$tmp/design.txt"

/usr/bin/python3 - "$tmp" <<'PY'
import json, os, sys
tmp = sys.argv[1]
runs = os.path.join(tmp, "sweep", "runs")
ids = os.listdir(runs)
assert len(ids) == 12, f"{len(ids)} runs, expected 12"
for run in ids:
    r = json.load(open(os.path.join(runs, run, "result.json")))
    assert r["status"] == "done", (run, r["status"])
    assert [l["level"] for l in r["levels"]] == list(range(41)), run
    assert abs(r["levels"][40]["density"] - 0.8 ** 40) < 2 / r["prunable_weights"], run
fit = json.load(open(os.path.join(tmp, "fit.json")))
names = [p["name"] for p in fit["parameters"]]
assert names == ["eps_up", "gamma", "p", "phi", "psi"], names
for p in fit["parameters"]:
    assert "interval" in p, p
    assert p["interval"]["p05"] <= p["interval"]["p50"] <= p["interval"]["p95"], p
fitted, held_out = fit["summary"]["fitted"], fit["summary"]["held_out"]
assert fitted["count"] == 164 and held_out["count"] == 82, (fitted["count"], held_out["count"])
assert len(fit["pruning"]["per_configuration"]) == 6
design = json.load(open(os.path.join(tmp, "design.json")))
assert design["candidates"], "no candidate"
assert design["verify"]["levels"], "no verification levels"
assert design["verify"]["smallest_within"], "the verification measured no level within the bound"
print("fitted mean|d| %.2f%% (std %.2f%%), held-out mean|d| %.2f%%; design %s: predicted/measured %.2f" % (
    100 * fitted["mean_abs"], 100 * fitted["std"], 100 * held_out["mean_abs"], design["best"]["cell"],
    design["predicted_over_measured"]))
PY
