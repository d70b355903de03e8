#!/usr/bin/env bash
# scripts/setup against stand-ins for the system commands: dpkg-query, apt-get, update-alternatives,
# id and npm. PATH holds only the stand-ins and the few tools setup uses, so the real apt-get can never
# run from here. The stand-in dpkg-query behaves as Debian 12's does: a name it has never seen is
# reported on stderr and makes it exit 1, while the known names are still printed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 passed=0

stubs=$work/stubs tools=$work/tools
mkdir -p "$stubs" "$tools"
for t in bash env grep cat tail mktemp rm readlink sed; do
  ln -s "$(command -v "$t")" "$tools/$t"
done

cat >"$stubs/dpkg-query" <<'STUB'
#!/bin/bash
# dpkg-query -W -f=FORMAT NAME...: the installed ones as "NAME install ok installed".
rc=0
for a in "$@"; do
  case $a in -*) continue ;; esac
  if grep -qx -- "$a" "$STATE/installed" 2>/dev/null; then
    echo "$a install ok installed"
  else
    echo "dpkg-query: no packages found matching $a" >&2
    rc=1
  fi
done
exit $rc
STUB
cat >"$stubs/apt-get" <<'STUB'
#!/bin/bash
echo "apt-get $*" >>"$STATE/calls"
case " $* " in
  *" update "*) exit "${APT_UPDATE_RC:-0}" ;;
esac
if [[ ${APT_INSTALL_RC:-0} != 0 ]]; then
  echo "E: Unable to locate package libceres-dev"
  exit "$APT_INSTALL_RC"
fi
[[ ${APT_LIES:-0} == 1 ]] && exit 0
for a in "$@"; do
  case $a in -*|install) ;; *) echo "$a" >>"$STATE/installed" ;; esac
done
STUB
cat >"$stubs/npm" <<'STUB'
#!/bin/bash
# npm ci in a copy of report-assets/: records where it ran and whether the lockfile was there, then
# writes the three bundles (or fails as an unreachable registry does).
lock=no
[[ -f package-lock.json ]] && lock=yes
echo "npm $* (in $PWD, lockfile $lock)" >>"$STATE/calls"
if [[ ${NPM_RC:-0} != 0 ]]; then
  echo "npm error code EAI_AGAIN"
  echo "npm error request to https://registry.npmjs.org/vega failed"
  exit "$NPM_RC"
fi
for b in vega/build/vega.min.js vega-lite/build/vega-lite.min.js vega-embed/build/vega-embed.min.js; do
  /bin/mkdir -p "node_modules/${b%/*}"
  echo "/* $b */" >"node_modules/$b"
done
STUB
cat >"$stubs/update-alternatives" <<'STUB'
#!/bin/bash
echo "update-alternatives $*" >>"$STATE/calls"
STUB
cat >"$stubs/id" <<'STUB'
#!/bin/bash
echo "${FAKE_UID:-0}"
STUB
chmod +x "$stubs"/*

# The package list, read from the script itself so the test follows it.
mapfile -t all < <(sed -n '/^packages=(/,/^)/p' "$root/scripts/setup" | sed '1d;$d' | tr ' ' '\n' | sed '/^$/d')

# state NAME [PACKAGE...]: a new stand-in machine with these packages installed, and a copy of
# report-assets/ whose node_modules is complete (installed from its lockfile), or absent when
# ASSETS=fresh.
state() {
  STATE=$work/state.$1
  shift
  mkdir -p "$STATE/assets"
  : >"$STATE/calls"
  printf '%s\n' "$@" | sed '/^$/d' >"$STATE/installed"
  cp "$root/report-assets/package.json" "$root/report-assets/package-lock.json" "$STATE/assets/"
  if [[ ${ASSETS:-complete} == complete ]]; then
    local b
    for b in vega/build/vega.min.js vega-lite/build/vega-lite.min.js vega-embed/build/vega-embed.min.js; do
      mkdir -p "$STATE/assets/node_modules/${b%/*}"
      echo "/* $b */" >"$STATE/assets/node_modules/$b"
    done
    cp "$STATE/assets/package-lock.json" "$STATE/assets/node_modules/.scalelab-installed-lock.json"
  fi
}
# go [VAR=VALUE...]: runs setup there; leaves rc, out (stderr and stdout) and calls (stand-ins run).
go() {
  out=$(env -i PATH="${STUBS:-$stubs}:$tools" STATE="$STATE" TMPDIR="$work" \
        SCALELAB_SETUP_LIBDIR="${LIBDIR:-$work/nolib}" SCALELAB_SETUP_ASSETS="$STATE/assets" \
        "$@" "$root/scripts/setup" 2>&1)
  rc=$?
  calls=$(cat "$STATE/calls")
}
check() {  # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failures=$((failures + 1))
    echo "FAIL: $what"
    echo "  rc=$rc"
    echo "  output: $out" | head -20
    echo "  calls: $calls"
  fi
}
has() { grep -qF -- "$2" <<<"$1"; }

