#!/usr/bin/env bash
# Masakari (Debian 12: 14.0.2) on top of the stack in BASE: masakari-api (noauth2: send
# X-Auth-Token: admin:admin) and masakari-engine, with their own database "masakari" in the
# stack's MariaDB. masakari-engine talks to Nova the normal way: Keystone v3 password login
# at the stub, compute URL from the catalog.
#
#   masakari.sh start    start both (stops and restarts them when already running, so you can
#                        restart with another MASAKARI_WAIT; the rest of the stack is untouched)
#   masakari.sh stop     stop both
#   masakari.sh status   print their PIDs; exit 1 unless both run
#
# env: BASE (default /tmp/evacd-nova)
#      MASAKARI_WAIT                wait_period_after_service_update   default 180 (Masakari's)
#      MASAKARI_EVACUATION_WAIT     wait_period_after_evacuation       default 60  (Masakari: 90)
#      MASAKARI_DUPLICATE_INTERVAL  duplicate_notification_detection_interval
#                                                                      default 5   (Masakari: 180)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
usage() { sed -n '7,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || usage
load_stack
MASAKARI_WAIT=${MASAKARI_WAIT:-180}
MASAKARI_EVACUATION_WAIT=${MASAKARI_EVACUATION_WAIT:-60}
MASAKARI_DUPLICATE_INTERVAL=${MASAKARI_DUPLICATE_INTERVAL:-5}
for v in MASAKARI_WAIT MASAKARI_EVACUATION_WAIT MASAKARI_DUPLICATE_INTERVAL; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number of seconds (got '${!v}')"
done

start() {
    [ -f "$BASE/ready" ] || die "the stack in $BASE is not up (start.sh did not finish)"
    if live_pid masakari-api > /dev/null || live_pid masakari-engine > /dev/null; then
        say "masakari is running: stopping it first"
        stop_groups 3 masakari-api masakari-engine
    fi
    port_busy "$MASAKARI_PORT" && die "port $MASAKARI_PORT (MASAKARI_PORT) is already in use"

    cat > "$E/masakari.conf" << CNF
[DEFAULT]
transport_url = $TRANSPORT_URL
auth_strategy = noauth2
api_paste_config = $E/masakari-api-paste.ini
masakari_api_listen = 127.0.0.1
masakari_api_listen_port = $MASAKARI_PORT
masakari_api_workers = 1
debug = false
use_stderr = false
# how masakari-engine reaches Nova: Keystone v3 password login (the stub), then the catalog
os_privileged_user_name = admin
os_privileged_user_password = admin
os_privileged_user_tenant = admin
os_privileged_user_auth_url = $KEYSTONE_URL
os_user_domain_name = Default
os_project_domain_name = Default
os_region_name = RegionOne
nova_catalog_admin_info = compute:nova:publicURL
wait_period_after_service_update = $MASAKARI_WAIT
wait_period_after_evacuation = $MASAKARI_EVACUATION_WAIT
duplicate_notification_detection_interval = $MASAKARI_DUPLICATE_INTERVAL

[keystone_authtoken]
# masakari's Nova client reads only auth_type from here
auth_type = password

[host_failure]
evacuate_all_instances = true

[database]
connection = mysql+pymysql://nova:nova@127.0.0.1:$MYSQL_PORT/masakari?charset=utf8

[oslo_concurrency]
lock_path = $BASE/state/lock
CNF
    if [ ! -s "$E/masakari-api-paste.ini" ]; then
        # Debian's own paste file, from the masakari-api package (cached by install.sh)
        local deb
        deb=$(compgen -G "$DEB_CACHE/masakari-api_*.deb" | tail -n 1) \
            || die "masakari-api .deb not in $DEB_CACHE: run $RN_DIR/install.sh"
        dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/masakari/api-paste.ini > "$E/masakari-api-paste.ini"
    fi
    if [ ! -f "$BASE/state/masakari-db-synced" ]; then
        sql 'CREATE DATABASE IF NOT EXISTS masakari'
        "$PY" "$LAUNCH" masakari-manage --config-file "$E/masakari.conf" db sync \
            > "$L/masakari-db-sync.log" 2>&1 || fail masakari-db-sync "masakari-manage db sync failed"
        touch "$BASE/state/masakari-db-synced"
        say "masakari database synced"
    fi
    launch masakari-api "$PY" "$LAUNCH" masakari-api --config-file "$E/masakari.conf" --log-file "$L/masakari-api.log"
    launch masakari-engine "$PY" "$LAUNCH" masakari-engine --config-file "$E/masakari.conf" --log-file "$L/masakari-engine.log"
    wait_for masakari-api 120 "masakari-api answering on $MASAKARI_PORT" \
        curl -sf -o /dev/null "http://127.0.0.1:$MASAKARI_PORT/"
    wait_for masakari-api 60 "masakari-api serving /v1 (noauth2)" \
        curl -sf -o /dev/null -H 'X-Auth-Token: admin:admin' "$MASAKARI_URL/segments"
    live_pid masakari-engine > /dev/null || fail masakari-engine "exited after starting"
    say "masakari ready: $MASAKARI_URL (X-Auth-Token: admin:admin), wait_period_after_service_update=$MASAKARI_WAIT"
}

case $1 in
    start) start ;;
    stop) stop_groups 3 masakari-api masakari-engine; echo "masakari stopped" ;;
    status)
        a=$(live_pid masakari-api) || a=
        e=$(live_pid masakari-engine) || e=
        echo "masakari-api ${a:-not running}, masakari-engine ${e:-not running}"
        [ -n "$a" ] && [ -n "$e" ]
        ;;
    *) usage ;;
esac
