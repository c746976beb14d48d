#!/usr/bin/env bash
# End-to-end test of fence_evacuationd, driven by a real Pacemaker cluster (cluster.sh):
# Pacemaker decides to fence, runs the power agent and our agent in one fencing level, and
# evacuationd evacuates the host in evacsim. Every check prints PASS or FAIL; the last line
# is `pacemaker: N passed, N failed` (scripts/test.sh adds it to the total).
#
# In the hub namespace (10.99.0.254), all started here: etcd on 127.0.0.1:2379, evacsim on
# 127.0.0.1:8774 (5 hosts x 4 instances), and two `evacuationd serve` daemons with mutual TLS
# on https://10.99.0.254:50061 and :50062 (the fence agent is given both, in that order).
# Pacemaker node compute-N is Nova host compute-0N (pcmk_host_map).
#
# Scenarios:
#   agent     Pacemaker's own tools read the agent's metadata and validate its options
#   fence     compute-1 loses power: Pacemaker fences it by itself; one host record, every
#             instance evacuated exactly once, the power cut before the report (S1)
#   failover  the first daemon is dead (kill -9): the agent reports to the second one
#   nodaemon  no daemon answers: the fencing fails and is retried by Pacemaker, the node
#             stays unclean; once a daemon is back the next attempt is recorded and evacuated
#
# usage: pacemaker/test/e2e.sh [--keep]   (as root; --keep leaves everything running)
# environment: EVPM_SCENARIOS (default "agent fence failover nodaemon") runs some, in order;
# EVPM_CONFIGURATION (Release) picks the build whose binaries run the daemons,
# evacsim and evacctl; the agent itself is the installed /usr/sbin/fence_evacuationd
# (pacemaker/install.sh). Logs: /tmp/evpm/e2e (kept; printed on a failure).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
configuration=${EVPM_CONFIGURATION:-Release}
keep=0
[ "${1:-}" = --keep ] && keep=1

cluster_sh=$here/cluster.sh
work=/tmp/evpm/e2e
pki=/tmp/evpm/pki
hub=evpm-hub
bin=$repo/src/Evacuationd.%s/bin/$configuration/net10.0/%s
# shellcheck disable=SC2059
server_bin=$(printf "$bin" Server evacuationd)
# shellcheck disable=SC2059
sim_bin=$(printf "$bin" Simulator evacsim)
# shellcheck disable=SC2059
cli_bin=$(printf "$bin" Cli evacctl)
daemon_urls=(https://10.99.0.254:50061 https://10.99.0.254:50062)
sim_url=http://127.0.0.1:8774
passed=0
failed=0
declare -A pids=()

say() { printf 'e2e: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }

# check NAME CMD...: one PASS or FAIL line for the outcome of CMD (its output is shown on FAIL)
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    pass "$name"
  else
    fail "$name"
    printf '%s\n' "$out" | sed 's/^/      /' | tail -n 20
  fi
}

# until SECONDS CMD...: polls CMD (a real external system) every 0.25 s until it succeeds
until_ok() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" > /dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.25
  done
}

in_hub() { ip netns exec "$hub" "$@"; }
on_node() { "$cluster_sh" on "$@"; }

# start NAME CMD...: runs CMD in the hub namespace, output in $work/NAME.log
start() {
  local name=$1
  shift
  # ip execs CMD: $! is CMD's own process id (a shell function here would add a subshell)
  ip netns exec "$hub" "$@" >> "$work/$name.log" 2>&1 < /dev/null &
  pids[$name]=$!
}

stop() { # stop NAME [SIGNAL]
  local pid=${pids[$1]:-}
  [ -n "$pid" ] || return 0
  kill "-${2:-TERM}" "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  unset "pids[$1]"
}

start_daemon() { # start_daemon 1|2
  local n=$1
  start "daemon-$n" "$server_bin" serve \
    "--Etcd:Endpoints=http://127.0.0.1:2379" --Etcd:Prefix=/evacuationd --Nova:Cloud=sim \
    "--Grpc:Listen=${daemon_urls[$((n - 1))]}" "--Grpc:CertFile=$pki/server.pem" \
    "--Grpc:KeyFile=$pki/server-key.pem" "--Grpc:ClientCaFile=$pki/ca.pem" \
    "--Engine:DaemonId=pm-daemon-$n" --Engine:LeaseTtl=00:00:05 --Engine:KeepAliveInterval=00:00:01 \
    --Engine:Workflow:PollInterval=00:00:00.250 \
    --Engine:Policy:MaxHostsInWindow=10 --Engine:Policy:MaxSharePercent=100
  until_ok 30 evacctl_as viewer "${daemon_urls[$((n - 1))]}" daemons \
    || die "daemon $n did not answer within 30 s (see $work/daemon-$n.log)"
}

