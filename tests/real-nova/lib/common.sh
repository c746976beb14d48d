# Sourced by the tests/real-nova scripts (bash): paths, ports, process bookkeeping, waiting.
# Every process is started detached with setsid, so its PID is also its process group; the
# pid file holds "PID START-TIME" (field 22 of /proc/PID/stat) so that a stale file never
# makes us signal a process that merely reuses the number.

set +m  # no job control: a background child stays out of its own group, so setsid need not fork
RN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3          # never a pyenv/venv python: Nova is in Debian's dist-packages
LAUNCH=$RN_DIR/lib/launch.py
BASE=${BASE:-/tmp/evacd-nova}
DEB_CACHE=${DEB_CACHE:-/var/cache/evacd-real-nova}
IMAGE_ID=11111111-2222-3333-4444-555555555555
E=$BASE/etc L=$BASE/logs P=$BASE/pids
T0=${T0:-$(date +%s.%N)}
SCRIPT=$(basename "$0")

case "$BASE" in /?*) ;; *) echo "$SCRIPT: BASE must be an absolute path (got '$BASE')" >&2; exit 2 ;; esac
BASE=${BASE%/}

say() { printf '[%6.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{print a-b}')" "$*"; }
die() { echo "$SCRIPT: $*" >&2; exit 1; }

# --- ports --------------------------------------------------------------------------------
# stock port + PORT_OFFSET for everything that listens, so stacks can share the loopback
set_ports() {
    PORT_OFFSET=${PORT_OFFSET:-0}
    [[ $PORT_OFFSET =~ ^[0-9]+$ ]] && [ "$PORT_OFFSET" -le 29000 ] \
        || die "PORT_OFFSET must be a number from 0 to 29000 (got '$PORT_OFFSET')"
    local o=$PORT_OFFSET
    MYSQL_PORT=$((3306 + o)) EPMD_PORT=$((4369 + o)) KEYSTONE_PORT=$((5000 + o))
    RABBIT_PORT=$((5672 + o)) RABBIT_DIST_PORT=$((25672 + o)) RABBIT_CTL_PORT=$((35672 + o))
    NOVA_PORT=$((8774 + o)) PLACEMENT_PORT=$((8778 + o)) GLANCE_PORT=$((9292 + o))
    NEUTRON_PORT=$((9696 + o)) MASAKARI_PORT=$((15868 + o))
    RABBIT_NODE=rabbit-evacd-$o@localhost   # one Erlang node name per offset
}
PORT_NAMES=(MYSQL_PORT EPMD_PORT KEYSTONE_PORT RABBIT_PORT RABBIT_DIST_PORT NOVA_PORT
            PLACEMENT_PORT GLANCE_PORT NEUTRON_PORT MASAKARI_PORT)
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# the stack description start.sh wrote (ports, COMPUTES); everything but start.sh reads it
load_stack() {
    [ -f "$BASE/env" ] || die "no stack in $BASE ($BASE/env is missing; start.sh writes it)"
    # shellcheck disable=SC1091
    . "$BASE/env"
}

# --- processes ----------------------------------------------------------------------------
# /proc/PID/stat after "PID (COMM) ": field 1 is the state, field 20 the start time
procstat() { [ -r "/proc/$1/stat" ] && sed 's/.*) //' "/proc/$1/stat"; }
starttime() { procstat "$1" | cut -d' ' -f20; }
# PID 1 here reaps orphans only every second or two, and kill -0 succeeds on a zombie: so
# "running" means present and not a zombie, for a process and for a process group
running() { local s; s=$(procstat "$1") && [ "${s%% *}" != Z ]; }
group_alive() { ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {f = 1} END {exit !f}'; }

# launch NAME CMD...: run CMD detached in its own session; stdout+stderr go to logs/NAME.out
launch() {
    local name=$1; shift
    setsid "$@" >> "$L/$name.out" 2>&1 < /dev/null &
    echo "$! $(starttime $!)" > "$P/$name"
}

# live_pid NAME: print the PID of NAME if that very process is still running
live_pid() {
    local pid st
    [ -f "$P/$1" ] || return 1
    read -r pid st < "$P/$1" || return 1
    [ -n "$pid" ] && [ "$(starttime "$pid")" = "$st" ] && running "$pid" && echo "$pid"
}

# group_of NAME: the process group to signal for NAME: its leader while that is ours; after
# the leader died, the group while members remain (a group id is not reused while it exists)
group_of() {
    local pid st
    [ -f "$P/$1" ] || return 1
    read -r pid st < "$P/$1" || return 1
    [ -n "$pid" ] || return 1
    if [ -e "/proc/$pid" ]; then
        [ "$(starttime "$pid")" = "$st" ] && echo "$pid"
    else
        group_alive "$pid" && echo "$pid"
    fi
}

# alive_groups PGID...: print those of the given process groups that still have a member that
# is not a zombie (one ps call for all of them)
alive_groups() {
    ps -e -o pgid=,stat= | awk -v want="$*" '
        BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) g[w[i]] = 1 }
        ($1 in g) && $2 !~ /^Z/ && !($1 in seen) { seen[$1] = 1; print $1 }'
}

