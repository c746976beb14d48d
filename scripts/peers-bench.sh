#!/usr/bin/env bash
# Peers, side by side: one compute host with N servers dies; the same scenario is recovered by
#   evacuationd        3 `evacuationd serve` (Release build) on one etcd; `evacctl fence`
#   masakari-default   Masakari 14 as shipped (disables the service, sleeps 180 s, evacuates)
#   masakari-2s        Masakari with wait_period_after_service_update=2, force-down done for it
#   fence-agents       fence_compute -o off, then fence_evacuate -o off (Debian's fence-agents)
#   bare               force down + every evacuate at once, then poll: the floor
#   evacuationd-tuned  3 more daemons (own etcd prefix) given --tuned settings: the investigation
#                      of evacuationd's distance to the floor, measured in the same rounds
# on the real Nova of tests/real-nova (its own stack: PORT_OFFSET=300, BASE=/tmp/evacd-peers,
# hostA hostB hostC), and prints one table: time from the fence to all servers ACTIVE on
# another host, servers ending ERROR, duplicate evacuations, what each tool reports. The
# table, the machine and the command go to docs/peers.md (not with --quick, unless --doc).
#
# usage: scripts/peers-bench.sh [--sizes "20 40"] [--reps 3] [--tools LIST] [--quick]
#                               [--doc FILE] [--keep-stack] [--reuse-stack] [--tuned "SETTINGS"]
#                               [-- DAEMON SETTINGS]
#   --tools    comma-separated subset of: evacuationd,masakari-default,masakari-2s,fence-agents,bare,
#              evacuationd-tuned (default: all)
#   --tuned    settings of evacuationd-tuned's daemons (default: $TUNED below)
#   --quick    N=5, 1 repetition, no masakari-default: a fast check of the whole path (~5 min)
#   --doc      where to write the report (default docs/peers.md; --quick: none)
#   --keep-stack   leave the Nova stack running at the end (etcd and the daemons always stop)
#   --reuse-stack  use the stack already running in /tmp/evacd-peers instead of a fresh one
#   after --    settings for every daemon (both trios), e.g. -- --Engine:LeaseTtl=00:00:15
# Masakari-default runs once per N (it sleeps 180 s); the others --reps times.
# Takes about 95 minutes with the defaults on 2 cores (Masakari's 180 s sleeps, Nova booting
# and cleaning up 40 servers per run; --quick: about 6 minutes). Needs root (apt, the stack).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

sizes="20 40" reps=3 tools="evacuationd,masakari-default,masakari-2s,fence-agents,bare,evacuationd-tuned"
quick=0 keep=0 reuse=0 doc=
# fewer Nova calls: each record looks at Nova every 5 s instead of 2 s while Nova rebuilds, and
# only the preferred daemon observes a fresh record for its first 10 s (instead of 1 s)
TUNED="--Engine:Workflow:PollInterval=00:00:05 --Engine:ClaimGrace=00:00:10"
extra=()
command_line=scripts/peers-bench.sh
for a in "$@"; do [[ $a == *[[:space:]]* ]] && command_line+=" \"$a\"" || command_line+=" $a"; done
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --doc) doc=$2; shift 2 ;;
    --tuned) TUNED=$2; shift 2 ;;
    --keep-stack) keep=1; shift ;;
    --reuse-stack) reuse=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n "2,/^set -e/p" "$0" | sed "/^set -e/d; s/^# \{0,1\}//"; exit 0 ;;
    *) echo "peers-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ $quick = 1 ]; then
  sizes=5 reps=1
  tools=$(tr ',' '\n' <<< "$tools" | grep -vx masakari-default | paste -sd, -)