evacctl_as() { # evacctl_as ROLE SERVERS ARGS...
  local role=$1 servers=$2
  shift 2
  in_hub "$cli_bin" --server "$servers" --ca "$pki/ca.pem" --cert "$pki/$role.pem" --key "$pki/$role-key.pem" "$@"
}
evacctl() { evacctl_as operator "$(IFS=,; echo "${daemon_urls[*]}")" "$@"; }
sim() { in_hub curl -sf "$sim_url/$1"; }

# host_field HOST EXPR: EXPR evaluated on the host's record (python; h = the JSON object)
host_field() {
  evacctl hosts -o json | python3 -c '
import json, sys
h = next((h for h in json.load(sys.stdin) if h["name"] == sys.argv[1]), None)
print(eval(sys.argv[2]) if h is not None else "")' "$@"
}
host_noted() { [ "$(host_field "$1" "any(sys.argv[3] in json.dumps(t) for t in h.get('history', []))" "$2")" = True ]; }
host_done() { [ "$(host_field "$1" 'h["stateName"]')" = done ]; }

# The fence history of a Pacemaker node as "status action device..." lines, oldest first.
fence_history() {
  on_node node1 stonith_admin --history "$1" --verbose --output-as=xml 2> /dev/null | python3 -c '
import sys, xml.etree.ElementTree as ET
for e in reversed(list(ET.parse(sys.stdin).getroot().iter("fence_event"))):
    print(e.get("status"), e.get("action"), e.get("delegate") or "-", e.get("completed") or "-")'
}
not() { ! "$@"; }
fenced_ok() { fence_history "$1" | grep -q '^success '; }
fence_failed_once() { fence_history "$1" | grep -q '^failed '; }

# The instances evacsim has on HOST (ids, one per line)
instances_on() {
  sim _sim/instances | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    if i["host"] == sys.argv[1]: print(i["uuid"])' "$1"
}

# evacsim's counters now (evacuated_once compares with them)
sim_stats() { sim _sim/stats; }

# Since BEFORE (sim_stats output): every instance of the list evacuated exactly once and now
# ACTIVE on another host; no evacuate call before its host was forced down; no duplicate.
evacuated_once() { # evacuated_once BEFORE FROMHOST ID...
  local before=$1 instances stats
  shift
  instances=$(sim _sim/instances) && stats=$(sim _sim/stats) || { echo "evacsim did not answer"; return 1; }
  python3 -c '
import json, sys
instances, stats, before, source, ids = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], sys.argv[5:]
by_id = {i["uuid"]: i for i in instances}
calls = {i: n - before["evacuateCalls"].get(i, 0) for i, n in stats["evacuateCalls"].items()}
bad = [] if ids else ["no instance to check"]
for i in ids:
    inst = by_id.get(i)
    if inst is None or inst["host"] == source or inst["vm_state"] != "active":
        bad.append("%s: %s" % (i, inst))
    if calls.get(i, 0) != 1:
        bad.append("%s: %d evacuate calls" % (i, calls.get(i, 0)))
if stats["duplicateEvacuations"]: bad.append("duplicate evacuations: %d" % stats["duplicateEvacuations"])
if stats["evacuateCallsWithoutForcedDown"]: bad.append("evacuate calls without forced down: %d" % stats["evacuateCallsWithoutForcedDown"])
print("\n".join(bad) or "%d instances, 1 evacuate call each, active elsewhere" % len(ids))
sys.exit(1 if bad else 0)' "$instances" "$stats" "$before" "$@"
}

