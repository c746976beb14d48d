#!/usr/bin/env bash
# Stops every process start.sh, compute.sh and masakari.sh started for the stack in BASE,
# by process group from $BASE/pids (never by name). A process whose pid file no longer
# matches (another process reusing the number) is left alone.
#
# Nova's services would wait up to 60 s (graceful_shutdown_timeout) on SIGTERM; the stack is
# thrown away anyway, so they get 2 s before SIGKILL. MariaDB gets up to 10 s to shut down.
#
# env: BASE (default /tmp/evacd-nova)
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
[ -d "$P" ] || { echo "stop.sh: nothing to stop in $BASE"; exit 0; }
rm -f "$BASE/ready"

names=()
for f in "$P"/masakari-* "$P"/nova-compute-* "$P"/nova-api "$P"/nova-conductor \
         "$P"/nova-scheduler "$P"/placement "$P"/stub "$P"/rabbit; do
    [ -f "$f" ] && names+=("$(basename "$f")")
done
# the OpenStack services and rabbit (SIGTERM is rabbit's clean shutdown) first ...
stop_groups 2 "${names[@]}"
say "stopped ${names[*]:-nothing}"
# ... then the database and epmd, which rabbit needed until the end
stop_groups 10 mariadb
stop_groups 1 epmd
left=()
for f in "$P"/*; do [ -f "$f" ] && left+=("$(basename "$f")"); done
[ ${#left[@]} -eq 0 ] || stop_groups 2 "${left[@]}"
say "stopped the stack in $BASE"
