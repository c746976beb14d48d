#!/usr/bin/env bash
# Runs every test tier of evacuationd from a fresh clone and ends with one line
# "N passed, N failed". Installs what a tier needs when it is missing (this tier list
# grows: etcd, Pacemaker and Nova tiers install their Debian packages here).
#
# usage: scripts/test.sh [--no-demo]
#   CI=true   a tier whose server cannot start fails (never skips)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
run_demo=1
for a in "$@"; do
  case "$a" in
    --no-demo) run_demo=0 ;;
    *) echo "usage: scripts/test.sh [--no-demo]" >&2; exit 2 ;;
  esac
done

results="$root/.artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"
passed=0
failed=0
status=0

step() { printf '\n== %s\n' "$*"; }

need() { # need COMMAND DEBIAN-PACKAGE: install the package if the command is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  step "installing $2 (for $1)"
  if [ "$(id -u)" -ne 0 ]; then echo "need root to install $2" >&2; return 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

command -v dotnet >/dev/null 2>&1 || { echo "dotnet (the .NET 10 SDK) is required" >&2; exit 1; }

# etcd tier: the test fixture starts Debian's etcd on free loopback ports (unless
# EVACUATIOND_TEST_ETCD names a running one). Without it those tests fail, never skip.
if [ -z "${EVACUATIOND_TEST_ETCD:-}" ]; then
  need etcd etcd-server || echo "etcd-server is not installed: the etcd tests will fail (or set EVACUATIOND_TEST_ETCD)" >&2
fi

step "build (warnings are errors)"
dotnet build Evacuationd.sln -c Release -nologo -v quiet -warnaserror

step "tier L0/L1/L2: unit, contract and in-process tests"
set +e
dotnet test Evacuationd.sln -c Release --no-build -nologo -v quiet \
  --logger "trx" --results-directory "$results" -- RunConfiguration.TestSessionTimeout=1200000
test_status=$?
set -e
[ "$test_status" -eq 0 ] || status=1
shopt -s nullglob
trx_files=("$results"/*.trx)
if [ "${#trx_files[@]}" -eq 0 ]; then
  echo "no test results were written" >&2
  failed=$((failed + 1)); status=1
fi
for trx in "${trx_files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(printf '%s' "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
  f=$(printf '%s' "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done

if [ "$run_demo" -eq 1 ]; then
  step "the README's first command: evacuationd demo"
  if timeout 300 dotnet run --no-build -c Release --project src/Evacuationd.Server -- demo > "$results/demo.out" 2> "$results/demo.err"; then
    passed=$((passed + 1))
    tail -n 12 "$results/demo.out"
  else
    failed=$((failed + 1)); status=1
    echo "demo failed:"; tail -n 40 "$results/demo.out"; tail -n 20 "$results/demo.err"
  fi
fi

echo
echo "$passed passed, $failed failed"
exit "$status"