fi
[ -n "$doc" ] || { [ $quick = 1 ] || doc=docs/peers.md; }
case $doc in "" | /*) ;; *) doc=$root/$doc ;; esac
[ "$(id -u)" -eq 0 ] || { echo "peers-bench.sh: run as root (the stack, apt)" >&2; exit 1; }

RN=$root/tests/real-nova
export BASE=/tmp/evacd-peers PORT_OFFSET=300 COMPUTES="hostA hostB hostC"
PY=/usr/bin/python3
step() { printf '\n== [%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- what is needed ---------------------------------------------------------------------
command -v dotnet > /dev/null || { echo "dotnet (the .NET 10 SDK) is required" >&2; exit 1; }
for f in install.sh start.sh stop.sh compute.sh masakari.sh fence-agent.sh; do
  [ -x "$RN/$f" ] || { echo "peers-bench.sh: $RN/$f is missing" >&2; exit 1; }
done
step "install (tests/real-nova/install.sh, etcd-server)"
"$RN/install.sh"
if ! command -v etcd > /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends etcd-server > /dev/null
fi

# Published as deploy/install.sh and pacemaker/install.sh install them (ReadyToRun): the
# fence agent's evacctl starts in ~0.25 s instead of ~0.4 s, and a daemon's first fencing
# does not wait for the JIT.
step "publish evacuationd and evacctl (Release, ReadyToRun, warnings are errors)"
dist=$(mktemp -d /tmp/evacd-peers-dist-XXXXXX)
for p in Server:evacuationd Cli:evacctl; do
  dotnet publish "src/Evacuationd.${p%%:*}" -c Release --no-self-contained --use-current-runtime \
    -p:PublishReadyToRun=true -o "$dist/${p#*:}" -nologo -v quiet -warnaserror >&2
done
SERVER_DLL=$dist/evacuationd/evacuationd.dll
EVACCTL_DLL=$dist/evacctl/evacctl.dll

# --- clean-up: only what this script started ---------------------------------------------
work=$(mktemp -d /tmp/evacd-peers-run-XXXXXX)
pids=()
cleanup() {
  local rc=$?
  step "clean-up"
  # the daemons first (they revoke their leases in etcd), then etcd; by process group
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_group "${pids[i]}"; done
  rm -rf "$dist"
  if [ $keep = 1 ]; then
    echo "peers-bench.sh: stopped etcd and the daemons; --keep-stack: the stack in $BASE runs on; logs kept in $work" >&2
  else
    "$RN/stop.sh" > /dev/null 2>&1 || true
    echo "peers-bench.sh: stopped the stack, etcd and the daemons; logs kept in $work" >&2
  fi
  return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_group() {  # stop_group PGID: SIGTERM, up to 15 s, then SIGKILL
  kill -TERM -- "-$1" 2> /dev/null || return 0
  for _ in $(seq 1 150); do kill -0 -- "-$1" 2> /dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$1" 2> /dev/null || true
}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start NAME DIR CMD...: detached (own process group), output to $work/NAME.log
start() {
  local name=$1 dir=$2; shift 2
  (cd "$dir" && exec setsid "$@" > "$work/$name.log" 2>&1 < /dev/null) &
  pids+=($!)
}

# --- the stack ----------------------------------------------------------------------------
if [ $reuse = 1 ] && [ -f "$BASE/ready" ] && curl -sf -o /dev/null -H 'X-Auth-Token: admin:admin' \
     "http://127.0.0.1:$((8774 + PORT_OFFSET))/v2.1/flavors"; then
  step "--reuse-stack: using the stack running in $BASE"
else
  [ -f "$BASE/ready" ] && step "a stack is already running in $BASE: stopping it for a fresh one"
  "$RN/stop.sh" > /dev/null 2>&1 || true
  step "start the real Nova (BASE=$BASE PORT_OFFSET=$PORT_OFFSET COMPUTES=\"$COMPUTES\")"
  "$RN/start.sh" >&2
fi
. "$BASE/env"

# --- etcd and three daemons -------------------------------------------------------------
step "etcd and 3 evacuationd serve"
ec=$(free_port) ep=$(free_port)
mkdir -p "$work/etcd"
start etcd "$work" etcd --name peers --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$ec" --advertise-client-urls "http://127.0.0.1:$ec" \
  --listen-peer-urls "http://127.0.0.1:$ep" --initial-advertise-peer-urls "http://127.0.0.1:$ep" \
  --initial-cluster "peers=http://127.0.0.1:$ep" --initial-cluster-state new --initial-cluster-token "peers-$$"
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ec/health" > /dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$ec/health" > /dev/null || { echo "etcd did not start: $(tail -5 "$work/etcd.log")" >&2; exit 1; }
prefix=/evacd-peers-$(date +%s)
cp "$BASE/clouds.yaml" "$work/clouds.yaml"   # the daemons' working directory: ./clouds.yaml
# tests/real-nova's Keystone stub reads a request body only by Content-Length; .NET's JSON
# POST is chunked, so the daemons' password login gets 401 "password or token authentication
# required". Until the stub reads chunked bodies, the daemons get Nova's URL and a fixed token
# (what the stub would issue) besides the cloud entry: Keystone is skipped, nothing else changes.
nova_auth=(--Nova:Cloud=evacd-nova)
chunked=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$KEYSTONE_URL/auth/tokens" -H 'Content-Type: application/json' \
  -H 'Transfer-Encoding: chunked' -d '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
  "password": "admin", "domain": {"name": "Default"}}}}, "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}')
if [ "$chunked" != 201 ]; then
  echo "WORKAROUND: the Keystone stub answers $chunked to a chunked token request: daemons use --Nova:ComputeEndpoint and --Nova:Token" >&2
  nova_auth+=("--Nova:ComputeEndpoint=$NOVA_URL" --Nova:Token=admin:admin)
  workaround="Keystone skipped (fixed token admin:admin and Nova's URL): tests/real-nova/stub.py answers 401 to a chunked token request"
fi
# trio NAME PREFIX SETTINGS...: three daemons on one prefix; sets $server_list, adds to $logs
logs=()
trio() {
  local name=$1 pfx=$2 i port n=0
  shift 2
  local servers=()
  for i in 1 2 3; do
    port=$(free_port)
    start "$name-$i" "$work" dotnet "$SERVER_DLL" serve \
      "--Etcd:Endpoints=http://127.0.0.1:$ec" "--Etcd:Prefix=$pfx" "${nova_auth[@]}" \
      "--Grpc:Listen=http://127.0.0.1:$port" "--Engine:DaemonId=$name-$i" "$@"
    servers+=("http://127.0.0.1:$port")
    logs+=("--$log_flag" "$work/$name-$i.log")
  done
  server_list=$(IFS=,; echo "${servers[*]}")
  for _ in $(seq 1 150); do
    n=$(dotnet "$EVACCTL_DLL" daemons --server "$server_list" -o json 2> /dev/null \
          | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2> /dev/null || echo 0)
    [ "$n" -ge 3 ] && break
    sleep 1
  done
  [ "$n" -ge 3 ] || { echo "the 3 daemons $name-* did not all join (saw $n): see $work/$name-*.log" >&2; tail -5 "$work/$name"-*.log >&2; exit 1; }
  echo "3 daemons $name-1..3 at $server_list (etcd http://127.0.0.1:$ec, prefix $pfx${*:+, settings: $*})" >&2
}
log_flag=daemon-log
trio evacuationd "$prefix" "${extra[@]}"
evacd_servers=$server_list tuned_servers=
if [[ ,$tools, == *,evacuationd-tuned,* ]]; then
  read -r -a tuned_args <<< "$TUNED"
  log_flag=tuned-log
  trio evacuationd-tuned "$prefix-tuned" "${extra[@]}" "${tuned_args[@]}"
  tuned_servers=$server_list
fi

# --- the runs -----------------------------------------------------------------------------
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC') started_s=$(date +%s)
step "runs: sizes \"$sizes\", $reps repetition(s) (masakari-default: 1), tools $tools; load $load_before"
set +e
"$PY" "$root/bench/peers/peers.py" --base "$BASE" --real-nova "$RN" --sizes "$sizes" --reps "$reps" \
  --tools "$tools" --evacctl "dotnet $EVACCTL_DLL" --evacd-servers "$evacd_servers" \
  --tuned-servers "$tuned_servers" --tuned-settings "$TUNED" "${logs[@]}" \
  --results "$work/results.jsonl" --table "$work/table.md" 2>&1 | tee "$work/driver.log" >&2
status=${PIPESTATUS[0]}
set -e
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
[ -s "$work/table.md" ] || { echo "the driver wrote no table (exit $status); see $work/driver.log" >&2; exit 1; }
cat "$work/table.md"

# --- the report ---------------------------------------------------------------------------
# meta.env: how and where this ran; bench/peers/report.sh turns it and results.jsonl into the doc
settings="defaults of deploy/evacuationd.sample.json's Engine section"
[ ${#extra[@]} -eq 0 ] || settings="$settings, plus: ${extra[*]}"
[ -z "${workaround:-}" ] || settings="$settings; $workaround"
{
  printf 'command_line=%q\n' "$command_line"
  printf 'started=%q\n' "$started"
  printf 'duration=%q\n' "$(( ($(date +%s) - started_s + 30) / 60 )) min"
  printf 'machine=%q\n' "$(nproc) cores ($(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)), $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Debian $(cat /etc/debian_version), kernel $(uname -r)"
  printf 'nova=%q\n' "$(dpkg-query -W -f='${Version}' python3-nova)"
  printf 'masakari=%q\n' "$(dpkg-query -W -f='${Version}' python3-masakari)"
  printf 'fence=%q\n' "$(dpkg-query -W -f='${Version}' fence-agents)"
  printf 'etcdv=%q\n' "$(etcd --version 2> /dev/null | head -n 1)"
  printf 'commit=%q\n' "$(git rev-parse --short HEAD)"
  printf 'settings=%q\n' "$settings"
  printf 'tuned=%q\n' "$TUNED"
  printf 'tools=%q\n' "$tools"
  printf 'sizes=%q\n' "$sizes"
  printf 'load_before=%q\n' "$load_before"
  printf 'load_after=%q\n' "$load_after"
} > "$work/meta.env"
if [ -n "$doc" ]; then
  "$root/bench/peers/report.sh" "$work" "$doc"
fi
exit "$status"
