#!/bin/sh
# Installs the fence agent on a Pacemaker node (as root): publishes evacctl into LIBDIR
# (framework-dependent: the node needs the .NET 10 runtime) and installs the shim
# fence_evacuationd into /usr/sbin, where Pacemaker's fencer looks for fence agents.
#
# usage: pacemaker/install.sh [--lib LIBDIR] [--sbin SBINDIR]
#   --lib   where evacctl goes (default /usr/lib/evacuationd)
#   --sbin  where fence_evacuationd goes (default /usr/sbin)
# Needs the .NET 10 SDK on the machine that runs it (it builds evacctl from this checkout).
set -eu
cd "$(dirname "$0")/.."
lib=/usr/lib/evacuationd
sbin=/usr/sbin
while [ $# -gt 0 ]; do
    case "$1" in
        --lib) lib=${2:?--lib needs a directory}; shift 2 ;;
        --sbin) sbin=${2:?--sbin needs a directory}; shift 2 ;;
        *) sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
case "$lib" in /*) ;; *) echo "install.sh: --lib must be an absolute path (got '$lib')" >&2; exit 2 ;; esac
command -v dotnet >/dev/null 2>&1 || { echo "install.sh: dotnet (the .NET 10 SDK) is needed to build evacctl" >&2; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# ReadyToRun: the agent runs once per fencing; precompiled it starts in ~0.25 s instead of ~0.4 s.
dotnet publish src/Evacuationd.Cli -c Release --no-self-contained --use-current-runtime -p:PublishReadyToRun=true -o "$lib" -nologo -v quiet
mkdir -p "$sbin"
# The shim looks for evacctl in its libdir line: point it at LIBDIR.
sed "s|^libdir=.*|libdir=$lib|" pacemaker/fence_evacuationd > "$sbin/fence_evacuationd.tmp"
chmod 755 "$sbin/fence_evacuationd.tmp"
mv "$sbin/fence_evacuationd.tmp" "$sbin/fence_evacuationd"
"$sbin/fence_evacuationd" -o metadata > /dev/null
echo "installed $sbin/fence_evacuationd (evacctl in $lib)"
