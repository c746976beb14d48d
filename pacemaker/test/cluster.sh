#!/usr/bin/env bash
# A real Pacemaker cluster on one machine, for the end-to-end test of fence_evacuationd
# (tests/Evacuationd.Pacemaker.Tests): no systemd, no containers, only namespaces.
#
#   evpm-hub        a bridge with 10.99.0.254/24: the evacuationd daemons listen here
#                   (the test starts etcd, evacsim and two daemons with `ip netns exec evpm-hub`)
#   evpm-node1      10.99.0.1   corosync + pacemakerd: the cluster node that runs the fencer
#   evpm-compute-1  10.99.0.11  pacemaker_remote: a compute host, Nova's compute-01
#   evpm-compute-2  10.99.0.12  pacemaker_remote: a compute host, Nova's compute-02
#   evpm-compute-3  10.99.0.13  pacemaker_remote: a compute host, Nova's compute-03
# Each node is a "machine": its own network, mount, pid and uts namespaces, PID 1 is
# node-init.sh. A fake BMC (bmc.py) really kills or restarts a node's pid namespace, and
# the power agent fence_evpm_bmc talks to it. Fencing topology: every compute node has ONE
# level "fence-bmc,fence-evac" (power first, then evacuationd's agent); node1 only fence-bmc.
# Addresses: 10.99.0.0/24 inside these namespaces only; nothing is added to the root namespace.
# Files: /tmp/evpm (cluster/ per run, pki/ the throwaway CA, remote-root/ pacemaker-remoted).
#
# usage: pacemaker/test/cluster.sh COMMAND
#   up               prepare + start (to try it by hand; fence-evac starts only once daemons answer)
#   prepare          clean leftovers (down), then namespaces, certificates, corosync.conf and CIB
#   start            the fake BMC and the nodes; waits until every compute node is online
#   down             stop everything started here and delete the namespaces (idempotent)
#   status           crm_mon -1 on node1
#   on NODE CMD...   run CMD on NODE (nsenter into all its namespaces: needed by Pacemaker's tools)
#   hub CMD...       run CMD in the hub's network namespace
#   crash NODE       SIGKILL NODE's PID 1: a power cut the cluster did not ask for
#   initpid NODE     PID (root namespace) of NODE's PID 1; fails when the node is off
#
# environment:
#   EVPM_AGENT          agent type of fence-evac (default fence_evacuationd, installed in /usr/sbin
#                       by pacemaker/install.sh)
#   EVPM_SERVERS        its server option (default https://10.99.0.254:50061,https://10.99.0.254:50062)
#   EVPM_AGENT_TIMEOUT  its timeout option in seconds (default 10)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

