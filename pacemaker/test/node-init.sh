#!/bin/bash
# PID 1 of one test "machine": started by bmc.py inside the node's network namespace with
# its own mount, pid and uts namespaces. Binds the node's own folders over the paths
# corosync and Pacemaker use, then runs corosync + pacemakerd (role cluster) or
# pacemaker-remoted (role remote) until it is told to stop (TERM) or one of them dies.
# A SIGKILL of this process kills the whole pid namespace at once: a power cut.
#
# usage: node-init.sh NAME cluster|remote     (EVPM_ROOT: the test root, default /tmp/evpm)
set -euo pipefail
name=$1
role=$2
root=${EVPM_ROOT:-/tmp/evpm}
node=$root/cluster/$name

hostname "$name"
mount --make-rprivate /
mkdir -p "$node"/{etc-corosync,etc-pacemaker,var-lib-corosync,var-log-corosync,var-log-pacemaker} \
         "$node"/var-lib-pacemaker/{cib,pengine,blackbox,cores}
chown -R hacluster:haclient "$node/var-lib-pacemaker" "$node/var-log-pacemaker"
chmod 750 "$node"/var-lib-pacemaker/{cib,pengine,blackbox,cores}
chmod 770 "$node/var-log-pacemaker"
for path in etc/corosync etc/pacemaker var/lib/pacemaker var/lib/corosync var/log/pacemaker var/log/corosync; do
  mkdir -p "/$path"
  mount --bind "$node/${path//\//-}" "/$path"
done
# /run and /dev/shm of this node only: libqb's IPC (every Pacemaker client tool) lives there,
# so tools must be run through nsenter into all of this node's namespaces (cluster.sh on).
mount -t tmpfs tmpfs /run
mkdir -p /run/lock /run/crm
chown hacluster:haclient /run/crm
mount -t tmpfs tmpfs /dev/shm
chmod 1777 /dev/shm
ip link set lo up

export PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none
children=()
if [ "$role" = remote ]; then
  "$root/remote-root/usr/sbin/pacemaker-remoted" > /var/log/pacemaker/remoted.out 2>&1 &
  children=($!)
else
  corosync -f > /var/log/corosync/corosync.out 2>&1 &
  corosync_pid=$!
  until corosync-cfgtool -s > /dev/null 2>&1; do
    kill -0 "$corosync_pid" 2> /dev/null || { echo "corosync exited while starting" >&2; exit 1; }
    sleep 0.1
  done
  pacemakerd -f > /var/log/pacemaker/pacemakerd.out 2>&1 &
  children=($! "$corosync_pid")   # stopped in this order: pacemakerd before corosync
fi

stop() {
  for pid in "${children[@]}"; do
    kill -TERM "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  done
  exit 0
}
trap stop TERM INT
while true; do
  for pid in "${children[@]}"; do
    kill -0 "$pid" 2> /dev/null || { echo "$name: pid $pid exited" >&2; exit 1; }
  done
  sleep 1 &
  wait $!
done
