#!/usr/bin/env bash
# Brings up a minimal real Nova (Debian 12: Nova 26 Zed, Placement 8, RabbitMQ 3.10,
# MariaDB 10.11) on 127.0.0.1, every process detached, from an empty state each time:
#
#   epmd + rabbitmq-server, mariadbd, stub.py (Keystone v3 / Glance v2 / Neutron v2.0),
#   placement-api (threaded), nova-api, nova-conductor, nova-scheduler,
#   one nova-compute per host in COMPUTES (fake.MediumFakeDriver, no database access)
#
# It returns once nova-api answers, every compute is up, mapped to cell1 and listed as a
# hypervisor, and flavor "tiny" (id 1) exists. Run install.sh first.
#
# env: BASE         state, configs, logs (logs/), pid files (pids/)   default /tmp/evacd-nova
#      COMPUTES     compute host names                               default "hostA hostB hostC"
#      PORT_OFFSET  added to every port (run stacks side by side)     default 0
#      START_TIMEOUT  seconds allowed for each wait                   default 240
#      KEEP_ON_FAILURE=1  leave the processes running when start fails (default: stop.sh)
# Writes $BASE/env (source it) and $BASE/clouds.yaml (cloud "evacd-nova").
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
COMPUTES=${COMPUTES:-"hostA hostB hostC"}
START_TIMEOUT=${START_TIMEOUT:-240}
set_ports
read -r -a HOSTS <<< "$COMPUTES"
[ ${#HOSTS[@]} -gt 0 ] || die "COMPUTES is empty"
for h in "${HOSTS[@]}"; do
    [[ $h =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad compute host name '$h'"
done

# --- preconditions ------------------------------------------------------------------------
"$PY" -c 'import nova, placement' 2> /dev/null || die "Nova is not installed: run $RN_DIR/install.sh"
NOVA_DEB=$(compgen -G "$DEB_CACHE/nova-common_*.deb" | tail -n 1) \
    || die "nova-common .deb not in $DEB_CACHE: run $RN_DIR/install.sh"
for f in "$P"/*; do
    [ -f "$f" ] || continue
    live_pid "$(basename "$f")" > /dev/null \
        && die "a stack is already running from $BASE ($(basename "$f") is alive): BASE=$BASE $RN_DIR/stop.sh"
done
for v in "${PORT_NAMES[@]}"; do
    port_busy "${!v}" && die "port ${!v} ($v) is already in use on 127.0.0.1: another stack? choose another PORT_OFFSET"
done

# a fresh, empty cloud every time
rm -rf "$BASE"/{etc,state,mysql,rabbit,logs,pids} "$BASE"/{env,clouds.yaml,ready}
mkdir -p "$E" "$L" "$P" "$BASE/state/lock" "$BASE/rabbit/mnesia"
[ "${KEEP_ON_FAILURE:-0}" = 1 ] || ON_FAIL="BASE='$BASE' '$RN_DIR/stop.sh' >&2"
say "starting in $BASE (port offset $PORT_OFFSET, computes: ${HOSTS[*]})"

# --- configuration ------------------------------------------------------------------------
DB_URL="mysql+pymysql://nova:nova@127.0.0.1:$MYSQL_PORT"

cat > "$E/my.cnf" << CNF
[mysqld]
user = root
datadir = $BASE/mysql
socket = $BASE/mysqld.sock
pid-file = $BASE/mysqld.pid
log-error = $L/mariadb.log
bind-address = 127.0.0.1
port = $MYSQL_PORT
skip-name-resolve
skip-log-bin
max_connections = 1000
innodb_buffer_pool_size = 128M
innodb_log_file_size = 32M
# a throw-away test database: no durability, less fsync
innodb_flush_log_at_trx_commit = 2
innodb_doublewrite = 0
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci

[client]
socket = $BASE/mysqld.sock
user = root
CNF

cat > "$E/rabbit.env" << ENV
# sourced before running rabbitmq-server / rabbitmqctl for this stack
export HOME=$BASE/rabbit   # the Erlang cookie lives here
export RABBITMQ_NODENAME=$RABBIT_NODE
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$RABBIT_PORT
export RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT
export RABBITMQ_CTL_DIST_PORT_MIN=$RABBIT_CTL_PORT
export RABBITMQ_CTL_DIST_PORT_MAX=$((RABBIT_CTL_PORT + 10))
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT=$EPMD_PORT
export RABBITMQ_CONF_ENV_FILE=$E/rabbitmq-env.conf
export RABBITMQ_CONFIG_FILE=$E/rabbitmq
export RABBITMQ_ADVANCED_CONFIG_FILE=$E/rabbitmq-advanced.config
export RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/rabbit/enabled_plugins
export RABBITMQ_MNESIA_BASE=$BASE/rabbit/mnesia
export RABBITMQ_PID_FILE=$BASE/rabbit/rabbit.pid
export RABBITMQ_LOG_BASE=$L
export RABBITMQ_LOGS=$L/rabbit.log
ENV
: > "$E/rabbitmq-env.conf"              # not Debian's /etc/rabbitmq/rabbitmq-env.conf
echo '[].' > "$BASE/rabbit/enabled_plugins"  # no management plugin, no extra listeners
cat > "$E/rabbitmq.conf" << CNF
listeners.tcp.default = 127.0.0.1:$RABBIT_PORT
loopback_users.guest = true
CNF

cat > "$E/placement.conf" << CNF
[DEFAULT]
debug = false
log_file = $L/placement.log

[api]
auth_strategy = noauth2

[placement_database]
connection = $DB_URL/placement?charset=utf8
CNF

cat > "$E/nova.conf" << CNF
# Read by every nova process. The database settings are in nova-db.conf, which nova-compute
# does not get (computes reach the database through nova-conductor, as in production).
[DEFAULT]
state_path = $BASE/state
transport_url = rabbit://guest:guest@127.0.0.1:$RABBIT_PORT/
compute_driver = fake.MediumFakeDriver
my_ip = 127.0.0.1
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = $NOVA_PORT
osapi_compute_workers = 1
debug = false
use_stderr = false

[api]
# the "noauth2" pipeline of nova-api-paste.ini, whose noauth2 filter is lib/evacd_noauth.py
auth_strategy = noauth2

[wsgi]
api_paste_config = $E/nova-api-paste.ini

[conductor]
workers = 1

[scheduler]
workers = 1
# start.sh maps the computes itself (nova-manage cell_v2 discover_hosts)
discover_hosts_in_cells_interval = -1

[oslo_concurrency]
lock_path = $BASE/state/lock

[oslo_messaging_notifications]
driver = noop

[placement]
# keystoneauth's admin_token plugin: a fixed token and endpoint, no Keystone involved
auth_type = admin_token
token = admin
endpoint = http://127.0.0.1:$PLACEMENT_PORT
endpoint_override = http://127.0.0.1:$PLACEMENT_PORT

[glance]
# Nova calls Glance with the user's own token (hence the token-keeping noauth filter)
endpoint_override = http://127.0.0.1:$GLANCE_PORT

[neutron]
auth_type = admin_token
token = admin
endpoint = http://127.0.0.1:$NEUTRON_PORT
endpoint_override = http://127.0.0.1:$NEUTRON_PORT

[vnc]
enabled = false

[spice]
enabled = false

[serial_console]
enabled = false

[quota]
instances = -1
cores = -1
ram = -1
CNF

cat > "$E/nova-db.conf" << CNF
# nova-api, nova-conductor, nova-scheduler and nova-manage only
[api_database]
connection = $DB_URL/nova_api?charset=utf8

[database]
connection = $DB_URL/nova?charset=utf8
CNF
for h in "${HOSTS[@]}"; do printf '[DEFAULT]\nhost = %s\n' "$h" > "$E/nova-compute-$h.conf"; done

# nova-api's paste pipeline is Debian's own api-paste.ini (from nova-common, which we do not
# install) with two lines changed: the noauth2 filter keeps the token, and the healthcheck's
# disable file is ours instead of /etc/nova's
dpkg-deb --fsys-tarfile "$NOVA_DEB" | tar -xO ./usr/share/nova-common/api-paste.ini \
    | sed -e "s#^paste.filter_factory = nova.api.openstack.auth:NoAuthMiddleware.factory\$#paste.filter_factory = evacd_noauth:TokenKeepingNoAuth.factory#" \
          -e "s#^disable_by_file_path = .*#disable_by_file_path = $BASE/state/healthcheck_disable#" \
    > "$E/nova-api-paste.ini"
grep -q '^paste.filter_factory = evacd_noauth:' "$E/nova-api-paste.ini" \
    || die "$NOVA_DEB: no [filter:noauth2] line to replace in api-paste.ini (package changed?)"

# the stack description, for the other scripts and for you
cat > "$BASE/env" << ENV
# tests/real-nova stack: source this file ( . $BASE/env )
export BASE='$BASE'
export COMPUTES='${HOSTS[*]}'
export PORT_OFFSET=$PORT_OFFSET
export NOVA_URL=http://127.0.0.1:$NOVA_PORT/v2.1
export KEYSTONE_URL=http://127.0.0.1:$KEYSTONE_PORT/v3
export PLACEMENT_URL=http://127.0.0.1:$PLACEMENT_PORT
export GLANCE_URL=http://127.0.0.1:$GLANCE_PORT
export NEUTRON_URL=http://127.0.0.1:$NEUTRON_PORT
export MASAKARI_URL=http://127.0.0.1:$MASAKARI_PORT/v1
export NOVA_TOKEN=admin:admin
export IMAGE_ID=$IMAGE_ID
export FLAVOR_ID=1
$(for v in "${PORT_NAMES[@]}" RABBIT_CTL_PORT; do echo "export $v=${!v}"; done)
export RABBIT_NODE=$RABBIT_NODE
export TRANSPORT_URL=rabbit://guest:guest@127.0.0.1:$RABBIT_PORT/
export MYSQL_SOCKET=$BASE/mysqld.sock
export OS_CLIENT_CONFIG_FILE=$BASE/clouds.yaml
export OS_CLOUD=evacd-nova
ENV
cat > "$BASE/clouds.yaml" << YAML
clouds:
  evacd-nova:
    auth_type: password
    auth:
      auth_url: http://127.0.0.1:$KEYSTONE_PORT/v3
      username: admin
      password: admin
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
    interface: public
YAML

# --- 1. rabbit (slowest to boot), the stub and MariaDB, side by side -----------------------
launch epmd /usr/bin/epmd -address 127.0.0.1 -port "$EPMD_PORT"
launch rabbit bash -c '. "$1" && exec /usr/lib/rabbitmq/bin/rabbitmq-server' rabbit "$E/rabbit.env"
launch stub "$PY" "$RN_DIR/stub.py" --keystone "$KEYSTONE_PORT" --glance "$GLANCE_PORT" \
    --neutron "$NEUTRON_PORT" --nova "$NOVA_PORT" --placement "$PLACEMENT_PORT" --masakari "$MASAKARI_PORT"
mariadb-install-db --defaults-file="$E/my.cnf" --auth-root-authentication-method=normal \
    --skip-test-db > "$L/mariadb-install-db.log" 2>&1 \
    || fail mariadb-install-db "mariadb-install-db failed"
launch mariadb /usr/sbin/mariadbd --defaults-file="$E/my.cnf"
say "epmd, rabbitmq, stub, mariadb started"
wait_for mariadb "$START_TIMEOUT" "MariaDB accepting connections" sql 'select 1'
sql "CREATE DATABASE nova_api; CREATE DATABASE nova; CREATE DATABASE nova_cell0;
     CREATE DATABASE placement; CREATE USER 'nova'@'127.0.0.1' IDENTIFIED BY 'nova';
     GRANT ALL PRIVILEGES ON *.* TO 'nova'@'127.0.0.1';" > "$L/mariadb-init.log" 2>&1 \
    || fail mariadb-init "creating the databases failed"
say "mariadb ready (port $MYSQL_PORT)"

# --- 2. schemas, four in parallel (rabbit keeps booting meanwhile) -------------------------
# placement; nova_api + the cell mappings (lib/launch.py nova-cells-init); cell1; cell0 (its
# own [database], --local_cell)
NOVA_DB_ARGS=(--config-file "$E/nova.conf" --config-file "$E/nova-db.conf")
nova_manage() { "$PY" "$LAUNCH" nova-manage "$@"; }
printf '[database]\nconnection = %s\n' "$DB_URL/nova_cell0?charset=utf8" > "$E/nova-cell0-db.conf"
SYNC_JOBS=()
sync_job() {  # sync_job NAME CMD...: in the background, output in logs/NAME.log
    local name=$1
    shift
    "$@" > "$L/$name.log" 2>&1 &
    SYNC_JOBS+=("$!:$name")
}
OS_PLACEMENT_CONFIG_DIR=$E sync_job placement-db-sync \
    "$PY" /usr/bin/placement-manage --config-file "$E/placement.conf" db sync
sync_job nova-db-sync-api "$PY" "$LAUNCH" nova-cells-init "$DB_URL/nova_cell0?charset=utf8" "${NOVA_DB_ARGS[@]}"
sync_job nova-db-sync-cell1 nova_manage "${NOVA_DB_ARGS[@]}" db sync --local_cell
sync_job nova-db-sync-cell0 nova_manage "${NOVA_DB_ARGS[@]}" --config-file "$E/nova-cell0-db.conf" db sync --local_cell
for job in "${SYNC_JOBS[@]}"; do
    wait "${job%%:*}" || fail "${job#*:}" "schema sync failed"
done
say "database schemas synced"

# --- 3. placement, then the nova services once rabbit listens ------------------------------
OS_PLACEMENT_CONFIG_DIR=$E launch placement "$PY" "$LAUNCH" placement-api 127.0.0.1 "$PLACEMENT_PORT"
wait_for rabbit "$START_TIMEOUT" "RabbitMQ listening on $RABBIT_PORT" port_busy "$RABBIT_PORT"
say "rabbitmq ready (port $RABBIT_PORT, node $RABBIT_NODE)"
PYTHONPATH=$RN_DIR/lib launch nova-api "$PY" "$LAUNCH" nova-api "${NOVA_DB_ARGS[@]}" --log-file "$L/nova-api.log"
launch nova-conductor "$PY" "$LAUNCH" nova-conductor "${NOVA_DB_ARGS[@]}" --log-file "$L/nova-conductor.log"
launch nova-scheduler "$PY" "$LAUNCH" nova-scheduler "${NOVA_DB_ARGS[@]}" --log-file "$L/nova-scheduler.log"
for h in "${HOSTS[@]}"; do start_compute "$h"; done
say "nova-api, nova-conductor, nova-scheduler and ${#HOSTS[@]} nova-compute started"

# --- 4. wait: API, compute nodes, cell mapping, services up, hypervisors --------------------
API=http://127.0.0.1:$NOVA_PORT/v2.1
wait_for placement "$START_TIMEOUT" "placement answering on $PLACEMENT_PORT" \
    curl -sf -H 'X-Auth-Token: admin' "http://127.0.0.1:$PLACEMENT_PORT/"
wait_for nova-api "$START_TIMEOUT" "nova-api answering on $NOVA_PORT" \
    curl -sf -o /dev/null "${NOVA_HDR[@]}" "$API/flavors"
say "nova-api answering ($API)"

# missing CMD: the hosts of COMPUTES that CMD (one host per line) does not print
missing() {
    local have h out=()
    have=$("$@" 2> /dev/null) || have=
    for h in "${HOSTS[@]}"; do grep -qxF "$h" <<< "$have" || out+=("$h"); done
    echo "${out[*]}"
}
# wait_hosts WHAT CMD...: until CMD lists every host; blame the first missing compute
wait_hosts() {
    local what=$1
    shift
    local end=$(($(date +%s) + START_TIMEOUT)) left h
    while left=$(missing "$@"); [ -n "$left" ]; do
        for h in $left; do
            live_pid "nova-compute-$h" > /dev/null \
                || fail "nova-compute-$h" "the process exited while waiting for: $what"
        done
        [ "$(date +%s)" -lt "$end" ] \
            || fail "nova-compute-${left%% *}" "$what: not within ${START_TIMEOUT}s (missing: $left)"
        sleep 0.5
    done
}
nodes() { sql "SELECT host FROM nova.compute_nodes WHERE deleted = 0"; }
wait_hosts "compute node registered" nodes
say "all ${#HOSTS[@]} compute nodes registered"
nova_manage "${NOVA_DB_ARGS[@]}" cell_v2 discover_hosts --verbose > "$L/discover-hosts.log" 2>&1 \
    || fail discover-hosts "nova-manage cell_v2 discover_hosts failed"
mapped() { sql "SELECT host FROM nova_api.host_mappings"; }
wait_hosts "host mapped to cell1 (discover_hosts)" mapped
services_up() {
    curl -sf "${NOVA_HDR[@]}" "$API/os-services?binary=nova-compute" | "$PY" -c '
import json, sys
for s in json.load(sys.stdin)["services"]:
    if s["state"] == "up" and s["status"] == "enabled":
        print(s["host"])'
}
hypervisors() {
    curl -sf "${NOVA_HDR[@]}" "$API/os-hypervisors" | "$PY" -c '
import json, sys
for h in json.load(sys.stdin)["hypervisors"]:
    print(h["hypervisor_hostname"])'
}
wait_hosts "nova-compute service up" services_up
wait_hosts "hypervisor listed" hypervisors
say "all ${#HOSTS[@]} computes up, mapped and listed as hypervisors"

code=$(curl -s -o "$L/flavor.out" -w '%{http_code}' "${NOVA_HDR[@]}" -X POST "$API/flavors" \
    -d '{"flavor": {"name": "tiny", "id": "1", "vcpus": 1, "ram": 128, "disk": 1}}')
case $code in 200 | 409) ;; *) fail flavor "creating flavor tiny answered HTTP $code" ;; esac
touch "$BASE/ready"
say "stack ready: . $BASE/env; nova at $API (X-Auth-Token: admin:admin), keystone at http://127.0.0.1:$KEYSTONE_PORT/v3"