root=/tmp/evpm                 # fixed: bmc.py and fence_evpm_bmc find the BMC's socket below it
cluster=$root/cluster
pki=$root/pki
remote_root=$root/remote-root
prefix=evpm-
hub=${prefix}hub
cluster_nodes=(node1)
remote_nodes=(compute-1 compute-2 compute-3)
declare -A address=([node1]=10.99.0.1 [compute-1]=10.99.0.11 [compute-2]=10.99.0.12 [compute-3]=10.99.0.13)
host_map="compute-1:compute-01;compute-2:compute-02;compute-3:compute-03"   # Pacemaker node -> Nova host (evacsim's names)
agent=${EVPM_AGENT:-fence_evacuationd}
servers=${EVPM_SERVERS:-https://10.99.0.254:50061,https://10.99.0.254:50062}
agent_timeout=${EVPM_AGENT_TIMEOUT:-10}

say() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
all_nodes() { printf '%s\n' "${cluster_nodes[@]}" "${remote_nodes[@]}"; }

# PID (root namespace) of NODE's PID 1: the child of the unshare process bmc.py started.
initpid() {
  local f=$cluster/$1/unshare.pid
  [ -f "$f" ] || return 1
  pgrep -P "$(cat "$f")" | head -n 1 | grep .
}

on() {
  local node=$1
  shift
  local pid
  pid=$(initpid "$node") || die "$node is not running"
  nsenter -t "$pid" -a "$@"
}

# Kills the processes that still live in one of our network namespaces (leftovers of a
# crashed run): the namespace is ours, so is every process in it.
kill_namespace_processes() {
  local ns=$1 pids
  pids=$(ip netns pids "$ns" 2> /dev/null || true)
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -KILL $pids 2> /dev/null || true
  for _ in $(seq 1 50); do
    [ -z "$(ip netns pids "$ns" 2> /dev/null || true)" ] && return 0
    sleep 0.1
  done
  say "processes still in $ns: $(ip netns pids "$ns" 2> /dev/null | tr '\n' ' ')"
}

wait_gone() { # wait_gone PID SECONDS
  local i
  for i in $(seq 1 $(($2 * 10))); do
    kill -0 "$1" 2> /dev/null || return 0
    sleep 0.1
  done
  return 1
}

down() {
  local n pid
  for n in "${cluster_nodes[@]}"; do   # orderly: pacemakerd, then corosync (init's TERM trap)
    if pid=$(initpid "$n" 2> /dev/null); then
      kill -TERM "$pid" 2> /dev/null || true
      wait_gone "$pid" 20 || kill -KILL "$pid" 2> /dev/null || true
    fi
  done
  for n in "${remote_nodes[@]}"; do
    if pid=$(initpid "$n" 2> /dev/null); then
      kill -KILL "$pid" 2> /dev/null || true
      wait_gone "$pid" 10 || true
    fi
  done
  if [ -f "$cluster/bmc.pid" ]; then
    pid=$(cat "$cluster/bmc.pid")
    if grep -q bmc.py "/proc/$pid/cmdline" 2> /dev/null; then
      kill -TERM "$pid" 2> /dev/null || true
      wait_gone "$pid" 5 || kill -KILL "$pid" 2> /dev/null || true
    fi
    rm -f "$cluster/bmc.pid"
  fi
  for n in $(all_nodes) hub; do
    if ip netns list | grep -qw "^$prefix$n"; then
      kill_namespace_processes "$prefix$n"
      ip netns del "$prefix$n" 2> /dev/null || say "could not delete namespace $prefix$n"
    fi
  done
}

check_prerequisites() {
  local missing=() c
  [ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, mounts, Pacemaker)"
  for c in corosync corosync-cfgtool pacemakerd cibadmin crm_attribute crm_verify crm_mon stonith_admin \
           ip unshare nsenter pgrep python3 openssl; do
    command -v "$c" > /dev/null 2>&1 || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing commands: ${missing[*]} (apt-get install pacemaker corosync pacemaker-cli-utils; scripts/test.sh does)"
  id hacluster > /dev/null 2>&1 || die "user hacluster is missing (it comes with the pacemaker package)"
  [ -x "/usr/sbin/$agent" ] || die "fence agent /usr/sbin/$agent is not installed (run pacemaker/install.sh as root)"
}

# pacemaker-remote conflicts with pacemaker: only its binary is unpacked, under $remote_root.
install_remote() {
  [ -x "$remote_root/usr/sbin/pacemaker-remoted" ] && return 0
  say "unpacking pacemaker-remoted into $remote_root"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q pacemaker-remote > /dev/null 2>&1) \
    || { apt-get update -qq && (cd "$tmp" && apt-get download -q pacemaker-remote > /dev/null); } \
    || { rm -rf "$tmp"; die "apt-get download pacemaker-remote failed"; }
  mkdir -p "$remote_root"
  dpkg-deb -x "$tmp"/pacemaker-remote_*.deb "$remote_root"
  rm -rf "$tmp"
}

network() {
  local n
  ip netns add "$hub"
  ip -n "$hub" link set lo up
  ip -n "$hub" link add br0 type bridge
  ip -n "$hub" link set br0 up
  ip -n "$hub" addr add 10.99.0.254/24 dev br0
  for n in $(all_nodes); do
    ip netns add "$prefix$n"
    ip -n "$hub" link add "v-$n" type veth peer name eth0 netns "$prefix$n"
    ip -n "$hub" link set "v-$n" master br0 up
    ip -n "$prefix$n" addr add "${address[$n]}/24" dev eth0
    ip -n "$prefix$n" link set eth0 up
  done
}

