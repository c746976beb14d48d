#!/usr/bin/env bash
# Runs every test tier of evacuationd from a fresh clone and ends with one line
# "N passed, N failed". Installs what a tier needs when it is missing (this tier list
# grows: etcd, Pacemaker and Nova tiers install their Debian packages here).
#
# usage: scripts/test.sh [--no-demo] [--no-deploy] [--no-pacemaker] [--no-nova] [--no-chaos] [--no-model]
#   CI=true   a tier whose server cannot start fails (never skips)
# Tiers: build; dotnet tests (unit, contract, in-process, real etcd); the README's demo;
# deploy/ checked offline (deploy/check.sh: manifests, alert rules with promtool, check-config);
# Pacemaker end to end (pacemaker/test/e2e.sh: a real cluster in network namespaces, as root);
# real Nova (tests/real-nova: Debian's Nova with the fake driver; the compute contract and
# end to end, as root); chaos (scripts/chaos.sh --ci: faults of every kind while hosts are
# fenced, then the safety invariants checked, as root); the protocol model (model/check.sh: SPIN).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
run_demo=1
run_deploy=1
run_pacemaker=1
run_nova=1
run_chaos=1
run_model=1
for a in "$@"; do
  case "$a" in
    --no-demo) run_demo=0 ;;
    --no-deploy) run_deploy=0 ;;
    --no-pacemaker) run_pacemaker=0 ;;
    --no-nova) run_nova=0 ;;
    --no-chaos) run_chaos=0 ;;
    --no-model) run_model=0 ;;
    *) echo "usage: scripts/test.sh [--no-demo] [--no-deploy] [--no-pacemaker] [--no-nova] [--no-chaos] [--no-model]" >&2; exit 2 ;;
  esac
done

results="$root/.artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"
passed=0
failed=0
status=0
failures=() # what failed, named again right above the summary line (CI shows the end of the output)

step() { printf '\n== %s\n' "$*"; }

need() { # need COMMAND DEBIAN-PACKAGE: install the package if the command is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  step "installing $2 (for $1)"
  if [ "$(id -u)" -ne 0 ]; then echo "need root to install $2" >&2; return 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# script_tier NAME PREFIX CMD...: runs a tier that ends with "PREFIX: N passed, N failed" and
# adds its counts; a tier that ends without that line counts as one failure.
script_tier() {
  local name=$1 prefix=$2 line p f
  shift 2
  set +e
  "$@" 2>&1 | tee "$results/$name.out"
  set -e
  line=$(grep -E "^$prefix: [0-9]+ passed, [0-9]+ failed$" "$results/$name.out" | tail -n 1)
  if [ -z "$line" ]; then
    echo "$name: the tier ended without its summary line (output in $results/$name.out)" >&2
    failed=$((failed + 1)); status=1
    failures+=("tier $name: ended without its summary line")
    return
  fi
  p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<< "$line")
  f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<< "$line")
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$f" -eq 0 ] || status=1
  if [ "$f" -ne 0 ]; then
    failures+=("tier $name: $line")
    while IFS= read -r t; do failures+=("  ${t:0:300}"); done < <(grep -E '^(model: )?FAIL ' "$results/$name.out" | head -n 10)
  fi
}

# skip_or_fail NAME REASON: outside CI a tier that cannot run here is skipped with a message;
# under CI=true it counts as a failure.
skip_or_fail() {
  if [ "${CI:-}" = true ]; then
    echo "$1: cannot run: $2" >&2
    failed=$((failed + 1)); status=1
    failures+=("tier $1: cannot run: $2")
  else
    echo "$1: skipped: $2 (under CI=true this fails)" >&2
  fi
}

