#!/bin/sh
# Runs one of Debian 12's fence agents from fence-agents 4.12.1 (fence_compute, fence_evacuate,
# ...) under /usr/bin/python3 with inspect.getargspec aliased to inspect.getfullargspec:
# the agents still call getargspec, which Python 3.11 removed, and crash without this.
#
# usage: fence-agent.sh AGENT ARGS...
#   e.g. . $BASE/env; tests/real-nova/fence-agent.sh fence_compute --auth-url "$KEYSTONE_URL" \
#          --username admin --password admin --tenant-name admin --user-domain Default \
#          --project-domain Default -n hostA -o status
set -eu
[ $# -ge 1 ] || { sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
case $1 in */*) agent=$1 ;; *) agent=/usr/sbin/$1 ;; esac
[ -f "$agent" ] || { echo "fence-agent.sh: no fence agent $agent (install.sh installs fence-agents)" >&2; exit 2; }
shift
exec /usr/bin/python3 -c '
import inspect, runpy, sys
if not hasattr(inspect, "getargspec"):
    inspect.getargspec = inspect.getfullargspec
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")' "$agent" "$@"
