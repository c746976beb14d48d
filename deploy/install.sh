#!/bin/sh
# Installs evacuationd from this checkout (as root), framework-dependent: the machine needs
# the .NET 10 runtime (ASP.NET Core) to run it and the .NET 10 SDK to build it here.
#
# usage: deploy/install.sh [--parts LIST] [--prefix DIR] [--etc DIR] [--unitdir DIR]
#                          [--bindir DIR | --no-links] [--user NAME] [--start MODE]
#   --parts    what this node gets, comma separated: server, cli, agent (default server,cli;
#              a compute node: agent)
#   --prefix   binaries (default /opt/evacuationd): PREFIX/lib/<part>/, launchers in PREFIX/bin
#   --etc      configuration (default /etc/evacuationd); existing files are never overwritten
#   --unitdir  systemd units (default /etc/systemd/system)
#   --bindir   symlinks to the launchers (default /usr/bin); --no-links: none
#   --user     the daemon's system user, created if missing (default evacuationd)
#   --start    auto (default: systemd when it runs here, else print), systemd, background
#              (no service manager: start the daemon detached, log and pid in PREFIX/run),
#              print (only print the supervisor command lines), none
#
# The daemon is started only once its configuration validates (evacuationd check-config):
# the first run installs the sample, edit it, run this again. An upgrade publishes beside the
# old binaries and swaps the directories (a running daemon keeps its files), then restarts
# the daemon: do one control-plane node at a time (docs/operations.md).
set -eu
cd "$(dirname "$0")/.."

parts=server,cli
prefix=/opt/evacuationd
etc=/etc/evacuationd
unitdir=/etc/systemd/system
bindir=/usr/bin
user=evacuationd
start=auto
usage() { sed -n '5,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --parts) parts=${2:?--parts needs a list}; shift 2 ;;
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --etc) etc=${2:?--etc needs a directory}; shift 2 ;;
        --unitdir) unitdir=${2:?--unitdir needs a directory}; shift 2 ;;
        --bindir) bindir=${2:?--bindir needs a directory}; shift 2 ;;
        --no-links) bindir=; shift ;;
        --user) user=${2:?--user needs a name}; shift 2 ;;
        --start) start=${2:?--start needs a mode}; shift 2 ;;
        -h|--help) usage ;;
        *) echo "install.sh: unknown option '$1'" >&2; usage ;;
    esac