# 1. A fresh machine: dpkg knows none of the packages, no node_modules. Setup installs all of them
# and succeeds.
ASSETS=fresh state fresh
go
check "fresh machine: exit 0" test "$rc" -eq 0
check "fresh machine: apt-get update first" test "$(head -1 <<<"$calls")" = "apt-get update -qq"
check "fresh machine: one install of every package" \
  test "$(grep -c '^apt-get install' <<<"$calls")" -eq 1
check "fresh machine: install names all ${#all[@]} packages" \
  test "$(grep '^apt-get install' <<<"$calls")" = "apt-get install -y -qq --no-install-recommends ${all[*]}"
check "fresh machine: says what it installs" has "$out" "installing ${#all[@]} Debian packages: ${all[0]}"
check "fresh machine: installs chromium" has "$(grep '^apt-get install' <<<"$calls")" " chromium"
check "fresh machine: installs dict-gcide (the language-model corpus)" has "$(grep '^apt-get install' <<<"$calls")" " dict-gcide "
check "fresh machine: installs slurm-wlm (the Slurm tests' cluster)" has "$(grep '^apt-get install' <<<"$calls")" " slurm-wlm"
check "fresh machine: one npm call, npm ci in report-assets with its lockfile" \
  test "$(grep '^npm' <<<"$calls")" = "npm ci --no-audit --no-fund --ignore-scripts (in $STATE/assets, lockfile yes)"
