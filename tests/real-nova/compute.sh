#!/usr/bin/env bash
# One compute host of the stack in BASE:
#   compute.sh kill HOST    SIGKILL HOST's nova-compute (its whole process group): a host failure
#   compute.sh start HOST   start it again, same configuration and log file (logs/nova-compute-HOST.log)
#   compute.sh pid HOST     print its PID (exit 1 when it is not running)
# env: BASE (default /tmp/evacd-nova)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1 host=$2
load_stack
[ -f "$E/nova-compute-$host.conf" ] || die "no compute '$host' in the stack in $BASE (hosts: $COMPUTES)"
name=nova-compute-$host
case $action in
    kill)
        pid=$(live_pid "$name") || die "$name is not running"
        kill -KILL -- "-$pid"
        for ((i = 0; i < 50; i++)); do group_alive "$pid" || break; sleep 0.1; done
        group_alive "$pid" && die "$name (process group $pid) survived SIGKILL"
        echo "$name killed (pid $pid)"
        ;;
    start)
        pid=$(live_pid "$name") && die "$name is already running (pid $pid)"
        start_compute "$host"
        sleep 0.5
        pid=$(live_pid "$name") || fail "$name" "exited right after starting"
        echo "$name started (pid $pid), log $L/$name.log"
        ;;
    pid)
        live_pid "$name" || exit 1
        ;;
    *) usage ;;
esac