# The power cut (bmc.log: "off NODE -> off") happened before the daemon recorded the fence.
power_cut_before_report() { # power_cut_before_report NODE NOVAHOST
  local off reported
  off=$(awk -v n="$1" '$2 == "off" && $3 == n && $5 == "off" { print $1; exit }' /tmp/evpm/cluster/bmc.log)
  reported=$(host_field "$2" 'h["reportedAt"]')
  [ -n "$off" ] && [ -n "$reported" ] || { echo "power off at '$off', reported at '$reported'"; return 1; }
  python3 -c '
import sys, datetime
off = float(sys.argv[1])
rep = datetime.datetime.fromisoformat(sys.argv[2].replace("Z", "+00:00")).timestamp()
print("power off %.3f, fence recorded %.3f (%+.3f s)" % (off, rep, rep - off))
sys.exit(0 if off <= rep else 1)' "$off" "$reported"
}

host_reported_by_fencer_on() { # host_reported_by_fencer_on NOVAHOST NODE
  local source reporter
  source=$(host_field "$1" 'h["source"]')
  reporter=$(host_field "$1" 'h["reporter"]')
  echo "source $source, reporter $reporter"
  [ "$source" = FENCE_SOURCE_FENCE_AGENT ] && [[ "$reporter" == *"$2"* ]]
}

# A power cut Pacemaker did not ask for: the node's namespaces die, and evacsim's host too.
# Waits until Pacemaker has no transition in progress (a node that rejoined after its reboot,
# probes after start): a crash in the middle of one is noticed late, the test would time out.
settle() {
  on_node node1 crm_resource --wait --timeout=90s > /dev/null 2>&1 \
    || say "the cluster did not settle within 90 s (going on)"
}

power_loss() { # power_loss NODE NOVAHOST
  settle
  "$cluster_sh" crash "$1"
  in_hub curl -sf -X POST "$sim_url/_sim/hosts/$2/power-off" > /dev/null
}

