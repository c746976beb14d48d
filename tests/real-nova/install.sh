#!/usr/bin/env bash
# Installs what tests/real-nova needs on Debian 12 (bookworm), as root. Idempotent: when
# every package is already installed and the two .debs are cached, it only checks (~1 s).
#
#   python3-nova python3-placement   Nova 26 (Zed) and Placement 8 as Python libraries only:
#                                    no nova-api/nova-compute packages (init scripts, dbconfig,
#                                    and nova-compute would pull in libvirt/qemu)
#   rabbitmq-server mariadb-server   the message bus and the database, started by hand
#   python3-masakari fence-agents    for masakari.sh and fence-agent.sh
#   curl
#
# It also downloads (does not install) nova-common and masakari-api, matching the installed
# python3-nova / python3-masakari versions, into DEB_CACHE: start.sh and masakari.sh take
# Debian's api-paste.ini files out of them, so starting needs no network after this.
#
# usage: tests/real-nova/install.sh        env: DEB_CACHE (default /var/cache/evacd-real-nova)
set -euo pipefail
DEB_CACHE=${DEB_CACHE:-/var/cache/evacd-real-nova}
PACKAGES=(python3-nova python3-placement rabbitmq-server mariadb-server curl python3-masakari fence-agents)
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=900)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
cached() { compgen -G "$DEB_CACHE/${1}_*.deb" > /dev/null; }

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ] && cached nova-common && cached masakari-api; then
    echo "install.sh: everything is installed, paste .debs cached in $DEB_CACHE"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "install.sh: must run as root (missing: ${missing[*]:-cached .debs})" >&2; exit 1; }

# Package scripts must not start services (no systemd here; an init script would start
# mariadb/rabbitmq on the default ports that our stacks use). Keep an existing policy.
if [ ! -x /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# installed by evacuationd tests/real-nova/install.sh: never start services from apt\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "install.sh: installing ${missing[*]}"
    "${APT[@]}" update -qq
    "${APT[@]}" install -y -q --no-install-recommends "${missing[@]}"
fi

# version-matched .debs for the paste files (only the one missing from the cache)
mkdir -p "$DEB_CACHE"
fetch_deb() {  # fetch_deb BINARY-PACKAGE VERSION-SOURCE-PACKAGE
    cached "$1" && return 0
    local ver; ver=$(dpkg-query -W -f='${Version}' "$2")
    # apt-get download writes to the current directory; "_apt" cannot write here, hence the
    # harmless "unsandboxed" note, silenced
    (cd "$DEB_CACHE" && "${APT[@]}" download -q "$1=$ver" 2>&1 | grep -v -i unsandboxed || true)
    cached "$1" || { echo "install.sh: could not download $1=$ver into $DEB_CACHE" >&2; return 1; }
}
fetch_deb nova-common python3-nova
fetch_deb masakari-api python3-masakari
echo "install.sh: done"