done
for d in "$prefix" "$etc" "$unitdir" ${bindir:+"$bindir"}; do
    case "$d" in /*) ;; *) echo "install.sh: '$d' must be an absolute path" >&2; exit 2 ;; esac
done
case "$start" in auto|systemd|background|print|none) ;; *) echo "install.sh: --start: auto, systemd, background, print or none (got '$start')" >&2; exit 2 ;; esac
has() { case ",$parts," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
for p in $(echo "$parts" | tr ',' ' '); do
    case "$p" in server|cli|agent) ;; *) echo "install.sh: --parts: server, cli, agent (got '$p')" >&2; exit 2 ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (it creates a system user and writes $prefix, $etc, $unitdir)" >&2; exit 1; }
command -v dotnet >/dev/null 2>&1 || { echo "install.sh: dotnet (the .NET 10 SDK) is needed to build evacuationd" >&2; exit 1; }
if [ "$start" = auto ]; then
    if [ -d /run/systemd/system ]; then start=systemd; else start=print; fi
fi
say() { echo "install.sh: $*"; }

# --- binaries -------------------------------------------------------------------------------
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p "$prefix/lib" "$prefix/bin" "$prefix/share/doc"
publish() { # project, directory name, executable
    stage="$prefix/lib/.$2.new"
    rm -rf "$stage"
    say "dotnet publish $1 -> $prefix/lib/$2"
    # ReadyToRun: precompiled, so that a fencing (the fence agent's evacctl, a daemon's first
    # fencing after weeks of idling) does not wait for the JIT.
    dotnet publish "src/$1" -c Release --no-self-contained --use-current-runtime -p:PublishReadyToRun=true -o "$stage" -nologo -v quiet
    # Swap whole directories: files of a running process are never rewritten in place.
    rm -rf "$prefix/lib/.$2.old"
    [ -d "$prefix/lib/$2" ] && mv "$prefix/lib/$2" "$prefix/lib/.$2.old"
    mv "$stage" "$prefix/lib/$2"
    ln -sfn "../lib/$2/$3" "$prefix/bin/$3"
    [ -z "$bindir" ] || ln -sfn "$prefix/bin/$3" "$bindir/$3"
}
has server && publish Evacuationd.Server evacuationd evacuationd
has cli && publish Evacuationd.Cli evacctl evacctl
has agent && publish Evacuationd.Agent evacuationd-agent evacuationd-agent
for doc in README.md docs/architecture.md docs/operations.md deploy/README.md; do
    [ ! -f "$doc" ] || install -m 0644 "$doc" "$prefix/share/doc/$(echo "$doc" | tr / -)"
done

# --- user and configuration -------------------------------------------------------------------
if has server; then
    if ! getent passwd "$user" >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/evacuationd --no-create-home \
            --shell /usr/sbin/nologin --comment "evacuationd daemon" "$user"
        say "created system user $user"
    fi
fi
group=$(id -gn "$user" 2>/dev/null || echo root)
install -d -m 0750 -o root -g "$group" "$etc"
put() { # sample, target, mode: only if the target does not exist yet
    if [ -e "$2" ]; then
        say "kept $2"
    else
        install -m "$3" -o root -g "$group" "$1" "$2"
        say "installed $2 (from $1: edit it)"
    fi
}
has server && put deploy/evacuationd.sample.json "$etc/evacuationd.json" 0640
if has server && [ ! -e "$etc/evacuationd.env" ]; then
    umask 027
    cat > "$etc/evacuationd.env" <<'ENV'
# Secrets and overrides for evacuationd serve, one EVACUATIOND__Section__Key=value a line
# (systemd EnvironmentFile syntax; evacuationd-foreground reads it with sh: no spaces
# around '=', quote values with spaces). They win over evacuationd.json.
#EVACUATIOND__Nova__Password=
#EVACUATIOND__Etcd__Password=
#OS_CLIENT_CONFIG_FILE=/etc/evacuationd/clouds.yaml
ENV
    chgrp "$group" "$etc/evacuationd.env"
    umask 022
    say "installed $etc/evacuationd.env"
fi
has agent && put deploy/agent.sample.json "$etc/agent.json" 0600

# --- units and the supervisor command line ---------------------------------------------------
# The units name /usr/bin, /etc/evacuationd, /opt/evacuationd and the user evacuationd;
# rewrite them for this installation.
unit() { # source, target
    mkdir -p "$(dirname "$2")"
    sed -e "s|/usr/bin/|$prefix/bin/|g" -e "s|/etc/evacuationd|$etc|g" -e "s|/opt/evacuationd|$prefix|g" \
        -e "s|^User=evacuationd|User=$user|" -e "s|^Group=evacuationd|Group=$group|" "$1" > "$2.tmp"
    chmod 0644 "$2.tmp"
    mv "$2.tmp" "$2"
    say "installed $2"
}
has server && unit deploy/systemd/evacuationd.service "$unitdir/evacuationd.service"
if has agent; then
    unit deploy/systemd/evacuationd-agent.service "$unitdir/evacuationd-agent.service"
    unit deploy/systemd/nova-compute.service.d/evacuationd-gate.conf "$unitdir/nova-compute.service.d/evacuationd-gate.conf"
fi
if has server; then
    # What evacuationd.service runs, for any other process supervisor (runit, s6, supervisord,
    # a container): foreground, logs on stdout, SIGTERM for a graceful stop.
    cat > "$prefix/bin/evacuationd-foreground.tmp" <<EOF
#!/bin/sh
# evacuationd serve in the foreground, as evacuationd.service runs it (ExecStart, its
# EnvironmentFile); for a process supervisor. Run it as user $user. SIGTERM stops it gracefully.
set -a
[ ! -r "$etc/evacuationd.env" ] || . "$etc/evacuationd.env"
set +a
exec "$prefix/bin/evacuationd" serve --config "$etc/evacuationd.json" "\$@"
EOF
    chmod 0755 "$prefix/bin/evacuationd-foreground.tmp"
    mv "$prefix/bin/evacuationd-foreground.tmp" "$prefix/bin/evacuationd-foreground"
fi

commands() {
    say "without systemd, give a process supervisor these command lines:"
    has server && printf '  %-28s %s\n' "daemon (as user $user):" "$prefix/bin/evacuationd-foreground"
    has agent && printf '  %-28s %s\n' "agent (as root):" "$prefix/bin/evacuationd-agent run --config $etc/agent.json"
    has agent && printf '  %-28s %s\n' "nova-compute (start gate):" "$prefix/bin/evacuationd-agent gate --config $etc/agent.json && exec nova-compute ..."
    return 0
}

# --- start -------------------------------------------------------------------------------------
valid=no
if has server; then
    # As the daemon will see it: its user (can it read the key files?), its environment file.
    as_user=
    [ "$group" = root ] || as_user="setpriv --reuid=$user --regid=$group --init-groups"
    # shellcheck disable=SC1091 # the environment file is the operator's
    if (set -a; [ ! -r "$etc/evacuationd.env" ] || . "$etc/evacuationd.env"; set +a; cd /;
        exec $as_user "$prefix/bin/evacuationd" check-config --config "$etc/evacuationd.json") >/dev/null 2>"$prefix/check-config.err"; then
        valid=yes
        rm -f "$prefix/check-config.err"
    else
        say "$etc/evacuationd.json does not validate yet; the daemon is not started:"
        sed 's/^/  /' "$prefix/check-config.err" >&2
        rm -f "$prefix/check-config.err"
        say "edit it (and $etc/evacuationd.env), check it with: $prefix/bin/evacuationd check-config --config $etc/evacuationd.json"
    fi
fi

case "$start" in
    systemd)
        systemctl daemon-reload
        if [ "$valid" = yes ]; then
            systemctl enable evacuationd.service
            systemctl restart evacuationd.service
            say "evacuationd.service (re)started: systemctl status evacuationd; journalctl -u evacuationd"
        fi
        if has agent; then
            say "agent units installed; edit $etc/agent.json, then: systemctl enable --now evacuationd-agent" \
                "(the nova-compute drop-in takes effect at nova-compute's next start)"
        fi
        ;;
    background)
        commands
        if [ "$valid" = yes ]; then
            run="$prefix/run"
            install -d -m 0750 -o root -g "$group" "$run"
            if [ -s "$run/evacuationd.pid" ] && kill -0 "$(cat "$run/evacuationd.pid")" 2>/dev/null; then
                old=$(cat "$run/evacuationd.pid")
                say "stopping the running daemon (pid $old, SIGTERM)"
                kill -TERM "$old"
                i=0; while kill -0 "$old" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
            fi
            touch "$run/evacuationd.log"
            chown "$user:$group" "$run/evacuationd.log"
            seen=$(wc -l < "$run/evacuationd.log")
            # The supervisor's part: a detached session, the service user, stdout to a log.
            ( cd "$run" && exec setsid setpriv --reuid="$user" --regid="$group" --init-groups \
                "$prefix/bin/evacuationd-foreground" >> "$run/evacuationd.log" 2>&1 < /dev/null ) &
            echo $! > "$run/evacuationd.pid"
            pid=$(cat "$run/evacuationd.pid")
            i=0
            until tail -n "+$((seen + 1))" "$run/evacuationd.log" | grep -q 'serving gRPC'; do
                if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 600 ]; then
                    say "evacuationd did not come up; its log:" >&2
                    tail -n 20 "$run/evacuationd.log" >&2
                    exit 1
                fi
                sleep 0.1; i=$((i + 1))
            done
            say "evacuationd started (pid $pid, user $user): log $run/evacuationd.log; stop: kill -TERM $pid"
        fi
        ;;
    print) commands ;;
    none) ;;
esac