# stop_groups GRACE NAME...: SIGTERM each group, SIGKILL what is left after GRACE seconds,
# remove the pid files
stop_groups() {
    local grace=$1 name g end
    shift
    local groups=()
    for name in "$@"; do
        g=$(group_of "$name") && { groups+=("$g"); kill -TERM -- "-$g" 2> /dev/null; }
        rm -f "$P/$name"
    done
    [ ${#groups[@]} -gt 0 ] || return 0
    end=$(($(date +%s%N) + grace * 1000000000))
    while [ -n "$(alive_groups "${groups[@]}")" ]; do
        if [ "$(date +%s%N)" -ge "$end" ]; then
            for g in $(alive_groups "${groups[@]}"); do kill -KILL -- "-$g" 2> /dev/null; done
            end=$(($(date +%s%N) + 5000000000))
            while [ -n "$(alive_groups "${groups[@]}")" ] && [ "$(date +%s%N)" -lt "$end" ]; do
                sleep 0.1
            done
            return 0
        fi
        sleep 0.1
    done
}

# --- logs and failures --------------------------------------------------------------------
show_log() {  # show_log NAME: the tail of every log file of NAME
    local f shown=0
    for f in "$L/$1.log" "$L/$1.out"; do
        [ -s "$f" ] || continue
        echo "----- last 30 lines of $f" >&2
        tail -n 30 "$f" >&2
        shown=1
    done
    [ $shown = 1 ] || echo "----- (no log output from $1 in $L)" >&2
}

ON_FAIL=${ON_FAIL:-}   # a command run after fail() printed its message (start.sh: clean up)
fail() {  # fail COMPONENT MESSAGE
    echo "$SCRIPT: FAILED: $1: $2" >&2
    show_log "$1"
    [ -z "$ON_FAIL" ] || eval "$ON_FAIL"
    exit 1
}

# wait_for COMPONENT SECONDS WHAT CMD...: until CMD succeeds; fail naming COMPONENT (with its
# log) if its process exits or WHAT has not happened within SECONDS
wait_for() {
    local comp=$1 limit=$2 what=$3
    shift 3
    local end=$(($(date +%s) + limit))
    until "$@" > /dev/null 2>&1; do
        if [ -f "$P/$comp" ] && ! live_pid "$comp" > /dev/null; then
            fail "$comp" "the process exited while waiting for: $what"
        fi
        [ "$(date +%s)" -lt "$end" ] || fail "$comp" "$what: not within ${limit}s"
        sleep 0.3
    done
}

# --- commands shared by start.sh and compute.sh / masakari.sh ---------------------------------
NOVA_HDR=(-H 'X-Auth-Token: admin:admin' -H 'OpenStack-API-Version: compute 2.93'
          -H 'Content-Type: application/json')
sql() { mariadb --defaults-file="$E/my.cnf" -N -B -e "$1"; }

start_compute() {  # start_compute HOST: same command line and log file every time
    launch "nova-compute-$1" "$PY" "$LAUNCH" nova-compute --config-file "$E/nova.conf" \
        --config-file "$E/nova-compute-$1.conf" --log-file "$L/nova-compute-$1.log"
}