cleanup() {
  local rc=$?
  if [ "$keep" -eq 1 ]; then
    say "--keep: left running (pacemaker/test/cluster.sh down stops it)"
    return
  fi
  local name
  for name in "${!pids[@]}"; do stop "$name"; done
  "$cluster_sh" down || true
  if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
    mkdir -p "$work/cluster-logs"
    cp -r /tmp/evpm/cluster/*/ "$work/cluster-logs/" 2> /dev/null || true
    say "logs kept in $work (daemons, etcd, evacsim) and $work/cluster-logs (each node's /var/log)"
  fi
}

prepare() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, Pacemaker)"
  for f in "$server_bin" "$sim_bin" "$cli_bin"; do
    [ -x "$f" ] || die "$f is missing: build first (dotnet build -c $configuration)"
  done
  command -v etcd > /dev/null || die "etcd is missing (apt-get install etcd-server)"
  command -v curl > /dev/null || die "curl is missing (apt-get install curl)"
  "$cluster_sh" prepare
  rm -rf "$work"
  mkdir -p "$work"
  printf 'clouds:\n  sim:\n    auth:\n      auth_url: %s/identity\n      username: admin\n      password: e2e\n      project_name: admin\n' \
    "$sim_url" > "$work/clouds.yaml"
  start etcd etcd --name e2e --data-dir "$work/etcd" --listen-client-urls http://127.0.0.1:2379 \
    --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
    --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster e2e=http://127.0.0.1:2380
  start evacsim "$sim_bin" --listen "$sim_url" --hosts 5 --instances-per-host 4 --rebuild-ms 300
  until_ok 30 in_hub curl -sf "$sim_url/_sim/stats" || die "evacsim did not answer within 30 s"
  until_ok 30 in_hub curl -sf http://127.0.0.1:2379/health || die "etcd did not start within 30 s"
  cd "$work"   # the daemons find ./clouds.yaml (OpenStack's lookup order)
  start_daemon 1
  start_daemon 2
  # the daemons answer before the cluster starts: fence-evac's start runs its monitor
  "$cluster_sh" start
}

scenario_agent() {
  check "agent: stonith_admin --metadata declares the agent's options" bash -c \
    "'$cluster_sh' on node1 stonith_admin --metadata -a fence_evacuationd | grep -q '<parameter name=\"server\"'"
  check "agent: stonith_admin --validate accepts good options" \
    on_node node1 stonith_admin --validate -a fence_evacuationd --option "server=${daemon_urls[0]}" \
      --option "ca_file=$pki/ca.pem" --option "cert_file=$pki/fencer.pem" --option "key_file=$pki/fencer-key.pem"
  check "agent: stonith_admin --validate names a bad option (timeout=soon)" bash -c \
    "! out=\$('$cluster_sh' on node1 stonith_admin --validate -a fence_evacuationd --option server=${daemon_urls[0]} --option timeout=soon 2>&1) && grep -q timeout <<< \"\$out\" && echo \"\$out\""
  check "agent: the fence-evac device runs on node1" bash -c \
    "'$cluster_sh' on node1 crm_mon -1 --output-as=xml | grep -Eq '<resource id=\"fence-evac\"[^>]* role=\"Started\"'"
}

scenario_fence() {
  local ids before
  mapfile -t ids < <(instances_on compute-01)
  before=$(sim_stats)
  local t0=$SECONDS
  power_loss compute-1 compute-01
  check "fence: Pacemaker fences compute-1 by itself (fence-bmc then fence-evac)" until_ok 60 fenced_ok compute-1
  check "fence: compute-01's ${#ids[@]} instances are evacuated (host record done)" until_ok 60 host_done compute-01
  say "fence: power loss to host done in $((SECONDS - t0)) s"
  check "fence: the record names the fence agent on node1 as its source" host_reported_by_fencer_on compute-01 node1
  check "fence: the power cut came before the fence was recorded (S1)" power_cut_before_report compute-1 compute-01
  check "fence: each instance evacuated exactly once, ACTIVE elsewhere, forced down first" evacuated_once "$before" compute-01 "${ids[@]}"
  check "fence: the power-on of Pacemaker's reboot is recorded (the agent's on action)" \
    until_ok 30 host_noted compute-01 "powered on again (reported by pacemaker fencer on node1)"
  check "fence: one fencing generation recorded for compute-01" \
    test "$(host_field compute-01 'h["fenceGeneration"]')" = 1
  # compute-01 has no instance left: the fencing generation is what shows a second evacuation
  settle
  check "fence: fencing compute-1 again (stonith_admin --fence: off+on of both devices) succeeds" \
    on_node node1 stonith_admin --fence compute-1 --timeout 60
  check "fence: ... is a duplicate to the daemon: still fencing generation 1" \
    test "$(host_field compute-01 'h["fenceGeneration"]')" = 1
}

scenario_failover() {
  local ids before
  mapfile -t ids < <(instances_on compute-02)
  before=$(sim_stats)
  stop daemon-1 KILL
  power_loss compute-2 compute-02
  check "failover: with the first daemon dead, Pacemaker's fencing of compute-2 succeeds" until_ok 60 fenced_ok compute-2
  check "failover: compute-02 is evacuated" until_ok 60 host_done compute-02
  check "failover: every step of compute-02's fencing was made by the second daemon" \
    test "$(host_field compute-02 "sorted(set(t.get('daemon', '') for t in h['history']))")" = "['pm-daemon-2']"
  check "failover: each instance evacuated exactly once" evacuated_once "$before" compute-02 "${ids[@]}"
  start_daemon 1
}

scenario_nodaemon() {
  local ids before
  mapfile -t ids < <(instances_on compute-03)
  before=$(sim_stats)
  stop daemon-1
  stop daemon-2
  power_loss compute-3 compute-03
  check "nodaemon: with no daemon reachable the fencing of compute-3 fails" until_ok 90 fence_failed_once compute-3
  check "nodaemon: ... and Pacemaker does not count compute-3 as fenced" not fenced_ok compute-3
  check "nodaemon: crm_mon shows compute-3 unclean or not yet fenced (no success)" bash -c \
    "'$cluster_sh' on node1 crm_mon -1 --output-as=xml | grep -Eq '<node name=\"compute-3\"[^>]* online=\"false\"'"
  start_daemon 2
  check "nodaemon: a later attempt of Pacemaker's succeeds once a daemon is back" until_ok 120 fenced_ok compute-3
  check "nodaemon: compute-03 is evacuated" until_ok 60 host_done compute-03
  check "nodaemon: each instance evacuated exactly once" evacuated_once "$before" compute-03 "${ids[@]}"
  say "nodaemon: fence history of compute-3: $(fence_history compute-3 | paste -sd';')"
}

trap cleanup EXIT
prepare
for scenario in ${EVPM_SCENARIOS:-agent fence failover nodaemon}; do
  "scenario_$scenario"
done
echo "pacemaker: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