# count_trx DIR: adds the counts of every .trx test result file in DIR; none at all is a failure.
count_trx() {
  local trx counters p f
  shopt -s nullglob
  local files=("$1"/*.trx)
  shopt -u nullglob
  if [ "${#files[@]}" -eq 0 ]; then
    echo "no test results were written in $1" >&2
    failed=$((failed + 1)); status=1
    failures+=("no test results were written in $1")
  fi
  for trx in "${files[@]}"; do
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
    p=$(printf '%s' "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
    f=$(printf '%s' "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    [ "${f:-0}" -eq 0 ] || while IFS= read -r t; do failures+=("test $t"); done < <(failed_tests "$trx")
  done
}

# failed_tests TRX: one line per failed test: its name and the first line of its message.
failed_tests() {
  python3 - "$1" <<'PY' 2>/dev/null || grep -o '<UnitTestResult [^>]*outcome="Failed"' "$1" | sed 's/.*testName="\([^"]*\)".*/\1/'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for r in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if r.get("outcome") != "Failed":
        continue
    m = r.find("t:Output/t:ErrorInfo/t:Message", ns)
    first = (m.text or "").strip().splitlines()[0][:300] if m is not None and m.text else ""
    print(f"{r.get('testName')}: {first}")
PY
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
dotnet test Evacuationd.sln -c Release --no-build -nologo -v quiet --filter "Category!=RealNova" \
  --logger "trx" --results-directory "$results" -- RunConfiguration.TestSessionTimeout=1200000
test_status=$?
set -e
[ "$test_status" -eq 0 ] || status=1
failed_before=$failed
count_trx "$results"
if [ "$test_status" -ne 0 ] && [ "$failed" -eq "$failed_before" ]; then
  failed=$((failed + 1))
  failures+=("dotnet test exited $test_status with no failed test in its results (a test host crashed or the session timed out)")
fi

if [ "$run_demo" -eq 1 ]; then
  step "the README's first command: evacuationd demo"
  if timeout 300 dotnet run --no-build -c Release --project src/Evacuationd.Server -- demo > "$results/demo.out" 2> "$results/demo.err"; then
    passed=$((passed + 1))
    tail -n 12 "$results/demo.out"
  else
    failed=$((failed + 1)); status=1
    failures+=("tier demo: evacuationd demo failed (output in $results/demo.out)")
    echo "demo failed:"; tail -n 40 "$results/demo.out"; tail -n 20 "$results/demo.err"
  fi
fi

if [ "$run_deploy" -eq 1 ]; then
  step "tier deploy: deploy/ checked offline (deploy/check.sh)"
  if ! python3 -c 'import yaml' 2>/dev/null && [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-yaml >/dev/null 2>&1 \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-yaml >/dev/null; }
  fi
  # The binaries of the build above; check.sh's own summary line gets the tier's prefix.
  EVACUATIOND=$root/src/Evacuationd.Server/bin/Release/net10.0/evacuationd \
  EVACUATIOND_AGENT=$root/src/Evacuationd.Agent/bin/Release/net10.0/evacuationd-agent \
    script_tier deploy deploy bash -c 'deploy/check.sh --no-build | sed -E "s/^([0-9]+ passed, [0-9]+ failed)$/deploy: \1/"'
fi

if [ "$run_pacemaker" -eq 1 ]; then
  step "tier pacemaker: fence_evacuationd in a real Pacemaker cluster"
  if [ "$(id -u)" -ne 0 ]; then
    skip_or_fail pacemaker "needs root (network namespaces, Pacemaker)"
  elif need corosync corosync && need pacemakerd pacemaker && need crm_mon pacemaker-cli-utils \
      && need curl curl && need etcd etcd-server; then
    if pacemaker/install.sh > "$results/pacemaker-install.out" 2>&1; then
      script_tier pacemaker pacemaker pacemaker/test/e2e.sh
    else
      tail -n 20 "$results/pacemaker-install.out"
      skip_or_fail pacemaker "pacemaker/install.sh failed"
    fi
  else
    skip_or_fail pacemaker "could not install corosync/pacemaker"
  fi
fi

if [ "$run_nova" -eq 1 ]; then
  step "tier nova: the compute contract and end to end against a real Nova (tests/real-nova)"
  nova_base=${EVACUATIOND_NOVA_BASE:-/tmp/evacuationd-nova-ci}
  if [ "$(id -u)" -ne 0 ]; then
    skip_or_fail nova "needs root (installs Debian's Nova, MariaDB and RabbitMQ, starts them)"
  elif ! tests/real-nova/install.sh > "$results/nova-install.out" 2>&1; then
    tail -n 20 "$results/nova-install.out"
    skip_or_fail nova "tests/real-nova/install.sh failed (output in $results/nova-install.out)"
  else
    BASE=$nova_base tests/real-nova/stop.sh > /dev/null 2>&1 || true
    rm -rf "$nova_base"
    # 8 computes: the contract hands each test a host of its own; two stay spare as targets.
    if BASE=$nova_base PORT_OFFSET=${EVACUATIOND_NOVA_PORT_OFFSET:-0} COMPUTES="hostA hostB hostC hostD hostE hostF hostG hostH" \
        tests/real-nova/start.sh > "$results/nova-start.out" 2>&1; then
      tail -n 3 "$results/nova-start.out"
      mkdir -p "$results/nova"
      set +e
      EVACUATIOND_TEST_NOVA=$nova_base dotnet test tests/Evacuationd.RealNova.Tests -c Release --no-build -nologo -v quiet \
        --filter "Category=RealNova" --logger "trx" --results-directory "$results/nova" -- RunConfiguration.TestSessionTimeout=1200000
      nova_status=$?
      set -e
      [ "$nova_status" -eq 0 ] || status=1
      count_trx "$results/nova"
      [ "$nova_status" -eq 0 ] || cp -r "$nova_base/logs" "$results/nova-logs" 2>/dev/null || true
    else
      tail -n 20 "$results/nova-start.out"
      cp -r "$nova_base/logs" "$results/nova-logs" 2>/dev/null || true
      skip_or_fail nova "tests/real-nova/start.sh failed (logs in $results/nova-logs)"
    fi
    BASE=$nova_base tests/real-nova/stop.sh > /dev/null 2>&1 || true
  fi
fi

if [ "$run_chaos" -eq 1 ]; then
  step "tier chaos: faults of every kind while hosts are fenced, then the invariants (scripts/chaos.sh --ci)"
  if [ "$(id -u)" -ne 0 ]; then
    skip_or_fail chaos "needs root (network namespaces)"
  elif need ip iproute2 && need openssl openssl && need etcd etcd-server; then
    script_tier chaos chaos scripts/chaos.sh --ci
  else
    skip_or_fail chaos "could not install iproute2/openssl/etcd-server"
  fi
fi

if [ "$run_model" -eq 1 ]; then
  step "tier model: the ownership and evacuation protocol, checked by SPIN"
  script_tier model model model/check.sh
fi

echo
if [ "${#failures[@]}" -gt 0 ]; then
  echo "what failed:"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
exit "$status"