check "fresh machine: npm after apt-get" test "$(tail -1 <<<"$calls" | cut -c1-3)" = "npm"
check "fresh machine: says which libraries at which versions" \
  has "$out" "installing the reports' charting libraries (vega $(sed -n 's/^ *"vega": *"\([^"]*\)".*/\1/p' "$root/report-assets/package.json")"

# 2. Everything installed: no apt-get at all, silent.
state complete "${all[@]}"
go
check "complete machine: exit 0" test "$rc" -eq 0
check "complete machine: no apt-get call" test -z "$calls"
check "complete machine: silent" test -z "$out"

# 3. One package missing: only it is installed.
state partial $(printf '%s\n' "${all[@]}" | grep -vx cmake)
go
check "one missing: exit 0" test "$rc" -eq 0
check "one missing: installs just cmake" \
  test "$(grep '^apt-get install' <<<"$calls")" = "apt-get install -y -qq --no-install-recommends cmake"

# 4. apt-get install fails: non-zero, says why and what.
state install_fails
go APT_INSTALL_RC=100
check "install fails: non-zero exit" test "$rc" -ne 0
check "install fails: names the failure" has "$out" "apt-get install failed"
check "install fails: shows apt's message" has "$out" "E: Unable to locate package"
check "install fails: names the packages" has "$out" "libceres-dev"

# 5. apt-get update fails.
state update_fails
go APT_UPDATE_RC=100
check "update fails: non-zero exit" test "$rc" -ne 0
check "update fails: says so" has "$out" "apt-get update failed"
check "update fails: no install attempted" test "$(grep -c '^apt-get install' <<<"$calls")" -eq 0

# 6. apt-get claims success but installs nothing.
state lies
go APT_LIES=1
check "apt lies: non-zero exit" test "$rc" -ne 0
check "apt lies: names what is still missing" has "$out" "still not installed: ${all[0]}"

# 7. Not root, no sudo on PATH: a message, not a silent exit.
state no_sudo
go FAKE_UID=1000
check "no sudo: non-zero exit" test "$rc" -ne 0
check "no sudo: says so" has "$out" "no sudo"
check "no sudo: no apt-get call" test -z "$calls"

# 8. BLAS: ATLAS active -> update-alternatives --set to OpenBLAS; OpenBLAS active -> nothing.
lib=$work/lib
mkdir -p "$lib/openblas-openmp" "$lib/atlas"
for l in libblas.so.3 liblapack.so.3; do
  touch "$lib/openblas-openmp/$l" "$lib/atlas/$l"
  ln -s "$lib/atlas/$l" "$lib/$l"
done
LIBDIR=$lib
state blas "${all[@]}"
go
check "atlas active: exit 0" test "$rc" -eq 0
check "atlas active: switches libblas" has "$calls" "update-alternatives --set libblas.so.3-x86_64-linux-gnu $lib/openblas-openmp/libblas.so.3"
check "atlas active: switches liblapack" has "$calls" "update-alternatives --set liblapack.so.3-x86_64-linux-gnu $lib/openblas-openmp/liblapack.so.3"
for l in libblas.so.3 liblapack.so.3; do ln -sfn "$lib/openblas-openmp/$l" "$lib/$l"; done
: >"$STATE/calls"
go
check "openblas active: exit 0" test "$rc" -eq 0
check "openblas active: no update-alternatives" test -z "$calls"

# 10. The charting libraries alone: missing -> npm ci once; installed -> no npm call; a lockfile
# changed since the install (a new pin) -> npm ci again.
ASSETS=fresh state npm_fresh "${all[@]}"
go
check "npm fresh: exit 0" test "$rc" -eq 0
check "npm fresh: npm ci called once" test "$(grep -c '^npm ci ' <<<"$calls")" -eq 1
check "npm fresh: no apt-get" test "$(grep -c '^apt-get' <<<"$calls")" -eq 0
check "npm fresh: bundle installed" test -s "$STATE/assets/node_modules/vega-embed/build/vega-embed.min.js"
check "npm fresh: says what it installed" has "$out" "installed vega "
: >"$STATE/calls"
go
check "npm complete: exit 0" test "$rc" -eq 0
check "npm complete: npm not called" test -z "$calls"
check "npm complete: silent" test -z "$out"
echo '{"changed": true}' >>"$STATE/assets/package-lock.json"
go
check "npm stale: npm ci called again" test "$(grep -c '^npm ci ' <<<"$calls")" -eq 1

# 11. npm ci fails (registry unreachable): exit 1, says what could not be installed, shows npm's
# message, and records no install (the next run tries again).
ASSETS=fresh state npm_fails "${all[@]}"
go NPM_RC=1
check "npm fails: exit 1" test "$rc" -eq 1
check "npm fails: says npm ci failed" has "$out" "npm ci failed"
check "npm fails: names the libraries" has "$out" "vega, vega-lite, vega-embed are not installed"
check "npm fails: shows npm's message" has "$out" "EAI_AGAIN"
check "npm fails: no install recorded" test ! -e "$STATE/assets/node_modules/.scalelab-installed-lock.json"

# 12. No npm on PATH: Debian's npm joins the apt-get install; when it still gives no npm, a message.
nonpm=$work/stubs-nonpm
mkdir -p "$nonpm"
for s in "$stubs"/*; do [[ ${s##*/} == npm ]] || ln -s "$s" "$nonpm/${s##*/}"; done
ASSETS=fresh state no_npm "${all[@]}"
STUBS=$nonpm go
check "no npm: installs Debian's npm" \
  test "$(grep '^apt-get install' <<<"$calls")" = "apt-get install -y -qq --no-install-recommends npm"
check "no npm: non-zero exit" test "$rc" -ne 0
check "no npm: says so" has "$out" "npm not found"

# 9. Setup leaves no temporary file behind.
check "no temporary files left" test -z "$(ls "$work" | grep scalelab-setup)"

echo "setup: $passed passed, $failures failed"
exit $((failures > 0))
