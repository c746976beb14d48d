#!/usr/bin/env bash
# The reliability suite: a 3-member etcd, evacsim and three `evacuationd serve` daemons,
# each daemon in its own network namespace; a stream of hosts is fenced over gRPC while a
# seeded schedule of faults hits the system (kill -9 and graceful restarts of daemons, etcd
# members and the etcd leader killed, a daemon partitioned or cut off from etcd, a daemon
# paused past its lease, Nova latency / 5xx / timeouts / failed evacuations). Then every
# safety invariant is checked from evacsim's records and etcd's full history
# (tools/Evacuationd.Chaos; docs/chaos.md explains the checks).
#
# usage: scripts/chaos.sh [--ci | --soak] [--seed N] [--keep] [harness options]
#   --ci     (default) every fault kind once, fixed seed, 40 hosts x 25 instances, a few
#            minutes; the last line is `chaos: N passed, N failed` (N = invariant checks +
#            one "fault injected" check per kind)
#   --soak   --faults N (default 50) faults from every kind on 96 hosts x 25 instances; also
#            writes docs/chaos-soak.md (the figures, the command, the date, the machine)
#   --keep   keep the work folder (logs of every process, figures.md) even when all passed
#   other options go to the harness (`--hosts`, `--instances-per-host`, `--faults`,
#   `--rebuild-ms`, `--drain-timeout S`; see tools/Evacuationd.Chaos/ChaosOptions.cs)
# Needs root (network namespaces), ip, openssl and Debian's etcd (installed when missing).
# Namespaces: evch-hub (bridge 10.98.0.254 + .253) and evch-d1..3 (10.98.0.1..3); nothing
# is added to the root namespace; all are deleted at the end, with whatever runs in them.
# Work folder: /tmp/evacuationd-chaos/<date>-<seed> (kept on failure).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

prefix=evch-
hub=${prefix}hub
daemons=3
mode=--ci
seed=""
keep=0
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ci|--soak) mode=$1 ;;
    --seed) seed=$2; shift ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) pass+=("$1") ;;
  esac
  shift
done

say() { printf 'chaos.sh: %s\n' "$*" >&2; }
# The CI tier reads the summary line; a run that cannot start still ends with one.
broken() { say "$*"; [ "$mode" = --ci ] && echo "chaos: 0 passed, 1 failed"; exit 1; }

[ "$(id -u)" -eq 0 ] || broken "must run as root (network namespaces)"
command -v ip >/dev/null 2>&1 || broken "the ip command (iproute2) is missing"
command -v openssl >/dev/null 2>&1 || broken "openssl is missing (deploy/make-certs.sh needs it)"
command -v dotnet >/dev/null 2>&1 || broken "dotnet (the .NET 10 SDK) is required"
if ! command -v etcd >/dev/null 2>&1; then
  say "installing etcd-server"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null \
    || broken "could not install etcd-server"
fi

# Kills what still runs in one of our namespaces (every process there was started by a run
# of this script), then deletes it.
drop_namespace() {
  local ns=$1 pids
  ip netns list | grep -qw "^$ns" || return 0
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    kill -CONT $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -z "$(ip netns pids "$ns" 2>/dev/null || true)" ] && break
      sleep 0.1
    done
  fi
  ip netns del "$ns" 2>/dev/null || say "could not delete namespace $ns"
}

net_down() {
  local n
  for n in $(seq 1 $daemons); do drop_namespace "${prefix}d$n"; done
  drop_namespace "$hub"
}

net_up() {
  local n
  ip netns add "$hub"
  ip -n "$hub" link set lo up
  ip -n "$hub" link add br0 type bridge
  ip -n "$hub" link set br0 up
  ip -n "$hub" addr add 10.98.0.254/24 dev br0
  ip -n "$hub" addr add 10.98.0.253/24 dev br0
  for n in $(seq 1 $daemons); do
    ip netns add "${prefix}d$n"
    ip -n "${prefix}d$n" link set lo up
    ip -n "$hub" link add "v-d$n" type veth peer name eth0 netns "${prefix}d$n"
    ip -n "$hub" link set "v-d$n" master br0 up
    ip -n "${prefix}d$n" addr add "10.98.0.$n/24" dev eth0
    ip -n "${prefix}d$n" link set eth0 up
  done
}

say "build (Release, warnings are errors)"
dotnet build src/Evacuationd.Server/Evacuationd.Server.csproj -c Release -nologo -v quiet -warnaserror >&2 || broken "build failed"
dotnet build tools/Evacuationd.Chaos/Evacuationd.Chaos.csproj -c Release -nologo -v quiet -warnaserror >&2 || broken "build failed"
# What was built (for the soak's report): the commit, and whether src/ or tools/ differed from it.
built="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src tools 2>/dev/null || echo ' (with uncommitted changes in src/ or tools/)')"
bin=$root/src/Evacuationd.%s/bin/Release/net10.0/%s
# shellcheck disable=SC2059
evacuationd=$(printf "$bin" Server evacuationd)
# shellcheck disable=SC2059
evacsim=$(printf "$bin" Simulator evacsim)
harness=$root/tools/Evacuationd.Chaos/bin/Release/net10.0/evacuationd-chaos.dll

[ -n "$seed" ] || { [ "$mode" = --ci ] && seed=20260401 || seed=$((RANDOM * 32768 + RANDOM)); }
work=/tmp/evacuationd-chaos/$(date -u +%Y%m%d-%H%M%S)-$seed
mkdir -p "$work"

net_down
trap 'net_down' EXIT
net_up || broken "could not create the network namespaces"

args=(--evacuationd "$evacuationd" --evacsim "$evacsim" --make-certs "$root/deploy/make-certs.sh" --work "$work" "$mode" --seed "$seed")
[ "$mode" = --soak ] && args+=(--report "$work/report.md")
args+=("${pass[@]}")
say "run: ip netns exec $hub dotnet $harness ${args[*]}"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$SECONDS
set +e
ip netns exec "$hub" dotnet "$harness" "${args[@]}"
status=$?
set -e
elapsed=$((SECONDS - started))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
say "harness exit $status after ${elapsed} s; logs in $work"

if [ "$mode" = --soak ] && [ -s "$work/report.md" ]; then
  cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
  ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  {
    echo "# Chaos soak: figures"
    echo
    echo "Generated by \`scripts/chaos.sh --soak\`; rerun it to refresh this file (do not edit by hand)."
    echo "What each fault and each check means: docs/chaos.md."
    echo
    echo "- command: \`scripts/chaos.sh --soak --seed $seed${pass[*]:+ ${pass[*]}}\` (${elapsed} s, harness exit $status)"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores (${cpu:-unknown CPU}), RAM $ram, kernel $(uname -r); load average before $load_before, after $load_after"
    echo "- software: $(etcd --version 2>/dev/null | head -n 1), .NET SDK $(dotnet --version), built from $built"
    echo
    cat "$work/report.md"
  } > "$root/docs/chaos-soak.md"
  say "figures written to docs/chaos-soak.md"
fi

if [ "$status" -ge 2 ] && [ "$mode" = --ci ]; then
  echo "chaos: 0 passed, 1 failed" # the harness broke before its summary line
fi
if [ "$status" -eq 0 ] && [ "$keep" -eq 0 ]; then
  rm -rf "$work"
fi
exit "$status"