corosync_conf() {
  local n id=0
  cat <<EOF
totem {
    version: 2
    cluster_name: evpm
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    token: 1000
}
logging {
    to_stderr: yes
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: no
    timestamp: on
}
quorum {
    provider: corosync_votequorum
}
nodelist {
EOF
  for n in "${cluster_nodes[@]}"; do
    id=$((id + 1))
    printf '    node {\n        name: %s\n        nodeid: %d\n        ring0_addr: %s\n    }\n' "$n" "$id" "${address[$n]}"
  done
  echo "}"
}

nvpair() { printf '<nvpair id="%s-%s" name="%s" value="%s"/>' "$1" "$2" "$2" "$3"; }

# The CIB, built offline with CIB_file (no cluster needed).
cib() {
  local cib=$cluster/cib.xml n all levels=""
  all="${cluster_nodes[*]} ${remote_nodes[*]}"
  cibadmin --empty > "$cib"
  export CIB_file=$cib
  crm_attribute -t crm_config -n dc-deadtime -v 2s > /dev/null   # default 20 s delays the first election
  crm_attribute -t crm_config -n stonith-enabled -v true > /dev/null
  cibadmin -C -o resources -X "<primitive id=\"fence-bmc\" class=\"stonith\" type=\"fence_evpm_bmc\">
    <instance_attributes id=\"fence-bmc-ia\">$(nvpair fence-bmc pcmk_host_list "$all")</instance_attributes>
    <operations><op id=\"fence-bmc-monitor\" name=\"monitor\" interval=\"60s\"/></operations></primitive>"
  # The monitor of fence-evac asks a daemon whether it is ready; its interval is long so that
  # the test's own daemon restarts never fail it (a failed stonith resource is banned from node1).
  cibadmin -C -o resources -X "<primitive id=\"fence-evac\" class=\"stonith\" type=\"$agent\">
    <instance_attributes id=\"fence-evac-ia\">
      $(nvpair fence-evac server "$servers")
      $(nvpair fence-evac ca_file "$pki/ca.pem")
      $(nvpair fence-evac cert_file "$pki/fencer.pem")
      $(nvpair fence-evac key_file "$pki/fencer-key.pem")
      $(nvpair fence-evac timeout "$agent_timeout")
      $(nvpair fence-evac pcmk_host_list "${remote_nodes[*]}")
      $(nvpair fence-evac pcmk_host_map "$host_map")
    </instance_attributes>
    <operations><op id=\"fence-evac-monitor\" name=\"monitor\" interval=\"600s\"/></operations></primitive>"
  for n in "${remote_nodes[@]}"; do
    cibadmin -C -o resources -X "<primitive id=\"$n\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">
      <instance_attributes id=\"$n-ia\">$(nvpair "$n" server "${address[$n]}")</instance_attributes>
      <operations><op id=\"$n-monitor\" name=\"monitor\" interval=\"3s\" timeout=\"5s\"/></operations></primitive>"
    # a stand-in for the instances of the compute host
    cibadmin -C -o resources -X "<primitive id=\"guest-$n\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">
      <operations><op id=\"guest-$n-monitor\" name=\"monitor\" interval=\"10s\"/></operations></primitive>"
    cibadmin -C -o constraints -X "<rsc_location id=\"guest-$n-on-$n\" rsc=\"guest-$n\" node=\"$n\" score=\"INFINITY\"/>"
    levels="$levels<fencing-level id=\"level-$n\" target=\"$n\" index=\"1\" devices=\"fence-bmc,fence-evac\"/>"
  done
  for n in "${cluster_nodes[@]}"; do
    levels="$levels<fencing-level id=\"level-$n\" target=\"$n\" index=\"1\" devices=\"fence-bmc\"/>"
  done
  cibadmin -C -o configuration -X "<fencing-topology>$levels</fencing-topology>"
  crm_verify --xml-file "$cib" > /dev/null 2>&1 || crm_verify --xml-file "$cib" 2>&1 | grep -v '^$' | sed 's/^/crm_verify: /' >&2 || true
  unset CIB_file
}

prepare() {
  check_prerequisites
  down
  rm -rf "$cluster" "$pki"
  mkdir -p "$cluster"
  chmod 755 "$root" "$cluster"
  install_remote
  install -m 755 "$here/fence_evpm_bmc" /usr/sbin/fence_evpm_bmc
  network
  "$repo/deploy/make-certs.sh" "$pki" 10.99.0.254 > "$cluster/make-certs.out"
  corosync_conf > "$cluster/corosync.conf"
  dd if=/dev/urandom of="$cluster/authkey" bs=4096 count=1 status=none
  cib
  local n d
  for n in $(all_nodes); do
    d=$cluster/$n
    mkdir -p "$d/etc-corosync" "$d/etc-pacemaker" "$d/var-lib-pacemaker/cib"
    install -g haclient -m 640 "$cluster/authkey" "$d/etc-pacemaker/authkey"
    touch "$d/autostart"   # the BMC's "on" boots the node again
    if [[ " ${cluster_nodes[*]} " == *" $n "* ]]; then
      echo cluster > "$d/role"
      cp "$cluster/corosync.conf" "$d/etc-corosync/"
      install -o hacluster -g haclient -m 600 "$cluster/cib.xml" "$d/var-lib-pacemaker/cib/cib.xml"
    else
      echo remote > "$d/role"
    fi
  done
  say "prepared: namespaces ${prefix}{hub,$(all_nodes | paste -sd,)}, certificates in $pki"
}

# Polls crm_mon on node1 until every compute node is online and fence-bmc runs.
wait_online() {
  local deadline=$((SECONDS + ${1:-90})) xml n ok
  while true; do
    ok=1
    xml=$(on node1 crm_mon -1 --output-as=xml 2> /dev/null) || ok=0
    if [ "$ok" -eq 1 ]; then
      for n in "${remote_nodes[@]}"; do
        grep -Eq "<node name=\"$n\"[^>]* online=\"true\"" <<< "$xml" || ok=0
      done
      grep -Eq '<resource id="fence-bmc"[^>]* role="Started"' <<< "$xml" || ok=0
    fi
    [ "$ok" -eq 1 ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || { on node1 crm_mon -1 >&2 || true; die "the cluster did not come up within ${1:-90} s"; }
    sleep 0.25
  done
}

start() {
  [ -f "$cluster/cib.xml" ] || die "run prepare first"
  local n
  setsid python3 "$here/bmc.py" serve > "$cluster/bmc.out" 2>&1 < /dev/null &
  echo $! > "$cluster/bmc.pid"
  for _ in $(seq 1 50); do [ -S "$cluster/bmc.sock" ] && break; sleep 0.1; done
  [ -S "$cluster/bmc.sock" ] || die "the fake BMC did not start (see $cluster/bmc.out)"
  for n in "${remote_nodes[@]}" "${cluster_nodes[@]}"; do
    python3 "$here/bmc.py" start "$n" || die "node $n did not start (see $cluster/$n/init.out)"
  done
  wait_online 90
  say "up: $(all_nodes | paste -sd' ') (crm_mon: cluster.sh status)"
}

case "${1:-}" in
  up) prepare; start ;;
  prepare) prepare ;;
  start) start ;;
  down) down ;;
  status) on node1 crm_mon -1 ;;
  on) [ $# -ge 3 ] || die "usage: cluster.sh on NODE CMD..."; shift; on "$@" ;;
  hub) [ $# -ge 2 ] || die "usage: cluster.sh hub CMD..."; shift; exec ip netns exec "$hub" "$@" ;;
  crash)
    [ $# -eq 2 ] || die "usage: cluster.sh crash NODE"
    pid=$(initpid "$2") || die "$2 is not running"
    kill -KILL "$pid"
    ;;
  initpid) [ $# -eq 2 ] || die "usage: cluster.sh initpid NODE"; initpid "$2" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
